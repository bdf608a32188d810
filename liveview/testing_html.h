/* Finding elements in rendered HTML by a simple CSS selector, for headless tests
 * (testing_html.c): tag, #id, .class and [attr] / [attr=value], combined in one compound
 * selector such as button#inc or form[phx-submit=calculate]. */
#ifndef LV_TESTING_HTML_H
#define LV_TESTING_HTML_H

#include <stdbool.h>
#include <stddef.h>

#define LV_HTML_MAX_ATTRS 32

typedef struct lv_html_el {
    char tag[32];
    int nattrs;
    char names[LV_HTML_MAX_ATTRS][48];
    char values[LV_HTML_MAX_ATTRS][256];
} lv_html_el;

/* Fills *out with the first element matching selector; false if none (or the selector is
 * malformed: *bad is set then). */
bool lv_html_find(const char *html, const char *selector, lv_html_el *out, bool *bad);
const char *lv_html_attr(const lv_html_el *el, const char *name);

#endif
