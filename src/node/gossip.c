/*
 * Gossip of client transactions (node_internal.h): what the API accepted from a client goes to
 * every validator in TXS frames (docs/PROTOCOL.md, "Validator messages"), so a transaction
 * submitted to any node reaches every mempool. API threads append the bytes to a bounded
 * buffer; the loop thread takes the buffer whole and sends it. No allocation per transaction.
 */
#include <string.h>

#include "blok/log.h"
#include "node_internal.h"
#include "blok/banned.h"

static void on_async(uv_async_t *a) {
  struct blok__gossip *g = a->data;
  pthread_mutex_lock(&g->mu);
  struct blok_buf taken = g->pending; /* swap: API threads go on filling the other buffer */
  size_t count = g->count;
  g->pending = g->sending;
  g->sending = taken;
  blok_buf_clear(&g->pending);
  g->count = 0;
  pthread_mutex_unlock(&g->mu);
  const uint8_t *items[BLOK_WIRE_TXS_MAX];
  size_t lens[BLOK_WIRE_TXS_MAX], k = 0, at = 0;
  for (size_t i = 0; i < count; i++) {
    uint32_t len;
    memcpy(&len, g->sending.data + at, 4);
    items[k] = g->sending.data + at + 4;
    lens[k++] = len;
    at += 4 + len;
    if (k < BLOK_WIRE_TXS_MAX && i + 1 < count) continue;
    enum blok_err rc = g->net ? blok_wire_txs(&g->frame, items, lens, k) : BLOK_OK;
    if (g->net && rc == BLOK_OK) rc = blok_net_broadcast(g->net, g->frame.data, g->frame.len, 0);
    /* Not sent: the transactions still wait in this node's mempool for its turn to lead. */
    if (rc != BLOK_OK) blok_log(BLOK_LOG_WARN, "gossip", "txs=%zu error=%s", k, blok_err_name(rc));
    k = 0;
  }
}

void blok__gossip_init(struct blok__gossip *g, uv_loop_t *loop) {
  pthread_mutex_init(&g->mu, NULL);
  blok_buf_init(&g->pending, BLOK_GOSSIP_BYTES_MAX);
  blok_buf_init(&g->sending, BLOK_GOSSIP_BYTES_MAX);
  blok_buf_init(&g->frame, BLOK_WIRE_FRAME_MAX);
  uv_async_init(loop, &g->async, on_async);
  g->async.data = g;
}

void blok__gossip_push(void *ctx, const uint8_t *raw, size_t len) {
  struct node *n = ctx;
  struct blok__gossip *g = &n->gossip;
  uint32_t len32 = (uint32_t)len; /* in this process's byte order: read back by on_async */
  pthread_mutex_lock(&g->mu);
  bool queued = g->net != NULL && g->count < BLOK_GOSSIP_TXS_MAX &&
                blok_buf_append(&g->pending, &len32, 4) == BLOK_OK;
  if (queued && blok_buf_append(&g->pending, raw, len) != BLOK_OK) {
    g->pending.len -= 4; /* full: the length goes again */
    queued = false;
  }
  if (queued) g->count++;
  pthread_mutex_unlock(&g->mu);
  /* Not queued (full, or no network): the transaction still waits in this node's mempool. */
  if (queued) uv_async_send(&g->async);
}

void blok__gossip_set_net(struct blok__gossip *g, struct blok_net *net) {
  pthread_mutex_lock(&g->mu);
  g->net = net;
  pthread_mutex_unlock(&g->mu);
}

void blok__gossip_release(struct blok__gossip *g) {
  blok_buf_release(&g->pending);
  blok_buf_release(&g->sending);
  blok_buf_release(&g->frame);
  pthread_mutex_destroy(&g->mu);
}
