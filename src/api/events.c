/*
 * GET /v1/events (docs/API.md): a Server-Sent Events stream (text/event-stream) with one `block`
 * event per committed block, for the explorer page and for any program that follows the chain.
 *
 * The server runs a thread per connection, so the stream is a reader that blocks in its
 * connection's thread: it waits on the commit notification (blok_notify_wait) in slices of
 * BLOK__API_WAIT_SLICE_MS, so that it notices a stopping server, and writes a comment line
 * every BLOK__API_SSE_KEEPALIVE_MS without a block, which keeps the connection (and any proxy)
 * from timing it out. Streams are bounded (BLOK__API_SSE_CLIENTS_MAX at once, then 503), and so
 * is what one stream catches up on when it falls behind (BLOK__API_SSE_CATCHUP_MAX blocks: the
 * older ones are skipped, and the event ids say so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "blok/banned.h"

#define BLOK__API_SSE_CLIENTS_MAX  64u
#define BLOK__API_SSE_KEEPALIVE_MS 15000u
#define BLOK__API_SSE_CATCHUP_MAX  64u

struct sse {
  struct blok_api *a;
  uint64_t sent;       /* the last height sent an event for */
  struct blok_buf out; /* bytes not yet handed to the server */
  size_t off;          /* how many of out's bytes were handed over */
};

/* data: {"height", "hash", "time_ms", "tx_count", "txs"} of one block, as an event. */
static enum blok_err block_event(struct sse *s, uint64_t height) {
  struct blok_buf block, qcb;
  struct blok_block_view *v = malloc(sizeof *v);
  blok_buf_init(&block, BLOK_BLOCK_BYTES_MAX);
  blok_buf_init(&qcb, (size_t)1 << 16);
  enum blok_err rc = v ? blok_ledger_block(s->a->d.ledger, height, &block, &qcb) : BLOK_ENOMEM;
  if (rc == BLOK_OK) rc = blok_block_parse(v, block.data, block.len);
  uint8_t hash[32];
  if (rc == BLOK_OK) rc = blok_header_hash(&v->header, hash);
  json_t *ids = rc == BLOK_OK ? json_array() : NULL;
  for (size_t i = 0; ids != NULL && rc == BLOK_OK && i < v->tx_count; i++) {
    struct blok_tx tx;
    rc = blok_tx_decode(&tx, v->txs[i], v->tx_lens[i]);
    if (rc == BLOK_OK) json_array_append_new(ids, blok__json_hex(tx.id, 32));
  }
  json_t *j =
      rc == BLOK_OK && ids != NULL
          ? json_pack("{s:o, s:o, s:o, s:I, s:O}", "height", blok__json_u64(height), "hash",
                      blok__json_hex(hash, 32), "time_ms", blok__json_u64(v->header.timestamp_ms),
                      "tx_count", (json_int_t)v->tx_count, "txs", ids)
          : NULL;
  json_decref(ids);
  free(v);
  blok_buf_release(&block);
  blok_buf_release(&qcb);
  if (rc != BLOK_OK) return rc;
  char *data = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (data == NULL) return BLOK_ENOMEM;
  char head[64];
  int n = snprintf(head, sizeof head, "id: %llu\nevent: block\ndata: ", (unsigned long long)height);
  rc = blok_buf_append(&s->out, (const uint8_t *)head, (size_t)n);
  if (rc == BLOK_OK) rc = blok_buf_append(&s->out, (const uint8_t *)data, strlen(data));
  if (rc == BLOK_OK) rc = blok_buf_append(&s->out, (const uint8_t *)"\n\n", 2);
  free(data);
  return rc;
}

static enum blok_err append_text(struct sse *s, const char *text) {
  return blok_buf_append(&s->out, (const uint8_t *)text, strlen(text));
}

/* Fills s->out with the events of blocks committed after s->sent, waiting for one (and
 * writing a keep-alive comment when none comes). BLOK_EUNAVAIL when the server stops. */
static enum blok_err fill(struct sse *s) {
  uint64_t waited_ms = 0, head = s->sent;
  while (head <= s->sent) {
    if (atomic_load(&s->a->stopping)) return BLOK_EUNAVAIL;
    if (waited_ms >= BLOK__API_SSE_KEEPALIVE_MS) return append_text(s, ": keep-alive\n\n");
    uint64_t deadline = blok_monotonic_ms() + BLOK__API_WAIT_SLICE_MS;
    enum blok_err rc = blok_notify_wait(s->a->d.notify, s->sent, deadline, &head);
    if (rc == BLOK_EUNAVAIL) return rc;
    if (rc == BLOK_ETIMEOUT) head = s->sent;
    waited_ms += BLOK__API_WAIT_SLICE_MS;
  }
  uint64_t from = s->sent + 1;
  if (head - s->sent > BLOK__API_SSE_CATCHUP_MAX) from = head - BLOK__API_SSE_CATCHUP_MAX + 1;
  for (uint64_t h = from; h <= head; h++) {
    BLOK_TRY(block_event(s, h));
    s->sent = h;
  }
  return BLOK_OK;
}

static ssize_t sse_read(void *cls, char *buf, size_t max) {
  struct sse *s = cls;
  if (s->off == s->out.len) {
    s->out.len = 0;
    s->off = 0;
    if (fill(s) != BLOK_OK || s->out.len == 0) return -1;
  }
  size_t n = s->out.len - s->off;
  if (n > max) n = max;
  memcpy(buf, s->out.data + s->off, n);
  s->off += n;
  return (ssize_t)n;
}

static void sse_free(void *cls) {
  struct sse *s = cls;
  atomic_fetch_sub(&s->a->sse_clients, 1);
  blok_buf_release(&s->out);
  free(s);
}

void blok__route_events(struct blok_api *a, struct blok__reply *r) {
  if (atomic_fetch_add(&a->sse_clients, 1) >= BLOK__API_SSE_CLIENTS_MAX) {
    atomic_fetch_sub(&a->sse_clients, 1);
    r->retry_after_s = 1;
    blok__reply_error(r, 503, BLOK_EFULL, "events: at most %u streams at once",
                      BLOK__API_SSE_CLIENTS_MAX);
    return;
  }
  struct sse *s = calloc(1, sizeof *s);
  struct blok_header h;
  if (s == NULL) {
    atomic_fetch_sub(&a->sse_clients, 1);
    blok__reply_error(r, 500, BLOK_ENOMEM, "events: %s", blok_strerror(BLOK_ENOMEM));
    return;
  }
  s->a = a;
  /* One block's event is at most 10,000 ids of 67 bytes and a little more. */
  blok_buf_init(&s->out, (size_t)1 << 20);
  blok_ledger_head(a->d.ledger, &h, NULL);
  /* The stream opens with the head block, so a client has the chain's state at once. */
  s->sent = h.height;
  enum blok_err rc = append_text(s, "retry: 2000\n: blokauto block events\n\n");
  if (rc == BLOK_OK && h.height > 0) rc = block_event(s, h.height);
  if (rc != BLOK_OK) {
    sse_free(s);
    blok__reply_error(r, 500, rc, "events: %s", blok_strerror(rc));
    return;
  }
  r->status = 200;
  r->content_type = "text/event-stream; charset=utf-8";
  r->stream_read = sse_read;
  r->stream_free = sse_free;
  r->stream_cls = s;
}
