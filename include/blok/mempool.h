/*
 * The mempool: transactions waiting for a block (DESIGN.md, "Architecture").
 *
 * Bounded by count and bytes. A submission is checked at once for what is cheap (decoding,
 * chain id, duplicates, nonce range, room, the signature's encoding rules) and refused with a
 * code and a reason; what passes is queued for the full signature check, which runs on a pool
 * of worker threads so the thread that submits (an HTTP request) and the block producer never
 * wait on crypto. Verified transactions wait in per-sender queues in nonce order. Each
 * signature is checked once.
 *
 * Threads: submit, status and stats may be called from any thread. take and remove are called
 * by the one block-producer thread. Transactions handed out by take stay valid (and are not
 * handed out again) until that thread removes them.
 */
#ifndef BLOK_MEMPOOL_H
#define BLOK_MEMPOOL_H

#include "blok/ledger.h"

struct blok_mempool_opts {
  size_t count_max;      /* transactions held, verifying or ready; 0 = 100,000 */
  size_t bytes_max;      /* their encoded bytes; 0 = 256 MiB */
  size_t workers;        /* signature-check threads; 0 = one per online core */
  uint64_t nonce_window; /* accepted nonces: next .. next + window - 1; 0 = 256 */
  size_t refused_max;    /* refusals remembered for status queries; 0 = 10,000 */
};

/* The sender's next nonce in committed state (thread-safe: the node reads it in an LMDB read
 * transaction). */
typedef enum blok_err (*blok_next_nonce_fn)(void *ctx, const uint8_t sender[32], uint64_t *next);

struct blok_mempool;

BLOK_WUR enum blok_err blok_mempool_new(struct blok_mempool **out,
                                        const struct blok_mempool_opts *o, const char *chain_id,
                                        blok_next_nonce_fn next_nonce, void *ctx);
/* Stops and joins the workers, frees everything. */
void blok_mempool_free(struct blok_mempool *mp);

/* Called (from a worker thread) each time transactions become ready; the node wakes its loop
 * with it (uv_async_send). Set before the first submit. */
void blok_mempool_on_ready(struct blok_mempool *mp, void (*fn)(void *ctx), void *ctx);

/*
 * Copies and queues one encoded transaction, giving its id. Refusals, with a reason in why:
 *   BLOK_ETRUNC, BLOK_ETOOLONG, BLOK_ETRAILING, BLOK_EFORMAT, BLOK_EUTF8  malformed
 *   BLOK_EBADTAG       another chain's transaction
 *   BLOK_EBADSIG/EBADKEY  the signature or key breaks the encoding rules (blok_sign_precheck)
 *   BLOK_EDUPLICATE    the same id, or another transaction with the same sender and nonce, is
 *                      already in the pool
 *   BLOK_ESTALE        nonce below the sender's next committed nonce
 *   BLOK_EGAP          nonce at or beyond next + nonce_window
 *   BLOK_EFULL         the pool is at its count or byte limit
 * A transaction whose full signature check fails later is dropped and remembered as refused
 * with BLOK_EBADSIG (see status).
 */
BLOK_WUR enum blok_err blok_mempool_submit(struct blok_mempool *mp, const uint8_t *raw, size_t len,
                                           uint8_t id[32], struct blok_why *why);
/* The same for a transaction the caller has decoded already (blok_tx_decode; tx->raw and
 * tx->raw_len are its bytes): nothing is decoded twice. */
BLOK_WUR enum blok_err blok_mempool_submit_tx(struct blok_mempool *mp, const struct blok_tx *tx,
                                              uint8_t id[32], struct blok_why *why);

enum blok_mempool_state {
  BLOK_MEMPOOL_UNKNOWN = 0, /* never seen, or removed after its block */
  BLOK_MEMPOOL_VERIFYING,
  BLOK_MEMPOOL_READY, /* verified, waiting for a block (or handed to one) */
  BLOK_MEMPOOL_REFUSED,
};
/* What the pool knows of id; for REFUSED, the code and reason. */
enum blok_mempool_state blok_mempool_status(struct blok_mempool *mp, const uint8_t id[32],
                                            struct blok_tx_result *refusal);

/* Whether tx's signature is good as far as the pool can tell at once: these very bytes (the id
 * does not cover the signature) were checked already, or they wait in the queue, when they are
 * checked now on the caller's thread and so not again by a worker. False: the pool does not
 * hold these bytes, a worker is checking them, or they are bad (then refused, as by a worker):
 * the caller checks the signature itself. For a block's execution (blok_sig_known_fn). */
bool blok_mempool_check(struct blok_mempool *mp, const struct blok_tx *tx);

/* Ready transactions for a block: up to count_max and bytes_max (encoded), each sender's in
 * consecutive nonce order starting at its next committed nonce, senders interleaved fairly.
 * txs[i] are decoded views over pool-owned bytes, valid until removed. */
struct blok_mempool_batch {
  size_t count;
  size_t cap;
  struct blok_tx *txs;
};
void blok_mempool_batch_init(struct blok_mempool_batch *b);
void blok_mempool_batch_release(struct blok_mempool_batch *b);
BLOK_WUR enum blok_err blok_mempool_take(struct blok_mempool *mp, struct blok_mempool_batch *b,
                                         size_t count_max, size_t bytes_max);
/* Removes a transaction handed out by take: committed (refusal NULL), or refused at admission
 * (refusal given: remembered for status). Unknown ids are ignored. */
void blok_mempool_remove(struct blok_mempool *mp, const uint8_t id[32],
                         const struct blok_tx_result *refusal);
/* Gives back transactions handed out by take but not removed (the block was not made), so a
 * later take returns them again. */
void blok_mempool_untake(struct blok_mempool *mp);

struct blok_mempool_stats {
  size_t count, bytes, verifying, ready;
  uint64_t submitted, verified, refused; /* totals since start */
};
void blok_mempool_stats(struct blok_mempool *mp, struct blok_mempool_stats *out);
/* The verification workers' processor time since they started (two system calls a worker: for
 * /metrics, not for every stats call). */
uint64_t blok_mempool_workers_cpu_us(struct blok_mempool *mp);

#endif
