/* Code generation: the template tree becomes static skeletons (lv_tmpl: the HTML between
 * dynamic slots) and one render function that fills the slots through liveview/render.h. Each
 * slot is guarded by the set of state fields (@field) its expressions read, so a render after an
 * event evaluates only what can have changed. Expressions keep their template file:line through
 * #line directives. Function components (<.name>) are expanded inline: the component's template
 * becomes a nested node rendered from a `const name` struct built from the call's attributes. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "liveview/buf.h"
#include "templates/lvtc.h"

#define MAX_COMPONENT_DEPTH 16
#define ALL_DEPS            (~(uint64_t)0)

/* Where expressions are: the view's template (@x is a state field, tracked), or the body of a
 * component expanded at a call site (@x is a member of the component's struct). */
typedef struct ctx ctx;
struct ctx {
    const char *file;
    char self[32]; /* what @ stands for */
    bool view;
    const node *call;  /* the component call whose body this is */
    const ctx *caller; /* where the call's slot contents are expanded */
    int level;         /* components nesting */
};

typedef struct comp_file {
    char *name, *path;
    tree t;
} comp_file;

typedef struct gen {
    const char *type, *out_path;
    lvtc_opts *opts;
    lv_buf code;
    lv_buf *tmpls; /* statics of each template, already as C literals */
    lv_buf *cur;   /* the static being built, per template */
    int *nstatics;
    int ntmpls, cap_tmpls;
    char **fields;
    int nfields, cap_fields;
    int indent, loop_id, comp_id;
    const ctx *ctx;
    comp_file *comps;
    int ncomps;
    bool failed;
} gen;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        fprintf(stderr, "lvtc: out of memory\n");
        exit(1);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    return memcpy(xrealloc(NULL, n + 1), s, n + 1);
}

static void error(gen *g, const char *file, pos at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void error(gen *g, const char *file, pos at, const char *fmt, ...)
{
    if (g->failed)
        return; /* the first error is the one to fix */
    va_list ap;
    va_start(ap, fmt);
    lvtc_verror(file, at, fmt, ap);
    va_end(ap);
    g->failed = true;
}

/* ---- expressions ---- */

static int field_index(gen *g, const char *name, size_t n)
{
    for (int i = 0; i < g->nfields; i++)
        if (strlen(g->fields[i]) == n && strncmp(g->fields[i], name, n) == 0)
            return i;
    if (g->nfields == g->cap_fields) {
        g->cap_fields = g->cap_fields ? g->cap_fields * 2 : 16;
        g->fields = xrealloc(g->fields, (size_t)g->cap_fields * sizeof(char *));
    }
    char *f = xrealloc(NULL, n + 1);
    memcpy(f, name, n);
    f[n] = '\0';
    g->fields[g->nfields] = f;
    return g->nfields++;
}

/* Length of a C string/char literal or comment starting at s, or 0 when none starts there. */
static size_t skip_c_token(const char *s)
{
    if (*s == '"' || *s == '\'') {
        const char *e = s + 1;
        while (*e && *e != *s) {
            if (*e == '\\' && e[1])
                e++;
            e++;
        }
        return (size_t)(e - s) + (*e ? 1 : 0);
    }
    if (s[0] == '/' && s[1] == '*') {
        const char *e = strstr(s + 2, "*/");
        return e ? (size_t)(e + 2 - s) : strlen(s);
    }
    return 0;
}

/* Rewrites @field into lv__s->field (or the component's struct) and collects the fields read. */
static char *translate(gen *g, const char *expr, uint64_t *deps)
{
    lv_buf out = LV_BUF_INIT;
    for (const char *s = expr; *s;) {
        size_t skip = skip_c_token(s);
        if (skip) {
            lv_buf_append(&out, s, skip);
            s += skip;
        } else if (*s == '@' && (isalpha((unsigned char)s[1]) || s[1] == '_')) {
            const char *name = s + 1, *e = name;
            while (isalnum((unsigned char)*e) || *e == '_')
                e++;
            if (e - name == 6 && strncmp(name, "myself", 6) == 0) { /* a stateful component's cid */
                lv_buf_puts(&out, "lv_r_myself(r)");
                s = e;
                continue;
            }
            if (g->ctx->view) {
                int i = field_index(g, name, (size_t)(e - name));
                *deps |= (uint64_t)1 << (i < 63 ? i : 63);
            } else {
                *deps = ALL_DEPS; /* a component's body renders whenever its call does */
            }
            lv_buf_puts(&out, g->ctx->self);
            lv_buf_puts(&out, "->");
            lv_buf_append(&out, name, (size_t)(e - name));
            s = e;
        } else {
            lv_buf_putc(&out, *s++);
        }
    }
    lv_buf_putc(&out, '\0');
    return out.data;
}

static uint64_t expr_deps(gen *g, const char *expr)
{
    uint64_t deps = 0;
    if (expr)
        free(translate(g, expr, &deps));
    return deps;
}

static uint64_t node_deps(gen *g, const node *n);

/* What a tag reads besides its own :for collection and count: attributes, condition, key,
 * else branches, children. */
static uint64_t body_deps(gen *g, const node *n)
{
    if (!g->ctx->view)
        return ALL_DEPS;
    uint64_t d = expr_deps(g, n->if_expr) | expr_deps(g, n->key_expr) | node_deps(g, n->else_node);
    for (int i = 0; i < n->nattrs; i++) {
        const attr *a = &n->attrs[i];
        if (a->kind == A_EXPR)
            d |= expr_deps(g, a->value);
        for (int k = 0; k < a->nparts; k++)
            if (a->parts[k].is_expr)
                d |= expr_deps(g, a->parts[k].text);
    }
    for (int i = 0; i < n->nkids; i++)
        d |= node_deps(g, n->kids[i]);
    return d;
}

/* Every field a subtree reads: the guard of the slot that holds it. */
static uint64_t node_deps(gen *g, const node *n)
{
    if (n == NULL)
        return 0;
    if (!g->ctx->view)
        return ALL_DEPS;
    if (n->kind == N_EXPR)
        return expr_deps(g, n->text);
    if (n->kind != N_ELEM)
        return 0;
    return expr_deps(g, n->for_a) | expr_deps(g, n->for_b) | body_deps(g, n);
}

/* ---- output helpers ---- */

static void line(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(gen *g, const char *fmt, ...)
{
    for (int i = 0; i < g->indent; i++)
        lv_buf_puts(&g->code, "    ");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0 && lv_buf_reserve(&g->code, (size_t)n)) {
        va_start(ap, fmt);
        vsnprintf(g->code.data + g->code.len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        g->code.len += (size_t)n;
    }
    lv_buf_putc(&g->code, '\n');
}

static void c_string(lv_buf *out, const char *s)
{
    lv_buf_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            lv_buf_putc(out, '\\');
        lv_buf_putc(out, *s);
    }
    lv_buf_putc(out, '"');
}

/* The next lines come from the template at `at`; #line_back() returns to the generated file. */
static void line_from(gen *g, pos at)
{
    lv_buf_printf(&g->code, "#line %d ", at.line);
    c_string(&g->code, g->ctx->file);
    lv_buf_putc(&g->code, '\n');
}

static void line_back(gen *g)
{
    lv_buf_puts(&g->code, "#line @RESET@\n");
}

static void c_literal(lv_buf *out, const char *s, size_t n)
{
    lv_buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            lv_buf_putc(out, '\\'), lv_buf_putc(out, (char)c);
        else if (c == '\n' && i + 1 < n)
            lv_buf_puts(out, "\\n\"\n    \"");
        else if (c == '\n')
            lv_buf_puts(out, "\\n");
        else if (c == '\t')
            lv_buf_puts(out, "\\t");
        else if (c == '?') /* no trigraphs */
            lv_buf_puts(out, "\\?");
        else if (c < 0x20 || c == 0x7f)
            lv_buf_printf(out, "\\%03o", c);
        else
            lv_buf_putc(out, (char)c);
    }
    lv_buf_putc(out, '"');
}

static void deps_literal(char *buf, size_t n, uint64_t deps)
{
    if (deps == ALL_DEPS)
        snprintf(buf, n, "UINT64_MAX");
    else
        snprintf(buf, n, "UINT64_C(0x%llx)", (unsigned long long)deps);
}

static int new_tmpl(gen *g)
{
    if (g->ntmpls == g->cap_tmpls) {
        int cap = g->cap_tmpls ? g->cap_tmpls * 2 : 16;
        g->tmpls = xrealloc(g->tmpls, (size_t)cap * sizeof(lv_buf));
        g->cur = xrealloc(g->cur, (size_t)cap * sizeof(lv_buf));
        g->nstatics = xrealloc(g->nstatics, (size_t)cap * sizeof(int));
        for (int i = g->cap_tmpls; i < cap; i++) {
            g->tmpls[i] = (lv_buf)LV_BUF_INIT;
            g->cur[i] = (lv_buf)LV_BUF_INIT;
            g->nstatics[i] = 0;
        }
        g->cap_tmpls = cap;
    }
    return g->ntmpls++;
}

static void end_static(gen *g, int t)
{
    lv_buf *cur = &g->cur[t];
    if (g->nstatics[t]++)
        lv_buf_puts(&g->tmpls[t], ",\n    ");
    c_literal(&g->tmpls[t], cur->data ? cur->data : "", cur->len);
    lv_buf_reset(cur);
}

/* ---- the template's parts ---- */

static void emit_nodes(gen *g, int t, node *const *kids, int nkids);
static int trimmed(node **kids, int n, node **out);
static void emit_element(gen *g, int t, const node *n, bool skip_for, bool skip_if);

/* Opens a slot guarded by deps: `if (lv_r_slot(r, deps)) {` */
static void open_slot(gen *g, int t, uint64_t deps)
{
    char d[40];
    deps_literal(d, sizeof(d), deps);
    end_static(g, t);
    line(g, "if (lv_r_slot(r, %s)) {", d);
    g->indent++;
}

static void close_block(gen *g)
{
    g->indent--;
    line(g, "}");
}

static void emit_value(gen *g, int t, const char *expr, bool raw, pos at)
{
    uint64_t deps = 0;
    char *c = translate(g, expr, &deps);
    open_slot(g, t, deps);
    line_from(g, at);
    line(g, raw ? "lv_r_raw(r, (%s));" : "lv_r_put(r, (%s));", c);
    line_back(g);
    close_block(g);
    free(c);
}

/* name={expr}: the slot holds the whole attribute, so false and NULL can leave it out. */
static void emit_attr_value(gen *g, int t, const attr *a)
{
    uint64_t deps = 0;
    char *c = translate(g, a->value, &deps);
    lv_buf name = LV_BUF_INIT;
    lv_buf_putc(&name, ' ');
    lv_buf_puts(&name, a->name);
    lv_buf lit = LV_BUF_INIT;
    c_literal(&lit, name.data, name.len);
    open_slot(g, t, deps);
    line_from(g, a->value_at);
    line(g, "lv_r_attr(r, %s, (%s));", lit.data, c);
    line_back(g);
    close_block(g);
    lv_buf_free(&name);
    lv_buf_free(&lit);
    free(c);
}

static void emit_branch(gen *g, const node *n, bool skip_for)
{
    int t = new_tmpl(g);
    line(g, "lv_r_open(r, &lv__%s_t%d);", g->type, t);
    emit_element(g, t, n, skip_for, true);
    end_static(g, t);
    line(g, "lv_r_close(r);");
}

/* An :if / :else :if / :else chain is one slot holding the chosen branch's node. */
static void emit_if(gen *g, int t, const node *n, bool skip_for)
{
    uint64_t deps = node_deps(g, n);
    open_slot(g, t, deps);
    int opened = 0;
    for (const node *b = n; b; b = b->else_node) {
        if (b->if_expr == NULL) { /* the final :else */
            emit_branch(g, b, false);
            break;
        }
        uint64_t unused = 0;
        char *cond = translate(g, b->if_expr, &unused);
        line_from(g, b->if_at);
        line(g, "if (%s) {", cond);
        line_back(g);
        free(cond);
        g->indent++;
        emit_branch(g, b, b == n ? skip_for : false);
        g->indent--;
        line(g, "} else {");
        g->indent++;
        opened++;
        if (b->else_node == NULL)
            line(g, "lv_r_str(r, \"\");");
    }
    while (opened--)
        close_block(g);
    close_block(g);
}

static void emit_for(gen *g, int t, const node *n)
{
    uint64_t deps = node_deps(g, n), other = body_deps(g, n);
    uint64_t unused = 0;
    char *a = translate(g, n->for_a, &unused), *b = translate(g, n->for_b, &unused);
    int body = new_tmpl(g);
    int id = g->loop_id++;
    open_slot(g, t, deps);
    line(g, "lv_r_for_begin(r, &lv__%s_t%d);", g->type, body);
    line_from(g, n->for_at);
    if (n->for_range) {
        line(g, "for (long %s = (long)(%s), lv__end%d = (long)(%s); %s < lv__end%d; %s++) {", n->for_var, a,
             id, b, n->for_var, id, n->for_var);
        g->indent++;
    } else {
        line(g, "const long long lv__n%d = (long long)(%s);", id, b);
        line(g, "for (long long lv__i%d = 0; lv__i%d < lv__n%d; lv__i%d++) {", id, id, id, id);
        g->indent++;
        line(g, "__typeof__(&(%s)[0]) %s = &(%s)[lv__i%d];", a, n->for_var, a, id);
    }
    line_back(g);
    line(g, "(void)%s;", n->for_var);
    /* an element whose bytes did not change keeps its rendered item: only what the body reads
     * besides the element can force it to render again */
    bool keep = !n->for_range && g->ctx->view;
    char d[40];
    deps_literal(d, sizeof(d), other);
    if (n->key_expr) {
        char *k = translate(g, n->key_expr, &unused);
        line_from(g, n->key_at);
        if (keep)
            line(g, "if (lv_r_item_key_keep(r, (%s), %s, sizeof(*%s), %s))", k, n->for_var, n->for_var, d);
        else
            line(g, "lv_r_item_key(r, (%s));", k);
        line_back(g);
        free(k);
    } else if (keep) {
        line(g, "if (lv_r_item_keep(r, %s, sizeof(*%s), %s))", n->for_var, n->for_var, d);
    } else {
        line(g, "lv_r_item(r);");
    }
    if (keep)
        line(g, "    continue;");
    emit_element(g, body, n, true, false);
    end_static(g, body);
    close_block(g);
    line(g, "lv_r_for_end(r);");
    close_block(g);
    free(a);
    free(b);
}

/* ---- function components ---- */

static bool c_identifier(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return xstrdup(".");
    char *d = xrealloc(NULL, (size_t)(slash - path) + 1);
    memcpy(d, path, (size_t)(slash - path));
    d[slash - path] = '\0';
    return d;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    lv_buf b = LV_BUF_INIT;
    char chunk[4096];
    size_t r;
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
        lv_buf_append(&b, chunk, r);
    fclose(f);
    lv_buf_putc(&b, '\0');
    return b.data;
}

/* Finds and parses name.lv.html: beside the template that calls it, then in the -I folders. */
static comp_file *load_component(gen *g, const char *name, pos at)
{
    for (int i = 0; i < g->ncomps; i++)
        if (strcmp(g->comps[i].name, name) == 0)
            return &g->comps[i];
    char *here = dir_of(g->ctx->file);
    int ndirs = 1 + (g->opts ? g->opts->ninclude : 0);
    char *path = NULL, *src = NULL;
    for (int d = 0; d < ndirs && src == NULL; d++) {
        const char *dir = d == 0 ? here : g->opts->include_dirs[d - 1];
        lv_buf p = LV_BUF_INIT;
        if (strcmp(dir, ".") != 0)
            lv_buf_printf(&p, "%s/", dir);
        lv_buf_printf(&p, "%s.lv.html", name);
        free(path);
        path = p.data;
        src = read_all(path);
    }
    free(here);
    if (src == NULL) {
        error(g, g->ctx->file, at,
              "unknown component <.%s>: no %s.lv.html beside this template or in -I folders", name, name);
        free(path);
        return NULL;
    }
    tree t;
    if (lvtc_parse(path, src, &t) != 0) {
        g->failed = true;
        return NULL;
    }
    t.src = src;
    g->comps = xrealloc(g->comps, (size_t)(g->ncomps + 1) * sizeof(comp_file));
    comp_file *c = &g->comps[g->ncomps++];
    c->name = xstrdup(name);
    c->path = path;
    c->t = t;
    return c;
}

/* The contents a call passes for slot `name` ("inner_block": everything but named slots). */
static int slot_contents(const node *call, const char *name, node ***out)
{
    int n = 0;
    *out = NULL;
    bool inner = strcmp(name, "inner_block") == 0;
    for (int i = 0; i < call->nkids; i++) {
        node *k = call->kids[i];
        bool named = k->kind == N_ELEM && k->is_slot;
        if (inner ? named : !named || strcmp(k->tag + 1, name) != 0)
            continue;
        int m = inner ? 1 : k->nkids;
        *out = xrealloc(*out, (size_t)(n + m + 1) * sizeof(node *));
        for (int j = 0; j < m; j++)
            (*out)[n++] = inner ? k : k->kids[j];
    }
    bool blank = true;
    for (int i = 0; i < n && blank; i++)
        blank = (*out)[i]->kind == N_TEXT && strspn((*out)[i]->text, " \t\r\n") == strlen((*out)[i]->text);
    if (blank) {
        free(*out);
        *out = NULL;
        return 0;
    }
    return n;
}

/* {render_slot(@name)} in a component body: the caller's content, rendered where the caller
 * is (its state, its loop variables), as a nested node. */
static bool emit_render_slot(gen *g, int t, const node *e)
{
    const char *s = e->text;
    while (isspace((unsigned char)*s))
        s++;
    if (strncmp(s, "render_slot", 11) != 0)
        return false;
    s += 11;
    while (isspace((unsigned char)*s))
        s++;
    if (*s++ != '(')
        return false;
    while (isspace((unsigned char)*s))
        s++;
    if (*s++ != '@')
        return false;
    const char *name = s;
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    size_t len = (size_t)(s - name);
    while (isspace((unsigned char)*s))
        s++;
    if (*s++ != ')')
        return false;
    while (isspace((unsigned char)*s))
        s++;
    if (*s || len == 0)
        return false;
    if (g->ctx->call == NULL)
        return true; /* a component compiled on its own, as a view: nobody passes slots */
    char slot[128];
    snprintf(slot, sizeof(slot), "%.*s", (int)(len < 100 ? len : 100), name);
    node **contents;
    int n = slot_contents(g->ctx->call, slot, &contents);
    if (n == 0)
        return true; /* nothing passed: renders as nothing, no slot needed */
    int st = new_tmpl(g);
    open_slot(g, t, ALL_DEPS);
    line(g, "lv_r_open(r, &lv__%s_t%d);", g->type, st);
    const ctx *inside = g->ctx;
    g->ctx = inside->caller;
    emit_nodes(g, st, contents, n);
    g->ctx = inside;
    end_static(g, st);
    line(g, "lv_r_close(r);");
    close_block(g);
    free(contents);
    return true;
}

/* <.live_component module={name} id={...} state={...}/>: a stateful component, rendered from
 * name_template over the struct `state` points to, sent under "c" by cid. */
static void emit_live(gen *g, int t, const node *n)
{
    const attr *module = NULL, *id = NULL, *state = NULL;
    for (int i = 0; i < n->nattrs; i++) {
        const attr *a = &n->attrs[i];
        const attr **slot = !strcmp(a->name, "module")  ? &module
                            : !strcmp(a->name, "id")    ? &id
                            : !strcmp(a->name, "state") ? &state
                                                        : NULL;
        if (slot == NULL || a->kind == A_BOOL || a->kind == A_MIXED) {
            error(g, g->ctx->file, a->at,
                  "<.live_component> takes module={name}, id={...} and state={...}, not %s", a->name);
            return;
        }
        *slot = a;
    }
    if (module == NULL || id == NULL || state == NULL || state->kind != A_EXPR) {
        error(g, g->ctx->file, n->at, "<.live_component> needs module={name}, id={...} and state={pointer}");
        return;
    }
    const char *m = module->value;
    while (isspace((unsigned char)*m))
        m++;
    size_t mlen = strlen(m);
    while (mlen && isspace((unsigned char)m[mlen - 1]))
        mlen--;
    char mod[128];
    snprintf(mod, sizeof(mod), "%.*s", (int)(mlen < 120 ? mlen : 120), m);
    if (!c_identifier(mod)) {
        error(g, g->ctx->file, module->value_at,
              "<.live_component> module must name a component type, not '%s'", mod);
        return;
    }
    int k = g->comp_id++;
    uint64_t unused = 0;
    char *st = translate(g, state->value, &unused);
    open_slot(g, t, node_deps(g, n));
    line_from(g, state->value_at);
    line(g, "const %s *lv__l%d = (%s);", mod, k, st);
    line_back(g);
    free(st);
    if (id->kind == A_EXPR) {
        char *idc = translate(g, id->value, &unused);
        line_from(g, id->value_at);
        line(g, "lv_r_live(r, &%s_template, lv__l%d, sizeof(*lv__l%d), (%s));", mod, k, k, idc);
        line_back(g);
        free(idc);
    } else {
        lv_buf lit = LV_BUF_INIT;
        c_literal(&lit, id->value, strlen(id->value));
        line_from(g, id->value_at);
        line(g, "lv_r_live(r, &%s_template, lv__l%d, sizeof(*lv__l%d), %s);", mod, k, k, lit.data);
        line_back(g);
        lv_buf_free(&lit);
    }
    close_block(g);
}

static void emit_component(gen *g, int t, const node *n)
{
    const char *name = n->tag + 1;
    if (strcmp(name, "live_component") == 0) {
        if (n->nkids)
            error(g, g->ctx->file, n->at, "<.live_component> takes no content");
        else
            emit_live(g, t, n);
        return;
    }
    if (g->ctx->level >= MAX_COMPONENT_DEPTH) {
        error(g, g->ctx->file, n->at, "components nested more than %d deep: does <.%s> call itself?",
              MAX_COMPONENT_DEPTH, name);
        return;
    }
    for (int i = 0; i < n->nattrs; i++) {
        const attr *a = &n->attrs[i];
        if (!c_identifier(a->name)) {
            error(g, g->ctx->file, a->at, "component attribute %s is not a C member name", a->name);
            return;
        }
        if (a->kind == A_MIXED) {
            error(g, g->ctx->file, a->value_at, "component attribute %s: use %s={...} to build a value",
                  a->name, a->name);
            return;
        }
    }
    comp_file *cf = load_component(g, name, n->at);
    if (cf == NULL)
        return;
    int id = g->comp_id++;
    open_slot(g, t, node_deps(g, n));
    line(g, "const %s lv__c%dv = {", name, id);
    for (int i = 0; i < n->nattrs; i++) {
        const attr *a = &n->attrs[i];
        if (a->kind == A_EXPR) {
            uint64_t unused = 0;
            char *c = translate(g, a->value, &unused);
            line_from(g, a->value_at);
            line(g, "    .%s = (%s),", a->name, c);
            line_back(g);
            free(c);
        } else if (a->kind == A_STATIC) {
            lv_buf lit = LV_BUF_INIT;
            c_literal(&lit, a->value, strlen(a->value));
            line(g, "    .%s = %s,", a->name, lit.data);
            lv_buf_free(&lit);
        } else {
            line(g, "    .%s = 1,", a->name);
        }
    }
    line(g, "};");
    ctx body = {.file = cf->path, .view = false, .call = n, .caller = g->ctx, .level = g->ctx->level + 1};
    snprintf(body.self, sizeof(body.self), "lv__c%d", id);
    line(g, "const %s *%s = &lv__c%dv;", name, body.self, id);
    line(g, "(void)%s;", body.self);
    int bt = new_tmpl(g);
    line(g, "lv_r_open(r, &lv__%s_t%d);", g->type, bt);
    const ctx *outer = g->ctx;
    g->ctx = &body;
    for (int i = 0; i < cf->t.nkids; i++) {
        const node *k = cf->t.kids[i];
        if (k->kind == N_ELEM && strcasecmp(k->tag, "title") == 0)
            error(g, cf->path, k->at, "<title> belongs in a view's template, not in a component");
    }
    node **body_kids = xrealloc(NULL, (size_t)(cf->t.nkids + 1) * sizeof(node *));
    emit_nodes(g, bt, body_kids, trimmed(cf->t.kids, cf->t.nkids, body_kids));
    free(body_kids);
    g->ctx = outer;
    end_static(g, bt);
    line(g, "lv_r_close(r);");
    close_block(g);
}

/* ---- elements ---- */

static void emit_attr(gen *g, int t, const attr *a)
{
    lv_buf *cur = &g->cur[t];
    if (a->kind == A_EXPR) {
        emit_attr_value(g, t, a);
        return;
    }
    lv_buf_putc(cur, ' ');
    lv_buf_puts(cur, a->name);
    switch (a->kind) {
    case A_STATIC:
        lv_buf_putc(cur, '=');
        if (a->quote)
            lv_buf_putc(cur, a->quote);
        lv_buf_puts(cur, a->value);
        if (a->quote)
            lv_buf_putc(cur, a->quote);
        break;
    case A_MIXED:
        lv_buf_putc(cur, '=');
        lv_buf_putc(cur, a->quote);
        for (int i = 0; i < a->nparts; i++) {
            if (a->parts[i].is_expr)
                emit_value(g, t, a->parts[i].text, false, a->parts[i].at);
            else
                lv_buf_puts(&g->cur[t], a->parts[i].text);
        }
        lv_buf_putc(&g->cur[t], a->quote);
        break;
    default: break;
    }
}

static void emit_element(gen *g, int t, const node *n, bool skip_for, bool skip_if)
{
    if (g->failed)
        return;
    if (n->has_for && !skip_for) {
        emit_for(g, t, n);
        return;
    }
    if (n->if_expr && !skip_if) {
        emit_if(g, t, n, skip_for);
        return;
    }
    if (n->is_component) {
        emit_component(g, t, n);
        return;
    }
    lv_buf_putc(&g->cur[t], '<');
    lv_buf_puts(&g->cur[t], n->tag);
    for (int i = 0; i < n->nattrs; i++)
        emit_attr(g, t, &n->attrs[i]);
    if (n->self_closing && n->nkids == 0 && n->is_void) {
        lv_buf_puts(&g->cur[t], "/>");
        return;
    }
    lv_buf_putc(&g->cur[t], '>');
    if (n->is_void)
        return;
    emit_nodes(g, t, n->kids, n->nkids);
    lv_buf_printf(&g->cur[t], "</%s>", n->tag);
}

static void emit_nodes(gen *g, int t, node *const *kids, int nkids)
{
    for (int i = 0; i < nkids && !g->failed; i++) {
        const node *n = kids[i];
        if (n->kind == N_TEXT)
            lv_buf_puts(&g->cur[t], n->text);
        else if (n->kind == N_EXPR && (n->raw || !emit_render_slot(g, t, n)))
            emit_value(g, t, n->text, n->raw, n->at);
        else if (n->kind == N_ELEM)
            emit_element(g, t, n, false, false);
    }
}

/* ---- the page title ---- */

/* The static text of a <title> is HTML: decode the usual entities into plain text. */
static void decode_entities(lv_buf *out, const char *s)
{
    static const struct {
        const char *name;
        const char *text;
    } entities[] = {{"amp;", "&"},   {"lt;", "<"},   {"gt;", ">"},
                    {"quot;", "\""}, {"apos;", "'"}, {"nbsp;", "\xc2\xa0"}};
    while (*s) {
        if (*s != '&') {
            lv_buf_putc(out, *s++);
            continue;
        }
        bool done = false;
        for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]) && !done; i++)
            if (strncmp(s + 1, entities[i].name, strlen(entities[i].name)) == 0) {
                lv_buf_puts(out, entities[i].text);
                s += 1 + strlen(entities[i].name);
                done = true;
            }
        if (!done && s[1] == '#') {
            char *end;
            bool hex = s[2] == 'x' || s[2] == 'X';
            unsigned long cp = strtoul(s + (hex ? 3 : 2), &end, hex ? 16 : 10);
            if (*end == ';' && end > s + (hex ? 3 : 2) && cp > 0 && cp <= 0x10ffff &&
                (cp < 0xd800 || cp > 0xdfff)) {
                char u[4];
                int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
                static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
                for (int k = n - 1; k > 0; k--, cp >>= 6)
                    u[k] = (char)(0x80 | (cp & 0x3f));
                u[0] = (char)(n == 1 ? cp : (lead[n] | cp));
                lv_buf_append(out, u, (size_t)n);
                s = end + 1;
                done = true;
            }
        }
        if (!done)
            lv_buf_putc(out, *s++);
    }
}

static void emit_title(gen *g, const node *title)
{
    if (title->if_expr || title->has_for || title->nattrs) {
        error(g, g->ctx->file, title->at, "<title> takes no attributes or directives");
        return;
    }
    for (int i = 0; i < title->nkids; i++)
        if (title->kids[i]->kind == N_ELEM) {
            error(g, g->ctx->file, title->kids[i]->at, "<title> holds only text and {expressions}");
            return;
        }
    char d[40];
    deps_literal(d, sizeof(d), node_deps(g, title));
    line(g, "if (lv_r_title_begin(r, %s)) {", d);
    g->indent++;
    for (int i = 0; i < title->nkids; i++) {
        const node *k = title->kids[i];
        if (k->kind == N_TEXT) {
            lv_buf text = LV_BUF_INIT, lit = LV_BUF_INIT;
            decode_entities(&text, k->text);
            c_literal(&lit, text.data ? text.data : "", text.len);
            line(g, "lv_r_title_text(r, %s);", lit.data);
            lv_buf_free(&text);
            lv_buf_free(&lit);
        } else {
            uint64_t unused = 0;
            char *c = translate(g, k->text, &unused);
            line_from(g, k->at);
            line(g, k->raw ? "lv_r_raw(r, (%s));" : "lv_r_put(r, (%s));", c);
            line_back(g);
            free(c);
        }
    }
    line(g, "lv_r_title_end(r);");
    close_block(g);
}

/* A template's leading and trailing whitespace is layout of the file, not content: a component
 * used inline must not bring its file's final newline along. */
static int trimmed(node **kids, int n, node **out)
{
    int lo = 0, hi = n;
    while (lo < hi && kids[lo]->kind == N_TEXT && strspn(kids[lo]->text, " \t\r\n") == strlen(kids[lo]->text))
        lo++;
    while (hi > lo && kids[hi - 1]->kind == N_TEXT &&
           strspn(kids[hi - 1]->text, " \t\r\n") == strlen(kids[hi - 1]->text))
        hi--;
    for (int i = lo; i < hi; i++)
        out[i - lo] = kids[i];
    if (hi > lo && out[0]->kind == N_TEXT) { /* text starting or ending the template: trim it in a copy */
        node *first = xrealloc(NULL, sizeof(node));
        *first = *out[0];
        first->text = xstrdup(out[0]->text + strspn(out[0]->text, " \t\r\n"));
        out[0] = first;
    }
    if (hi > lo && out[hi - lo - 1]->kind == N_TEXT) {
        node *last = xrealloc(NULL, sizeof(node));
        *last = *out[hi - lo - 1];
        last->text = xstrdup(last->text);
        size_t len = strlen(last->text);
        while (len && strchr(" \t\r\n", last->text[len - 1]))
            last->text[--len] = '\0';
        out[hi - lo - 1] = last;
    }
    return hi - lo;
}

/* ---- the file ---- */

int lvtc_generate(const tree *tr, const char *type, const char *out_path, lvtc_opts *opts, char **c_out)
{
    gen *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return -1;
    ctx view = {.file = tr->file, .self = "lv__s", .view = true};
    g->ctx = &view;
    g->type = type;
    g->out_path = out_path;
    g->opts = opts;
    g->indent = 1;
    if (!c_identifier(type)) {
        fprintf(stderr, "%s:1:1: state type name '%s' is not a C identifier (use --type NAME)\n", tr->file,
                type);
        return -1;
    }

    /* a top-level <title> is the page title, not part of the rendered tree */
    node **kids = xrealloc(NULL, (size_t)(tr->nkids + 1) * sizeof(node *));
    int nkids = 0;
    const node *title = NULL;
    for (int i = 0; i < tr->nkids; i++) {
        node *k = tr->kids[i];
        if (k->kind == N_ELEM && strcasecmp(k->tag, "title") == 0) {
            if (title)
                error(g, tr->file, k->at, "a second <title> (the first is on line %d)", title->at.line);
            title = k;
            continue;
        }
        kids[nkids++] = k;
    }
    if (title)
        emit_title(g, title);
    int root = new_tmpl(g);
    line(g, "lv_r_open(r, &lv__%s_t%d);", type, root);
    node **body = xrealloc(NULL, (size_t)(nkids + 1) * sizeof(node *));
    emit_nodes(g, root, body, trimmed(kids, nkids, body));
    free(body);
    end_static(g, root);
    line(g, "lv_r_close(r);");
    free(kids);
    if (g->failed)
        return -1;

    lv_buf out = LV_BUF_INIT;
    lv_buf_puts(&out, "/* generated by lvtc from ");
    lv_buf_puts(&out, tr->file);
    lv_buf_puts(&out, ": do not edit */\n");
    lv_buf_printf(&out, "#ifndef LV__GENERATED_%s\n#define LV__GENERATED_%s\n", type, type);
    lv_buf_puts(&out, "#include <stddef.h>\n#include <stdint.h>\n\n#include \"liveview/render.h\"\n\n");
    for (int t = 0; t < g->ntmpls; t++) {
        lv_buf_printf(&out, "static const char *const lv__%s_s%d[] = {\n    ", type, t);
        lv_buf_append(&out, g->tmpls[t].data, g->tmpls[t].len);
        lv_buf_printf(&out, "};\nstatic const lv_tmpl lv__%s_t%d = LV_TMPL(lv__%s_s%d);\n", type, t, type, t);
    }
    lv_buf_printf(&out, "\nstatic const lv_field lv__%s_fields[] = {\n", type);
    for (int i = 0; i < g->nfields; i++)
        lv_buf_printf(&out, "    LV_FIELD(%s, %s),\n", type, g->fields[i]);
    if (g->nfields == 0)
        lv_buf_puts(&out, "    {0, 0},\n");
    lv_buf_printf(&out,
                  "};\n\nstatic void lv__%s_render(lv_r *r, const void *lv__state)\n{\n"
                  "    const %s *lv__s = lv__state;\n    (void)lv__s;\n",
                  type, type);
    lv_buf_append(&out, g->code.data, g->code.len);
    lv_buf_printf(&out, "}\n\n__attribute__((unused)) static const lv_template %s_template = {\n    ", type);
    c_string(&out, tr->file);
    lv_buf_printf(&out, ", lv__%s_fields, %d, lv__%s_render};\n#endif\n", type, g->nfields, type);

    /* resolve the #line markers now that output line numbers are known */
    lv_buf back = LV_BUF_INIT;
    c_string(&back, out_path);
    lv_buf final = LV_BUF_INIT;
    int lineno = 1;
    const char *marker = "#line @RESET@";
    size_t mlen = strlen(marker);
    for (size_t i = 0; i < out.len;) {
        if (out.data[i] == '#' && strncmp(out.data + i, marker, mlen) == 0) {
            lv_buf_printf(&final, "#line %d %s", lineno + 1, back.data);
            i += mlen;
            continue;
        }
        if (out.data[i] == '\n')
            lineno++;
        lv_buf_putc(&final, out.data[i++]);
    }
    lv_buf_putc(&final, '\0');
    lv_buf_free(&out);
    lv_buf_free(&back);
    if (opts) {
        opts->deps = xrealloc(opts->deps, (size_t)(opts->ndeps + g->ncomps + 1) * sizeof(char *));
        for (int i = 0; i < g->ncomps; i++)
            opts->deps[opts->ndeps++] = xstrdup(g->comps[i].path);
    }
    *c_out = final.data;
    return 0;
}
