/* The fuzz targets' invariant check: a failed one aborts, so libFuzzer keeps the input. */
#ifndef LV_FUZZ_CHECK_H
#define LV_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                                             \
    do {                                                                                                     \
        if (!(c)) {                                                                                          \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c);                        \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

#endif
