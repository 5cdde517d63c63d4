/*
 * The default module set (blok/modules.h). Adding a capability is adding its module here.
 */
#include "blok/anchor.h"
#include "blok/consortium.h"
#include "blok/modules.h"
#include "blok/parts.h"
#include "blok/vehicle.h"
#include "blok/banned.h"

void blok_modules_default(struct blok_registry *r) {
  blok_registry_init(r);
  BLOK_ASSERT(blok_registry_add(r, &blok_consortium_module) == BLOK_OK);
  BLOK_ASSERT(blok_registry_add(r, &blok_anchor_module) == BLOK_OK);
  BLOK_ASSERT(blok_registry_add(r, &blok_vehicle_module) == BLOK_OK);
  BLOK_ASSERT(blok_registry_add(r, &blok_parts_module) == BLOK_OK);
  r->authorize = blok_consortium_authorize;
}
