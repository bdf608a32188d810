/* lv_config: every server setting, filled from flags and the environment and validated in one
 * place (lv_config_parse). Defaults are listed by --help. */
#ifndef LV_SERVER_CONFIG_H
#define LV_SERVER_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef struct lv_config {
    char listen_host[64];
    int listen_port;
    int schedulers; /* 0 in the struct means "number of cores" until parse resolves it */
    char admin_path[256];
    char secret_file[256];
    char assets_dir[512];      /* built client bundle (manifest.json + salamander.<hash>.js) */
    char views_dir[512];       /* the view modules the route table names (calculator.so, ...) */
    size_t max_frame;          /* largest WebSocket message accepted */
    size_t heap_limit;         /* per-process memory limit */
    int token_max_age_s;       /* session/static token lifetime */
    int official_client;       /* serve phoenix_live_view's client instead of ours (compatibility tests) */
    int bind_schedulers;       /* --bind-schedulers: lv_rt_config.bind_schedulers */
    char allow_origins[512];   /* comma-separated extra origins allowed to open WebSockets */
    unsigned max_events_per_s; /* per socket */
    unsigned idle_timeout_s;   /* a WebSocket receiving nothing this long is closed (0: never) */
} lv_config;

void lv_config_defaults(lv_config *cfg);
/* Returns 0, 1 when --help was printed (exit 0), or -1 after printing "salamander: ..." to err. */
int lv_config_parse(lv_config *cfg, int argc, char **argv, FILE *out, FILE *err);
void lv_config_usage(FILE *out);

#endif
