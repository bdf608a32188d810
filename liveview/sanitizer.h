/* Sanitizer annotations for stack switching, compiled away in normal builds. ASan must be told
 * about every switch between the scheduler's stack and a process stack, and LeakSanitizer must
 * scan stacks of suspended processes. */
#ifndef LV_SANITIZER_H
#define LV_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define LV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LV_ASAN 1
#endif
#endif

#ifdef LV_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#define LV_ASAN_START_SWITCH(fake, bottom, size)  __sanitizer_start_switch_fiber((fake), (bottom), (size))
#define LV_ASAN_FINISH_SWITCH(fake, bottom, size) __sanitizer_finish_switch_fiber((fake), (bottom), (size))
#define LV_ASAN_UNPOISON(p, n)                    __asan_unpoison_memory_region((p), (n))
#define LV_LSAN_REGISTER_ROOT(p, n)               __lsan_register_root_region((p), (n))
#define LV_LSAN_UNREGISTER_ROOT(p, n)             __lsan_unregister_root_region((p), (n))
#define LV_NO_ASAN                                __attribute__((no_sanitize("address")))
#else
#define LV_ASAN_START_SWITCH(fake, bottom, size)  ((void)(fake), (void)(bottom), (void)(size))
#define LV_ASAN_FINISH_SWITCH(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#define LV_ASAN_UNPOISON(p, n)                    ((void)(p), (void)(n))
#define LV_LSAN_REGISTER_ROOT(p, n)               ((void)(p), (void)(n))
#define LV_LSAN_UNREGISTER_ROOT(p, n)             ((void)(p), (void)(n))
#define LV_NO_ASAN
#endif

#endif
