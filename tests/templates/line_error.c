typedef struct {
    int temp;
} line_error;
#include "line_error.lv.h"
