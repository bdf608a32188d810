/* Client-side rendered tree for headless tests (testing_tree.c). */
#ifndef LV_TESTING_TREE_H
#define LV_TESTING_TREE_H

#include <jansson.h>

#include "liveview/buf.h"

/* Applies a join's rendered tree or a diff to *tree (NULL before the join). */
void lv_tt_apply(json_t **tree, json_t *diff);
/* Appends the HTML the client would put in the container. */
void lv_tt_html(json_t *tree, lv_buf *out);

#endif
