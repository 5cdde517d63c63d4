/*
 * GET /v1/genesis (docs/API.md): the genesis document as this node loaded it. The web pages
 * verify a report bundle against it in the browser and say that they do so; a person who
 * trusts no node verifies against a genesis file of their own instead (the verify page, or
 * `blokauto verify --genesis`). The document was checked when the node started, so it is
 * served as it is, written compactly.
 */
#include "api_internal.h"
#include "blok/banned.h"

void blok__route_genesis(struct blok_api *a, struct blok__reply *r) {
  const struct blok_genesis *g = blok_ledger_genesis(a->d.ledger);
  json_t *doc = g->doc != NULL ? json_deep_copy(g->doc) : NULL;
  if (doc == NULL) {
    blok__reply_error(r, 500, BLOK_ENOMEM, "genesis: %s", blok_strerror(BLOK_ENOMEM));
    return;
  }
  blok__reply_json(r, 200, doc);
}
