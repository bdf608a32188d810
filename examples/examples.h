/* The built-in views and the demo server's routes to them. */
#ifndef LV_EXAMPLES_H
#define LV_EXAMPLES_H

#include "liveview/module.h"

/* Each view is built as a module of its own (build/views/NAME.so); tests that embed a view
 * link its object instead and use these. */
extern const lv_view_def thermostat_view;
extern const lv_view_def calculator_view;
extern const lv_view_def load_view;
extern const lv_view_def dashboard_view;
extern const lv_view_def greeter_view;

/* path -> module file -> view, for lv_module_load_routes */
extern const lv_module_route lv_example_routes[];
extern const size_t lv_example_nroutes;

#endif
