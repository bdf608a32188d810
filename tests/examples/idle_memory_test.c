/* What an idle joined view keeps between messages: nothing but its own block. Titles, client
 * events, hook replies, navigations and flashes are allocated while a callback uses them and let
 * go once the render that carries them went out (tests/bench/RESULTS.md: memory per idle session). */
#include <criterion/criterion.h>
#include <string.h>

#define LV__TEST_ASSERT(cond) cr_assert(cond)
#include "liveview/liveview.h"
#include "liveview/rt_internal.h"
#include "liveview/testing.h"
#include "liveview/view_internal.h"

typedef struct {
    int count;
} titled;
#include "tests/examples/views/titled.lv.h"

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    (void)payload;
    titled *s = lv_state(v);
    if (!strcmp(event, "inc"))
        s->count++;
    else if (!strcmp(event, "title"))
        lv_page_title(v, "Explicit");
    else if (!strcmp(event, "push"))
        lv_push_event(v, "hello", "{\"n\":1}");
    else if (!strcmp(event, "hook"))
        lv_reply(v, "{\"ok\":true}");
    else if (!strcmp(event, "patch"))
        lv_push_patch(v, "/titled?page=2", false);
    else if (!strcmp(event, "flash"))
        lv_put_flash(v, "info", "saved");
    else if (!strcmp(event, "unflash"))
        lv_clear_flash(v, NULL);
    else
        return LV_ENOTFOUND;
    return 0;
}

LV_VIEW(titled, NULL, handle_event, NULL);

/* The harness runs the runtime only inside lv_test_* calls, on this thread: between calls the
 * view's memory holds still. */
static lv_view *view_of(lv_test *t)
{
    pthread_mutex_t *lock;
    lv_proc *p = lv__lookup_locked(lv_test_rt(t), lv_test_pid(t), &lock);
    cr_assert_not_null(p);
    lv_view *v = p->hstate;
    if (lock)
        pthread_mutex_unlock(lock);
    return v;
}

static void assert_idle(lv_test *t, const char *after)
{
    lv_view *v = view_of(t);
    cr_assert_null(v->out, "after \"%s\" the view still holds its pending output", after);
    cr_assert_null(v->flash.e, "after \"%s\" an empty flash still holds memory", after);
    pthread_mutex_t *lock;
    lv_proc *p = lv__lookup_locked(lv_test_rt(t), lv_test_pid(t), &lock);
    const lv_arena *arena = p->arena;
    if (lock)
        pthread_mutex_unlock(lock);
    /* an empty arena is let go with its header: an idle process holds none */
    cr_assert_null(arena, "after \"%s\" the process holds an arena (%zu bytes reserved)", after,
                   arena ? arena->reserved : 0);
}

Test(idle_memory, a_joined_view_holds_nothing_after_each_render, .timeout = 20)
{
    lv_test *t = lv_test_mount(&titled_view, NULL);
    cr_assert_not_null(t);
    assert_idle(t, "join");
    static const char *const events[] = {"inc", "title", "push", "hook", "patch"};
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        cr_assert_eq(lv_test_click(t, events[i], NULL), 0);
        assert_idle(t, events[i]);
    }
    cr_assert(strstr(lv_test_frames(t), "\"e\":[[\"hello\",{\"n\":1}]]"), "%s", lv_test_frames(t));
    cr_assert(strstr(lv_test_frames(t), "\"r\":{\"ok\":true}"), "%s", lv_test_frames(t));
    cr_assert_eq(lv_test_click(t, "flash", NULL), 0);
    cr_assert_not_null(view_of(t)->flash.e); /* shown: kept */
    cr_assert_eq(lv_test_click(t, "unflash", NULL), 0);
    assert_idle(t, "unflash");
    lv_test_free(t);
}

/* The view, its state, its topic and join ref and its rendered tree are one block with the process,
 * and so is the tree's root node: the page rendered before the join told the size it needs. */
Test(idle_memory, the_view_state_topic_and_tree_share_the_process_block, .timeout = 20)
{
    cr_assert_eq(lv_rendered_size_with_root(titled_view.tmpl, sizeof(titled)),
                 lv_rendered_size(sizeof(titled)));
    lv_test *t = lv_test_mount(&titled_view, NULL);
    cr_assert_not_null(t);
    pthread_mutex_t *lock;
    lv_proc *p = lv__lookup_locked(lv_test_rt(t), lv_test_pid(t), &lock);
    const char *lo = (const char *)p, *hi = lo + sizeof(*p) + p->hstate_size;
    lv_view *v = p->hstate;
    if (lock)
        pthread_mutex_unlock(lock);
    cr_assert_eq((const char *)v, lo + sizeof(*p));
    cr_assert((const char *)v->state > (const char *)v && (const char *)v->state < hi);
    cr_assert(v->topic > (const char *)v->state && v->topic + strlen(v->topic) < hi);
    const char *join_ref = lv__view_join_ref(v);
    cr_assert_eq(join_ref, v->topic + strlen(v->topic) + 1, "the join ref follows the topic");
    cr_assert(join_ref + strlen(join_ref) < hi);
    /* and the rendered tree, after the strings */
    cr_assert(v->rd_in_block);
    cr_assert((const char *)v->rd > join_ref + strlen(join_ref) &&
              (const char *)v->rd + lv_rendered_size_with_root(titled_view.tmpl, sizeof(titled)) <= hi);
    cr_assert(lv_rendered_root_in_room(v->rd));
    cr_assert_eq(lv_view_pid(v), lv_test_pid(t));
    cr_assert(strncmp(v->topic, "lv:", 3) == 0, "%s", v->topic);
    cr_assert_eq(lv_test_click(t, "inc", NULL), 0); /* renders from the root in the block */
    cr_assert(lv_rendered_root_in_room(v->rd));
    lv_test_free(t);
}
