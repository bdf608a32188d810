/* The view API: what a page author writes against. A view is a state struct, a template and
 * three callbacks; LV_VIEW ties them together. Callbacks run inside the view's own process, so
 * a crash in one ends that session only. */
#ifndef LV_VIEW_H
#define LV_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "liveview/render.h"
#include "liveview/runtime.h"

#define LV_ABI_VERSION 1u

typedef struct lv_view lv_view;
/* A JSON value: event payloads (forms decoded to objects), mount params and session. */
typedef struct lv_value lv_value;

typedef struct lv_view_def {
    uint32_t abi;
    const char *name;
    size_t state_size;
    const lv_template *tmpl;
    /* Called twice per page: for the HTTP render (lv_connected false) and when the socket joins. */
    void (*mount)(lv_view *v, const lv_value *params);
    /* Returns 0, or LV_ENOTFOUND for an event it does not know: the runtime logs it and answers
     * the client without a diff, and the session and its state carry on. */
    int (*handle_event)(lv_view *v, const char *event, const lv_value *payload);
    void (*handle_info)(lv_view *v, const lv_msg *msg);
    /* Optional, for hot upgrades: fills new_state (this version's layout, zeroed) from the state
     * of the version being replaced (old_size bytes). Without it the state is kept as is, which
     * requires the same layout. The old version's module is unloaded once no process runs it:
     * the new state must keep no pointer into it (its string constants, its functions). */
    void (*code_change)(lv_view *v, const void *old_state, size_t old_size, void *new_state);
} lv_view_def;

/* Declares view `type`: the state struct `type`, the template compiled into `type##_template`.
 * Any callback may be NULL. Defines `const lv_view_def type##_view`. */
#define LV_VIEW(type, mount_fn, event_fn, info_fn) LV_VIEW_UPGRADABLE(type, mount_fn, event_fn, info_fn, NULL)
/* The same, with a code_change callback for hot upgrades from an older layout. */
#define LV_VIEW_UPGRADABLE(type, mount_fn, event_fn, info_fn, code_change_fn)                                \
    __attribute__((visibility("default")))                                                                   \
    const lv_view_def type##_view = {LV_ABI_VERSION, #type,      sizeof(type), &type##_template,             \
                                     (mount_fn),     (event_fn), (info_fn),    (code_change_fn)}

void *lv_state(lv_view *v);
bool lv_connected(const lv_view *v);
lv_pid lv_view_pid(const lv_view *v);
/* Declares that data behind a pointer in the state changed: `field` points into the state. */
void lv_changed(lv_view *v, const void *field, size_t size);
#define LV_CHANGED(v, field) lv_changed((v), &(field), sizeof(field))

/* The session the page was rendered with (lv_page_render's session_json), signed into the page
 * so the client cannot alter it: the same in the HTTP mount and the connected one, and for the
 * process's whole life. lv_session is the whole JSON object (read it with lv_value_*), NULL when
 * the page had none; lv_session_get(v, "user_id") is one string value, or NULL. */
const lv_value *lv_session(const lv_view *v);
const char *lv_session_get(const lv_view *v, const char *key);

/* In handle_event: the state of the stateful component the event targets (phx-target={@myself}
 * in the component's template), or NULL when it targets the view itself. */
void *lv_component_state(lv_view *v);

/* ---- talking to the client, from mount or a callback ---- */

/* The page's <title> (the client adds its data-prefix/suffix). */
void lv_page_title(lv_view *v, const char *title);
/* Dispatches `phx:<event>` on window and to hooks' handleEvent; payload_json is a JSON object
 * (NULL for {}). Invalid JSON is a crash of the calling process: it is a bug in the view. */
void lv_push_event(lv_view *v, const char *event, const char *payload_json);
/* Answers the hook event being handled (the callback of the hook's pushEvent). */
void lv_reply(lv_view *v, const char *payload_json);
/* Changes the URL without leaving the view (browser history entry; replace: no entry). */
void lv_push_patch(lv_view *v, const char *to, bool replace);
/* Navigates to another live view over the same connection. */
void lv_push_navigate(lv_view *v, const char *to, bool replace);
/* Leaves for another page with a full page load; this view's process ends. */
void lv_redirect(lv_view *v, const char *to);

/* ---- flash messages, as Phoenix's put_flash / clear_flash / @flash ---- */

/* Shows msg under key ("info", "error", ...) until it is cleared, the client sends
 * lv:clear-flash for that key (phx-click="lv:clear-flash" phx-value-key="info") or the view
 * ends. A following lv_push_navigate or lv_redirect carries the flash to the next page. NULL key
 * or msg, or more than 16 keys, is a bug in the view and crashes it. */
void lv_put_flash(lv_view *v, const char *key, const char *msg);
/* Removes key, or every key when key is NULL. */
void lv_clear_flash(lv_view *v, const char *key);
/* The message under key in the flash of the view this process runs, or NULL. Made for templates,
 * which have no lv_view at hand: {lv_flash("info")}; a slot calling it is evaluated again
 * whenever the flash changes. NULL outside a view process. */
const char *lv_flash(const char *key);

/* Reading values: NULL / an error code when the key is missing or has another type. */
const char *lv_value_str(const lv_value *v, const char *key);
int lv_value_int(const lv_value *v, const char *key, int64_t *out);
const lv_value *lv_value_get(const lv_value *v, const char *key);

/* "HH:MM:SS" of the local time, for clocks. buf holds at least 9 bytes. */
void lv_clock_now(char *buf);

#endif
