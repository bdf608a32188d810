/* Salamander: everything a view author includes. */
#ifndef LV_LIVEVIEW_H
#define LV_LIVEVIEW_H

#include "liveview/error.h"
#include "liveview/render.h"
#include "liveview/runtime.h"
#include "liveview/view.h"

#endif
