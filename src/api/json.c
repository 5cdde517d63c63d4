/*
 * JSON conversions of the API (docs/API.md): headers, certificates, results, proofs, and a
 * transaction's JSON form in both directions. The JSON form is only a convenience: it is turned
 * into the canonical encoding (docs/PROTOCOL.md, "Transactions") field by field, and the
 * signature must be over that encoding, so nothing about JSON (key order, spacing, number
 * syntax) can change what was signed.
 *
 * Input comes from API clients: every field is checked for its type and limits and refused
 * with a sentence that names it; nothing here asserts on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "blok/hex.h"
#include "blok/banned.h"

json_t *blok__json_hex(const uint8_t *data, size_t n) {
  char small[BLOK_HEX_LEN(64)];
  char *s = small;
  if (BLOK_HEX_LEN(n) > sizeof small && (s = malloc(BLOK_HEX_LEN(n))) == NULL) return NULL;
  blok_hex_encode(s, BLOK_HEX_LEN(n), data, n);
  json_t *j = json_stringn(s, 2 * n);
  if (s != small) free(s);
  return j;
}

json_t *blok__json_u64(uint64_t v) {
  if (v <= (uint64_t)INT64_MAX) return json_integer((json_int_t)v);
  char s[24];
  snprintf(s, sizeof s, "%llu", (unsigned long long)v);
  return json_string(s);
}

enum blok_err blok__json_get_u64(const json_t *v, const char *field, uint64_t *out,
                                 struct blok_why *why) {
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if (i < 0) return blok_refuse(why, BLOK_ERANGE, "%s: must not be negative", field);
    *out = (uint64_t)i;
    return BLOK_OK;
  }
  const char *s = json_string_value(v);
  if (s != NULL && blok__parse_u64(s, out)) return BLOK_OK;
  if (s != NULL)
    return blok_refuse(why, BLOK_ERANGE, "%s: a decimal string must hold a number below 2^64",
                       field);
  return blok_refuse(why, BLOK_EFORMAT, "%s: an integer is required", field);
}

json_t *blok__json_header(const struct blok_header *h) {
  return json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "version",
                   (int)h->version, "chain_id", h->chain_id, "height", blok__json_u64(h->height),
                   "epoch", blok__json_u64(h->epoch), "round", blok__json_u64(h->round), "parent",
                   blok__json_hex(h->parent, 32), "timestamp_ms", blok__json_u64(h->timestamp_ms),
                   "proposer", blok__json_hex(h->proposer, 32), "tx_count", (json_int_t)h->tx_count,
                   "tx_root", blok__json_hex(h->tx_root, 32), "results_root",
                   blok__json_hex(h->results_root, 32), "state_root",
                   blok__json_hex(h->state_root, 32), "validators_hash",
                   blok__json_hex(h->validators_hash, 32));
}

json_t *blok__json_qc(const struct blok_qc *qc) {
  json_t *signers = json_array(), *sigs = json_array();
  for (size_t i = 0; signers && i < qc->validator_count && i < BLOK_VALIDATORS_MAX; i++)
    if (qc->signers[i / 8] & (1u << (i % 8))) json_array_append_new(signers, json_integer((int)i));
  for (size_t i = 0; sigs && i < qc->sig_count && i < BLOK_VALIDATORS_MAX; i++)
    json_array_append_new(sigs, blok__json_hex(qc->sigs[i], BLOK_SIGN_SIG_LEN));
  return json_pack("{s:o, s:o, s:o, s:o, s:i, s:o, s:o}", "epoch", blok__json_u64(qc->vote.epoch),
                   "round", blok__json_u64(qc->vote.round), "height",
                   blok__json_u64(qc->vote.height), "block_hash",
                   blok__json_hex(qc->vote.block_hash, 32), "validator_count",
                   (int)qc->validator_count, "signers", signers, "signatures", sigs);
}

json_t *blok__json_result(const struct blok_tx_result *res) {
  enum blok_err code = (enum blok_err)res->code;
  const char *msg = res->msg[0] != '\0' ? res->msg : blok_strerror(code);
  return json_pack("{s:s, s:s}", "code", blok_err_name(code), "message", msg);
}

json_t *blok__json_tx(const struct blok_registry *reg, const struct blok_tx *tx) {
  const struct blok_module *m;
  const struct blok_tx_kind *kind = blok_registry_kind(reg, tx->module, tx->type, &m);
  json_t *payload = NULL;
  if (kind != NULL && kind->to_json != NULL)
    payload = blok_kind_to_json(kind, tx->payload, tx->payload_len);
  bool shown = payload != NULL;
  json_t *j =
      json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "version", (int)tx->version,
                "chain_id", tx->chain_id, "module", tx->module, "type", tx->type, "sender",
                blok__json_hex(tx->sender, 32), "nonce", blok__json_u64(tx->nonce), "expiry_height",
                blok__json_u64(tx->expiry_height), "payload", shown ? payload : json_null(),
                "signature", blok__json_hex(tx->sig, BLOK_SIGN_SIG_LEN));
  /* A payload without a JSON form is still shown, as its bytes. */
  if (j != NULL && !shown)
    json_object_set_new(j, "payload_hex", blok__json_hex(tx->payload, tx->payload_len));
  return j;
}

json_t *blok__json_smt_proof(const struct blok_smt_proof *p) {
  json_t *sib = json_array();
  for (size_t i = 0; sib && i < p->depth && i < BLOK_SMT_DEPTH_MAX; i++)
    json_array_append_new(sib, blok__json_hex(p->siblings[i], 32));
  bool leaf = p->end == BLOK_SMT_LEAF;
  return json_pack("{s:s, s:o, s:o, s:o}", "end", leaf ? "leaf" : "empty", "leaf_key",
                   leaf ? blok__json_hex(p->leaf_key, 32) : json_null(), "leaf_value_hash",
                   leaf ? blok__json_hex(p->leaf_value_hash, 32) : json_null(), "siblings", sib);
}

enum blok_err blok__json_parse_body(const uint8_t *body, size_t len, json_t **out,
                                    struct blok_why *why) {
  json_error_t e;
  *out = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &e);
  if (*out != NULL) return BLOK_OK;
  if (len == 0) return blok_refuse(why, BLOK_EFORMAT, "body: a json object is required");
  return blok_refuse(why, BLOK_EFORMAT, "body: not valid json at line %d column %d: %s", e.line,
                     e.column, e.text);
}

/* --- a submitted transaction ------------------------------------------------------------- */

static const char *const tx_fields[] = {"version", "nonce",   "chain_id",      "module",   "type",
                                        "sender",  "payload", "expiry_height", "signature"};

static enum blok_err check_fields(const json_t *item, struct blok_why *why) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)(uintptr_t)item, key, v) {
    bool known = false;
    for (size_t i = 0; i < BLOK_ARRAY_LEN(tx_fields); i++)
      known = known || strcmp(key, tx_fields[i]) == 0;
    if (!known) return blok_refuse(why, BLOK_EFORMAT, "unknown field %.64s", key);
  }
  for (size_t i = 0; i < BLOK_ARRAY_LEN(tx_fields); i++)
    if (json_object_get(item, tx_fields[i]) == NULL)
      return blok_refuse(why, BLOK_EFORMAT, "%s: missing", tx_fields[i]);
  return BLOK_OK;
}

/* A string field copied into out (cap bytes with the NUL). */
static enum blok_err get_text(const json_t *item, const char *field, char *out, size_t cap,
                              struct blok_why *why) {
  const json_t *v = json_object_get(item, field);
  if (!json_is_string(v)) return blok_refuse(why, BLOK_EFORMAT, "%s: a string is required", field);
  size_t n = json_string_length(v);
  if (n == 0 || n >= cap)
    return blok_refuse(why, BLOK_ETOOLONG, "%s: 1..%zu bytes are required", field, cap - 1);
  memcpy(out, json_string_value(v), n + 1);
  return BLOK_OK;
}

static enum blok_err get_hex(const json_t *item, const char *field, uint8_t *out, size_t n,
                             struct blok_why *why) {
  const json_t *v = json_object_get(item, field);
  if (!json_is_string(v)) return blok_refuse(why, BLOK_EFORMAT, "%s: a string is required", field);
  if (blok_hex_decode_exact(out, n, json_string_value(v), json_string_length(v)) != BLOK_OK)
    return blok_refuse(why, BLOK_EHEX, "%s: %zu hex digits are required", field, 2 * n);
  return BLOK_OK;
}

/* The header fields of the JSON form (everything but the payload and the signature). */
static enum blok_err tx_head_from_json(const json_t *item, struct blok_tx *tx,
                                       struct blok_why *why) {
  const json_t *ver = json_object_get(item, "version");
  if (!json_is_integer(ver))
    return blok_refuse(why, BLOK_EFORMAT, "version: an integer is required");
  if (json_integer_value(ver) != BLOK_TX_VERSION)
    return blok_refuse(why, BLOK_EFORMAT, "version: only %d is supported", BLOK_TX_VERSION);
  tx->version = BLOK_TX_VERSION;
  BLOK_TRY(get_text(item, "chain_id", tx->chain_id, sizeof tx->chain_id, why));
  if (!blok_sign_chain_id_valid(tx->chain_id))
    return blok_refuse(why, BLOK_EFORMAT, "chain_id: 1..64 bytes of [a-z0-9._-] are required");
  BLOK_TRY(get_text(item, "module", tx->module, sizeof tx->module, why));
  BLOK_TRY(get_text(item, "type", tx->type, sizeof tx->type, why));
  if (!blok_tx_name_valid(tx->module))
    return blok_refuse(why, BLOK_EFORMAT, "module: 1..32 bytes of [a-z0-9_] are required");
  if (!blok_tx_name_valid(tx->type))
    return blok_refuse(why, BLOK_EFORMAT, "type: 1..32 bytes of [a-z0-9_] are required");
  BLOK_TRY(get_hex(item, "sender", tx->sender, sizeof tx->sender, why));
  BLOK_TRY(blok__json_get_u64(json_object_get(item, "nonce"), "nonce", &tx->nonce, why));
  BLOK_TRY(blok__json_get_u64(json_object_get(item, "expiry_height"), "expiry_height",
                              &tx->expiry_height, why));
  return get_hex(item, "signature", tx->sig, sizeof tx->sig, why);
}

static enum blok_err tx_from_json_form(const json_t *item, const struct blok_registry *reg,
                                       struct blok_buf *raw, struct blok_why *why) {
  BLOK_TRY(check_fields(item, why));
  struct blok_tx tx;
  memset(&tx, 0, sizeof tx);
  BLOK_TRY(tx_head_from_json(item, &tx, why));
  const struct blok_module *m;
  const struct blok_tx_kind *kind = blok_registry_kind(reg, tx.module, tx.type, &m);
  if (kind == NULL)
    return blok_refuse(why, BLOK_EUNKNOWNKIND, "type: no transaction kind %s/%s", tx.module,
                       tx.type);
  if (kind->from_json == NULL)
    return blok_refuse(why, BLOK_EUNKNOWNKIND, "payload: %s/%s has no json form; submit hex",
                       tx.module, tx.type);
  struct blok_buf payload;
  blok_buf_init(&payload, BLOK_TX_PAYLOAD_MAX);
  enum blok_err rc = blok_kind_from_json(kind, json_object_get(item, "payload"), &payload, why);
  if (rc == BLOK_OK) {
    tx.payload = payload.data;
    tx.payload_len = payload.len;
    rc = blok_tx_encode_body(raw, &tx);
    if (rc == BLOK_OK) rc = blok_buf_append(raw, tx.sig, sizeof tx.sig);
    if (rc != BLOK_OK) blok_refuse(why, rc, "transaction: %s", blok_strerror(rc));
  } else {
    blok_refuse(why, rc, "payload: %s", blok_strerror(rc));
  }
  blok_buf_release(&payload);
  return rc;
}

static enum blok_err tx_from_hex_form(const json_t *item, struct blok_buf *raw,
                                      struct blok_why *why) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)(uintptr_t)item, key, v) {
    if (strcmp(key, "hex") != 0)
      return blok_refuse(why, BLOK_EFORMAT, "unknown field %.64s (with hex, no other field)", key);
  }
  const json_t *hex = json_object_get(item, "hex");
  if (!json_is_string(hex)) return blok_refuse(why, BLOK_EFORMAT, "hex: a string is required");
  size_t n = json_string_length(hex);
  if (n > 2 * BLOK_TX_ENCODED_MAX)
    return blok_refuse(why, BLOK_ETOOLONG, "hex: a transaction is at most %d bytes",
                       (int)BLOK_TX_ENCODED_MAX);
  BLOK_TRY(blok_buf_reserve(raw, n / 2));
  size_t got;
  if (blok_hex_decode(raw->data, raw->cap, &got, json_string_value(hex), n) != BLOK_OK)
    return blok_refuse(why, BLOK_EHEX, "hex: not strict hexadecimal (pairs of 0-9a-f)");
  raw->len = got;
  return BLOK_OK;
}

enum blok_err blok__json_tx_raw(const json_t *item, const struct blok_registry *reg,
                                struct blok_buf *raw, struct blok_why *why) {
  if (!json_is_object(item))
    return blok_refuse(why, BLOK_EFORMAT, "transaction: an object is required");
  if (json_object_get(item, "hex") != NULL) return tx_from_hex_form(item, raw, why);
  return tx_from_json_form(item, reg, raw, why);
}
