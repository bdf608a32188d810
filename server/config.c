/* Command-line and environment configuration of the server, validated in one place. */
#include "server/config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lv_config_defaults(lv_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 4000;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->schedulers = cores > 0 ? (int)cores : 1;
    snprintf(cfg->admin_path, sizeof(cfg->admin_path), "/tmp/salamander.sock");
    cfg->max_frame = (size_t)1 << 20;
    cfg->heap_limit = (size_t)64 << 20;
    cfg->token_max_age_s = 14 * 24 * 3600;
    cfg->max_events_per_s = 1000;
    cfg->idle_timeout_s = 60; /* Phoenix's: twice the clients' 30 s heartbeat */
}

void lv_config_usage(FILE *out)
{
    fprintf(out,
            "usage: salamander [options]\n"
            "  --listen HOST:PORT     address to serve on (default 127.0.0.1:4000)\n"
            "  --schedulers N         scheduler threads, 1..255 (default: number of cores)\n"
            "  --bind-schedulers      run scheduler i on the i-th CPU this process may use, and the\n"
            "                         runtime's monitor thread on the CPUs left, if any (default: the\n"
            "                         kernel places threads)\n"
            "  --admin PATH           admin Unix socket for lvctl (default /tmp/salamander.sock)\n"
            "  --secret-file PATH     file holding the token signing secret (default: $SALAMANDER_SECRET,\n"
            "                         else a random secret, with a warning)\n"
            "  --assets DIR           built client bundle (default: js/ beside the binary)\n"
            "  --views DIR            view modules of the route table (default: views/ beside the binary)\n"
            "  --max-frame BYTES      largest WebSocket message accepted (default 1048576)\n"
            "  --heap-limit BYTES     per-process memory limit (default 67108864)\n"
            "  --allow-origin LIST    extra origins (comma-separated, e.g. https://app.example) allowed\n"
            "                         to open WebSockets; the page's own origin always is\n"
            "  --max-events N         frames per second per socket before it is cut off (default 1000)\n"
            "  --idle-timeout SECONDS close a WebSocket that sent nothing for this long, 0..86400;\n"
            "                         0 never (default 60; clients heartbeat every 30 s)\n"
            "  --official-client      serve the official phoenix_live_view client\n"
            "  --help                 this text\n");
}

static int parse_size(const char *s, size_t min, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_listen(lv_config *cfg, const char *arg)
{
    const char *colon = strrchr(arg, ':');
    if (colon == NULL || colon == arg || (size_t)(colon - arg) >= sizeof(cfg->listen_host))
        return -1;
    size_t port;
    if (parse_size(colon + 1, 1, 65535, &port) != 0)
        return -1;
    memcpy(cfg->listen_host, arg, (size_t)(colon - arg));
    cfg->listen_host[colon - arg] = '\0';
    cfg->listen_port = (int)port;
    return 0;
}

static int copy_path(char *dst, size_t cap, const char *src)
{
    if (src[0] == '\0' || strlen(src) >= cap)
        return -1;
    strcpy(dst, src);
    return 0;
}

int lv_config_parse(lv_config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            lv_config_usage(out);
            return 1;
        }
        if (strcmp(flag, "--official-client") == 0) {
            cfg->official_client = 1;
            continue;
        }
        if (strcmp(flag, "--bind-schedulers") == 0) {
            cfg->bind_schedulers = 1;
            continue;
        }
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL) {
            fprintf(err, "salamander: %s needs a value (see --help)\n", flag);
            return -1;
        }
        i++;
        size_t n = 0;
        int bad = 0;
        if (strcmp(flag, "--listen") == 0)
            bad = parse_listen(cfg, val);
        else if (strcmp(flag, "--schedulers") == 0) {
            bad = parse_size(val, 1, 255, &n);
            cfg->schedulers = (int)n;
        } else if (strcmp(flag, "--admin") == 0)
            bad = copy_path(cfg->admin_path, sizeof(cfg->admin_path), val);
        else if (strcmp(flag, "--secret-file") == 0)
            bad = copy_path(cfg->secret_file, sizeof(cfg->secret_file), val);
        else if (strcmp(flag, "--assets") == 0)
            bad = copy_path(cfg->assets_dir, sizeof(cfg->assets_dir), val);
        else if (strcmp(flag, "--views") == 0)
            bad = copy_path(cfg->views_dir, sizeof(cfg->views_dir), val);
        else if (strcmp(flag, "--allow-origin") == 0)
            bad = copy_path(cfg->allow_origins, sizeof(cfg->allow_origins), val);
        else if (strcmp(flag, "--max-events") == 0) {
            bad = parse_size(val, 1, 1000000, &n);
            cfg->max_events_per_s = (unsigned)n;
        } else if (strcmp(flag, "--idle-timeout") == 0) {
            bad = parse_size(val, 0, 86400, &n);
            cfg->idle_timeout_s = (unsigned)n;
        } else if (strcmp(flag, "--max-frame") == 0)
            bad = parse_size(val, 1024, (size_t)64 << 20, &cfg->max_frame);
        else if (strcmp(flag, "--heap-limit") == 0)
            bad = parse_size(val, (size_t)64 << 10, (size_t)1 << 40, &cfg->heap_limit);
        else {
            fprintf(err, "salamander: unknown option %s (see --help)\n", flag);
            return -1;
        }
        if (bad) {
            fprintf(err, "salamander: invalid value for %s: '%s' (see --help)\n", flag, val);
            return -1;
        }
    }
    return 0;
}
