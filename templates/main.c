/* lvtc: compiles a .lv.html template into a C header (see templates/README.md).
 *   lvtc INPUT.lv.html -o OUTPUT.lv.h [--type NAME] [-I DIR]... [--deps FILE]
 * Exit status: 0, 1 for an error in the template (printed as file:line:col: message), 2 for
 * bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "templates/lvtc.h"

static const char USAGE[] =
    "usage: lvtc INPUT.lv.html -o OUTPUT.lv.h [--type NAME] [-I DIR]... [--deps FILE]\n"
    "  --type NAME  the C state type (default: the file name before .lv.html)\n"
    "  -I DIR       also look for <.component> templates in DIR\n"
    "  --deps FILE  write a make rule: OUTPUT depends on INPUT and its components\n";

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (bigger == NULL)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* thermostat.lv.html -> thermostat */
static char *type_from_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    char *t = malloc(n + 1);
    if (t) {
        memcpy(t, base, n);
        t[n] = '\0';
    }
    return t;
}

static int write_deps(const char *path, const char *out, const char *in, const lvtc_opts *o)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    fprintf(f, "%s: %s", out, in);
    for (int i = 0; i < o->ndeps; i++)
        fprintf(f, " %s", o->deps[i]);
    fputc('\n', f);
    for (int i = 0; i < o->ndeps; i++) /* a deleted component must not break make */
        fprintf(f, "%s:\n", o->deps[i]);
    return fclose(f);
}

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *deps = NULL;
    char *type = NULL;
    lvtc_opts opts = {0};
    opts.include_dirs = calloc((size_t)argc, sizeof(char *));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--type") && i + 1 < argc)
            type = argv[++i];
        else if (!strcmp(argv[i], "--deps") && i + 1 < argc)
            deps = argv[++i];
        else if (!strcmp(argv[i], "-I") && i + 1 < argc)
            opts.include_dirs[opts.ninclude++] = argv[++i];
        else if (!strncmp(argv[i], "-I", 2) && argv[i][2])
            opts.include_dirs[opts.ninclude++] = argv[i] + 2;
        else if (!strcmp(argv[i], "--help")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (in == NULL && argv[i][0] != '-')
            in = argv[i];
        else {
            fprintf(stderr, "lvtc: unexpected argument '%s'\n%s", argv[i], USAGE);
            return 2;
        }
    }
    if (in == NULL || out == NULL) {
        fputs(USAGE, stderr);
        return 2;
    }
    char *src = read_file(in);
    if (src == NULL) {
        fprintf(stderr, "lvtc: cannot read %s: %s\n", in, strerror(errno));
        return 1;
    }
    if (type == NULL)
        type = type_from_path(in);
    tree t;
    char *c = NULL;
    if (lvtc_parse(in, src, &t) != 0 || lvtc_generate(&t, type, out, &opts, &c) != 0)
        return 1;
    /* written whole or not at all: make must never see half a header */
    size_t n = strlen(out) + 8;
    char *tmp = malloc(n);
    snprintf(tmp, n, "%s.tmp", out);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL || fputs(c, f) < 0 || fclose(f) != 0 || rename(tmp, out) != 0) {
        fprintf(stderr, "lvtc: cannot write %s: %s\n", out, strerror(errno));
        remove(tmp);
        return 1;
    }
    if (deps && write_deps(deps, out, in, &opts) != 0) {
        fprintf(stderr, "lvtc: cannot write %s: %s\n", deps, strerror(errno));
        return 1;
    }
    return 0;
}
