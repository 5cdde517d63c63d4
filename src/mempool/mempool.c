/*
 * The mempool (blok/mempool.h): transactions that passed the cheap checks wait here, first for
 * their signature check on a worker thread, then for a block.
 *
 * One mutex guards all the state below. It is never held while a signature is checked, nor
 * while the next_nonce callback reads the store, so a submitting thread waits only for
 * bookkeeping. A transaction is one allocation (struct pool_tx, its encoded bytes at the end)
 * and is reachable three ways:
 *   - by id, in a chained hash table;
 *   - by sender, in that sender's array sorted by nonce (struct pool_sender, itself in a
 *     chained hash table keyed by public key); a sender lives while it has transactions;
 *   - by state: a VERIFYING one waits in the verify queue (a FIFO the workers pull from) or is
 *     in a worker's hands (in_flight); a TAKEN one is in the taken list that untake walks.
 * Senders with READY (verified, not taken) transactions form a ring that take walks
 * round-robin from a cursor, so a take costs O(batch + senders visited), never O(pool).
 *
 * Both tables hash with SipHash under a random per-pool key: ids and keys come from clients,
 * and a client able to pick bucket collisions could slow every lookup. Nothing is decided by
 * hash order: take follows the ring (arrival order of senders) and nonce order.
 *
 * A refusal that happens after submit returned (bad signature, stale nonce found by take,
 * refusal by the block producer) is remembered in a ring of refused_max records indexed by id,
 * so that status can report it. A refusal at submit is returned to the caller, who already has
 * it, and is not remembered (so junk submissions cannot flush the ring).
 *
 * remove takes any transaction in the pool, not only one handed out by take: a node that
 * commits another proposer's block removes what that block held, verified or not. One a
 * worker holds at that moment is marked dead, and the worker frees it when done.
 *
 * Limits: count_max and bytes_max bound what the pool holds; the verify queue holds only
 * pool transactions, so it is bounded by count_max too; the refusal ring by refused_max; each
 * sender's array by the sender's transactions. Stats: submitted counts every submit call,
 * refused every refusal (at submit or later), verified every signature that checked out.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "blok/mempool.h"
#include "blok/banned.h"

#define POOL_COUNT_DEFAULT   ((size_t)100000)
#define POOL_BYTES_DEFAULT   ((size_t)256 << 20)
#define POOL_WINDOW_DEFAULT  ((uint64_t)256)
#define POOL_REFUSED_DEFAULT ((size_t)10000)
#define POOL_REFUSED_LIMIT   ((size_t)1 << 24) /* refusal slots are uint32_t indexes */
#define POOL_WORKERS_LIMIT   ((size_t)256)
#define POOL_TABLE_MIN       ((size_t)1024)
#define POOL_VERIFY_BATCH    8 /* transactions a worker takes from the queue at once */
#define POOL_NONE            UINT32_MAX

enum pool_state { POOL_VERIFYING, POOL_READY, POOL_TAKEN };

struct pool_sender;

struct pool_tx {
  struct pool_tx *id_next;     /* chain in the id table */
  struct pool_tx *prev, *next; /* verify queue (VERIFYING) or taken list (TAKEN) */
  struct pool_sender *sender;
  enum pool_state state;
  bool queued;       /* in the verify queue */
  bool in_flight;    /* a worker is checking its signature */
  bool dead;         /* left the pool while in flight: the worker frees it */
  struct blok_tx tx; /* decoded view over raw */
  uint8_t raw[];
};

struct pool_sender {
  uint8_t pk[32];
  struct pool_sender *hnext;         /* chain in the sender table */
  struct pool_sender *rprev, *rnext; /* the ready ring, while ready > 0 */
  size_t ready;                      /* READY transactions (verified, not taken) */
  struct pool_tx **v;                /* the sender's transactions by nonce, ascending */
  size_t n, cap;
};

struct pool_list {
  struct pool_tx *head, *tail;
  size_t len;
};

struct pool_refusal {
  uint8_t id[32];
  uint32_t next; /* chain in the refusal index */
  bool used;
  struct blok_tx_result r;
};

/* take's scratch: one sender's key and committed next nonce, then its run. */
struct pool_scan {
  uint8_t pk[32];
  uint64_t next;
  enum blok_err rc;
};
struct pool_run {
  struct pool_sender *s;
  size_t at;      /* index in s->v of the next transaction of the run */
  uint64_t nonce; /* the nonce it must carry */
};

struct blok_mempool {
  pthread_mutex_t mu;
  pthread_cond_t work; /* workers sleep here while the queue is empty */
  atomic_bool stopping;
  size_t count_max, bytes_max, refused_max;
  uint64_t window;
  char chain_id[BLOK_SIGN_CHAIN_ID_MAX + 1];
  blok_next_nonce_fn next_nonce;
  void *ctx;
  void (*on_ready)(void *ctx);
  void *on_ready_ctx;
  uint8_t hkey[crypto_shorthash_KEYBYTES];

  struct pool_tx **ids; /* id table; ids_cap a power of two */
  size_t ids_cap;
  struct pool_sender **senders; /* sender table; senders_cap a power of two */
  size_t senders_cap, sender_count;
  struct pool_sender *rr; /* the ready ring's cursor: where the next take starts */
  size_t ring_len;
  struct pool_list queue, taken;

  struct pool_refusal *refused; /* ring of refused_max records */
  uint32_t *refused_idx;        /* refused_idx_cap chain heads */
  size_t refused_idx_cap, refused_head;

  size_t count, bytes, verifying, ready, taken_count;
  uint64_t verified, refused_total;
  atomic_uint_fast64_t submitted, refused_early;

  pthread_t *threads;
  size_t thread_count;

  /* Used by take only (the one producer thread), outside the lock. */
  struct pool_scan *scan;
  struct pool_run *runs;
  size_t scan_cap;
};

/* ---- hashing and the two tables ---- */

static size_t hash32(const struct blok_mempool *mp, const uint8_t key[32], size_t cap) {
  uint8_t out[crypto_shorthash_BYTES];
  uint64_t h;
  crypto_shorthash(out, key, 32, mp->hkey);
  memcpy(&h, out, sizeof h);
  return (size_t)(h & (uint64_t)(cap - 1));
}

static struct pool_tx *id_find(const struct blok_mempool *mp, const uint8_t id[32]) {
  struct pool_tx *t = mp->ids[hash32(mp, id, mp->ids_cap)];
  while (t != NULL && memcmp(t->tx.id, id, 32) != 0)
    t = t->id_next;
  return t;
}

/* Doubles the id table when it holds more than one transaction per bucket. A failed
 * allocation keeps the old table: lookups get slower, nothing breaks. */
static void id_grow(struct blok_mempool *mp) {
  if (mp->count < mp->ids_cap) return;
  size_t cap = mp->ids_cap * 2;
  struct pool_tx **ids = calloc(cap, sizeof *ids);
  if (ids == NULL) return;
  for (size_t i = 0; i < mp->ids_cap; i++) {
    struct pool_tx *t = mp->ids[i], *next;
    for (; t != NULL; t = next) {
      next = t->id_next;
      size_t h = hash32(mp, t->tx.id, cap);
      t->id_next = ids[h];
      ids[h] = t;
    }
  }
  free(mp->ids);
  mp->ids = ids;
  mp->ids_cap = cap;
}

static void id_insert(struct blok_mempool *mp, struct pool_tx *t) {
  id_grow(mp);
  size_t h = hash32(mp, t->tx.id, mp->ids_cap);
  t->id_next = mp->ids[h];
  mp->ids[h] = t;
}

static void id_unlink(struct blok_mempool *mp, struct pool_tx *t) {
  struct pool_tx **p = &mp->ids[hash32(mp, t->tx.id, mp->ids_cap)];
  while (*p != t)
    p = &(*p)->id_next;
  *p = t->id_next;
  t->id_next = NULL;
}

static struct pool_sender *sender_find(const struct blok_mempool *mp, const uint8_t pk[32]) {
  struct pool_sender *s = mp->senders[hash32(mp, pk, mp->senders_cap)];
  while (s != NULL && memcmp(s->pk, pk, 32) != 0)
    s = s->hnext;
  return s;
}

static void sender_grow(struct blok_mempool *mp) {
  if (mp->sender_count < mp->senders_cap) return;
  size_t cap = mp->senders_cap * 2;
  struct pool_sender **t = calloc(cap, sizeof *t);
  if (t == NULL) return;
  for (size_t i = 0; i < mp->senders_cap; i++) {
    struct pool_sender *s = mp->senders[i], *next;
    for (; s != NULL; s = next) {
      next = s->hnext;
      size_t h = hash32(mp, s->pk, cap);
      s->hnext = t[h];
      t[h] = s;
    }
  }
  free(mp->senders);
  mp->senders = t;
  mp->senders_cap = cap;
}

static struct pool_sender *sender_new(struct blok_mempool *mp, const uint8_t pk[32]) {
  struct pool_sender *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  memcpy(s->pk, pk, 32);
  sender_grow(mp);
  size_t h = hash32(mp, pk, mp->senders_cap);
  s->hnext = mp->senders[h];
  mp->senders[h] = s;
  mp->sender_count++;
  return s;
}

/* ---- the ready ring ---- */

/* Adds s at the ring's tail (just before the cursor), so it is served after those waiting. */
static void ring_add(struct blok_mempool *mp, struct pool_sender *s) {
  if (mp->rr == NULL) {
    s->rprev = s->rnext = s;
    mp->rr = s;
  } else {
    s->rnext = mp->rr;
    s->rprev = mp->rr->rprev;
    s->rprev->rnext = s;
    mp->rr->rprev = s;
  }
  mp->ring_len++;
}

static void ring_del(struct blok_mempool *mp, struct pool_sender *s) {
  if (mp->rr == s) mp->rr = s->rnext == s ? NULL : s->rnext;
  s->rprev->rnext = s->rnext;
  s->rnext->rprev = s->rprev;
  s->rprev = s->rnext = NULL;
  BLOK_ASSERT(mp->ring_len > 0);
  mp->ring_len--;
}

static void ready_inc(struct blok_mempool *mp, struct pool_sender *s) {
  if (s->ready++ == 0) ring_add(mp, s);
  mp->ready++;
}

static void ready_dec(struct blok_mempool *mp, struct pool_sender *s) {
  BLOK_ASSERT(s->ready > 0 && mp->ready > 0);
  if (--s->ready == 0) ring_del(mp, s);
  mp->ready--;
}

static void sender_free(struct blok_mempool *mp, struct pool_sender *s) {
  BLOK_ASSERT(s->n == 0 && s->ready == 0 && s->rnext == NULL);
  struct pool_sender **p = &mp->senders[hash32(mp, s->pk, mp->senders_cap)];
  while (*p != s)
    p = &(*p)->hnext;
  *p = s->hnext;
  mp->sender_count--;
  free(s->v);
  free(s);
}

/* ---- a sender's transactions, by nonce ---- */

/* Whether s has a transaction with nonce; *at is its index, or where it would go. */
static bool sender_search(const struct pool_sender *s, uint64_t nonce, size_t *at) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->v[mid]->tx.nonce < nonce)
      lo = mid + 1;
    else
      hi = mid;
  }
  *at = lo;
  return lo < s->n && s->v[lo]->tx.nonce == nonce;
}

static enum blok_err sender_insert(struct pool_sender *s, size_t at, struct pool_tx *t) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4;
    struct pool_tx **v = realloc(s->v, cap * sizeof *v);
    if (v == NULL) return BLOK_ENOMEM;
    s->v = v;
    s->cap = cap;
  }
  memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof *s->v);
  s->v[at] = t;
  s->n++;
  return BLOK_OK;
}

static void sender_erase(struct pool_sender *s, const struct pool_tx *t) {
  size_t at;
  BLOK_ASSERT(sender_search(s, t->tx.nonce, &at) && s->v[at] == t);
  memmove(&s->v[at], &s->v[at + 1], (s->n - at - 1) * sizeof *s->v);
  s->n--;
}

/* ---- intrusive lists: the verify queue and the taken list ---- */

static void list_push(struct pool_list *l, struct pool_tx *t) {
  t->next = NULL;
  t->prev = l->tail;
  if (l->tail != NULL)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
  l->len++;
}

static void list_unlink(struct pool_list *l, struct pool_tx *t) {
  if (t->prev != NULL)
    t->prev->next = t->next;
  else
    l->head = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  else
    l->tail = t->prev;
  t->prev = t->next = NULL;
  BLOK_ASSERT(l->len > 0);
  l->len--;
}

/* ---- remembered refusals ---- */

static uint32_t *refusal_head(struct blok_mempool *mp, const uint8_t id[32]) {
  return &mp->refused_idx[hash32(mp, id, mp->refused_idx_cap)];
}

static uint32_t refusal_find(struct blok_mempool *mp, const uint8_t id[32]) {
  uint32_t i = *refusal_head(mp, id);
  while (i != POOL_NONE && memcmp(mp->refused[i].id, id, 32) != 0)
    i = mp->refused[i].next;
  return i;
}

static void refusal_unlink(struct blok_mempool *mp, uint32_t slot) {
  uint32_t *p = refusal_head(mp, mp->refused[slot].id);
  while (*p != slot)
    p = &mp->refused[*p].next;
  *p = mp->refused[slot].next;
  mp->refused[slot].used = false;
}

static void refusal_forget(struct blok_mempool *mp, const uint8_t id[32]) {
  uint32_t i = refusal_find(mp, id);
  if (i != POOL_NONE) refusal_unlink(mp, i);
}

/* Remembers a refusal in the oldest slot of the ring. */
static void refusal_remember(struct blok_mempool *mp, const uint8_t id[32], int32_t code,
                             const char *msg) {
  refusal_forget(mp, id);
  uint32_t slot = (uint32_t)mp->refused_head;
  mp->refused_head = (mp->refused_head + 1) % mp->refused_max;
  struct pool_refusal *r = &mp->refused[slot];
  if (r->used) refusal_unlink(mp, slot);
  memcpy(r->id, id, 32);
  r->r.code = code;
  snprintf(r->r.msg, sizeof r->r.msg, "%s", msg);
  r->used = true;
  uint32_t *head = refusal_head(mp, id);
  r->next = *head;
  *head = slot;
  mp->refused_total++;
}

/* ---- leaving the pool ---- */

/* Takes t out of every index and the accounting, and frees it (or, when a worker holds it,
 * marks it for the worker to free). Frees its sender when that was the sender's last. */
static void pool_drop(struct blok_mempool *mp, struct pool_tx *t) {
  struct pool_sender *s = t->sender;
  id_unlink(mp, t);
  sender_erase(s, t);
  if (t->state == POOL_VERIFYING) {
    if (t->queued) list_unlink(&mp->queue, t);
    t->queued = false;
    mp->verifying--;
  } else if (t->state == POOL_READY) {
    ready_dec(mp, s);
  } else {
    list_unlink(&mp->taken, t);
    mp->taken_count--;
  }
  mp->count--;
  mp->bytes -= t->tx.raw_len;
  t->sender = NULL;
  if (s->n == 0) sender_free(mp, s);
  if (t->in_flight)
    t->dead = true;
  else
    free(t);
}

static void pool_refuse(struct blok_mempool *mp, struct pool_tx *t, enum blok_err code,
                        const char *msg) {
  refusal_remember(mp, t->tx.id, code, msg);
  pool_drop(mp, t);
}

/* ---- submit ---- */

/* The checks that need no lock and no signature equation, on a decoded transaction. */
static enum blok_err check_cheap(struct blok_mempool *mp, const struct blok_tx *tx,
                                 struct blok_why *why) {
  enum blok_err rc;
  if (strcmp(tx->chain_id, mp->chain_id) != 0)
    return blok_refuse(why, BLOK_EBADTAG,
                       "transaction is for chain %s, this node runs %s; sign it for %s",
                       tx->chain_id, mp->chain_id, mp->chain_id);
  rc = blok_sign_precheck(tx->sig, tx->sender);
  if (rc == BLOK_EBADKEY)
    return blok_refuse(why, rc,
                       "sender key is non-canonical or of small order; use a key made from a seed");
  if (rc != BLOK_OK)
    return blok_refuse(why, BLOK_EBADSIG,
                       "signature breaks the encoding rules (s not below the group order, or r "
                       "non-canonical or of small order); sign the transaction again");
  uint64_t next;
  rc = mp->next_nonce(mp->ctx, tx->sender, &next);
  if (rc != BLOK_OK)
    return blok_refuse(why, rc, "cannot read the sender's next nonce (%s); retry later",
                       blok_strerror(rc));
  if (tx->nonce < next)
    return blok_refuse(why, BLOK_ESTALE, "nonce %llu already used; the sender's next nonce is %llu",
                       (unsigned long long)tx->nonce, (unsigned long long)next);
  if (tx->nonce - next >= mp->window)
    return blok_refuse(why, BLOK_EGAP,
                       "nonce %llu is too far ahead: the pool takes nonces %llu to %llu from this "
                       "sender; submit the earlier ones first",
                       (unsigned long long)tx->nonce, (unsigned long long)next,
                       (unsigned long long)(next + (mp->window - 1)));
  return BLOK_OK;
}

/* Puts t in the pool (lock held): duplicates and room first, then the indexes and the queue. */
static enum blok_err admit(struct blok_mempool *mp, struct pool_tx *t, struct blok_why *why) {
  const struct blok_tx *tx = &t->tx;
  if (id_find(mp, tx->id) != NULL)
    return blok_refuse(why, BLOK_EDUPLICATE,
                       "transaction already in the pool; do not send it again");
  struct pool_sender *s = sender_find(mp, tx->sender);
  size_t at = 0;
  if (s != NULL && sender_search(s, tx->nonce, &at))
    return blok_refuse(why, BLOK_EDUPLICATE,
                       "the sender has another transaction with nonce %llu in the pool; wait for "
                       "it to be included, then use the next nonce",
                       (unsigned long long)tx->nonce);
  if (mp->count >= mp->count_max)
    return blok_refuse(why, BLOK_EFULL, "pool is full (%zu transactions); retry later",
                       mp->count_max);
  if (tx->raw_len > mp->bytes_max - mp->bytes)
    return blok_refuse(why, BLOK_EFULL, "pool is full (%zu bytes); retry later", mp->bytes_max);
  if (s == NULL && (s = sender_new(mp, tx->sender)) == NULL)
    return blok_refuse(why, BLOK_ENOMEM, "out of memory; retry later");
  if (sender_insert(s, at, t) != BLOK_OK) {
    if (s->n == 0) sender_free(mp, s);
    return blok_refuse(why, BLOK_ENOMEM, "out of memory; retry later");
  }
  t->sender = s;
  t->state = POOL_VERIFYING;
  mp->count++;
  mp->bytes += tx->raw_len;
  mp->verifying++;
  id_insert(mp, t);
  t->queued = true;
  list_push(&mp->queue, t);
  refusal_forget(mp, tx->id);
  return BLOK_OK;
}

/* One allocation: the decoded view and a copy of the bytes it points into. */
static struct pool_tx *tx_copy(const struct blok_tx *tx, const uint8_t *raw, size_t len) {
  struct pool_tx *t = calloc(1, sizeof *t + len);
  if (t == NULL) return NULL;
  memcpy(t->raw, raw, len);
  t->tx = *tx;
  t->tx.payload = t->raw + (tx->payload - raw);
  t->tx.raw = t->raw;
  return t;
}

static enum blok_err submit(struct blok_mempool *mp, const struct blok_tx *tx, enum blok_err rc,
                            uint8_t id[32], struct blok_why *why) {
  if (rc == BLOK_OK) rc = check_cheap(mp, tx, why);
  memcpy(id, tx->id, 32); /* zeros when the bytes do not decode */
  struct pool_tx *t = NULL;
  if (rc == BLOK_OK && (t = tx_copy(tx, tx->raw, tx->raw_len)) == NULL)
    rc = blok_refuse(why, BLOK_ENOMEM, "out of memory; retry later");
  if (rc != BLOK_OK) {
    atomic_fetch_add(&mp->refused_early, 1);
    return rc;
  }
  pthread_mutex_lock(&mp->mu);
  rc = admit(mp, t, why);
  if (rc == BLOK_OK) pthread_cond_signal(&mp->work);
  pthread_mutex_unlock(&mp->mu);
  if (rc != BLOK_OK) {
    atomic_fetch_add(&mp->refused_early, 1);
    free(t);
  }
  return rc;
}

enum blok_err blok_mempool_submit(struct blok_mempool *mp, const uint8_t *raw, size_t len,
                                  uint8_t id[32], struct blok_why *why) {
  struct blok_tx tx = {0};
  why->msg[0] = '\0';
  atomic_fetch_add(&mp->submitted, 1);
  enum blok_err rc = blok_tx_decode(&tx, raw, len);
  if (rc == BLOK_EBADTAG)
    rc = blok_refuse(why, rc, "chain id is not 1 to 64 bytes of [a-z0-9._-]; this node runs %s",
                     mp->chain_id);
  else if (rc != BLOK_OK)
    rc = blok_refuse(why, rc, "malformed transaction (%s); encode it as docs/PROTOCOL.md says",
                     blok_strerror(rc));
  return submit(mp, &tx, rc, id, why);
}

enum blok_err blok_mempool_submit_tx(struct blok_mempool *mp, const struct blok_tx *tx,
                                     uint8_t id[32], struct blok_why *why) {
  why->msg[0] = '\0';
  atomic_fetch_add(&mp->submitted, 1);
  return submit(mp, tx, BLOK_OK, id, why);
}

/* ---- workers ---- */

/* Takes up to POOL_VERIFY_BATCH transactions off the queue (lock held), fewer when the queue
 * is short, so that the other workers get their share. */
static size_t queue_pop(struct blok_mempool *mp, struct pool_tx **batch, size_t workers) {
  size_t n = (mp->queue.len + workers - 1) / workers;
  if (n > POOL_VERIFY_BATCH) n = POOL_VERIFY_BATCH;
  for (size_t i = 0; i < n; i++) {
    struct pool_tx *t = mp->queue.head;
    list_unlink(&mp->queue, t);
    t->queued = false;
    t->in_flight = true;
    batch[i] = t;
  }
  return n;
}

/* Records the outcome of checks (lock held). Those not checked (the pool is stopping) go back
 * on the queue. Returns how many became ready. */
static size_t settle(struct blok_mempool *mp, struct pool_tx **batch, const enum blok_err *rc,
                     size_t n, size_t done) {
  size_t made = 0;
  for (size_t i = 0; i < n; i++) {
    struct pool_tx *t = batch[i];
    t->in_flight = false;
    if (t->dead) {
      free(t);
    } else if (i >= done) {
      t->queued = true;
      list_push(&mp->queue, t);
    } else if (rc[i] == BLOK_OK) {
      t->state = POOL_READY;
      mp->verifying--;
      mp->verified++;
      ready_inc(mp, t->sender);
      made++;
    } else if (rc[i] == BLOK_EBADSIG || rc[i] == BLOK_EBADKEY) {
      pool_refuse(mp, t, rc[i],
                  "signature does not verify; sign the transaction again with the sender's key");
    } else {
      char msg[BLOK_WHY_MAX];
      snprintf(msg, sizeof msg, "signature check could not run (%s); submit it again later",
               blok_strerror(rc[i]));
      pool_refuse(mp, t, rc[i], msg);
    }
  }
  return made;
}

static void *worker_main(void *arg) {
  struct blok_mempool *mp = arg;
  struct pool_tx *batch[POOL_VERIFY_BATCH];
  enum blok_err rc[POOL_VERIFY_BATCH];
  pthread_setname_np(pthread_self(), "blok-verify"); /* what top -H and perf show */
  pthread_mutex_lock(&mp->mu);
  for (;;) {
    while (!atomic_load(&mp->stopping) && mp->queue.len == 0)
      pthread_cond_wait(&mp->work, &mp->mu);
    if (atomic_load(&mp->stopping)) break;
    size_t n = queue_pop(mp, batch, mp->thread_count), done = 0;
    pthread_mutex_unlock(&mp->mu);
    for (; done < n && !atomic_load(&mp->stopping); done++)
      rc[done] = blok_tx_verify(&batch[done]->tx);
    pthread_mutex_lock(&mp->mu);
    if (settle(mp, batch, rc, n, done) > 0 && mp->on_ready != NULL) {
      void (*fn)(void *) = mp->on_ready;
      void *ctx = mp->on_ready_ctx;
      pthread_mutex_unlock(&mp->mu);
      fn(ctx);
      pthread_mutex_lock(&mp->mu);
    }
  }
  pthread_mutex_unlock(&mp->mu);
  return NULL;
}

/* ---- life cycle ---- */

static size_t pow2_at_least(size_t n) {
  size_t p = POOL_TABLE_MIN;
  while (p < n)
    p *= 2;
  return p;
}

static enum blok_err resolve_opts(struct blok_mempool *mp, const struct blok_mempool_opts *o) {
  struct blok_mempool_opts d = {0};
  if (o == NULL) o = &d;
  mp->count_max = o->count_max ? o->count_max : POOL_COUNT_DEFAULT;
  mp->bytes_max = o->bytes_max ? o->bytes_max : POOL_BYTES_DEFAULT;
  mp->window = o->nonce_window ? o->nonce_window : POOL_WINDOW_DEFAULT;
  mp->refused_max = o->refused_max ? o->refused_max : POOL_REFUSED_DEFAULT;
  mp->thread_count = o->workers;
  if (mp->thread_count == 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    mp->thread_count = cores > 0 ? (size_t)cores : 1;
    if (mp->thread_count > POOL_WORKERS_LIMIT) mp->thread_count = POOL_WORKERS_LIMIT;
  }
  if (mp->refused_max > POOL_REFUSED_LIMIT || mp->thread_count > POOL_WORKERS_LIMIT)
    return BLOK_EINVAL;
  return BLOK_OK;
}

static enum blok_err alloc_tables(struct blok_mempool *mp) {
  mp->ids_cap = POOL_TABLE_MIN;
  mp->senders_cap = POOL_TABLE_MIN;
  mp->refused_idx_cap = pow2_at_least(mp->refused_max);
  mp->ids = calloc(mp->ids_cap, sizeof *mp->ids);
  mp->senders = calloc(mp->senders_cap, sizeof *mp->senders);
  mp->refused = calloc(mp->refused_max, sizeof *mp->refused);
  mp->refused_idx = malloc(mp->refused_idx_cap * sizeof *mp->refused_idx);
  mp->threads = calloc(mp->thread_count, sizeof *mp->threads);
  if (!mp->ids || !mp->senders || !mp->refused || !mp->refused_idx || !mp->threads)
    return BLOK_ENOMEM;
  for (size_t i = 0; i < mp->refused_idx_cap; i++)
    mp->refused_idx[i] = POOL_NONE;
  return BLOK_OK;
}

/* Starts the workers with every signal blocked, so signals go to the node's own threads. */
static enum blok_err start_workers(struct blok_mempool *mp, size_t *started) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  enum blok_err rc = BLOK_OK;
  for (*started = 0; *started < mp->thread_count; (*started)++)
    if (pthread_create(&mp->threads[*started], NULL, worker_main, mp) != 0) {
      rc = BLOK_ENOMEM;
      break;
    }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

static void stop_workers(struct blok_mempool *mp, size_t started) {
  pthread_mutex_lock(&mp->mu);
  atomic_store(&mp->stopping, true);
  pthread_cond_broadcast(&mp->work);
  pthread_mutex_unlock(&mp->mu);
  for (size_t i = 0; i < started; i++)
    pthread_join(mp->threads[i], NULL);
}

static void free_all(struct blok_mempool *mp) {
  for (size_t i = 0; mp->ids != NULL && i < mp->ids_cap; i++) {
    struct pool_tx *t = mp->ids[i], *next;
    for (; t != NULL; t = next) {
      next = t->id_next;
      free(t);
    }
  }
  for (size_t i = 0; mp->senders != NULL && i < mp->senders_cap; i++) {
    struct pool_sender *s = mp->senders[i], *next;
    for (; s != NULL; s = next) {
      next = s->hnext;
      free(s->v);
      free(s);
    }
  }
  free(mp->ids);
  free(mp->senders);
  free(mp->refused);
  free(mp->refused_idx);
  free(mp->threads);
  free(mp->scan);
  free(mp->runs);
  pthread_cond_destroy(&mp->work);
  pthread_mutex_destroy(&mp->mu);
  free(mp);
}

enum blok_err blok_mempool_new(struct blok_mempool **out, const struct blok_mempool_opts *o,
                               const char *chain_id, blok_next_nonce_fn next_nonce, void *ctx) {
  *out = NULL;
  if (chain_id == NULL || !blok_sign_chain_id_valid(chain_id) || next_nonce == NULL)
    return BLOK_EINVAL;
  if (sodium_init() < 0) return BLOK_ECRYPTO;
  struct blok_mempool *mp = calloc(1, sizeof *mp);
  if (mp == NULL) return BLOK_ENOMEM;
  pthread_mutex_init(&mp->mu, NULL);
  pthread_cond_init(&mp->work, NULL);
  atomic_init(&mp->stopping, false);
  atomic_init(&mp->submitted, 0);
  atomic_init(&mp->refused_early, 0);
  snprintf(mp->chain_id, sizeof mp->chain_id, "%s", chain_id);
  mp->next_nonce = next_nonce;
  mp->ctx = ctx;
  randombytes_buf(mp->hkey, sizeof mp->hkey);
  enum blok_err rc = resolve_opts(mp, o);
  if (rc == BLOK_OK) rc = alloc_tables(mp);
  size_t started = 0;
  if (rc == BLOK_OK) rc = start_workers(mp, &started);
  if (rc != BLOK_OK) {
    stop_workers(mp, started);
    free_all(mp);
    return rc;
  }
  *out = mp;
  return BLOK_OK;
}

void blok_mempool_free(struct blok_mempool *mp) {
  if (mp == NULL) return;
  stop_workers(mp, mp->thread_count);
  free_all(mp);
}

void blok_mempool_on_ready(struct blok_mempool *mp, void (*fn)(void *ctx), void *ctx) {
  pthread_mutex_lock(&mp->mu);
  mp->on_ready = fn;
  mp->on_ready_ctx = ctx;
  pthread_mutex_unlock(&mp->mu);
}

/* ---- status and stats ---- */

enum blok_mempool_state blok_mempool_status(struct blok_mempool *mp, const uint8_t id[32],
                                            struct blok_tx_result *refusal) {
  enum blok_mempool_state st = BLOK_MEMPOOL_UNKNOWN;
  if (refusal != NULL) memset(refusal, 0, sizeof *refusal);
  pthread_mutex_lock(&mp->mu);
  const struct pool_tx *t = id_find(mp, id);
  if (t != NULL) {
    st = t->state == POOL_VERIFYING ? BLOK_MEMPOOL_VERIFYING : BLOK_MEMPOOL_READY;
  } else {
    uint32_t i = refusal_find(mp, id);
    if (i != POOL_NONE) {
      st = BLOK_MEMPOOL_REFUSED;
      if (refusal != NULL) *refusal = mp->refused[i].r;
    }
  }
  pthread_mutex_unlock(&mp->mu);
  return st;
}

bool blok_mempool_check(struct blok_mempool *mp, const struct blok_tx *tx) {
  pthread_mutex_lock(&mp->mu);
  struct pool_tx *t = id_find(mp, tx->id);
  if (t == NULL || t->tx.raw_len != tx->raw_len || memcmp(t->tx.raw, tx->raw, tx->raw_len) != 0 ||
      (t->state == POOL_VERIFYING && !t->queued)) { /* other bytes, or a worker has it */
    pthread_mutex_unlock(&mp->mu);
    return false;
  }
  if (t->state != POOL_VERIFYING) { /* checked already */
    pthread_mutex_unlock(&mp->mu);
    return true;
  }
  list_unlink(&mp->queue, t); /* the caller's thread checks it, as a worker would */
  t->queued = false;
  t->in_flight = true;
  pthread_mutex_unlock(&mp->mu);
  enum blok_err rc = blok_tx_verify(&t->tx);
  pthread_mutex_lock(&mp->mu);
  size_t made = settle(mp, &t, &rc, 1, 1);
  void (*fn)(void *) = made > 0 ? mp->on_ready : NULL;
  void *ctx = mp->on_ready_ctx;
  pthread_mutex_unlock(&mp->mu);
  if (fn != NULL) fn(ctx);
  return rc == BLOK_OK;
}

void blok_mempool_stats(struct blok_mempool *mp, struct blok_mempool_stats *out) {
  pthread_mutex_lock(&mp->mu);
  out->count = mp->count;
  out->bytes = mp->bytes;
  out->verifying = mp->verifying;
  out->ready = mp->ready + mp->taken_count;
  out->submitted = atomic_load(&mp->submitted);
  out->verified = mp->verified;
  out->refused = mp->refused_total + atomic_load(&mp->refused_early);
  pthread_mutex_unlock(&mp->mu);
}

/* Read from the workers' clocks when asked, not timed around each check: two clock reads a
 * batch cost the workers 2% of their time. They do little else than verify. */
uint64_t blok_mempool_workers_cpu_us(struct blok_mempool *mp) {
  uint64_t us = 0;
  for (size_t i = 0; i < mp->thread_count; i++) {
    clockid_t id;
    struct timespec ts;
    if (pthread_getcpuclockid(mp->threads[i], &id) == 0 && clock_gettime(id, &ts) == 0)
      us += (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
  }
  return us;
}

/* ---- take, untake, remove ---- */

void blok_mempool_batch_init(struct blok_mempool_batch *b) {
  memset(b, 0, sizeof *b);
}

void blok_mempool_batch_release(struct blok_mempool_batch *b) {
  free(b->txs);
  memset(b, 0, sizeof *b);
}

/* Grows by doubling: the batch is reused for every block, and the room asked for follows the
 * ready count, so an exact size copied the whole batch again at nearly every take. */
static enum blok_err batch_reserve(struct blok_mempool_batch *b, size_t need) {
  if (b->cap >= need) return BLOK_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  struct blok_tx *txs = realloc(b->txs, cap * sizeof *txs);
  if (txs == NULL) return BLOK_ENOMEM;
  b->txs = txs;
  b->cap = cap;
  return BLOK_OK;
}

static enum blok_err scan_reserve(struct blok_mempool *mp, size_t n) {
  if (mp->scan_cap >= n) return BLOK_OK;
  struct pool_scan *scan = realloc(mp->scan, n * sizeof *scan);
  if (scan == NULL) return BLOK_ENOMEM;
  mp->scan = scan;
  struct pool_run *runs = realloc(mp->runs, n * sizeof *runs);
  if (runs == NULL) return BLOK_ENOMEM;
  mp->runs = runs;
  mp->scan_cap = n;
  return BLOK_OK;
}

/* Copies the keys of up to want senders from the ready ring, starting at the cursor, and moves
 * the cursor past them (lock held). */
static size_t scan_collect(struct blok_mempool *mp, size_t want) {
  size_t n = 0;
  if (want > mp->ring_len) want = mp->ring_len;
  for (; n < want; n++) {
    memcpy(mp->scan[n].pk, mp->rr->pk, 32);
    mp->rr = mp->rr->rnext;
  }
  return n;
}

/* Drops s's transactions below its committed next nonce, except those handed to a block.
 * Returns s, or NULL when that emptied (and freed) it. */
static struct pool_sender *drop_stale(struct blok_mempool *mp, struct pool_sender *s,
                                      uint64_t next) {
  size_t i = 0;
  while (i < s->n && s->v[i]->tx.nonce < next) {
    struct pool_tx *t = s->v[i];
    if (t->state == POOL_TAKEN) {
      i++;
      continue;
    }
    char msg[BLOK_WHY_MAX];
    snprintf(msg, sizeof msg, "nonce %llu was already used (the sender's next nonce is %llu)",
             (unsigned long long)t->tx.nonce, (unsigned long long)next);
    bool last = s->n == 1;
    pool_refuse(mp, t, BLOK_ESTALE, msg);
    if (last) return NULL;
  }
  return s;
}

/* The senders of scan[0..n) whose run starts at their next nonce (lock held). */
static size_t runs_find(struct blok_mempool *mp, size_t n) {
  size_t runs = 0;
  for (size_t i = 0; i < n; i++) {
    const struct pool_scan *sc = &mp->scan[i];
    struct pool_sender *s = sc->rc == BLOK_OK ? sender_find(mp, sc->pk) : NULL;
    if (s != NULL) s = drop_stale(mp, s, sc->next);
    size_t at;
    if (s == NULL || !sender_search(s, sc->next, &at) || s->v[at]->state != POOL_READY) continue;
    mp->runs[runs++] = (struct pool_run){.s = s, .at = at, .nonce = sc->next};
  }
  return runs;
}

/* Hands one transaction to the batch. */
static void take_one(struct blok_mempool *mp, struct blok_mempool_batch *b, struct pool_tx *t) {
  b->txs[b->count++] = t->tx;
  ready_dec(mp, t->sender);
  t->state = POOL_TAKEN;
  list_push(&mp->taken, t);
  mp->taken_count++;
}

/* Round-robin over the runs: each round gives the next transaction of every sender whose run
 * goes on and fits (lock held). A sender whose next one does not fit stops: its later nonces
 * cannot go without it. */
static enum blok_err runs_take(struct blok_mempool *mp, struct blok_mempool_batch *b, size_t runs,
                               size_t count_max, size_t bytes_max, size_t *bytes) {
  size_t room = count_max - b->count;
  if (room > mp->ready) room = mp->ready;
  BLOK_TRY(batch_reserve(b, b->count + room));
  while (runs > 0 && b->count < count_max) {
    size_t keep = 0;
    for (size_t i = 0; i < runs && b->count < count_max; i++) {
      struct pool_run r = mp->runs[i];
      if (r.at >= r.s->n) continue;
      struct pool_tx *t = r.s->v[r.at];
      if (t->tx.nonce != r.nonce || t->state != POOL_READY) continue;
      if (t->tx.raw_len > bytes_max - *bytes) continue;
      take_one(mp, b, t);
      *bytes += t->tx.raw_len;
      mp->runs[keep++] = (struct pool_run){.s = r.s, .at = r.at + 1, .nonce = r.nonce + 1};
    }
    runs = keep;
  }
  return BLOK_OK;
}

enum blok_err blok_mempool_take(struct blok_mempool *mp, struct blok_mempool_batch *b,
                                size_t count_max, size_t bytes_max) {
  b->count = 0;
  size_t bytes = 0;
  pthread_mutex_lock(&mp->mu);
  size_t budget = mp->ring_len; /* each sender visited at most once */
  pthread_mutex_unlock(&mp->mu);
  while (b->count < count_max && budget > 0) {
    size_t want = count_max - b->count < budget ? count_max - b->count : budget;
    BLOK_TRY(scan_reserve(mp, want));
    pthread_mutex_lock(&mp->mu);
    size_t n = scan_collect(mp, want);
    pthread_mutex_unlock(&mp->mu);
    if (n == 0) break;
    budget -= n;
    for (size_t i = 0; i < n; i++)
      mp->scan[i].rc = mp->next_nonce(mp->ctx, mp->scan[i].pk, &mp->scan[i].next);
    pthread_mutex_lock(&mp->mu);
    enum blok_err rc = runs_take(mp, b, runs_find(mp, n), count_max, bytes_max, &bytes);
    pthread_mutex_unlock(&mp->mu);
    BLOK_TRY(rc);
  }
  return BLOK_OK;
}

void blok_mempool_untake(struct blok_mempool *mp) {
  pthread_mutex_lock(&mp->mu);
  while (mp->taken.head != NULL) {
    struct pool_tx *t = mp->taken.head;
    list_unlink(&mp->taken, t);
    mp->taken_count--;
    t->state = POOL_READY;
    ready_inc(mp, t->sender);
  }
  pthread_mutex_unlock(&mp->mu);
}

void blok_mempool_remove(struct blok_mempool *mp, const uint8_t id[32],
                         const struct blok_tx_result *refusal) {
  pthread_mutex_lock(&mp->mu);
  struct pool_tx *t = id_find(mp, id);
  if (t != NULL) {
    if (refusal != NULL) refusal_remember(mp, id, refusal->code, refusal->msg);
    pool_drop(mp, t);
  }
  pthread_mutex_unlock(&mp->mu);
}
