/* The registry of loaded view modules: their mappings, their reference counts and their
 * unloading. One lock guards it; it is taken when a join, a page render or a spawn from module
 * code starts, never per message. A module released to zero is unlinked at once (nothing can
 * find it any more), then a reaper thread retires its text from the preemption table, waits out
 * the signal handlers, and dlcloses it. */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveview/module.h"
#include "liveview/preempt.h"

struct lv_module {
    struct lv_module *next;
    void *handle;
    uintptr_t lo, hi;           /* every loaded segment */
    uintptr_t text_lo, text_hi; /* the executable one, application code for preemption */
    int refs;                   /* guarded by lock */
    char path[PATH_MAX];
};

typedef struct interned {
    struct interned *next;
    char s[];
} interned;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static lv_module *modules;     /* live ones: a released module leaves this list at once */
static interned *names;
static _Atomic int nmodules;   /* modules ever loaded: 0 keeps spawns off the lock */
static _Atomic int unloading;

/* The executable's own code is never a module's: a spawn of one of its functions skips the lock. */
extern const char __executable_start[], _end[];

static int find_segments(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    lv_module *m = data;
    if (info->dlpi_name == NULL || strcmp(info->dlpi_name, m->path) != 0)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (m->lo == 0 || lo < m->lo)
            m->lo = lo;
        if (hi > m->hi)
            m->hi = hi;
        if (ph->p_flags & PF_X) {
            m->text_lo = lo;
            m->text_hi = hi;
        }
    }
    return 1;
}

int lv_module_open(const char *path, lv_module **out, char *msg, size_t cap)
{
    *out = NULL;
    char real[PATH_MAX];
    if (realpath(path, real) == NULL) {
        snprintf(msg, cap, "cannot find view module %s", path);
        return LV_ENOTFOUND;
    }
    void *h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(msg, cap, "cannot load view module %s: %s", real, dlerror());
        return LV_EINVAL;
    }
    pthread_mutex_lock(&lock);
    for (lv_module *m = modules; m; m = m->next)
        if (m->handle == h) { /* already loaded: share it */
            m->refs++;
            pthread_mutex_unlock(&lock);
            dlclose(h); /* drops only the reference this dlopen added */
            *out = m;
            return 0;
        }
    pthread_mutex_unlock(&lock);
    lv_module *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        dlclose(h);
        snprintf(msg, cap, "out of memory loading %s", real);
        return LV_ENOMEM;
    }
    m->handle = h;
    m->refs = 1;
    snprintf(m->path, sizeof(m->path), "%s", real);
    dl_iterate_phdr(find_segments, m);
    if (m->text_hi > m->text_lo)
        lv__preempt_add_code(m->text_lo, m->text_hi); /* its loops are preemptible like any view's */
    pthread_mutex_lock(&lock);
    m->next = modules;
    modules = m;
    atomic_fetch_add(&nmodules, 1);
    pthread_mutex_unlock(&lock);
    *out = m;
    return 0;
}

int lv_module_view(lv_module *m, const char *name, const lv_view_def **out, char *msg, size_t cap)
{
    char sym[96];
    snprintf(sym, sizeof(sym), "%s_view", name);
    const lv_view_def *d = dlsym(m->handle, sym);
    *out = NULL;
    if (d == NULL) {
        snprintf(msg, cap, "view module %s has no symbol %s", m->path, sym);
        return LV_ENOTFOUND;
    }
    const char *why = NULL;
    if (d->abi != LV_ABI_VERSION)
        why = "it was built for another ABI version";
    else if (d->name == NULL || strcmp(d->name, name) != 0)
        why = "its name does not match";
    else if (d->tmpl == NULL || d->tmpl->render == NULL)
        why = "it has no compiled template";
    if (why) {
        snprintf(msg, cap, "refused %s from %s: %s (ABI %u, expected %u)", sym, m->path, why, d->abi,
                 LV_ABI_VERSION);
        return LV_EINVAL;
    }
    *out = d;
    return 0;
}

const char *lv_module_path(const lv_module *m)
{
    return m->path;
}

static void *reap(void *arg)
{
    lv_module *m = arg;
    if (m->text_hi > m->text_lo)
        lv__preempt_remove_code(m->text_lo, m->text_hi); /* returns after the grace period */
    dlclose(m->handle);
    fprintf(stderr, "[salamander] module %s unloaded\n", m->path);
    free(m);
    atomic_fetch_sub(&unloading, 1);
    return NULL;
}

/* Drops one reference with the lock held; returns the module if it must now be reaped. */
static lv_module *release_locked(lv_module *m)
{
    if (m == NULL || --m->refs > 0)
        return NULL;
    for (lv_module **pp = &modules; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    atomic_fetch_add(&unloading, 1);
    return m;
}

/* dlclose and the grace period block: a thread of their own keeps them off the schedulers. */
static void start_reaper(lv_module *m)
{
    if (m == NULL)
        return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, reap, m) != 0) {
        fprintf(stderr, "[salamander] module %s stays loaded: cannot start its reaper thread\n", m->path);
        atomic_fetch_sub(&unloading, 1);
    }
    pthread_attr_destroy(&attr);
}

void lv_module_release(lv_module *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&lock);
    lv_module *dead = release_locked(m);
    pthread_mutex_unlock(&lock);
    start_reaper(dead);
}

static lv_module *find_locked(uintptr_t a)
{
    for (lv_module *m = modules; m; m = m->next)
        if (a >= m->lo && a < m->hi)
            return m;
    return NULL;
}

lv_module *lv__module_hold(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    if (addr == NULL || atomic_load_explicit(&nmodules, memory_order_relaxed) == 0 ||
        (a >= (uintptr_t)__executable_start && a < (uintptr_t)_end))
        return NULL;
    pthread_mutex_lock(&lock);
    lv_module *m = find_locked(a);
    if (m)
        m->refs++;
    pthread_mutex_unlock(&lock);
    return m;
}

const lv_view_def *lv__module_hold_view(_Atomic(const lv_view_def *) *slot, lv_module **m)
{
    pthread_mutex_lock(&lock);
    const lv_view_def *d = atomic_load(slot);
    *m = find_locked((uintptr_t)d);
    if (*m)
        (*m)->refs++;
    pthread_mutex_unlock(&lock);
    return d;
}

void lv__module_publish(_Atomic(const lv_view_def *) *slot, const lv_view_def *def, lv_module **held)
{
    pthread_mutex_lock(&lock);
    atomic_store(slot, def);
    lv_module *m = find_locked((uintptr_t)def);
    if (m)
        m->refs++;
    lv_module *old = *held;
    *held = m;
    lv_module *dead = release_locked(old);
    pthread_mutex_unlock(&lock);
    start_reaper(dead);
}

const char *lv__module_intern(const char *s)
{
    pthread_mutex_lock(&lock);
    interned *i = names;
    while (i && strcmp(i->s, s) != 0)
        i = i->next;
    if (i == NULL && (i = malloc(sizeof(*i) + strlen(s) + 1)) != NULL) {
        strcpy(i->s, s);
        i->next = names;
        names = i;
    }
    pthread_mutex_unlock(&lock);
    return i ? i->s : "?";
}

int lv__module_unloading(void)
{
    return atomic_load(&unloading);
}

int lv_module_load_routes(const char *dir, const lv_module_route *table, size_t n, lv_route *routes,
                          lv_module **mods, char *msg, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, table[i].file);
        const lv_view_def *def = NULL;
        int err = lv_module_open(path, &mods[i], msg, cap);
        if (err == 0)
            err = lv_module_view(mods[i], table[i].view, &def, msg, cap);
        if (err) {
            for (size_t k = 0; k <= i; k++)
                lv_module_release(mods[k]);
            memset(mods, 0, n * sizeof(*mods));
            return err;
        }
        routes[i] = (lv_route){table[i].path, def};
    }
    return 0;
}
