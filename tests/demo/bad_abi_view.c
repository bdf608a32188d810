/* A view module built for another ABI version: `lvctl upgrade` must refuse it. */
#include "liveview/view.h"

typedef struct {
    int x;
} calculator;

static void render(lv_r *r, const void *state)
{
    (void)r;
    (void)state;
}
static const lv_template tmpl = {"bad.lv.html", NULL, 0, render};

__attribute__((visibility("default")))
const lv_view_def calculator_view = {
    .abi = LV_ABI_VERSION + 1, .name = "calculator", .state_size = sizeof(calculator), .tmpl = &tmpl};
