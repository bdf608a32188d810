/* The token signing secret: from --secret-file, else $SALAMANDER_SECRET, else random per run
 * (tokens then die with the process, which is fine in development and says so). */
#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

static void derive(lv_server *srv, const char *material, size_t n)
{
    SHA256((const unsigned char *)material, n, srv->endpoint.secret);
}

int lv_server_load_secret(lv_server *srv)
{
    if (srv->cfg.secret_file[0]) {
        FILE *f = fopen(srv->cfg.secret_file, "rb");
        if (f == NULL) {
            fprintf(stderr, "salamander: cannot read --secret-file %s: %s\n", srv->cfg.secret_file,
                    strerror(errno));
            return -1;
        }
        char buf[4096];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        if (n < 16) {
            fprintf(stderr, "salamander: --secret-file %s holds %zu bytes; at least 16 are needed\n",
                    srv->cfg.secret_file, n);
            return -1;
        }
        derive(srv, buf, n);
        return 0;
    }
    const char *env = getenv("SALAMANDER_SECRET");
    if (env != NULL) {
        if (strlen(env) < 16) {
            fprintf(stderr, "salamander: SALAMANDER_SECRET must hold at least 16 bytes\n");
            return -1;
        }
        derive(srv, env, strlen(env));
        return 0;
    }
    fprintf(stderr, "[salamander] warning: no --secret-file or SALAMANDER_SECRET: using a random secret, "
                    "so pages rendered before a restart will not rejoin\n");
    return 0; /* lv_endpoint_init already drew a random secret */
}
