/* lvtc: compiles a .lv.html template into a C header (see templates/README.md).
 *   lvtc INPUT.lv.html -o OUTPUT.lv.h [--type NAME] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "templates/lvtc.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len - 1 == 0)
            buf = realloc(buf, cap *= 2);
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

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    char *type = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--type") && i + 1 < argc)
            type = argv[++i];
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: lvtc INPUT.lv.html -o OUTPUT.lv.h [--type NAME]\n");
            return 0;
        } else if (in == NULL && argv[i][0] != '-')
            in = argv[i];
        else {
            fprintf(stderr, "lvtc: unexpected argument '%s' (usage: lvtc INPUT.lv.html -o OUTPUT.lv.h)\n",
                    argv[i]);
            return 2;
        }
    }
    if (in == NULL || out == NULL) {
        fprintf(stderr, "usage: lvtc INPUT.lv.html -o OUTPUT.lv.h [--type NAME]\n");
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
    if (lvtc_parse(in, src, &t) != 0 || lvtc_generate(&t, type, out, &c) != 0)
        return 1;
    FILE *f = fopen(out, "wb");
    if (f == NULL || fputs(c, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "lvtc: cannot write %s: %s\n", out, strerror(errno));
        remove(out);
        return 1;
    }
    return 0;
}
