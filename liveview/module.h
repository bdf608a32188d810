/* View modules: shared objects holding views, loaded at start (the server's route table) or by a
 * hot upgrade. Each is reference-counted by whatever may still run its code: a route whose
 * current view it holds, a process running one of its views or spawned on one of its functions.
 * When the last reference goes, it is unloaded (off the schedulers, after a grace period). */
#ifndef LV_MODULE_H
#define LV_MODULE_H

#include <stdatomic.h>
#include <stddef.h>

#include "liveview/socket.h"

typedef struct lv_module lv_module;

/* Loads the shared object at path (an object already loaded is shared) and returns it held
 * once: release it with lv_module_release. On error *out is NULL and msg says why in one line
 * naming the file. */
int lv_module_open(const char *path, lv_module **out, char *msg, size_t cap);
/* The view `name` of a module (its `<name>_view` symbol), checked: ABI version, name and a
 * compiled template. LV_ENOTFOUND when it has no such symbol, LV_EINVAL when it is unusable;
 * msg says why, naming the file. The view lives as long as some reference holds the module. */
int lv_module_view(lv_module *m, const char *name, const lv_view_def **out, char *msg, size_t cap);
/* The absolute path it was loaded from. */
const char *lv_module_path(const lv_module *m);
/* Drops a reference (NULL: none). The last one unloads the module and logs
 * "[salamander] module PATH unloaded". */
void lv_module_release(lv_module *m);

/* A row of an application's route table: the page at `path` is view `view` of the module file
 * `file` (relative to the views directory). */
typedef struct lv_module_route {
    const char *path;
    const char *file;
    const char *view;
} lv_module_route;

/* Loads every module the table names from dir (each file once) and fills routes[i] with its
 * path and view; mods[i] holds the module of routes[i] (release each once the endpoint holds
 * its own references, i.e. after lv_endpoint_init). On error nothing stays held and msg is one
 * line naming the file. */
int lv_module_load_routes(const char *dir, const lv_module_route *table, size_t n, lv_route *routes,
                          lv_module **mods, char *msg, size_t cap);

/* ---- runtime-internal ---- */

/* Takes a reference on the loaded module whose mapping contains addr (a view def, a function);
 * NULL, and no reference, for code of the executable or a library. */
lv_module *lv__module_hold(const void *addr);
/* Reads *slot under the registry lock and holds the module of the view it names (*m, NULL for a
 * view of the executable): a view read this way cannot be unloaded before *m is released. */
const lv_view_def *lv__module_hold_view(_Atomic(const lv_view_def *) *slot, lv_module **m);
/* Publishes def in *slot under the registry lock, so lv__module_hold_view never returns a view
 * whose module is unloading; *held becomes a reference to def's module and the one it had is
 * dropped. */
void lv__module_publish(_Atomic(const lv_view_def *) *slot, const lv_view_def *def, lv_module **held);
/* A copy of s that lives as long as the program: names of module views shown by introspection
 * outlive the module. */
const char *lv__module_intern(const char *s);
/* Modules released to zero whose unloading has not finished yet. */
int lv__module_unloading(void);

#endif
