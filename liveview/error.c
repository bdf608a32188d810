/* Messages for the LV_E* codes. */
#include "liveview/error.h"

const char *lv_strerror(int code)
{
    switch (code) {
    case LV_OK: return "success";
    case LV_ENOMEM: return "out of memory";
    case LV_EINVAL: return "invalid argument";
    case LV_ENOPROC: return "no such process";
    case LV_ENONAME: return "no process registered under that name";
    case LV_EEXIST: return "name already registered";
    case LV_ETOOBIG: return "over the configured size limit";
    case LV_ETIMEDOUT: return "timed out";
    case LV_EPROTO: return "malformed input";
    case LV_ENOTFOUND: return "not found";
    case LV_ELIMIT: return "capacity exhausted";
    case LV_EIO: return "system call failed";
    default: return "unknown error";
    }
}
