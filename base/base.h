/* base.h - the public header of base/: errors, logging, allocation, buffers, paths,
 * child processes and the event loop.  Other modules include only this. */
#ifndef PX_BASE_H
#define PX_BASE_H

#include "base/adapters.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/path.h"
#include "base/proc.h"
#include "base/xmalloc.h"

#endif
