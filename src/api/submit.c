/*
 * Submitting transactions (docs/API.md, "POST /v1/tx" and "POST /v1/txs"): a body item is
 * turned into the canonical encoding (json.c), checked for what the node can tell at once
 * without state beyond the head (encoding, chain, expiry, kind, payload, already committed),
 * and handed to the mempool, which checks the rest and the signature.
 *
 * POST /v1/txs also takes a binary body (Content-Type: application/octet-stream): the canonical
 * list<bytes<BLOK_TX_ENCODED_MAX>, 10000> of signed transactions, for bulk loaders. It skips the
 * JSON parse and the hex decoding, and runs every other check the same way. Its framing is
 * checked whole before any item is submitted, so a truncated body submits nothing.
 *
 * With ?wait=commit the request thread then sleeps on the commit notification (blok/notify.h)
 * until the transaction is in a committed block, the block producer refuses it, or the
 * deadline passes. The server runs one thread per connection, so a wait holds only its own
 * connection; it wakes every BLOK__API_WAIT_SLICE_MS to notice that the server is stopping.
 */
#include <string.h>

#include "api_internal.h"
#include "blok/hex.h"
#include "blok/banned.h"

/* The checks the mempool does not make: the chain, expiry against the head, a registered
 * kind whose stateless check passes. Whether it is committed already is asked only when the
 * mempool finds its nonce used (submit_raw): a committed transaction's nonce always is, and the
 * transaction index lookup cost a read transaction and a B-tree walk for every fresh one. */
static enum blok_err precheck(struct blok_api *a, const uint8_t *raw, size_t raw_len,
                              struct blok_tx *out, struct blok_why *why) {
  struct blok_tx tx;
  enum blok_err rc = blok_tx_decode(&tx, raw, raw_len);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "transaction encoding: %s", blok_strerror(rc));
  const struct blok_genesis *g = blok_ledger_genesis(a->d.ledger);
  if (strcmp(tx.chain_id, g->chain_id) != 0)
    return blok_refuse(why, BLOK_EBADTAG, "chain_id: the transaction is for chain %s, not %s",
                       tx.chain_id, g->chain_id);
  struct blok_header h;
  blok_ledger_head(a->d.ledger, &h, NULL);
  if (tx.expiry_height <= h.height)
    return blok_refuse(why, BLOK_EEXPIRED,
                       "expiry_height: %llu has passed; the next block is at height %llu",
                       (unsigned long long)tx.expiry_height, (unsigned long long)h.height + 1);
  const struct blok_module *m;
  const struct blok_tx_kind *kind =
      blok_registry_kind(blok_ledger_registry(a->d.ledger), tx.module, tx.type, &m);
  if (kind == NULL)
    return blok_refuse(why, BLOK_EUNKNOWNKIND, "type: no transaction kind %s/%s", tx.module,
                       tx.type);
  rc = blok_kind_check(kind, tx.payload, tx.payload_len, why);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "payload: %s", blok_strerror(rc));
  *out = tx;
  return BLOK_OK;
}

static enum blok_err submit_raw(struct blok_api *a, const uint8_t *raw, size_t raw_len,
                                uint8_t id[32], struct blok_why *why) {
  struct blok_tx tx;
  BLOK_TRY(precheck(a, raw, raw_len, &tx, why));
  enum blok_err rc = blok_mempool_submit_tx(a->d.mempool, &tx, id, why);
  if (rc == BLOK_ESTALE) { /* committed already, or another with its nonce: say which */
    struct blok_tx_location loc;
    enum blok_err lrc = blok_ledger_tx(a->d.ledger, tx.id, &loc);
    if (lrc == BLOK_OK) {
      why->msg[0] = '\0'; /* the mempool's reason gives way */
      return blok_refuse(why, BLOK_EDUPLICATE, "id: already committed at height %llu",
                         (unsigned long long)loc.height);
    }
    if (lrc != BLOK_ENOTFOUND) {
      why->msg[0] = '\0';
      return blok_refuse(why, lrc, "cannot read the transaction index (%s); retry later",
                         blok_strerror(lrc));
    }
  }
  BLOK_TRY(rc);
  if (a->d.accepted) a->d.accepted(a->d.accepted_ctx, raw, raw_len);
  return BLOK_OK;
}

static enum blok_err submit_item(struct blok_api *a, const json_t *item, uint8_t id[32],
                                 struct blok_why *why) {
  struct blok_buf raw;
  blok_buf_init(&raw, BLOK_TX_ENCODED_MAX);
  enum blok_err rc = blok__json_tx_raw(item, blok_ledger_registry(a->d.ledger), &raw, why);
  if (rc == BLOK_OK) rc = submit_raw(a, raw.data, raw.len, id, why);
  blok_buf_release(&raw);
  return rc;
}

/* The answer of POST /v1/txs: {"results":[...]}, an entry per item, {"id":...,"status":"pending"}
 * or {"error":{"code":...,"message":...}} as every other refusal. It is written straight into a
 * buffer: 10,000 entries through jansson's objects cost more than the submissions they report
 * (about 3 us an item under load). Ids are hex and codes are names, so only a refusal's message
 * needs JSON escaping, which jansson does. */
struct results {
  struct blok_buf b;
  size_t count;
  enum blok_err rc; /* the first failure to grow the buffer */
};

static void results_init(struct results *x) {
  blok_buf_init(&x->b, (size_t)BLOK__API_BATCH_ITEMS_MAX * 2048); /* room for any refusals */
  x->count = 0;
  x->rc = blok_buf_append(&x->b, "{\"results\":[", 12);
}

static void results_put(struct results *x, const char *s, size_t n) {
  if (x->rc == BLOK_OK) x->rc = blok_buf_append(&x->b, s, n);
}

static void results_add(struct results *x, enum blok_err rc, const uint8_t id[32],
                        const struct blok_why *why) {
  if (x->count++ > 0) results_put(x, ",", 1);
  if (rc == BLOK_OK) {
    char hex[65];
    blok_hex_encode(hex, sizeof hex, id, 32);
    results_put(x, "{\"id\":\"", 7);
    results_put(x, hex, 64);
    results_put(x, "\",\"status\":\"pending\"}", 21);
    return;
  }
  const char *code = blok_err_name(rc);
  json_t *msg = json_string(why->msg[0] ? why->msg : blok_strerror(rc));
  if (msg == NULL) msg = json_string(blok_strerror(rc)); /* a message that is not utf-8 */
  char *m = msg ? json_dumps(msg, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  json_decref(msg);
  if (m == NULL && x->rc == BLOK_OK) x->rc = BLOK_ENOMEM;
  results_put(x, "{\"error\":{\"code\":\"", 18);
  results_put(x, code, strlen(code));
  results_put(x, "\",\"message\":", 12);
  if (m) results_put(x, m, strlen(m));
  results_put(x, "}}", 2);
  free(m);
}

/* Hands the buffer to the reply (or a 500 when it could not be written). */
static void results_reply(struct results *x, struct blok__reply *r) {
  results_put(x, "]}\n", 3);
  if (x->rc != BLOK_OK) {
    blok_buf_release(&x->b);
    blok__reply_error(r, 500, x->rc, "reply: %s", blok_strerror(x->rc));
    return;
  }
  blok__reply_buf(r, 200, &x->b, "application/json");
}

/* --- waiting for the commit -------------------------------------------------------------- */

/* Sets the final reply and returns true once the transaction is committed or refused. */
static bool wait_outcome(struct blok_api *a, const uint8_t id[32], struct blok__reply *r) {
  struct blok_tx_location loc;
  if (blok_ledger_tx(a->d.ledger, id, &loc) == BLOK_OK) {
    blok__reply_json(r, 200,
                     json_pack("{s:o, s:s, s:o, s:I, s:o}", "id", blok__json_hex(id, 32), "status",
                               "committed", "height", blok__json_u64(loc.height), "position",
                               (json_int_t)loc.position, "result", blok__json_result(&loc.result)));
    return true;
  }
  struct blok_tx_result refusal;
  memset(&refusal, 0, sizeof refusal);
  if (blok_mempool_status(a->d.mempool, id, &refusal) != BLOK_MEMPOOL_REFUSED) return false;
  enum blok_err code = (enum blok_err)refusal.code;
  json_t *j = json_pack("{s:{s:s, s:s}, s:o, s:s}", "error", "code", blok_err_name(code), "message",
                        refusal.msg[0] ? refusal.msg : blok_strerror(code), "id",
                        blok__json_hex(id, 32), "status", "refused");
  blok__reply_json(r, 422, j);
  return true;
}

static void wait_pending(struct blok__reply *r, const uint8_t id[32], unsigned status,
                         enum blok_err err, const char *msg) {
  blok__reply_json(r, status,
                   json_pack("{s:{s:s, s:s}, s:o, s:s}", "error", "code", blok_err_name(err),
                             "message", msg, "id", blok__json_hex(id, 32), "status", "pending"));
}

static void wait_commit(struct blok_api *a, const uint8_t id[32], uint64_t timeout_ms,
                        struct blok__reply *r) {
  uint64_t deadline = blok_monotonic_ms() + timeout_ms;
  for (;;) {
    /* The head is read before the look, so a commit after the look wakes the wait below. */
    struct blok_header h;
    blok_ledger_head(a->d.ledger, &h, NULL);
    if (wait_outcome(a, id, r)) return;
    uint64_t now = blok_monotonic_ms(), got;
    if (atomic_load(&a->stopping)) break;
    if (now >= deadline) {
      wait_pending(r, id, 504, BLOK_ETIMEOUT,
                   "wait: not committed before the timeout; the transaction is still pending");
      return;
    }
    uint64_t until =
        deadline - now > BLOK__API_WAIT_SLICE_MS ? now + BLOK__API_WAIT_SLICE_MS : deadline;
    if (blok_notify_wait(a->d.notify, h.height, until, &got) == BLOK_EUNAVAIL) break;
  }
  r->retry_after_s = 1;
  wait_pending(r, id, 503, BLOK_EUNAVAIL, "wait: the node is shutting down");
}

/* --- routes ------------------------------------------------------------------------------ */

/* The wait the query asks for: false (and a reply) when it is malformed. */
static bool wait_query(struct blok_api *a, const struct blok__query *q, bool *wait,
                       uint64_t *timeout_ms, struct blok__reply *r) {
  *wait = false;
  *timeout_ms = a->o.wait_ms_default;
  if (q->wait != NULL && strcmp(q->wait, "commit") != 0) {
    blok__reply_error(r, 400, BLOK_EINVAL, "wait: only wait=commit is supported");
    return false;
  }
  *wait = q->wait != NULL;
  if (q->timeout_ms != NULL && !blok__parse_u64(q->timeout_ms, timeout_ms)) {
    blok__reply_error(r, 400, BLOK_ERANGE,
                      "timeout_ms: a decimal number of milliseconds is "
                      "required");
    return false;
  }
  if (*timeout_ms > a->o.wait_ms_max) *timeout_ms = a->o.wait_ms_max;
  return true;
}

void blok__route_tx_post(struct blok_api *a, const uint8_t *body, size_t len,
                         const struct blok__query *q, struct blok__reply *r) {
  bool wait;
  uint64_t timeout_ms;
  if (!wait_query(a, q, &wait, &timeout_ms, r)) return;
  struct blok_why why = {{0}};
  json_t *j;
  enum blok_err rc = blok__json_parse_body(body, len, &j, &why);
  if (rc == BLOK_OK && !json_is_object(j))
    rc = blok_refuse(&why, BLOK_EFORMAT,
                     "body: a json object is required (POST /v1/txs takes an array)");
  uint8_t id[32];
  if (rc == BLOK_OK) rc = submit_item(a, j, id, &why);
  json_decref(j);
  if (rc != BLOK_OK) {
    blok__reply_refusal(r, rc, &why);
    return;
  }
  if (wait) {
    wait_commit(a, id, timeout_ms, r);
    return;
  }
  blok__reply_json(r, 202,
                   json_pack("{s:o, s:s}", "id", blok__json_hex(id, 32), "status", "pending"));
}

void blok__route_txs_post(struct blok_api *a, const uint8_t *body, size_t len,
                          struct blok__reply *r) {
  struct blok_why why = {{0}};
  json_t *j;
  enum blok_err rc = blok__json_parse_body(body, len, &j, &why);
  if (rc == BLOK_OK && !json_is_array(j))
    rc = blok_refuse(&why, BLOK_EFORMAT, "body: a json array of transactions is required");
  if (rc == BLOK_OK && json_array_size(j) > BLOK__API_BATCH_ITEMS_MAX)
    rc = blok_refuse(&why, BLOK_ETOOLONG, "body: at most %d transactions",
                     BLOK__API_BATCH_ITEMS_MAX);
  if (rc != BLOK_OK) {
    json_decref(j);
    blok__reply_refusal(r, rc, &why);
    return;
  }
  struct results results;
  results_init(&results);
  for (size_t i = 0; i < json_array_size(j); i++) {
    struct blok_why item_why = {{0}};
    uint8_t id[32];
    enum blok_err irc = submit_item(a, json_array_get(j, i), id, &item_why);
    results_add(&results, irc, id, &item_why);
  }
  json_decref(j);
  results_reply(&results, r);
}

/* --- the binary bulk form ---------------------------------------------------------------- */

/* Checks the framing of the whole body (count, every length, nothing after the last item) so
 * that a malformed body is refused before any of it is submitted. */
static enum blok_err binary_frame(const uint8_t *body, size_t len, size_t *count,
                                  struct blok_why *why) {
  struct blok_reader rd;
  blok_reader_init(&rd, body, len);
  enum blok_err rc = blok_dec_count(&rd, count, BLOK__API_BATCH_ITEMS_MAX);
  if (rc == BLOK_ETOOLONG)
    return blok_refuse(why, rc, "body: at most %d transactions", BLOK__API_BATCH_ITEMS_MAX);
  if (rc != BLOK_OK)
    return blok_refuse(why, rc, "body: a u32 count of transactions is required: %s",
                       blok_strerror(rc));
  for (size_t i = 0; i < *count; i++) {
    const uint8_t *raw;
    size_t raw_len;
    rc = blok_dec_bytes(&rd, &raw, &raw_len, BLOK_TX_ENCODED_MAX);
    if (rc != BLOK_OK)
      return blok_refuse(why, rc, "body: transaction %zu of %zu: %s", i, *count, blok_strerror(rc));
  }
  rc = blok_dec_end(&rd);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "body: bytes after the last transaction");
  return BLOK_OK;
}

/* POST /v1/txs with the binary body (api_internal.h). */
void blok__route_txs_post_binary(struct blok_api *a, const uint8_t *body, size_t len,
                                 struct blok__reply *r) {
  struct blok_why why = {{0}};
  size_t count = 0;
  enum blok_err rc = binary_frame(body, len, &count, &why);
  if (rc != BLOK_OK) {
    blok__reply_refusal(r, rc, &why);
    return;
  }
  struct results results;
  results_init(&results);
  struct blok_reader rd;
  blok_reader_init(&rd, body, len);
  enum blok_err frc = blok_dec_count(&rd, &count, BLOK__API_BATCH_ITEMS_MAX);
  BLOK_ASSERT(frc == BLOK_OK); /* binary_frame read the same bytes */
  for (size_t i = 0; i < count; i++) {
    const uint8_t *raw;
    size_t raw_len;
    frc = blok_dec_bytes(&rd, &raw, &raw_len, BLOK_TX_ENCODED_MAX);
    BLOK_ASSERT(frc == BLOK_OK);
    struct blok_why item_why = {{0}};
    uint8_t id[32];
    enum blok_err irc = submit_raw(a, raw, raw_len, id, &item_why);
    results_add(&results, irc, id, &item_why);
  }
  results_reply(&results, r);
}
