/* Routes of the built-in demos. */
#include "examples/examples.h"

const lv_route lv_example_routes[] = {
    {"/", &calculator_view},
    {"/thermostat", &thermostat_view},
    {"/load", &load_view},
    {"/dashboard", &dashboard_view},
    {"/greeter", &greeter_view},
};
const size_t lv_example_nroutes = sizeof(lv_example_routes) / sizeof(lv_example_routes[0]);
