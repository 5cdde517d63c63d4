/*
 * What validators send each other (docs/PROTOCOL.md, "Validator messages"): the consensus
 * messages, block fetch and sync, and transaction gossip, each one frame of u8 kind || body.
 * Decoding is strict (every length bounded, nothing left over) and checks no signature: the
 * consensus core and the replica do that.
 */
#ifndef BLOK_WIRE_H
#define BLOK_WIRE_H

#include "blok/consensus.h"
#include "blok/tx.h"

/* The largest frame: a proposal with a full block, or a sync reply. */
#define BLOK_WIRE_FRAME_MAX   (BLOK_BLOCK_BYTES_MAX + ((size_t)64 << 10))
#define BLOK_WIRE_SYNC_BLOCKS 64   /* blocks in one sync reply, at most */
#define BLOK_WIRE_TXS_MAX     1000 /* transactions in one gossip frame, at most */

enum blok_wire_kind {
  BLOK_WIRE_PROPOSAL = 1,   /* a proposal and its block's bytes */
  BLOK_WIRE_VOTE = 2,       /* a vote, to the next round's leader */
  BLOK_WIRE_TIMEOUT = 3,    /* a timeout, with the sender's highest TC when it has one */
  BLOK_WIRE_FETCH = 4,      /* please send the proposal of block `hash` */
  BLOK_WIRE_SYNC = 5,       /* please send committed blocks from `height` on */
  BLOK_WIRE_SYNC_REPLY = 6, /* committed blocks with their certificates, by height */
  BLOK_WIRE_TXS = 7,        /* transactions for the mempool */
  BLOK_WIRE_QC = 8,         /* a quorum certificate, from the leader that formed it */
};

struct blok_wire_msg {
  enum blok_wire_kind kind;
  struct blok_cons_msg cons; /* PROPOSAL, VOTE, TIMEOUT, QC */
  const uint8_t *block;      /* PROPOSAL: header || list of transactions (into the frame) */
  size_t block_len;
  uint8_t hash[32]; /* FETCH */
  uint64_t height;  /* SYNC: the first height wanted */
  /* SYNC_REPLY: blocks (and their certificates' encodings); TXS: transactions (qcs unused) */
  size_t count;
  const uint8_t *items[BLOK_WIRE_TXS_MAX];
  size_t item_lens[BLOK_WIRE_TXS_MAX];
  const uint8_t *qcs[BLOK_WIRE_SYNC_BLOCKS];
  size_t qc_lens[BLOK_WIRE_SYNC_BLOCKS];
};

BLOK_WUR enum blok_err blok_tc_encode(struct blok_buf *b, const struct blok_tc *tc);
BLOK_WUR enum blok_err blok_tc_decode(struct blok_reader *r, struct blok_tc *tc);

/* Frames. block is the block's encoding (blok_exec_encode); its header must be the
 * proposal's. */
BLOK_WUR enum blok_err blok_wire_proposal(struct blok_buf *b, const struct blok_cons_proposal *p,
                                          const uint8_t *block, size_t block_len);
BLOK_WUR enum blok_err blok_wire_vote(struct blok_buf *b, const struct blok_cons_vote *v);
BLOK_WUR enum blok_err blok_wire_timeout(struct blok_buf *b, const struct blok_cons_timeout *t);
BLOK_WUR enum blok_err blok_wire_qc(struct blok_buf *b, const struct blok_qc *qc);
BLOK_WUR enum blok_err blok_wire_fetch(struct blok_buf *b, const uint8_t hash[32]);
BLOK_WUR enum blok_err blok_wire_sync(struct blok_buf *b, uint64_t height);
/* A sync reply is built by appending blocks after blok_wire_sync_reply_begin; the count is
 * written by blok_wire_sync_reply_end. */
BLOK_WUR enum blok_err blok_wire_sync_reply_begin(struct blok_buf *b);
BLOK_WUR enum blok_err blok_wire_sync_reply_add(struct blok_buf *b, const uint8_t *block,
                                                size_t block_len, const uint8_t *qc, size_t qc_len);
void blok_wire_sync_reply_end(struct blok_buf *b, uint32_t count);
BLOK_WUR enum blok_err blok_wire_txs(struct blok_buf *b, const uint8_t *const *txs,
                                     const size_t *lens, size_t count);

/* Decodes a frame into m (large: allocate it). Pointers in m point into frame. */
BLOK_WUR enum blok_err blok_wire_decode(struct blok_wire_msg *m, const uint8_t *frame, size_t len);

#endif
