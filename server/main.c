/* salamander: serves the built-in views over HTTP and WebSocket. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "examples/examples.h"
#include "examples/load/load_jobs.h"
#include "server/server.h"

static void default_assets_dir(lv_config *cfg)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    snprintf(cfg->assets_dir, sizeof(cfg->assets_dir), "%s/js", dirname(exe));
}

int main(int argc, char **argv)
{
    lv_config cfg;
    lv_config_defaults(&cfg);
    default_assets_dir(&cfg);
    int r = lv_config_parse(&cfg, argc, argv, stdout, stderr);
    if (r != 0)
        return r > 0 ? 0 : 2;
    setvbuf(stderr, NULL, _IOLBF, 0);
    static lv_server srv;
    static load_stats load;
    if (lv_server_init(&srv, &cfg, lv_example_routes, lv_example_nroutes) != 0)
        return 1;
    if (load_controller_start(srv.rt, &load) != 0) {
        fprintf(stderr, "salamander: cannot start the load demo's controller\n");
        return 1;
    }
    srv.admin_successes_per_s = load_successes_per_s;
    srv.admin_ctx = &load;
    int err = lv_server_run(&srv);
    lv_server_dispose(&srv);
    return err ? 1 : 0;
}
