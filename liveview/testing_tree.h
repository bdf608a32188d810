/* Client-side rendered tree for headless tests (testing_tree.c). */
#ifndef LV_TESTING_TREE_H
#define LV_TESTING_TREE_H

#include <jansson.h>
#include <stdint.h>

#include "liveview/buf.h"

/* Applies a join's rendered tree or a diff to *tree (NULL before the join). */
void lv_tt_apply(json_t **tree, json_t *diff);
/* Appends the HTML the client would put in the container `view_id` (NULL: components' root
 * elements are left untagged, as lv_rendered_html does then). */
void lv_tt_html(json_t *tree, const char *view_id, lv_buf *out);
/* Appends the HTML of component cid as it appears in the page (nothing if the client lacks it). */
void lv_tt_component_html(json_t *tree, int64_t cid, const char *view_id, lv_buf *out);
/* The components the page shows (reachable from the view's slots): writes up to cap cids, in no
 * particular order, and returns how many there are. */
size_t lv_tt_components(json_t *tree, int64_t *cids, size_t cap);

#endif
