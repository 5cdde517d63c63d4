/*
 * The modules a Blokauto node runs, in one place: the node, the command line (which converts
 * payloads from JSON) and the tests all build the same registry from here.
 */
#ifndef BLOK_MODULES_H
#define BLOK_MODULES_H

#include "blok/module.h"

/* Registers every module and the consortium's authorizer. */
void blok_modules_default(struct blok_registry *r);

#endif
