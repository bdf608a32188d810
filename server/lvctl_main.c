/* lvctl: talks to a running salamander's admin socket.
 *   lvctl [--socket PATH] ps | top | info PID | bt PID | trace PID | kill PID | stats [--json] | upgrade
 * VIEW.so */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/tmp/salamander.sock"

static void usage(FILE *out)
{
    fprintf(out, "usage: lvctl [--socket PATH] COMMAND\n"
                 "  ps                 every process\n"
                 "  top                the 10 processes that used the most CPU in the last second\n"
                 "  info PID           one process, with its backtrace\n"
                 "  bt PID             its backtrace (also while it spins)\n"
                 "  trace PID          its next messages and events, for 1 s or 50 items\n"
                 "  kill PID           end it now\n"
                 "  stats [--json]     processes, memory, schedulers, load_successes_per_s\n"
                 "  upgrade VIEW.so    load new view code into every live session\n"
                 "default socket: " DEFAULT_SOCKET " (the server's --admin default)\n");
}

int main(int argc, char **argv)
{
    const char *path = DEFAULT_SOCKET;
    int i = 1;
    if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (i < argc && !strcmp(argv[i], "--socket")) {
        if (i + 1 >= argc) {
            fprintf(stderr, "lvctl: --socket needs a path\n");
            return 2;
        }
        path = argv[i + 1];
        i += 2;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    static const char *const commands[] = {"ps", "top", "info", "bt", "trace", "kill", "stats", "upgrade"};
    static const int nargs[] = {0, 0, 1, 1, 1, 1, -1, 1};
    int c = -1;
    for (int k = 0; k < 8; k++)
        if (!strcmp(argv[i], commands[k]))
            c = k;
    int given = argc - i - 1;
    if (c < 0) {
        fprintf(stderr, "lvctl: unknown command '%s' (see lvctl --help)\n", argv[i]);
        return 2;
    }
    if ((nargs[c] >= 0 && given != nargs[c]) || (nargs[c] < 0 && given > 1)) {
        fprintf(stderr, "lvctl: %s takes %s (see lvctl --help)\n", argv[i],
                nargs[c] == 1   ? "one argument"
                : nargs[c] == 0 ? "no argument"
                                : "at most one argument");
        return 2;
    }
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s%s%s\n", argv[i], given ? " " : "", given ? argv[i + 1] : "");
    if (n < 0 || (size_t)n >= sizeof(line)) {
        fprintf(stderr, "lvctl: argument too long\n");
        return 2;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "lvctl: socket path too long: %s\n", path);
        return 2;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        fprintf(stderr, "lvctl: no server at %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (write(fd, line, (size_t)n) != n) {
        fprintf(stderr, "lvctl: cannot send the command: %s\n", strerror(errno));
        return 1;
    }
    FILE *in = fdopen(fd, "r");
    char head[512];
    if (in == NULL || fgets(head, sizeof(head), in) == NULL) {
        fprintf(stderr, "lvctl: the server closed the connection without an answer\n");
        return 1;
    }
    if (strncmp(head, "OK", 2) != 0) {
        fprintf(stderr, "lvctl: %s", strncmp(head, "ERR ", 4) == 0 ? head + 4 : head);
        return 1;
    }
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, r, stdout);
    fclose(in);
    return 0;
}
