/* The flash demo: greeting someone navigates to a fresh greeter (live, over the same socket, or
 * with a full page load) that shows "Hello, NAME!" as an info flash with a close button; an
 * empty name shows an error flash in place. Flash messages outlive the view that put them. */
#include <stdio.h>
#include <string.h>

#include "liveview/liveview.h"

typedef struct {
    int greeted; /* greetings shown since this view mounted: a navigation mounts a new one */
} greeter;

#include "examples/greeter/greeter.lv.h"

static void mount(lv_view *v, const lv_value *params)
{
    (void)params;
    greeter *g = lv_state(v);
    g->greeted = lv_flash("info") != NULL;
}

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    if (strcmp(event, "greet") != 0)
        return LV_ENOTFOUND;
    const char *name = lv_value_str(payload, "name");
    if (name == NULL || name[0] == '\0') {
        lv_put_flash(v, "error", "Type a name first.");
        return 0;
    }
    char msg[96];
    snprintf(msg, sizeof(msg), "Hello, %.64s!", name);
    lv_clear_flash(v, "error");
    lv_put_flash(v, "info", msg);
    if (lv_value_str(payload, "reload") != NULL)
        lv_redirect(v, "/greeter"); /* the flash rides in the __phoenix_flash__ cookie */
    else
        lv_push_navigate(v, "/greeter", false); /* ... or in the next join's flash param */
    return 0;
}

LV_VIEW(greeter, mount, handle_event, NULL);
