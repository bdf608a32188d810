/* lvtc internals: the template's syntax tree (parse.c builds it, codegen.c turns it into C). */
#ifndef LVTC_H
#define LVTC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pos {
    int line, col;
} pos;

typedef struct part { /* a piece of a quoted attribute value */
    bool is_expr;
    char *text;
    pos at;
} part;

typedef enum { A_BOOL, A_STATIC, A_EXPR, A_MIXED } attr_kind;

typedef struct attr {
    char *name;
    attr_kind kind;
    char quote;  /* A_STATIC/A_MIXED: the quote used, or 0 when unquoted */
    char *value; /* A_STATIC: the text; A_EXPR: the expression */
    part *parts; /* A_MIXED */
    int nparts;
    pos at, value_at;
} attr;

typedef enum { N_TEXT, N_EXPR, N_ELEM } node_kind;

typedef struct node node;
struct node {
    node_kind kind;
    pos at;
    char *text; /* N_TEXT: raw HTML; N_EXPR: the expression */
    bool raw;   /* N_EXPR: {raw(expr)} */
    /* N_ELEM */
    char *tag;
    attr *attrs;
    int nattrs;
    node **kids;
    int nkids;
    bool is_void, self_closing;
    bool is_component; /* <.name>: a function component call (name in tag + 1) */
    bool is_slot;      /* <:name>: a named slot's content, inside a component call */
    char *if_expr;
    pos if_at;
    bool is_else;
    node *else_node;
    bool has_for, for_range;
    char *for_var, *for_a, *for_b; /* array and count, or range bounds */
    pos for_at;
    char *key_expr;
    pos key_at;
};

typedef struct tree {
    const char *file;
    char *src;
    node **kids;
    int nkids;
} tree;

typedef struct lvtc_opts {
    const char **include_dirs; /* where <.name> components are looked for, after the template's folder */
    int ninclude;
    char **deps; /* filled by lvtc_generate: the component files it read */
    int ndeps;
} lvtc_opts;

/* Parses src; on error prints "file:line:col: message" and returns -1. */
int lvtc_parse(const char *file, const char *src, tree *out);
/* Builds the C header in *c_out; returns 0, or -1 after printing the error. out_path names the
 * generated file in #line directives. */
int lvtc_generate(const tree *t, const char *type, const char *out_path, lvtc_opts *opts, char **c_out);

/* Prints "file:line:col: message": every lvtc error has this shape. */
void lvtc_verror(const char *file, pos at, const char *fmt, va_list ap);

#endif
