/* A small HTML tag scanner and compound-selector matcher for the headless test API. Only start
 * tags matter: their name and attributes (entities in values are left as written). */
#include "liveview/testing_html.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char tag[32];
    char id[128];
    char classes[4][64];
    int nclasses;
    char attr[4][48];
    char attr_value[4][128];
    bool attr_has_value[4];
    int nattrs;
} selector;

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

static const char *copy_ident(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    while (ident_char(*s) && n + 1 < cap)
        out[n++] = *s++;
    out[n] = '\0';
    return s;
}

static bool parse_selector(const char *s, selector *sel)
{
    memset(sel, 0, sizeof(*sel));
    s = copy_ident(s, sel->tag, sizeof(sel->tag));
    while (*s) {
        if (*s == '#') {
            s = copy_ident(s + 1, sel->id, sizeof(sel->id));
        } else if (*s == '.' && sel->nclasses < 4) {
            s = copy_ident(s + 1, sel->classes[sel->nclasses++], sizeof(sel->classes[0]));
        } else if (*s == '[' && sel->nattrs < 4) {
            int i = sel->nattrs++;
            s = copy_ident(s + 1, sel->attr[i], sizeof(sel->attr[i]));
            if (*s == '=') {
                s++;
                char q = (*s == '"' || *s == '\'') ? *s++ : 0;
                size_t n = 0;
                while (*s && (q ? *s != q : *s != ']') && n + 1 < sizeof(sel->attr_value[i]))
                    sel->attr_value[i][n++] = *s++;
                sel->attr_value[i][n] = '\0';
                sel->attr_has_value[i] = true;
                if (q && *s == q)
                    s++;
            }
            if (*s != ']')
                return false;
            s++;
        } else {
            return false;
        }
    }
    return sel->tag[0] || sel->id[0] || sel->nclasses || sel->nattrs;
}

const char *lv_html_attr(const lv_html_el *el, const char *name)
{
    for (int i = 0; i < el->nattrs; i++)
        if (strcasecmp(el->names[i], name) == 0)
            return el->values[i];
    return NULL;
}

static bool has_class(const char *list, const char *cls)
{
    size_t n = strlen(cls);
    for (const char *p = list; (p = strstr(p, cls)) != NULL; p += n)
        if ((p == list || isspace((unsigned char)p[-1])) && (p[n] == '\0' || isspace((unsigned char)p[n])))
            return true;
    return false;
}

static bool matches(const selector *sel, const lv_html_el *el)
{
    if (sel->tag[0] && strcasecmp(sel->tag, el->tag) != 0)
        return false;
    const char *id = lv_html_attr(el, "id");
    if (sel->id[0] && (id == NULL || strcmp(id, sel->id) != 0))
        return false;
    const char *cls = lv_html_attr(el, "class");
    for (int i = 0; i < sel->nclasses; i++)
        if (cls == NULL || !has_class(cls, sel->classes[i]))
            return false;
    for (int i = 0; i < sel->nattrs; i++) {
        const char *v = lv_html_attr(el, sel->attr[i]);
        if (v == NULL || (sel->attr_has_value[i] && strcmp(v, sel->attr_value[i]) != 0))
            return false;
    }
    return true;
}

/* Parses the start tag at p (just after '<'); returns the position after it. */
static const char *parse_tag(const char *p, lv_html_el *el)
{
    memset(el, 0, sizeof(*el));
    p = copy_ident(p, el->tag, sizeof(el->tag));
    while (*p && *p != '>') {
        while (isspace((unsigned char)*p) || *p == '/')
            p++;
        if (*p == '>' || !*p)
            break;
        char name[48];
        size_t n = 0;
        while (*p && !isspace((unsigned char)*p) && *p != '=' && *p != '>' && *p != '/' &&
               n + 1 < sizeof(name))
            name[n++] = *p++;
        name[n] = '\0';
        if (n == 0) {
            p++;
            continue;
        }
        char value[256] = "";
        if (*p == '=') {
            p++;
            char q = (*p == '"' || *p == '\'') ? *p++ : 0;
            size_t k = 0;
            while (*p && (q ? *p != q : !isspace((unsigned char)*p) && *p != '>')) {
                if (k + 1 < sizeof(value))
                    value[k++] = *p;
                p++;
            }
            value[k] = '\0';
            if (q && *p == q)
                p++;
        }
        if (el->nattrs < LV_HTML_MAX_ATTRS) {
            snprintf(el->names[el->nattrs], sizeof(el->names[0]), "%s", name);
            snprintf(el->values[el->nattrs], sizeof(el->values[0]), "%s", value);
            el->nattrs++;
        }
    }
    return p;
}

bool lv_html_find(const char *html, const char *selector_text, lv_html_el *out, bool *bad)
{
    selector sel;
    *bad = !parse_selector(selector_text, &sel);
    if (*bad)
        return false;
    for (const char *p = html; (p = strchr(p, '<')) != NULL;) {
        if (strncmp(p, "<!--", 4) == 0) {
            const char *end = strstr(p, "-->");
            p = end ? end + 3 : p + 4;
            continue;
        }
        if (!isalpha((unsigned char)p[1])) {
            p++;
            continue;
        }
        p = parse_tag(p + 1, out);
        if (matches(&sel, out))
            return true;
    }
    return false;
}
