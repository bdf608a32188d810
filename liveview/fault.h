/* Crash isolation and stack capture (fault.c). */
#ifndef LV_FAULT_H
#define LV_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <ucontext.h>

#define LV_MAX_FRAMES 24

/* Installs the fault handlers (once per process). */
int lv_fault_install(void);
/* Gives the calling thread its alternate signal stack and crash landing stack. */
int lv_fault_thread_init(void);
void lv_fault_thread_dispose(void);
/* Return addresses of the stack interrupted at uc (from a signal handler). */
size_t lv_fault_capture(ucontext_t *uc, void **frames, size_t max);
/* Return addresses from a context: a signal's (signal_frame) or one built from saved registers. */
size_t lv_fault_walk(ucontext_t *uc, bool signal_frame, void **frames, size_t max);
void lv_fault_print_frames(FILE *out, void *const *frames, size_t n);
/* Names the function holding ip; returns the offset into it. */
size_t lv_fault_symbol(void *ip, bool return_address, char *name, size_t cap);

#endif
