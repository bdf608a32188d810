/* Error codes shared by every module: functions that can fail return 0 or a negative LV_E*
 * code; lv_strerror gives the message. */
#ifndef LV_ERROR_H
#define LV_ERROR_H

enum {
    LV_OK = 0,
    LV_ENOMEM = -1,    /* out of memory */
    LV_EINVAL = -2,    /* invalid argument */
    LV_ENOPROC = -3,   /* no such process */
    LV_ENONAME = -4,   /* no process registered under that name */
    LV_EEXIST = -5,    /* name already registered */
    LV_ETOOBIG = -6,   /* message or payload over the configured limit */
    LV_ETIMEDOUT = -7, /* receive timed out */
    LV_EPROTO = -8,    /* malformed input on the wire */
    LV_ENOTFOUND = -9, /* no such route, view or event */
    LV_ELIMIT = -10,   /* a configured capacity is exhausted */
    LV_EIO = -11,      /* system call failed */
};

const char *lv_strerror(int code);

#endif
