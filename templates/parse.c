/* The template parser: HTML with {expr} interpolations and :if/:else/:for/:key directives, into
 * the tree of lvtc.h. Errors name the file, line and column of the offending character. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "templates/lvtc.h"

typedef struct parser {
    const char *file;
    const char *src;
    size_t i, n;
    int line, col;
} parser;

static const char *const VOID_TAGS[] = {"area",  "base", "br",   "col",    "embed", "hr",  "img",
                                        "input", "link", "meta", "source", "track", "wbr", NULL};

void lvtc_verror(const char *file, pos at, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s:%d:%d: ", file, at.line, at.col);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void fail(const char *file, pos at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lvtc_verror(file, at, fmt, ap);
    va_end(ap);
}

static pos here(const parser *p)
{
    return (pos){p->line, p->col};
}
static bool eof(const parser *p)
{
    return p->i >= p->n;
}
static char peek(const parser *p, size_t k)
{
    return p->i + k < p->n ? p->src[p->i + k] : '\0';
}
static bool starts(const parser *p, const char *s)
{
    return strncmp(p->src + p->i, s, strlen(s)) == 0;
}

static void advance(parser *p, size_t k)
{
    while (k-- && p->i < p->n) {
        if (p->src[p->i] == '\n')
            p->line++, p->col = 1;
        else if (((unsigned char)p->src[p->i] & 0xc0) != 0x80) /* columns count characters */
            p->col++;
        p->i++;
    }
}

static void skip_ws(parser *p)
{
    while (!eof(p) && isspace((unsigned char)peek(p, 0)))
        advance(p, 1);
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) {
        fprintf(stderr, "lvtc: out of memory\n");
        exit(1);
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void *grow(void *arr, int n, size_t size)
{
    if ((n & (n - 1)) == 0) { /* at powers of two */
        arr = realloc(arr, (size_t)(n ? n * 2 : 1) * size);
        if (arr == NULL) {
            fprintf(stderr, "lvtc: out of memory\n");
            exit(1);
        }
    }
    return arr;
}

/* Reads "{...}" at p (p at '{'): braces nest; string and character literals are skipped.
 * Returns the inner text, or NULL after reporting an unterminated expression. */
static char *read_expr(parser *p, pos *at)
{
    pos open = here(p);
    advance(p, 1);
    *at = here(p);
    size_t start = p->i;
    int depth = 1;
    while (!eof(p)) {
        char c = peek(p, 0);
        if (c == '/' && peek(p, 1) == '*') { /* a C comment may hold anything, braces included */
            advance(p, 2);
            while (!eof(p) && !starts(p, "*/"))
                advance(p, 1);
            if (eof(p))
                break;
            advance(p, 1);
        } else if (c == '"' || c == '\'') {
            advance(p, 1);
            while (!eof(p) && peek(p, 0) != c && peek(p, 0) != '\n') {
                if (peek(p, 0) == '\\')
                    advance(p, 1);
                advance(p, 1);
            }
            if (peek(p, 0) != c)
                break;
        } else if (c == '{') {
            depth++;
        } else if (c == '}' && --depth == 0) {
            char *e = dup_range(p->src + start, p->i - start);
            advance(p, 1);
            for (char *q = e; *q; q++)
                if (!isspace((unsigned char)*q))
                    return e;
            fail(p->file, open, "empty expression {}");
            free(e);
            return NULL;
        }
        advance(p, 1);
    }
    fail(p->file, open, "unterminated expression: '{' has no matching '}'");
    return NULL;
}

static bool name_char(char c)
{
    return c && !isspace((unsigned char)c) && c != '=' && c != '/' && c != '>' && c != '"' && c != '\'' &&
           c != '{' && c != '<';
}

static int parse_for(parser *p, node *el, const char *spec, pos at)
{
    const char *s = spec;
    while (isspace((unsigned char)*s))
        s++;
    const char *v = s;
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    size_t vlen = (size_t)(s - v);
    while (isspace((unsigned char)*s))
        s++;
    if (vlen == 0 || isdigit((unsigned char)*v) || strncmp(s, "in", 2) != 0 ||
        !isspace((unsigned char)s[2])) {
        fail(p->file, at, "malformed :for: expected {x in array, count} or {i in a..b}");
        return -1;
    }
    s += 3;
    el->for_var = dup_range(v, vlen);
    el->has_for = true;
    el->for_at = at;
    /* top-level ',' or '..' splits the rest */
    int depth = 0;
    for (const char *q = s; *q; q++) {
        if (*q == '(' || *q == '[' || *q == '{')
            depth++;
        else if (*q == ')' || *q == ']' || *q == '}')
            depth--;
        else if (depth == 0 && *q == ',') {
            el->for_a = dup_range(s, (size_t)(q - s));
            el->for_b = dup_range(q + 1, strlen(q + 1));
            break;
        } else if (depth == 0 && q[0] == '.' && q[1] == '.') {
            el->for_range = true;
            el->for_a = dup_range(s, (size_t)(q - s));
            el->for_b = dup_range(q + 2, strlen(q + 2));
            break;
        }
    }
    if (el->for_a == NULL || strspn(el->for_a, " \t\n") == strlen(el->for_a) ||
        strspn(el->for_b, " \t\n") == strlen(el->for_b)) {
        fail(p->file, at, "malformed :for: expected {x in array, count} or {i in a..b}");
        return -1;
    }
    return 0;
}

/* One attribute or directive; p at its first character. */
static int parse_attr(parser *p, node *el)
{
    pos at = here(p);
    size_t start = p->i;
    while (name_char(peek(p, 0)))
        advance(p, 1);
    if (p->i == start) {
        fail(p->file, at, "bad attribute: unexpected '%c' in <%s>", peek(p, 0), el->tag);
        return -1;
    }
    char *name = dup_range(p->src + start, p->i - start);
    skip_ws(p);
    attr a = {.name = name, .kind = A_BOOL, .at = at};
    if (peek(p, 0) == '=') {
        advance(p, 1);
        skip_ws(p);
        a.value_at = here(p);
        char c = peek(p, 0);
        if (c == '{') {
            a.kind = A_EXPR;
            if ((a.value = read_expr(p, &a.value_at)) == NULL)
                return -1;
        } else if (c == '"' || c == '\'') {
            a.quote = c;
            advance(p, 1);
            for (;;) { /* static text and {expr} pieces until the closing quote */
                size_t seg = p->i;
                pos seg_at = here(p);
                while (!eof(p) && peek(p, 0) != c && peek(p, 0) != '{')
                    advance(p, 1);
                if (eof(p)) {
                    fail(p->file, a.value_at, "bad attribute: unterminated value of %s", name);
                    return -1;
                }
                if (p->i > seg || (a.nparts == 0 && peek(p, 0) == c)) {
                    a.parts = grow(a.parts, a.nparts, sizeof(part));
                    a.parts[a.nparts++] = (part){false, dup_range(p->src + seg, p->i - seg), seg_at};
                }
                if (peek(p, 0) != '{')
                    break;
                part e = {.is_expr = true};
                if ((e.text = read_expr(p, &e.at)) == NULL)
                    return -1;
                a.parts = grow(a.parts, a.nparts, sizeof(part));
                a.parts[a.nparts++] = e;
            }
            advance(p, 1);
            bool any_expr = false;
            for (int i = 0; i < a.nparts; i++)
                any_expr |= a.parts[i].is_expr;
            if (any_expr) {
                a.kind = A_MIXED;
            } else {
                a.kind = A_STATIC;
                a.value = a.nparts ? a.parts[0].text : dup_range("", 0);
            }
        } else if (name_char(c)) {
            size_t v = p->i;
            while (name_char(peek(p, 0)))
                advance(p, 1);
            a.kind = A_STATIC;
            a.value = dup_range(p->src + v, p->i - v);
        } else {
            fail(p->file, a.value_at, "bad attribute: %s has '=' but no value", name);
            return -1;
        }
    }
    if (name[0] == ':') {
        bool needs_expr = strcmp(name, ":else") != 0;
        if (strcmp(name, ":if") && strcmp(name, ":else") && strcmp(name, ":for") && strcmp(name, ":key")) {
            fail(p->file, at, "unknown directive %s (expected :if, :else, :for or :key)", name);
            return -1;
        }
        if (needs_expr && a.kind != A_EXPR) {
            fail(p->file, at, "directive %s needs an expression in braces, e.g. %s={...}", name, name);
            return -1;
        }
        if (!needs_expr && a.kind != A_BOOL) {
            fail(p->file, at, "directive :else takes no value");
            return -1;
        }
        bool dup = (!strcmp(name, ":if") && el->if_expr) || (!strcmp(name, ":else") && el->is_else) ||
                   (!strcmp(name, ":for") && el->has_for) || (!strcmp(name, ":key") && el->key_expr);
        if (dup) {
            fail(p->file, at, "duplicate directive %s on <%s>", name, el->tag);
            return -1;
        }
        if (strcmp(name, ":if") == 0)
            el->if_expr = a.value, el->if_at = a.value_at;
        else if (strcmp(name, ":else") == 0)
            el->is_else = true;
        else if (strcmp(name, ":key") == 0)
            el->key_expr = a.value, el->key_at = a.value_at;
        else if (parse_for(p, el, a.value, a.value_at) != 0)
            return -1;
        return 0;
    }
    el->attrs = grow(el->attrs, el->nattrs, sizeof(attr));
    el->attrs[el->nattrs++] = a;
    return 0;
}

static int parse_nodes(parser *p, node *parent, node ***kids, int *nkids);

static node *new_node(node_kind kind, pos at)
{
    node *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        fprintf(stderr, "lvtc: out of memory\n");
        exit(1);
    }
    n->kind = kind;
    n->at = at;
    return n;
}

static node *parse_element(parser *p)
{
    node *el = new_node(N_ELEM, here(p));
    advance(p, 1);
    size_t start = p->i;
    while (isalnum((unsigned char)peek(p, 0)) || peek(p, 0) == '-' || peek(p, 0) == '_' ||
           peek(p, 0) == ':' || peek(p, 0) == '.')
        advance(p, 1);
    el->tag = dup_range(p->src + start, p->i - start);
    el->is_component = el->tag[0] == '.';
    el->is_slot = el->tag[0] == ':';
    if (el->is_component || el->is_slot) {
        for (const char *c = el->tag + 1; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '_') {
                fail(p->file, el->at, "bad %s name <%s>: use a C identifier",
                     el->is_slot ? "slot" : "component", el->tag);
                return NULL;
            }
    }
    for (;;) {
        skip_ws(p);
        if (eof(p)) {
            fail(p->file, el->at, "unclosed tag: <%s has no '>'", el->tag);
            return NULL;
        }
        if (starts(p, "/>")) {
            advance(p, 2);
            el->self_closing = true;
            break;
        }
        if (peek(p, 0) == '>') {
            advance(p, 1);
            break;
        }
        if (parse_attr(p, el) != 0)
            return NULL;
    }
    if (el->is_slot && (el->nattrs || el->if_expr || el->has_for || el->is_else)) {
        fail(p->file, el->at, "slot <%s> takes no attributes or directives", el->tag);
        return NULL;
    }
    if (el->key_expr && !el->has_for) {
        fail(p->file, el->key_at, ":key without :for on <%s>", el->tag);
        return NULL;
    }
    for (const char *const *v = VOID_TAGS; *v; v++)
        if (strcasecmp(el->tag, *v) == 0)
            el->is_void = true;
    if (el->is_void || el->self_closing)
        return el;
    if (strcasecmp(el->tag, "script") == 0 || strcasecmp(el->tag, "style") == 0) {
        /* raw text: braces are literal */
        char close[32];
        snprintf(close, sizeof(close), "</%s", el->tag);
        pos text_at = here(p);
        size_t s = p->i;
        while (!eof(p) && strncasecmp(p->src + p->i, close, strlen(close)) != 0)
            advance(p, 1);
        if (eof(p)) {
            fail(p->file, el->at, "unclosed tag: <%s> has no </%s>", el->tag, el->tag);
            return NULL;
        }
        node *t = new_node(N_TEXT, text_at);
        t->text = dup_range(p->src + s, p->i - s);
        el->kids = grow(el->kids, 0, sizeof(node *));
        el->kids[el->nkids++] = t;
        advance(p, strlen(close));
        skip_ws(p);
        if (peek(p, 0) != '>') {
            fail(p->file, here(p), "expected '>' to close </%s", el->tag);
            return NULL;
        }
        advance(p, 1);
        return el;
    }
    if (parse_nodes(p, el, &el->kids, &el->nkids) != 0)
        return NULL;
    return el;
}

static bool blank(const node *n)
{
    return n->kind == N_TEXT && strspn(n->text, " \t\r\n") == strlen(n->text);
}

/* Attaches an :else element to the :if element before it (blank text between is dropped). */
static int attach_else(parser *p, node *el, node **kids, int *nkids)
{
    int k = *nkids - 1;
    while (k >= 0 && blank(kids[k]))
        k--;
    node *last = k >= 0 && kids[k]->kind == N_ELEM ? kids[k] : NULL;
    while (last && last->else_node) /* else-if chains: <p :if> <p :else :if> <p :else> */
        last = last->else_node;
    if (last == NULL || last->if_expr == NULL) {
        fail(p->file, el->at, ":else without a preceding :if element");
        return -1;
    }
    last->else_node = el;
    *nkids = k + 1;
    return 0;
}

/* Children until the closing tag of parent (or EOF at top level). */
static int parse_nodes(parser *p, node *parent, node ***kids, int *nkids)
{
    for (;;) {
        if (eof(p)) {
            if (parent) {
                fail(p->file, parent->at, "unclosed tag: <%s> has no </%s>", parent->tag, parent->tag);
                return -1;
            }
            return 0;
        }
        pos at = here(p);
        if (starts(p, "</")) {
            advance(p, 2);
            size_t s = p->i;
            while (name_char(peek(p, 0)))
                advance(p, 1);
            char *name = dup_range(p->src + s, p->i - s);
            skip_ws(p);
            if (peek(p, 0) != '>') {
                fail(p->file, here(p), "expected '>' to close </%s", name);
                return -1;
            }
            advance(p, 1);
            if (parent == NULL) {
                fail(p->file, at, "unexpected closing tag </%s>: no element is open", name);
                return -1;
            }
            bool html = !parent->is_component && !parent->is_slot;
            if (html ? strcasecmp(name, parent->tag) != 0 : strcmp(name, parent->tag) != 0) {
                fail(p->file, at, "mismatched closing tag </%s>: <%s> (line %d) is open", name, parent->tag,
                     parent->at.line);
                return -1;
            }
            free(name);
            return 0;
        }
        node *n = NULL;
        if (starts(p, "<!--")) {
            size_t s = p->i;
            const char *end = strstr(p->src + p->i + 4, "-->");
            if (end == NULL) {
                fail(p->file, at, "unterminated comment: '<!--' has no '-->'");
                return -1;
            }
            advance(p, (size_t)(end + 3 - (p->src + p->i)));
            n = new_node(N_TEXT, at);
            n->text = dup_range(p->src + s, p->i - s);
        } else if (starts(p, "<!")) {
            size_t s = p->i;
            while (!eof(p) && peek(p, 0) != '>')
                advance(p, 1);
            advance(p, 1);
            n = new_node(N_TEXT, at);
            n->text = dup_range(p->src + s, p->i - s);
        } else if (peek(p, 0) == '<' && (isalpha((unsigned char)peek(p, 1)) ||
                                         ((peek(p, 1) == '.' || peek(p, 1) == ':') &&
                                          (isalpha((unsigned char)peek(p, 2)) || peek(p, 2) == '_')))) {
            if ((n = parse_element(p)) == NULL)
                return -1;
            if (n->is_slot && (parent == NULL || !parent->is_component)) {
                fail(p->file, n->at, "slot <%s> outside a component call", n->tag);
                return -1;
            }
            if (n->is_else) {
                if (attach_else(p, n, *kids, nkids) != 0)
                    return -1;
                continue;
            }
        } else if (peek(p, 0) == '{') {
            n = new_node(N_EXPR, at);
            if ((n->text = read_expr(p, &n->at)) == NULL)
                return -1;
            size_t len = strlen(n->text);
            if (strncmp(n->text, "raw(", 4) == 0 && n->text[len - 1] == ')') {
                n->raw = true;
                memmove(n->text, n->text + 4, len - 4);
                n->text[len - 5] = '\0';
            }
        } else {
            size_t s = p->i;
            advance(p, 1);
            while (!eof(p) && peek(p, 0) != '<' && peek(p, 0) != '{')
                advance(p, 1);
            n = new_node(N_TEXT, at);
            n->text = dup_range(p->src + s, p->i - s);
        }
        *kids = grow(*kids, *nkids, sizeof(node *));
        (*kids)[(*nkids)++] = n;
    }
}

int lvtc_parse(const char *file, const char *src, tree *out)
{
    parser p = {file, src, 0, strlen(src), 1, 1};
    memset(out, 0, sizeof(*out));
    out->file = file;
    return parse_nodes(&p, NULL, &out->kids, &out->nkids);
}
