/* The demo's route table: each page is a view of a module in build/views/ (see the Makefile),
 * loaded when the server starts. */
#include "examples/examples.h"

const lv_module_route lv_example_routes[] = {
    {"/", "calculator.so", "calculator"},
    {"/thermostat", "thermostat.so", "thermostat"},
    {"/load", "load.so", "load"},
    {"/dashboard", "dashboard.so", "dashboard"},
    {"/greeter", "greeter.so", "greeter"},
};
const size_t lv_example_nroutes = sizeof(lv_example_routes) / sizeof(lv_example_routes[0]);
