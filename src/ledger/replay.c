/*
 * Executing a block someone else proposed (blok/ledger.h, blok_exec_block): the same steps as
 * building one, then a comparison of every header field, so a validator votes only for a
 * block whose transactions, results and state root it computed itself.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger_internal.h"
#include "blok/banned.h"

static enum blok_err differs(struct blok_why *why, const char *field) {
  return blok_refuse(why, BLOK_EBADPROOF, "the block's %s is not what its transactions give",
                     field);
}

static enum blok_err compare(const struct blok_header *want, const struct blok_header *got,
                             struct blok_why *why) {
  if (got->tx_count != want->tx_count) return differs(why, "transaction count");
  if (memcmp(got->tx_root, want->tx_root, 32) != 0) return differs(why, "tx_root");
  if (memcmp(got->results_root, want->results_root, 32) != 0) return differs(why, "results_root");
  if (memcmp(got->state_root, want->state_root, 32) != 0) return differs(why, "state_root");
  if (memcmp(got->validators_hash, want->validators_hash, 32) != 0)
    return differs(why, "validators_hash");
  if (got->version != want->version || got->epoch != want->epoch ||
      strcmp(got->chain_id, want->chain_id) != 0)
    return differs(why, "version, chain or epoch");
  uint8_t a[32], b[32];
  BLOK_TRY(blok_header_hash(want, a));
  BLOK_TRY(blok_header_hash(got, b));
  return memcmp(a, b, 32) == 0 ? BLOK_OK : differs(why, "header");
}

static enum blok_err run(struct blok_exec *x, const struct blok_block_view *v,
                         blok_sig_known_fn known, void *known_ctx, struct blok_why *why) {
  for (size_t i = 0; i < v->tx_count; i++) {
    struct blok_tx tx;
    enum blok_err rc = blok_tx_decode(&tx, v->txs[i], v->tx_lens[i]);
    if (rc != BLOK_OK)
      return blok_refuse(why, BLOK_EBADPROOF, "transaction %zu does not decode: %s", i,
                         blok_strerror(rc));
    bool checked = known != NULL && known(known_ctx, &tx);
    struct blok_tx_result res;
    struct blok_why tx_why = {{0}};
    rc = blok_exec_tx(x, &tx, checked, &res, &tx_why);
    if (rc == BLOK_ENOMEM || rc == BLOK_ESTORE || rc == BLOK_EIO || rc == BLOK_EMAPFULL)
      return blok_refuse(why, rc, "%s", tx_why.msg);
    if (rc != BLOK_OK)
      return blok_refuse(why, BLOK_EBADPROOF, "transaction %zu may not be in the block: %s", i,
                         tx_why.msg);
  }
  return BLOK_OK;
}

enum blok_err blok_exec_block(struct blok_ledger *l, struct blok_exec *parent, const uint8_t *block,
                              size_t len, blok_sig_known_fn known, void *known_ctx,
                              struct blok_exec **out, struct blok_why *why) {
  struct blok_block_view *v = malloc(sizeof *v);
  if (v == NULL) return BLOK_ENOMEM;
  enum blok_err rc = blok_block_parse(v, block, len);
  if (rc != BLOK_OK) {
    free(v);
    return blok_refuse(why, BLOK_EFORMAT, "the block does not decode: %s", blok_strerror(rc));
  }
  const struct blok_header *want = &v->header;
  struct blok_exec *x = NULL;
  rc = blok_exec_begin_on(l, parent, want->timestamp_ms, want->proposer, want->round, &x);
  if (rc == BLOK_EINVAL)
    rc = blok_refuse(why, BLOK_EBADPROOF,
                     "the block's time is not after its parent's, or its "
                     "parent is not a block this node can build on");
  if (rc == BLOK_OK && (x->h.height != want->height || memcmp(x->h.parent, want->parent, 32) != 0))
    rc = blok_refuse(why, BLOK_EBADPROOF, "the block does not extend the parent it is run on");
  if (rc == BLOK_OK) rc = run(x, v, known, known_ctx, why);
  struct blok_header got;
  if (rc == BLOK_OK) rc = blok_exec_finish(x, &got);
  if (rc == BLOK_OK) rc = compare(want, &got, why);
  free(v);
  if (rc != BLOK_OK) {
    blok_exec_free(x);
    return rc;
  }
  *out = x;
  return BLOK_OK;
}
