/* The built-in views and their routes. */
#ifndef LV_EXAMPLES_H
#define LV_EXAMPLES_H

#include "liveview/socket.h"

extern const lv_view_def thermostat_view;
extern const lv_view_def calculator_view;
extern const lv_view_def load_view;
extern const lv_view_def dashboard_view;
extern const lv_view_def greeter_view;

extern const lv_route lv_example_routes[];
extern const size_t lv_example_nroutes;

#endif
