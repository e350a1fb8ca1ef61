/* dockerignore.h - private to engine/: kept so the files of engine/ that match .dockerignore
 * patterns say so; the matcher's API is public now, in engine/engine.h ("Ignore patterns"),
 * for develop.watch rules in supervisor/ that use the same dockerignore syntax. */
#ifndef PX_ENGINE_DOCKERIGNORE_H
#define PX_ENGINE_DOCKERIGNORE_H

#include "engine/engine.h"

#endif
