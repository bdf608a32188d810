/* salamander: serves the demo's views, each loaded from its module in views/ beside the binary
 * (examples/routes.c names them), over HTTP and WebSocket. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "examples/examples.h"
#include "examples/load/load_jobs.h"
#include "server/server.h"

static void default_dirs(lv_config *cfg)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    const char *dir = dirname(exe);
    snprintf(cfg->assets_dir, sizeof(cfg->assets_dir), "%s/js", dir);
    snprintf(cfg->views_dir, sizeof(cfg->views_dir), "%s/views", dir);
}

int main(int argc, char **argv)
{
    lv_config cfg;
    lv_config_defaults(&cfg);
    default_dirs(&cfg);
    int r = lv_config_parse(&cfg, argc, argv, stdout, stderr);
    if (r != 0)
        return r > 0 ? 0 : 2;
    setvbuf(stderr, NULL, _IOLBF, 0);
    static lv_server srv;
    static load_stats load;
    static lv_route routes[LV_MAX_ROUTES];
    lv_module *mods[LV_MAX_ROUTES];
    char msg[PATH_MAX + 256];
    if (lv_example_nroutes > LV_MAX_ROUTES ||
        lv_module_load_routes(cfg.views_dir, lv_example_routes, lv_example_nroutes, routes, mods, msg,
                              sizeof(msg)) != 0) {
        fprintf(stderr, "salamander: %s\n", lv_example_nroutes > LV_MAX_ROUTES ? "too many routes" : msg);
        return 1;
    }
    int err = lv_server_init(&srv, &cfg, routes, lv_example_nroutes);
    for (size_t i = 0; i < lv_example_nroutes; i++)
        lv_module_release(mods[i]); /* the endpoint holds what its routes use */
    if (err != 0)
        return 1;
    if (load_controller_start(srv.rt, &load) != 0) {
        fprintf(stderr, "salamander: cannot start the load demo's controller\n");
        return 1;
    }
    srv.admin_successes_per_s = load_successes_per_s;
    srv.admin_ctx = &load;
    err = lv_server_run(&srv);
    lv_server_dispose(&srv);
    return err ? 1 : 0;
}
