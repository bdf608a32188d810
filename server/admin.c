/* The admin socket: a Unix socket (mode 0600) served by one thread of its own, so it answers
 * even when every scheduler is busy. One request line per connection ("ps", "top", "info PID",
 * "bt PID", "trace PID", "kill PID", "stats [--json]"); the answer starts with "OK" or "ERR
 * <message>" on its own line, then the body. lvctl is the client. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/admin.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_pid(const char *arg, lv_pid *pid)
{
    char *end;
    if (arg == NULL || *arg == '\0')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || *end != '\0' || v == 0)
        return -1;
    *pid = v;
    return 0;
}

static void print_proc_header(FILE *out)
{
    fprintf(out, "%-20s %-12s %-18s %-10s %4s %7s %10s %10s %10s\n", "PID", "NAME", "VIEW/FUNCTION", "STATUS",
            "SCHED", "MAILBOX", "MEMORY", "CPU_MS", "CPU_1S_MS");
}

static void print_proc(FILE *out, const lv_proc_info *p)
{
    fprintf(out, "%-20" PRIu64 " %-12.12s %-18.18s %-10s %4d %7zu %10zu %10.1f %10.1f\n", p->pid, p->name,
            p->kind ? p->kind : p->name, p->status, p->scheduler, p->mailbox, p->memory, p->cpu_us / 1000.0,
            p->cpu_us_last_s / 1000.0);
}

/* Scheduler utilisation over the last `window_ms`, measured by sampling busy time. */
static void sched_utilisation(lv_admin *a, double *util, int n, int window_ms)
{
    uint64_t before[256], t0 = now_ns();
    for (int i = 0; i < n; i++) {
        lv_sched_stats st;
        lv_rt_sched_stats(a->rt, i, &st);
        before[i] = st.busy_ns;
    }
    struct timespec ts = {window_ms / 1000, (window_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    double dt = (double)(now_ns() - t0);
    for (int i = 0; i < n; i++) {
        lv_sched_stats st;
        lv_rt_sched_stats(a->rt, i, &st);
        util[i] = (double)(st.busy_ns - before[i]) / dt;
        if (util[i] > 1)
            util[i] = 1;
    }
}

static void cmd_stats(lv_admin *a, FILE *out, bool json)
{
    int n = lv_rt_schedulers(a->rt);
    double util[256];
    sched_utilisation(a, util, n, 200);
    size_t procs = lv_rt_process_count(a->rt);
    long long rss = lv_rss_bytes();
    double successes = a->successes_per_s ? a->successes_per_s(a->ctx) : 0;
    if (json) {
        fprintf(out, "{\"processes\":%zu,\"memory_bytes\":%lld,\"schedulers\":[", procs, rss);
        for (int i = 0; i < n; i++) {
            lv_sched_stats st;
            lv_rt_sched_stats(a->rt, i, &st);
            fprintf(out,
                    "%s{\"index\":%d,\"utilisation\":%.3f,\"preemptions\":%" PRIu64
                    ",\"preempt_refused\":%" PRIu64 ",\"handoffs\":%" PRIu64 "}",
                    i ? "," : "", i, util[i], st.preemptions, st.preempt_refused, st.handoffs);
        }
        fprintf(out, "],\"load_successes_per_s\":%.1f}\n", successes);
        return;
    }
    fprintf(out, "processes            %zu\nmemory (RSS)         %.1f MiB\nschedulers           %d\n", procs,
            rss / 1048576.0, n);
    for (int i = 0; i < n; i++) {
        lv_sched_stats st;
        lv_rt_sched_stats(a->rt, i, &st);
        fprintf(out,
                "  scheduler %-3d      %5.1f %% busy, %" PRIu64 " preemptions (%" PRIu64
                " signals refused), %" PRIu64 " hand-offs\n",
                i, util[i] * 100, st.preemptions, st.preempt_refused, st.handoffs);
    }
    fprintf(out, "load_successes_per_s %.1f\n", successes);
}

/* Runs one command; returns NULL or an error message for the ERR line. */
static const char *run_command(lv_admin *a, char *line, FILE *out)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r\n", &save);
    char *arg = strtok_r(NULL, " \t\r\n", &save);
    if (cmd == NULL)
        return "empty command";
    lv_pid pid = 0;
    bool needs_pid =
        !strcmp(cmd, "info") || !strcmp(cmd, "bt") || !strcmp(cmd, "trace") || !strcmp(cmd, "kill");
    if (needs_pid && parse_pid(arg, &pid) != 0)
        return "expected a PID (a positive number)";
    if (!strcmp(cmd, "ps")) {
        lv_proc_info *all;
        size_t n;
        if (lv_rt_list(a->rt, &all, &n) != 0)
            return "out of memory";
        print_proc_header(out);
        for (size_t i = 0; i < n; i++)
            print_proc(out, &all[i]);
        free(all);
    } else if (!strcmp(cmd, "top")) {
        lv_proc_info top[10];
        size_t n;
        if (lv_rt_top(a->rt, top, 10, &n) != 0)
            return "out of memory";
        print_proc_header(out);
        for (size_t i = 0; i < n; i++)
            print_proc(out, &top[i]);
    } else if (!strcmp(cmd, "info")) {
        lv_proc_info info;
        if (lv_rt_info(a->rt, pid, &info) != 0)
            return "no such process";
        print_proc_header(out);
        print_proc(out, &info);
        char bt[8192];
        if (lv_rt_backtrace(a->rt, pid, bt, sizeof(bt), 1000) == 0)
            fputs(bt, out);
    } else if (!strcmp(cmd, "bt")) {
        char bt[8192];
        int err = lv_rt_backtrace(a->rt, pid, bt, sizeof(bt), 1000);
        if (err == LV_ENOPROC)
            return "no such process";
        if (err)
            return "the process's scheduler did not answer within 1 s";
        fputs(bt, out);
    } else if (!strcmp(cmd, "trace")) {
        lv_trace_entry e[50];
        size_t n;
        int err = lv_rt_trace(a->rt, pid, 1000, 50, e, &n);
        if (err == LV_ENOPROC)
            return "no such process";
        if (err == LV_EEXIST)
            return "that process is already being traced";
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%8.3f ms  %-8s %-40.40s from <%" PRIu64 "> %zu bytes\n", e[i].at_us / 1000.0,
                    e[i].what, e[i].tag, e[i].from, e[i].size);
        fprintf(out, "(%zu entries)\n", n);
    } else if (!strcmp(cmd, "kill")) {
        if (lv_rt_kill(a->rt, pid) != 0)
            return "no such process";
        fprintf(out, "killed %" PRIu64 "\n", pid);
    } else if (!strcmp(cmd, "stats")) {
        cmd_stats(a, out, arg && !strcmp(arg, "--json"));
    } else if (!strcmp(cmd, "upgrade")) {
        static char msg[512];
        if (arg == NULL)
            return "expected the path of a view .so";
        if (lv_endpoint_upgrade(a->ep, arg, msg, sizeof(msg)) != 0)
            return msg;
        fprintf(out, "%s\n", msg);
    } else {
        return "unknown command (ps, top, info PID, bt PID, trace PID, kill PID, stats [--json])";
    }
    return NULL;
}

static void serve_one(lv_admin *a, int fd)
{
    char line[512];
    size_t len = 0;
    while (len < sizeof(line) - 1) {
        ssize_t r = read(fd, line + len, sizeof(line) - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (memchr(line, '\n', len))
            break;
    }
    line[len] = '\0';
    char *body = NULL;
    size_t body_len = 0;
    FILE *out = open_memstream(&body, &body_len);
    const char *err = out ? run_command(a, line, out) : "out of memory";
    if (out)
        fclose(out);
    char head[256];
    int n = err ? snprintf(head, sizeof(head), "ERR %s\n", err) : snprintf(head, sizeof(head), "OK\n");
    if (write(fd, head, (size_t)n) == n && !err && body_len)
        (void)!write(fd, body, body_len);
    free(body);
}

static void *admin_main(void *arg)
{
    lv_admin *a = arg;
    pthread_setname_np(pthread_self(), "admin");
    for (;;) {
        int fd = accept(a->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        serve_one(a, fd);
        close(fd);
    }
    return NULL;
}

int lv_admin_start(lv_admin *a, lv_endpoint *ep, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->rt = ep->rt;
    a->ep = ep;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "salamander: --admin path too long: %s\n", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path); /* a stale socket from an earlier run */
    mode_t old = umask(0077);
    int err = a->fd < 0 || bind(a->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(a->fd, 16) != 0;
    umask(old);
    if (err || chmod(path, 0600) != 0) {
        fprintf(stderr, "salamander: cannot open the admin socket %s: %s\n", path, strerror(errno));
        return -1;
    }
    snprintf(a->path, sizeof(a->path), "%s", path);
    if (pthread_create(&a->thread, NULL, admin_main, a) != 0)
        return -1;
    pthread_detach(a->thread);
    return 0;
}

void lv_admin_stop(lv_admin *a)
{
    if (a->path[0])
        unlink(a->path);
}
