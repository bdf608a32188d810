/* The thermostat demo: a temperature with +/- buttons, a heating/cooling mode and a clock that a
 * runtime timer advances every second. */
#include <string.h>

#include "liveview/liveview.h"

typedef enum { COOLING, HEATING } thermostat_mode;

typedef struct {
    int temp;
    thermostat_mode mode;
    char clock[9];
} thermostat;

static const char *mode_name(thermostat_mode mode)
{
    return mode == HEATING ? "heating" : "cooling";
}

#include "examples/thermostat/thermostat.lv.h"

static void mount(lv_view *v, const lv_value *params)
{
    (void)params;
    thermostat *t = lv_state(v);
    t->temp = 72;
    t->mode = COOLING;
    lv_clock_now(t->clock);
    if (lv_connected(v))
        lv_send_after(1000, "tick", NULL);
}

static int handle_event(lv_view *v, const char *event, const lv_value *payload)
{
    (void)payload;
    thermostat *t = lv_state(v);
    if (strcmp(event, "inc") == 0)
        t->temp++;
    else if (strcmp(event, "dec") == 0)
        t->temp--;
    else if (strcmp(event, "toggle_mode") == 0)
        t->mode = t->mode == COOLING ? HEATING : COOLING;
    else
        return LV_ENOTFOUND;
    return 0;
}

static void handle_info(lv_view *v, const lv_msg *msg)
{
    thermostat *t = lv_state(v);
    if (strcmp(msg->tag, "tick") == 0) {
        lv_clock_now(t->clock);
        lv_send_after(1000, "tick", NULL);
    }
}

LV_VIEW(thermostat, mount, handle_event, handle_info);
