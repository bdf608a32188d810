/* `make bench-render`: the rendering path's figures, printed as BENCH lines.
 *   render.thermostat_events_per_s      an `inc` handled, re-rendered, diffed and encoded as the
 *                                       event's phx_reply frame, one thread
 *   render.table1000_one_row_diff_bytes JSON bytes of the diff when one cell of a 1,000-row keyed
 *                                       table changes
 *   render.table1000_one_row_us         microseconds for that change: render + diff + encode */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "liveview/phx.h"
#include "liveview/render.h"

/* The thermostat view itself: its state, helper and compiled template. */
#include "examples/thermostat/thermostat.c"

typedef struct {
    int id;
    char name[16];
    char status[8];
    int value;
} table_row;
typedef struct {
    table_row rows[1000];
    int nrows;
} table;
#include "tests/bench/views/table.lv.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_thermostat(void)
{
    thermostat t = {72, COOLING, "12:00:00"};
    lv_rendered *rd = lv_rendered_new(&thermostat_template, sizeof(t));
    lv_buf json = LV_BUF_INIT, frame = LV_BUF_INIT;
    lv_rendered_full(rd, &t, &json);
    const int n = 2000000;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        t.temp++; /* handle_event("inc") */
        lv_buf_reset(&json);
        lv_buf_reset(&frame);
        lv_buf_puts(&json, "{\"diff\":");
        lv_rendered_diff(rd, &t, &json);
        lv_buf_putc(&json, '}');
        lv_phx_reply(&frame, "1", "2", "lv:phx-F7kz0Yh2Zk4AAAAB", "ok", json.data, json.len);
    }
    double dt = now_s() - t0;
    printf("BENCH render.thermostat_events_per_s %.0f events/s\n", n / dt);
    printf("(last frame: %.*s)\n", (int)frame.len, frame.data);
    lv_buf_free(&json);
    lv_buf_free(&frame);
    lv_rendered_free(rd);
}

static void bench_table(void)
{
    static table t;
    t.nrows = 1000;
    for (int i = 0; i < 1000; i++) {
        t.rows[i].id = i + 1;
        snprintf(t.rows[i].name, sizeof(t.rows[i].name), "row %d", i + 1);
        strcpy(t.rows[i].status, "ok");
        t.rows[i].value = i * 7;
    }
    lv_rendered *rd = lv_rendered_new(&table_template, sizeof(t));
    lv_buf json = LV_BUF_INIT, frame = LV_BUF_INIT;
    lv_rendered_full(rd, &t, &json);
    const int n = 2000;
    size_t bytes = 0;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        t.rows[(i * 37) % 1000].value++; /* one cell */
        lv_buf_reset(&json);
        lv_buf_reset(&frame);
        lv_rendered_diff(rd, &t, &json);
        bytes = json.len;
        lv_phx_push(&frame, "1", "lv:phx-F7kz0Yh2Zk4AAAAB", "diff", json.data, json.len);
    }
    double dt = now_s() - t0;
    printf("BENCH render.table1000_one_row_diff_bytes %zu bytes\n", bytes);
    printf("BENCH render.table1000_one_row_us %.2f us\n", dt / n * 1e6);
    printf("(last diff: %.*s)\n", (int)json.len, json.data);
    lv_buf_free(&json);
    lv_buf_free(&frame);
    lv_rendered_free(rd);
}

int main(void)
{
    bench_thermostat();
    bench_table();
    return 0;
}
