/*
 * The anchor module (blok/anchor.h).
 */
#include <string.h>

#include "blok/anchor.h"
#include "blok/hex.h"
#include "blok/banned.h"

#define MODULE "anchor"

struct record {
  uint8_t hash[32];
  const char *label;
  size_t label_len;
};

static enum blok_err decode(const uint8_t *p, size_t len, struct record *r) {
  struct blok_reader rd;
  blok_reader_init(&rd, p, len);
  BLOK_TRY(blok_dec_fixed(&rd, r->hash, 32));
  BLOK_TRY(blok_dec_text(&rd, &r->label, &r->label_len, BLOK_ANCHOR_LABEL_MAX));
  return blok_dec_end(&rd);
}

enum blok_err blok_anchor_payload(struct blok_buf *out, const uint8_t hash[32], const char *label) {
  BLOK_TRY(blok_enc_fixed(out, hash, 32));
  return blok_enc_text(out, label, strlen(label), BLOK_ANCHOR_LABEL_MAX);
}

static enum blok_err check(const struct blok_tx_kind *k, const uint8_t *p, size_t len,
                           struct blok_why *why) {
  (void)k;
  struct record r;
  enum blok_err rc = decode(p, len, &r);
  if (rc != BLOK_OK)
    return blok_refuse(why, rc, "anchor/record payload: %s (hash[32], label up to %d bytes)",
                       blok_strerror(rc), BLOK_ANCHOR_LABEL_MAX);
  return BLOK_OK;
}

static enum blok_err from_json(const struct blok_tx_kind *k, const json_t *j, struct blok_buf *out,
                               struct blok_why *why) {
  (void)k;
  const char *key;
  json_t *v;
  if (!json_is_object(j)) return blok_refuse(why, BLOK_EFORMAT, "payload: an object is required");
  json_object_foreach((json_t *)(uintptr_t)j, key, v) {
    if (strcmp(key, "hash") != 0 && strcmp(key, "label") != 0)
      return blok_refuse(why, BLOK_EFORMAT, "payload: unknown field %s", key);
  }
  const char *hex = json_string_value(json_object_get(j, "hash"));
  const char *label = json_string_value(json_object_get(j, "label"));
  uint8_t hash[32];
  if (hex == NULL || blok_hex_decode_exact(hash, 32, hex, strlen(hex)) != BLOK_OK)
    return blok_refuse(why, BLOK_EHEX, "payload.hash: 64 hex digits are required");
  if (label == NULL) return blok_refuse(why, BLOK_EFORMAT, "payload.label: a string is required");
  if (strlen(label) > BLOK_ANCHOR_LABEL_MAX)
    return blok_refuse(why, BLOK_ETOOLONG, "payload.label: at most %d bytes",
                       BLOK_ANCHOR_LABEL_MAX);
  return blok_anchor_payload(out, hash, label);
}

static json_t *to_json(const struct blok_tx_kind *k, const uint8_t *p, size_t len) {
  (void)k;
  struct record r;
  if (decode(p, len, &r) != BLOK_OK) return NULL;
  char hex[65];
  blok_hex_encode(hex, sizeof hex, r.hash, 32);
  return json_pack("{s:s, s:s#}", "hash", hex, "label", r.label, r.label_len);
}

static enum blok_err apply(struct blok_exec *x, const struct blok_tx *tx, struct blok_why *why) {
  struct record r;
  BLOK_TRY(decode(tx->payload, tx->payload_len, &r));
  uint8_t k[4 + 32];
  memcpy(k, "doc/", 4);
  memcpy(k + 4, r.hash, 32);
  const uint8_t *v;
  size_t n;
  enum blok_err rc = blok_exec_get(x, MODULE, k, sizeof k, &v, &n);
  if (rc == BLOK_OK) {
    struct blok_reader rd;
    uint64_t h = 0;
    blok_reader_init(&rd, v, n);
    if (blok_dec_u64(&rd, &h) != BLOK_OK) h = 0;
    return blok_refuse(why, BLOK_EEXIST, "document already anchored at height %llu",
                       (unsigned long long)h);
  }
  if (rc != BLOK_ENOTFOUND) return rc;
  uint8_t mem[8 + 32 + 4 + BLOK_ANCHOR_LABEL_MAX];
  struct blok_buf b = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  BLOK_TRY(blok_enc_u64(&b, blok_exec_height(x)));
  BLOK_TRY(blok_enc_fixed(&b, tx->sender, 32));
  BLOK_TRY(blok_enc_text(&b, r.label, r.label_len, BLOK_ANCHOR_LABEL_MAX));
  return blok_exec_put(x, MODULE, k, sizeof k, b.data, b.len);
}

static enum blok_err state_key(const char *text, struct blok_buf *out, struct blok_why *why) {
  uint8_t hash[32];
  if (strncmp(text, "doc/", 4) != 0 ||
      blok_hex_decode_exact(hash, 32, text + 4, strlen(text + 4)) != BLOK_OK)
    return blok_refuse(why, BLOK_EINVAL, "anchor keys are doc/HASH (64 hex digits)");
  BLOK_TRY(blok_buf_append(out, "doc/", 4));
  return blok_buf_append(out, hash, 32);
}

static json_t *state_to_json(const uint8_t *key, size_t key_len, const uint8_t *val,
                             size_t val_len) {
  (void)key;
  (void)key_len;
  struct blok_reader rd;
  uint64_t height;
  uint8_t sender[32];
  const char *label;
  size_t label_len;
  blok_reader_init(&rd, val, val_len);
  if (blok_dec_u64(&rd, &height) || blok_dec_fixed(&rd, sender, 32) ||
      blok_dec_text(&rd, &label, &label_len, BLOK_ANCHOR_LABEL_MAX))
    return NULL;
  char hex[65];
  blok_hex_encode(hex, sizeof hex, sender, 32);
  return json_pack("{s:I, s:s, s:s#}", "height", (json_int_t)height, "sender", hex, "label", label,
                   label_len);
}

static const struct blok_tx_kind kinds[] = {
    {.type = "record",
     .roles = NULL,
     .check = check,
     .from_json = from_json,
     .to_json = to_json,
     .apply = apply},
};

const struct blok_module blok_anchor_module = {
    .name = MODULE,
    .kinds = kinds,
    .kind_count = 1,
    .state_key = state_key,
    .state_to_json = state_to_json,
};
