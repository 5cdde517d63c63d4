/*
 * The module registry (blok/module.h): a fixed-size table, filled at start-up.
 */
#include <string.h>

#include "blok/ledger.h"
#include "blok/banned.h"

void blok_registry_init(struct blok_registry *r) {
  memset(r, 0, sizeof *r);
}

enum blok_err blok_registry_add(struct blok_registry *r, const struct blok_module *m) {
  BLOK_ASSERT(blok_tx_name_valid(m->name) && m->kind_count <= BLOK_KINDS_MAX);
  if (strcmp(m->name, BLOK_CORE_MODULE) == 0 || blok_registry_module(r, m->name) != NULL)
    return BLOK_EEXIST;
  if (r->count == BLOK_MODULES_MAX) return BLOK_EFULL;
  r->modules[r->count++] = m;
  return BLOK_OK;
}

const struct blok_module *blok_registry_module(const struct blok_registry *r, const char *name) {
  for (size_t i = 0; i < r->count; i++)
    if (strcmp(r->modules[i]->name, name) == 0) return r->modules[i];
  return NULL;
}

const struct blok_tx_kind *blok_registry_kind(const struct blok_registry *r, const char *module,
                                              const char *type, const struct blok_module **mod) {
  const struct blok_module *m = blok_registry_module(r, module);
  if (mod) *mod = m;
  if (m == NULL) return NULL;
  for (size_t i = 0; i < m->kind_count; i++)
    if (strcmp(m->kinds[i].type, type) == 0) return &m->kinds[i];
  return NULL;
}
