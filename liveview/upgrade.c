/* Hot code upgrade: a view built as a shared object replaces the running one. The object is
 * checked (ABI version, template, state layout or a code_change) before anything changes; then
 * new pages use it, and every live session of the view gets an "upgrade" message and switches
 * between two messages, keeping its WebSocket and its state. Old objects stay mapped: a process
 * may still be running their code. */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/rt_internal.h"
#include "liveview/view_internal.h"

typedef struct {
    const char *path;
    uintptr_t lo, hi;
} module_text;

static int find_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    module_text *m = data;
    if (info->dlpi_name == NULL || strcmp(info->dlpi_name, m->path) != 0)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            m->lo = info->dlpi_addr + ph->p_vaddr;
            m->hi = m->lo + ph->p_memsz;
        }
    }
    return 1;
}

int lv_endpoint_upgrade(lv_endpoint *ep, const char *so_path, char *msg, size_t cap)
{
    char path[PATH_MAX];
    if (realpath(so_path, path) == NULL) {
        snprintf(msg, cap, "cannot find %s", so_path);
        return LV_ENOTFOUND;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(msg, cap, "cannot load %s: %s", path, dlerror());
        return LV_EINVAL;
    }
    const lv_view_def *found[LV_MAX_ROUTES] = {0};
    size_t nfound = 0;
    for (size_t i = 0; i < ep->nroutes; i++) {
        const lv_view_def *old = lv_endpoint_view(ep, &ep->routes[i]);
        char sym[96];
        snprintf(sym, sizeof(sym), "%s_view", old->name);
        const lv_view_def *nd = dlsym(h, sym);
        if (nd == NULL)
            continue;
        const char *why = NULL;
        if (nd->abi != LV_ABI_VERSION)
            why = "it was built for another ABI version";
        else if (nd->name == NULL || strcmp(nd->name, old->name) != 0)
            why = "its name does not match";
        else if (nd->tmpl == NULL || nd->tmpl->render == NULL)
            why = "it has no compiled template";
        else if (nd->state_size != old->state_size && nd->code_change == NULL)
            why = "its state layout changed and it has no code_change";
        if (why) {
            snprintf(msg, cap, "refused %s from %s: %s (ABI %u, expected %u); the old code keeps running",
                     sym, path, why, nd->abi, LV_ABI_VERSION);
            dlclose(h);
            return LV_EINVAL;
        }
        found[i] = nd;
        nfound++;
    }
    if (nfound == 0) {
        snprintf(msg, cap, "refused %s: it defines no view this server routes (a <name>_view symbol)", path);
        dlclose(h);
        return LV_ENOTFOUND;
    }
    module_text m = {path, 0, 0};
    dl_iterate_phdr(find_module, &m);
    if (m.hi > m.lo)
        lv__preempt_add_code(m.lo, m.hi); /* its loops must be preemptible like built-in views */
    size_t switched = 0;
    lv_proc_info *procs = NULL;
    size_t nprocs = 0;
    lv_rt_list(ep->rt, &procs, &nprocs);
    for (size_t i = 0; i < ep->nroutes; i++) {
        if (found[i] == NULL)
            continue;
        const char *name = lv_endpoint_view(ep, &ep->routes[i])->name;
        atomic_store(&ep->upgraded[i], found[i]);
        for (size_t k = 0; k < nprocs; k++)
            if (procs[k].kind && strcmp(procs[k].kind, name) == 0 &&
                lv__deliver(ep->rt, procs[k].pid, LV_MSG_SYSTEM, 0, "upgrade", &found[i], sizeof(found[i]),
                            0) == 0)
                switched++;
    }
    free(procs);
    snprintf(msg, cap, "upgraded %zu view%s from %s; %zu live process%s switching", nfound,
             nfound == 1 ? "" : "s", path, switched, switched == 1 ? "" : "es");
    fprintf(stderr, "[salamander] %s\n", msg);
    return 0;
}
