/* Compiled by run_golden.sh against the generated header: every construct must type-check,
 * warning-free under -Wall -Wextra -Werror. */
#include <stdbool.h>
typedef struct {
    int id;
    const char *name;
} item;
typedef struct {
    const char *title;
    const char *title_class;
    int count;
    long total;
    double ratio;
    bool on;
    item items[4];
    const char *html;
} everything;
typedef struct { /* the <.card> component's attributes */
    const char *heading;
    int n;
} card;
#include "everything.lv.h"
const lv_template *everything_template_ptr = &everything_template;
