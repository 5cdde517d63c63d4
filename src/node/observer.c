/*
 * Observer mode of the node (docs/NODE.md, "Observers"): a node that is not a validator follows
 * the chain and serves the API, for read scale-out (DESIGN.md, "Scale"). It connects to the
 * validators in its config's peers, which must list its key among their `observers`, and asks
 * one of them in turn for the committed blocks after its head every OBSERVE_POLL_MS (and again
 * at once while the replies come full). It trusts none of them: blok/sync.h checks that every
 * block carries a quorum certificate of the genesis validators for exactly that block and
 * executes to exactly its header before it is committed here. It never votes, so it holds no
 * safety record.
 *
 * Transactions its API accepts are sent to every validator (gossip.c); once its own mempool has
 * verified them they leave it (they were sent already), so the pool bounds and checks what
 * clients send but never fills with transactions that some validator refused.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/log.h"
#include "blok/sync.h"
#include "node_internal.h"
#include "blok/banned.h"

#define OBSERVE_POLL_MS  200
#define FORWARD_TAKE_MAX 10000

struct blok__observer {
  struct node *n;
  struct blok_net *net;
  uv_timer_t poll;
  struct blok_wire_msg *msg;
  struct blok_buf out;
  size_t next; /* the validator asked next */
  uint64_t step_started_us;
  bool handle_open, handle_closed;
};

static void ask(struct blok__observer *o, size_t k) {
  struct blok_header head;
  blok_ledger_head(o->n->l, &head, NULL);
  if (blok_wire_sync(&o->out, head.height + 1) != BLOK_OK) return;
  enum blok_err rc = blok_net_send(o->net, o->n->g.validators[k], o->out.data, o->out.len);
  if (rc != BLOK_OK) blok_log(BLOK_LOG_WARN, "sync", "to=%zu error=%s", k, blok_err_name(rc));
}

/* The next validator with a connection up, in turn (so one that withholds blocks only slows
 * this node down); none up: nothing is asked (messages would wait in a queue). */
static void on_poll(uv_timer_t *t) {
  struct blok__observer *o = t->data;
  size_t n = o->n->g.validator_count;
  for (size_t tried = 0; tried < n; tried++) {
    size_t k = o->next++ % n;
    struct blok_net_peer_stats st;
    if (blok_net_peer_stats(o->net, o->n->g.validators[k], &st) == BLOK_OK && st.connected) {
      ask(o, k);
      return;
    }
  }
}

static bool known(void *ctx, const struct blok_tx *tx) {
  struct blok__observer *o = ctx;
  return blok_mempool_check(o->n->mp, tx);
}

static void committed(void *ctx, const struct blok_header *h, const uint8_t hash[32],
                      const struct blok_exec *x) {
  struct blok__observer *o = ctx;
  (void)hash;
  blok__node_committed(o->n, h, x, blok__monotonic_us() - o->step_started_us);
}

static void on_reply(struct blok__observer *o, size_t k) {
  struct blok_qc *qc = malloc(sizeof *qc);
  if (qc == NULL) return;
  struct blok_sync_hooks hooks = {.ctx = o, .known = known, .committed = committed};
  size_t done;
  o->step_started_us = blok__monotonic_us();
  enum blok_err rc = blok_sync_apply(o->n->l, o->msg, &hooks, &done, qc);
  free(qc);
  if (blok__node_fatal(o->n, rc, "sync")) return;
  if (rc != BLOK_OK)
    blok_log(BLOK_LOG_WARN, "sync", "from=%zu refused=%s committed=%zu", k, blok_err_name(rc),
             done);
  else if (o->msg->count == BLOK_WIRE_SYNC_BLOCKS && done > 0)
    ask(o, k); /* a full reply: there is more */
}

static void on_message(const uint8_t pk[32], unsigned flags, const uint8_t *bytes, size_t len,
                       void *user) {
  struct blok__observer *o = user;
  size_t k = blok__node_validator(o->n, pk);
  if ((flags & BLOK_NET_OBSERVER) || k == o->n->g.validator_count) return;
  enum blok_err rc = blok_wire_decode(o->msg, bytes, len);
  if (rc == BLOK_OK && o->msg->kind == BLOK_WIRE_SYNC_REPLY)
    on_reply(o, k);
  else if (rc != BLOK_OK)
    blok_log(BLOK_LOG_WARN, "refused", "from=%zu error=%s", k, blok_err_name(rc));
}

static void on_peer_up(const uint8_t pk[32], unsigned flags, void *user) {
  (void)flags;
  blok__node_log_peer(((struct blok__observer *)user)->n, pk, "up");
}

static void on_peer_down(const uint8_t pk[32], unsigned flags, void *user) {
  (void)flags;
  blok__node_log_peer(((struct blok__observer *)user)->n, pk, "down");
}

void blok__observer_txs_waiting(struct node *n) {
  if (blok_mempool_take(n->mp, &n->batch, FORWARD_TAKE_MAX, BLOK_BLOCK_BYTES_MAX) != BLOK_OK)
    return;
  for (size_t i = 0; i < n->batch.count; i++)
    blok_mempool_remove(n->mp, n->batch.txs[i].id, NULL);
}

static enum blok_err open_network(struct blok__observer *o, struct blok_why *why) {
  struct node *n = o->n;
  struct blok_net_config nc;
  BLOK_TRY(blok__node_net_config(n, &nc, why)); /* no listen address: nobody dials it */
  struct blok_net_callbacks cb = {
      .on_message = on_message, .on_peer_up = on_peer_up, .on_peer_down = on_peer_down, .user = o};
  BLOK_TRY(blok_net_open(&o->net, &n->loop, &nc, &cb, why));
  blok__gossip_set_net(&n->gossip, o->net);
  return BLOK_OK;
}

enum blok_err blok__observer_start(struct node *n, struct blok_why *why) {
  struct blok__observer *o = calloc(1, sizeof *o);
  if (o == NULL) return blok_refuse(why, BLOK_ENOMEM, "out of memory");
  n->o = o;
  o->n = n;
  blok_buf_init(&o->out, 64);
  o->msg = malloc(sizeof *o->msg);
  if (o->msg == NULL) return blok_refuse(why, BLOK_ENOMEM, "out of memory");
  uv_timer_init(&n->loop, &o->poll);
  o->poll.data = o;
  o->handle_open = true;
  BLOK_TRY(open_network(o, why));
  uv_timer_start(&o->poll, on_poll, 0, OBSERVE_POLL_MS);
  blok_log(BLOK_LOG_INFO, "observer", "validators=%zu peers=%zu", n->g.validator_count,
           n->c->peer_count);
  return BLOK_OK;
}

static void closed(uv_handle_t *h) {
  ((struct blok__observer *)h->data)->handle_closed = true;
}

void blok__observer_stop(struct node *n) {
  struct blok__observer *o = n->o;
  if (o == NULL) return;
  if (o->handle_open) {
    uv_close((uv_handle_t *)&o->poll, closed);
    while (!o->handle_closed) /* it lives in o: closed before o is freed */
      uv_run(&n->loop, UV_RUN_NOWAIT);
  }
  blok__gossip_set_net(&n->gossip, NULL);
  blok_net_close(o->net);
  blok_buf_release(&o->out);
  free(o->msg);
  free(o);
  n->o = NULL;
}
