/*
 * The read routes of the API (docs/API.md): status, blocks, transactions with their inclusion
 * proofs, state values with their state-tree proofs, nonces and the metrics page. Each read
 * goes through the ledger's own read transaction, so none of them waits for the block
 * producer or makes it wait. URL parts are client input: each is bounded and parsed strictly
 * before it is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "blok/hex.h"
#include "blok/merkle.h"
#include "blok/banned.h"

bool blok__parse_u64(const char *s, uint64_t *out) {
  size_t n = strlen(s);
  if (n == 0 || n > 20) return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end != s + n) return false;
  *out = (uint64_t)v;
  return true;
}

bool blok__parse_hash(const char *s, uint8_t out[32]) {
  size_t n = strlen(s);
  return n == 64 && blok_hex_decode_exact(out, 32, s, n) == BLOK_OK;
}

/* --- GET /v1/status ---------------------------------------------------------------------- */

static json_t *validators_json(const struct blok_genesis *g) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < g->validator_count; i++)
    json_array_append_new(arr, json_pack("{s:s, s:o}", "name", g->validator_names[i], "public_key",
                                         blok__json_hex(g->validators[i], 32)));
  return arr;
}

void blok__route_status(struct blok_api *a, struct blok__reply *r) {
  struct blok_header h;
  uint8_t hash[32];
  struct blok_mempool_stats st;
  blok_ledger_head(a->d.ledger, &h, hash);
  blok_mempool_stats(a->d.mempool, &st);
  const struct blok_genesis *g = blok_ledger_genesis(a->d.ledger);
  json_t *mp = json_pack("{s:I, s:I, s:I, s:I}", "count", (json_int_t)st.count, "bytes",
                         (json_int_t)st.bytes, "verifying", (json_int_t)st.verifying, "ready",
                         (json_int_t)st.ready);
  json_t *node =
      a->d.observer
          ? json_pack("{s:s}", "role", "observer")
          : json_pack("{s:s, s:I, s:o}", "role", "validator", "validator",
                      (json_int_t)a->d.validator_index, "round",
                      blok__json_u64(a->d.metrics ? atomic_load(&a->d.metrics->round) : 0));
  blok__reply_json(
      r, 200,
      json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "chain_id", g->chain_id, "height",
                blok__json_u64(h.height), "head_hash", blok__json_hex(hash, 32), "state_root",
                blok__json_hex(h.state_root, 32), "time_ms", blok__json_u64(h.timestamp_ms),
                "validators", validators_json(g), "mempool", mp, "node", node));
}

/* --- GET /v1/blocks/{height|latest} ------------------------------------------------------ */

static json_t *block_tx_ids(const struct blok_block_view *v) {
  json_t *ids = json_array();
  for (size_t i = 0; ids && i < v->tx_count; i++) {
    struct blok_tx tx;
    if (blok_tx_decode(&tx, v->txs[i], v->tx_lens[i]) != BLOK_OK) {
      json_decref(ids);
      return NULL;
    }
    json_array_append_new(ids, blok__json_hex(tx.id, 32));
  }
  return ids;
}

static json_t *qc_json_or_null(const struct blok_buf *qcb) {
  if (qcb->len == 0) return json_null();
  struct blok_qc *qc = malloc(sizeof *qc);
  struct blok_reader rd;
  json_t *j = NULL;
  blok_reader_init(&rd, qcb->data, qcb->len);
  if (qc != NULL && blok_qc_decode(&rd, qc) == BLOK_OK) j = blok__json_qc(qc);
  free(qc);
  return j;
}

static json_t *block_json(const struct blok_block_view *v, const struct blok_buf *qcb) {
  uint8_t hash[32];
  if (blok_header_hash(&v->header, hash) != BLOK_OK) return NULL;
  return json_pack("{s:o, s:o, s:o, s:o, s:o}", "height", blok__json_u64(v->header.height), "hash",
                   blok__json_hex(hash, 32), "header", blok__json_header(&v->header), "txs",
                   block_tx_ids(v), "qc", qc_json_or_null(qcb));
}

/* ?format=binary: the block as stored and its certificate, one item of the sync reply
 * (docs/PROTOCOL.md, "Validator messages", kind 6): bytes block, bytes QC. */
static void block_binary(const struct blok_buf *block, const struct blok_buf *qcb,
                         struct blok__reply *r) {
  struct blok_buf out;
  blok_buf_init(&out, BLOK_BLOCK_BYTES_MAX + ((size_t)1 << 17));
  enum blok_err rc = blok_enc_bytes(&out, block->data, block->len, BLOK_BLOCK_BYTES_MAX);
  if (rc == BLOK_OK) rc = blok_enc_bytes(&out, qcb->data, qcb->len, (size_t)1 << 16);
  if (rc != BLOK_OK) {
    blok_buf_release(&out);
    blok__reply_error(r, 500, rc, "block: %s", blok_strerror(rc));
    return;
  }
  blok__reply_buf(r, 200, &out, "application/octet-stream");
}

void blok__route_block(struct blok_api *a, const char *height_text, const struct blok__query *q,
                       struct blok__reply *r) {
  bool binary = q->format != NULL && strcmp(q->format, "binary") == 0;
  if (q->format != NULL && !binary && strcmp(q->format, "json") != 0) {
    blok__reply_error(r, 400, BLOK_EINVAL, "format: \"json\" or \"binary\" is required");
    return;
  }
  uint64_t height;
  if (strcmp(height_text, "latest") == 0) {
    struct blok_header h;
    blok_ledger_head(a->d.ledger, &h, NULL);
    height = h.height;
  } else if (!blok__parse_u64(height_text, &height)) {
    blok__reply_error(r, 400, BLOK_ERANGE,
                      "height: a decimal number below 2^64 or \"latest\" is required");
    return;
  }
  struct blok_buf block, qcb;
  blok_buf_init(&block, BLOK_BLOCK_BYTES_MAX);
  blok_buf_init(&qcb, (size_t)1 << 16);
  struct blok_block_view *v = malloc(sizeof *v);
  enum blok_err rc = v ? blok_ledger_block(a->d.ledger, height, &block, &qcb) : BLOK_ENOMEM;
  if (rc == BLOK_OK && !binary) rc = blok_block_parse(v, block.data, block.len);
  if (rc == BLOK_ENOTFOUND)
    blok__reply_error(r, 404, rc, "height: no block at height %llu", (unsigned long long)height);
  else if (rc != BLOK_OK)
    blok__reply_error(r, 500, rc, "block %llu: %s", (unsigned long long)height, blok_strerror(rc));
  else if (binary)
    block_binary(&block, &qcb, r);
  else
    blok__reply_json(r, 200, block_json(v, &qcb));
  free(v);
  blok_buf_release(&block);
  blok_buf_release(&qcb);
}

/* --- GET /v1/tx/{id} --------------------------------------------------------------------- */

static json_t *committed_json(struct blok_api *a, const uint8_t id[32],
                              const struct blok_tx_location *loc, const struct blok_buf *raw,
                              uint8_t (*proof)[32], size_t proof_len, const struct blok_header *h) {
  struct blok_tx tx;
  if (blok_tx_decode(&tx, raw->data, raw->len) != BLOK_OK) return NULL;
  json_t *hashes = json_array();
  for (size_t i = 0; hashes && i < proof_len; i++)
    json_array_append_new(hashes, blok__json_hex(proof[i], 32));
  json_t *pj =
      json_pack("{s:o, s:I, s:I, s:o}", "tx_root", blok__json_hex(h->tx_root, 32), "tx_count",
                (json_int_t)h->tx_count, "index", (json_int_t)loc->position, "hashes", hashes);
  return json_pack("{s:o, s:s, s:o, s:I, s:o, s:o, s:o, s:o}", "id", blok__json_hex(id, 32),
                   "status", "committed", "height", blok__json_u64(loc->height), "position",
                   (json_int_t)loc->position, "result", blok__json_result(&loc->result), "tx",
                   blok__json_tx(blok_ledger_registry(a->d.ledger), &tx), "hex",
                   blok__json_hex(raw->data, raw->len), "proof", pj);
}

/* Looks the transaction up in the ledger: BLOK_OK with the reply set, or BLOK_ENOTFOUND. */
static enum blok_err tx_committed(struct blok_api *a, const uint8_t id[32], struct blok__reply *r) {
  struct blok_tx_location loc;
  struct blok_buf raw;
  struct blok_header h;
  uint8_t proof[BLOK_MERKLE_PROOF_MAX][32];
  size_t proof_len = 0;
  blok_buf_init(&raw, BLOK_TX_ENCODED_MAX);
  enum blok_err rc = blok_ledger_tx_proof(a->d.ledger, id, &loc, &raw, proof, &proof_len, &h);
  if (rc == BLOK_OK)
    blok__reply_json(r, 200, committed_json(a, id, &loc, &raw, proof, proof_len, &h));
  else if (rc != BLOK_ENOTFOUND)
    blok__reply_error(r, 500, rc, "transaction: %s", blok_strerror(rc));
  blok_buf_release(&raw);
  return rc == BLOK_ENOTFOUND ? rc : BLOK_OK;
}

void blok__route_tx_get(struct blok_api *a, const char *id_text, struct blok__reply *r) {
  uint8_t id[32];
  if (!blok__parse_hash(id_text, id)) {
    blok__reply_error(r, 400, BLOK_EHEX, "id: 64 hex digits are required");
    return;
  }
  if (tx_committed(a, id, r) == BLOK_OK) return;
  struct blok_tx_result refusal;
  memset(&refusal, 0, sizeof refusal);
  enum blok_mempool_state st = blok_mempool_status(a->d.mempool, id, &refusal);
  if (st == BLOK_MEMPOOL_VERIFYING || st == BLOK_MEMPOOL_READY) {
    blok__reply_json(r, 200,
                     json_pack("{s:o, s:s}", "id", blok__json_hex(id, 32), "status",
                               st == BLOK_MEMPOOL_READY ? "pending" : "verifying"));
    return;
  }
  if (st == BLOK_MEMPOOL_REFUSED) {
    blok__reply_json(r, 200,
                     json_pack("{s:o, s:s, s:o}", "id", blok__json_hex(id, 32), "status", "refused",
                               "result", blok__json_result(&refusal)));
    return;
  }
  /* It may have left the pool for a block between the two looks. */
  if (tx_committed(a, id, r) == BLOK_OK) return;
  blok__reply_error(r, 404, BLOK_ENOTFOUND, "id: no transaction %s is known", id_text);
}

/* --- GET /v1/state/{module}/{key} -------------------------------------------------------- */

struct state_read {
  const struct blok_module *m;
  const char *key_text;
  struct blok_buf key;
  bool found;
  struct blok_buf value;
  struct blok_smt_proof *proof;
  struct blok_header h;
};

static json_t *state_json(const struct state_read *s, bool with_proof) {
  json_t *value = json_null();
  if (s->found && s->m->state_to_json != NULL) {
    json_t *v = s->m->state_to_json(s->key.data, s->key.len, s->value.data, s->value.len);
    if (v != NULL) value = v;
  }
  json_t *j =
      json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:o}", "module", s->m->name, "key", s->key_text,
                "found", (int)s->found, "value", value, "value_hex",
                s->found ? blok__json_hex(s->value.data, s->value.len) : json_null(), "height",
                blok__json_u64(s->h.height), "state_root", blok__json_hex(s->h.state_root, 32));
  if (j == NULL || !with_proof) return j;
  uint8_t tk[32];
  if (blok_state_key(tk, s->m->name, s->key.data, s->key.len) != BLOK_OK) {
    json_decref(j);
    return NULL;
  }
  json_object_set_new(j, "tree_key", blok__json_hex(tk, 32));
  json_object_set_new(j, "proof", blok__json_smt_proof(s->proof));
  return j;
}

static bool parse_flag(const char *v, bool *out) {
  if (v == NULL) return (*out = false), true;
  if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) return (*out = true), true;
  if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) return (*out = false), true;
  return false;
}

/* Splits "{module}/{key}" and finds the module; replies and returns false when it cannot. */
static bool state_target(struct blok_api *a, const char *rest, struct state_read *s,
                         struct blok__reply *r) {
  const char *slash = strchr(rest, '/');
  size_t mod_len = slash ? (size_t)(slash - rest) : strlen(rest);
  char module[BLOK_TX_NAME_MAX + 1];
  if (slash == NULL || slash[1] == '\0') {
    blok__reply_error(r, 404, BLOK_ENOTFOUND, "path: /v1/state/{module}/{key} is required");
    return false;
  }
  if (mod_len > 0 && mod_len <= BLOK_TX_NAME_MAX) {
    memcpy(module, rest, mod_len);
    module[mod_len] = '\0';
    s->m = blok_registry_module(blok_ledger_registry(a->d.ledger), module);
  }
  if (s->m == NULL) {
    blok__reply_error(r, 404, BLOK_ENOTFOUND, "module: no module %.*s",
                      (int)(mod_len > 32 ? 32 : mod_len), rest);
    return false;
  }
  if (s->m->state_key == NULL) {
    blok__reply_error(r, 404, BLOK_ENOTFOUND, "module: %s has no state to query", s->m->name);
    return false;
  }
  s->key_text = slash + 1;
  if (strlen(s->key_text) > BLOK__API_STATE_KEY_TEXT_MAX) {
    blok__reply_error(r, 400, BLOK_ETOOLONG, "key: at most %d characters",
                      BLOK__API_STATE_KEY_TEXT_MAX);
    return false;
  }
  return true;
}

void blok__route_state(struct blok_api *a, const char *rest, const struct blok__query *q,
                       struct blok__reply *r) {
  struct state_read s;
  bool with_proof;
  memset(&s, 0, sizeof s);
  if (!parse_flag(q->proof, &with_proof)) {
    blok__reply_error(r, 400, BLOK_EINVAL, "proof: 1, 0, true or false is required");
    return;
  }
  if (!state_target(a, rest, &s, r)) return;
  struct blok_why why = {{0}};
  blok_buf_init(&s.key, BLOK_STATE_KEY_MAX);
  blok_buf_init(&s.value, BLOK_STATE_VALUE_MAX);
  enum blok_err rc = s.m->state_key(s.key_text, &s.key, &why);
  if (rc != BLOK_OK || s.key.len == 0) {
    if (rc == BLOK_OK) rc = BLOK_EINVAL;
    blok__reply_error(r, 400, rc, "key: %s", why.msg[0] ? why.msg : blok_strerror(rc));
  } else if ((s.proof = malloc(sizeof *s.proof)) == NULL) {
    blok__reply_error(r, 500, BLOK_ENOMEM, "state: %s", blok_strerror(BLOK_ENOMEM));
  } else {
    rc = blok_ledger_state(a->d.ledger, s.m->name, s.key.data, s.key.len, &s.found, &s.value,
                           s.proof, &s.h);
    if (rc == BLOK_OK)
      blok__reply_json(r, 200, state_json(&s, with_proof));
    else
      blok__reply_error(r, 500, rc, "state: %s", blok_strerror(rc));
  }
  free(s.proof);
  blok_buf_release(&s.key);
  blok_buf_release(&s.value);
}

/* --- GET /v1/nonce/{sender} -------------------------------------------------------------- */

void blok__route_nonce(struct blok_api *a, const char *sender_text, struct blok__reply *r) {
  uint8_t sender[32];
  uint64_t next;
  if (!blok__parse_hash(sender_text, sender)) {
    blok__reply_error(r, 400, BLOK_EHEX, "sender: 64 hex digits are required");
    return;
  }
  enum blok_err rc = blok_ledger_next_nonce(a->d.ledger, sender, &next);
  if (rc != BLOK_OK) {
    blok__reply_error(r, 500, rc, "nonce: %s", blok_strerror(rc));
    return;
  }
  blok__reply_json(r, 200,
                   json_pack("{s:o, s:o}", "sender", blok__json_hex(sender, 32), "next_nonce",
                             blok__json_u64(next)));
}

/* --- GET /metrics ------------------------------------------------------------------------ */

void blok__route_metrics(struct blok_api *a, struct blok__reply *r) {
  struct blok_buf out;
  struct blok_header h;
  struct blok_mempool_stats st;
  blok_buf_init(&out, (size_t)1 << 16);
  blok_ledger_head(a->d.ledger, &h, NULL);
  blok_mempool_stats(a->d.mempool, &st);
  enum blok_err rc = blok__metrics_render(&out, a->d.metrics, h.height, &st,
                                          blok_mempool_workers_cpu_us(a->d.mempool));
  if (rc != BLOK_OK) {
    blok_buf_release(&out);
    blok__reply_error(r, 500, rc, "metrics: %s", blok_strerror(rc));
    return;
  }
  blok__reply_buf(r, 200, &out, "text/plain; version=0.0.4; charset=utf-8");
}
