/*
 * Fuzz target for validator message frames (blok/wire.h), the first thing every byte from a
 * peer goes through: a frame that decodes re-encodes to exactly its bytes, whatever its kind.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/wire.h"
#include "blok/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum blok_err reencode(struct blok_buf *b, const struct blok_wire_msg *m) {
  switch (m->kind) {
    case BLOK_WIRE_PROPOSAL:
      return blok_wire_proposal(b, &m->cons.u.proposal, m->block, m->block_len);
    case BLOK_WIRE_VOTE:
      return blok_wire_vote(b, &m->cons.u.vote);
    case BLOK_WIRE_TIMEOUT:
      return blok_wire_timeout(b, &m->cons.u.timeout);
    case BLOK_WIRE_FETCH:
      return blok_wire_fetch(b, m->hash);
    case BLOK_WIRE_SYNC:
      return blok_wire_sync(b, m->height);
    case BLOK_WIRE_SYNC_REPLY:
      BLOK_TRY(blok_wire_sync_reply_begin(b));
      for (size_t i = 0; i < m->count; i++)
        BLOK_TRY(
            blok_wire_sync_reply_add(b, m->items[i], m->item_lens[i], m->qcs[i], m->qc_lens[i]));
      blok_wire_sync_reply_end(b, (uint32_t)m->count);
      return BLOK_OK;
    case BLOK_WIRE_TXS:
      return blok_wire_txs(b, m->items, m->item_lens, m->count);
    case BLOK_WIRE_QC:
      return blok_wire_qc(b, &m->cons.u.qc);
  }
  return BLOK_EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct blok_wire_msg m;
  if (blok_wire_decode(&m, data, size) != BLOK_OK) return 0;
  struct blok_buf b;
  blok_buf_init(&b, BLOK_WIRE_FRAME_MAX);
  if (reencode(&b, &m) != BLOK_OK) abort();
  if (b.len != size || memcmp(b.data, data, size) != 0) abort();
  blok_buf_release(&b);
  return 0;
}
