/* Code generation: the template tree becomes static skeletons (lv_tmpl: the HTML between
 * dynamic slots) and one render function that fills the slots through liveview/render.h. Each
 * slot is guarded by the set of state fields (@field) its expressions read, so a render after an
 * event evaluates only what can have changed. Expressions keep their template file:line through
 * #line directives. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/buf.h"
#include "templates/lvtc.h"

#define MAX_FIELDS 256
#define MAX_TMPLS  256

typedef struct gen {
    const char *file, *type, *out_path;
    lv_buf code;
    lv_buf tmpls[MAX_TMPLS]; /* statics of each template, already as C literals */
    int ntmpls_statics[MAX_TMPLS];
    lv_buf cur[MAX_TMPLS]; /* the static being built, per template */
    int ntmpls;
    char *fields[MAX_FIELDS];
    int nfields;
    int indent;
    int loop_id;
    bool failed;
} gen;

/* ---- expressions ---- */

static int field_index(gen *g, const char *name, size_t n)
{
    for (int i = 0; i < g->nfields; i++)
        if (strlen(g->fields[i]) == n && strncmp(g->fields[i], name, n) == 0)
            return i;
    if (g->nfields == MAX_FIELDS)
        return MAX_FIELDS - 1;
    char *f = malloc(n + 1);
    memcpy(f, name, n);
    f[n] = '\0';
    g->fields[g->nfields] = f;
    return g->nfields++;
}

/* Rewrites @field into lv__s->field (outside literals) and collects the fields read. */
static char *translate(gen *g, const char *expr, uint64_t *deps)
{
    lv_buf out = LV_BUF_INIT;
    for (const char *s = expr; *s;) {
        if (*s == '"' || *s == '\'') {
            char q = *s;
            const char *e = s + 1;
            while (*e && *e != q) {
                if (*e == '\\' && e[1])
                    e++;
                e++;
            }
            if (*e)
                e++;
            lv_buf_append(&out, s, (size_t)(e - s));
            s = e;
        } else if (*s == '@' && (isalpha((unsigned char)s[1]) || s[1] == '_')) {
            const char *name = s + 1, *e = name;
            while (isalnum((unsigned char)*e) || *e == '_')
                e++;
            int i = field_index(g, name, (size_t)(e - name));
            *deps |= (uint64_t)1 << (i < 63 ? i : 63);
            lv_buf_puts(&out, "lv__s->");
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

/* Every field a subtree reads: the guard of the slot that holds it. */
static uint64_t node_deps(gen *g, const node *n)
{
    if (n == NULL)
        return 0;
    if (n->kind == N_EXPR)
        return expr_deps(g, n->text);
    if (n->kind != N_ELEM)
        return 0;
    uint64_t d = expr_deps(g, n->if_expr) | expr_deps(g, n->for_a) | expr_deps(g, n->for_b) |
                 expr_deps(g, n->key_expr) | node_deps(g, n->else_node);
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

/* ---- output helpers ---- */

static void line(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(gen *g, const char *fmt, ...)
{
    for (int i = 0; i < g->indent; i++)
        lv_buf_puts(&g->code, "    ");
    va_list ap;
    va_start(ap, fmt);
    char tmp[8192];
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    lv_buf_puts(&g->code, tmp);
    lv_buf_putc(&g->code, '\n');
}

/* Code at a template position: #line before, and a marker the writer turns into a #line back. */
static void line_at(gen *g, pos at, const char *fmt, const char *arg)
{
    lv_buf_printf(&g->code, "#line %d \"%s\"\n", at.line, g->file);
    line(g, fmt, arg);
    lv_buf_puts(&g->code, "#line @RESET@\n");
}

static void c_literal(lv_buf *out, const char *s, size_t n)
{
    lv_buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            lv_buf_putc(out, '\\'), lv_buf_putc(out, (char)c);
        else if (c == '\n')
            lv_buf_puts(out, "\\n\"\n    \"");
        else if (c == '\t')
            lv_buf_puts(out, "\\t");
        else if (c == '?') /* no trigraphs */
            lv_buf_puts(out, "\\?");
        else if (c < 0x20)
            lv_buf_printf(out, "\\%03o", c);
        else
            lv_buf_putc(out, (char)c);
    }
    lv_buf_putc(out, '"');
}

static int new_tmpl(gen *g)
{
    if (g->ntmpls == MAX_TMPLS) {
        fprintf(stderr, "%s:1:1: template too complex: more than %d nested blocks\n", g->file, MAX_TMPLS);
        g->failed = true;
        return 0;
    }
    return g->ntmpls++;
}

static void end_static(gen *g, int t)
{
    lv_buf *cur = &g->cur[t];
    if (g->ntmpls_statics[t]++)
        lv_buf_puts(&g->tmpls[t], ",\n    ");
    c_literal(&g->tmpls[t], cur->data ? cur->data : "", cur->len);
    lv_buf_reset(cur);
}

static void emit_nodes(gen *g, int t, node **kids, int nkids);
static void emit_element(gen *g, int t, const node *n, bool skip_for, bool skip_if);

static void emit_value(gen *g, int t, const char *expr, bool raw, pos at)
{
    uint64_t deps = 0;
    char *c = translate(g, expr, &deps);
    end_static(g, t);
    line(g, "if (lv_r_slot(r, UINT64_C(0x%llx))) {", (unsigned long long)deps);
    g->indent++;
    line_at(g, at, raw ? "lv_r_raw(r, (%s));" : "lv_r_put(r, (%s));", c);
    g->indent--;
    line(g, "}");
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

static void emit_if(gen *g, int t, const node *n, bool skip_for)
{
    uint64_t deps = expr_deps(g, n->if_expr) | node_deps(g, n) | node_deps(g, n->else_node);
    uint64_t unused = 0;
    char *cond = translate(g, n->if_expr, &unused);
    end_static(g, t);
    line(g, "if (lv_r_slot(r, UINT64_C(0x%llx))) {", (unsigned long long)deps);
    g->indent++;
    lv_buf_printf(&g->code, "#line %d \"%s\"\n", n->if_at.line, g->file);
    line(g, "if (%s) {", cond);
    lv_buf_puts(&g->code, "#line @RESET@\n");
    g->indent++;
    emit_branch(g, n, skip_for);
    g->indent--;
    line(g, "} else {");
    g->indent++;
    if (n->else_node)
        emit_branch(g, n->else_node, false);
    else
        line(g, "lv_r_str(r, \"\");");
    g->indent--;
    line(g, "}");
    g->indent--;
    line(g, "}");
    free(cond);
}

static void emit_for(gen *g, int t, const node *n)
{
    uint64_t deps = node_deps(g, n);
    uint64_t unused = 0;
    char *a = translate(g, n->for_a, &unused), *b = translate(g, n->for_b, &unused);
    int body = new_tmpl(g);
    int id = g->loop_id++;
    end_static(g, t);
    line(g, "if (lv_r_slot(r, UINT64_C(0x%llx))) {", (unsigned long long)deps);
    g->indent++;
    line(g, "lv_r_for_begin(r, &lv__%s_t%d);", g->type, body);
    lv_buf_printf(&g->code, "#line %d \"%s\"\n", n->for_at.line, g->file);
    if (n->for_range) {
        line(g, "for (long %s = (long)(%s); %s < (long)(%s); %s++) {", n->for_var, a, n->for_var, b,
             n->for_var);
    } else {
        line(g, "for (size_t lv__i%d = 0; lv__i%d < (size_t)(%s); lv__i%d++) {", id, id, b, id);
        g->indent++;
        line(g, "__typeof__(&(%s)[0]) %s = &(%s)[lv__i%d];", a, n->for_var, a, id);
        g->indent--;
    }
    g->indent++;
    if (n->key_expr) {
        char *k = translate(g, n->key_expr, &unused);
        lv_buf_printf(&g->code, "#line %d \"%s\"\n", n->key_at.line, g->file);
        line(g, "lv_r_item_key(r, (%s));", k);
        free(k);
    } else {
        line(g, "lv_r_item(r);");
    }
    lv_buf_puts(&g->code, "#line @RESET@\n");
    if (!n->for_range) {
        /* an unchanged element keeps its rendered item: only what the body reads besides the
         * array can force it to render again */
        uint64_t other = node_deps(g, n) & ~(expr_deps(g, n->for_a) | expr_deps(g, n->for_b));
        line(g, "if (lv_r_item_unchanged(r, %s, sizeof(*%s), UINT64_C(0x%llx)))", n->for_var, n->for_var,
             (unsigned long long)other);
        line(g, "    continue;");
    }
    emit_element(g, body, n, true, false);
    end_static(g, body);
    g->indent--;
    line(g, "}");
    line(g, "lv_r_for_end(r);");
    g->indent--;
    line(g, "}");
    free(a);
    free(b);
}

static void emit_attr(gen *g, int t, const attr *a)
{
    lv_buf *cur = &g->cur[t];
    lv_buf_putc(cur, ' ');
    lv_buf_puts(cur, a->name);
    switch (a->kind) {
    case A_BOOL: break;
    case A_STATIC:
        lv_buf_putc(cur, '=');
        if (a->quote)
            lv_buf_putc(cur, a->quote);
        lv_buf_puts(cur, a->value);
        if (a->quote)
            lv_buf_putc(cur, a->quote);
        break;
    case A_EXPR:
        lv_buf_puts(cur, "=\"");
        emit_value(g, t, a->value, false, a->value_at);
        lv_buf_putc(&g->cur[t], '"');
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
    }
}

static void emit_element(gen *g, int t, const node *n, bool skip_for, bool skip_if)
{
    if (n->has_for && !skip_for) {
        emit_for(g, t, n);
        return;
    }
    if (n->if_expr && !skip_if) {
        emit_if(g, t, n, skip_for);
        return;
    }
    lv_buf_putc(&g->cur[t], '<');
    lv_buf_puts(&g->cur[t], n->tag);
    for (int i = 0; i < n->nattrs; i++)
        emit_attr(g, t, &n->attrs[i]);
    if (n->self_closing) {
        lv_buf_puts(&g->cur[t], "/>");
        return;
    }
    lv_buf_putc(&g->cur[t], '>');
    if (n->is_void)
        return;
    emit_nodes(g, t, n->kids, n->nkids);
    lv_buf_printf(&g->cur[t], "</%s>", n->tag);
}

static void emit_nodes(gen *g, int t, node **kids, int nkids)
{
    for (int i = 0; i < nkids; i++) {
        const node *n = kids[i];
        if (n->kind == N_TEXT)
            lv_buf_puts(&g->cur[t], n->text);
        else if (n->kind == N_EXPR)
            emit_value(g, t, n->text, n->raw, n->at);
        else
            emit_element(g, t, n, false, false);
    }
}

/* ---- the file ---- */

int lvtc_generate(const tree *tr, const char *type, const char *out_path, char **c_out)
{
    gen *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return -1;
    g->file = tr->file;
    g->type = type;
    g->out_path = out_path;
    g->indent = 1;
    int root = new_tmpl(g);
    line(g, "lv_r_open(r, &lv__%s_t%d);", type, root);
    emit_nodes(g, root, tr->kids, tr->nkids);
    end_static(g, root);
    line(g, "lv_r_close(r);");
    if (g->failed)
        return -1;

    lv_buf out = LV_BUF_INIT;
    lv_buf_printf(&out,
                  "/* generated by lvtc from %s: do not edit */\n#include <stddef.h>\n#include <stdint.h>\n\n"
                  "#include \"liveview/render.h\"\n\n",
                  tr->file);
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
    lv_buf_printf(&out,
                  "}\n\n__attribute__((unused)) static const lv_template %s_template = {\n"
                  "    \"%s\", lv__%s_fields, %d, lv__%s_render};\n",
                  type, tr->file, type, g->nfields, type);
    /* resolve the #line markers now that output line numbers are known */
    lv_buf final = LV_BUF_INIT;
    int lineno = 1;
    for (size_t i = 0; i < out.len;) {
        const char *marker = "#line @RESET@";
        if (strncmp(out.data + i, marker, strlen(marker)) == 0) {
            lv_buf_printf(&final, "#line %d \"%s\"", lineno + 1, out_path);
            i += strlen(marker);
            continue;
        }
        if (out.data[i] == '\n')
            lineno++;
        lv_buf_putc(&final, out.data[i++]);
    }
    lv_buf_putc(&final, '\0');
    lv_buf_free(&out);
    *c_out = final.data;
    return 0;
}
