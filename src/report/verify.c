/*
 * Verifying a report bundle (blok/report.h; docs/PROTOCOL.md, "Report bundle"): eight checks
 * in order, stopping at the first that fails and naming it.
 *
 * The bundle comes from anywhere (a download, an e-mail, a USB stick): every field is checked
 * for presence, type and limits before it is used, and nothing is asserted on. The format is
 * strict (one object and at most a newline after it, no unknown or repeated field, lowercase hex
 * only, integers as integers) so that no change to a byte of the text goes unnoticed: a changed
 * value fails the check that covers it, and a change to anything else fails the format check.
 * (Whitespace between tokens and the order of keys are still free, so a pretty-printed bundle
 * verifies; neither can be changed by changing one byte of the compact text a node writes.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blok/hex.h"
#include "blok/sha256.h"
#include "report_internal.h"
#include "blok/banned.h"

#define QC_ENCODED_MAX     (8 * 3 + 32 + 2 + BLOK_VALIDATORS_MAX / 8 + 4 + BLOK_VALIDATORS_MAX * 64)
#define PROOF_ENCODED_MAX  (1 + 64 + 4 + 32 * BLOK_SMT_DEPTH_MAX)
#define RECORD_ENCODED_MAX 1024

static const char *const check_names[] = {"none",   "format", "header",  "certificate", "record",
                                          "events", "chain",  "recalls", "summary"};

const char *blok_report_check_name(enum blok_report_check c) {
  return (unsigned)c < BLOK_ARRAY_LEN(check_names) ? check_names[c] : "unknown";
}

/* One state value of "recalls" as the bundle gives it (pointers into the state arena). */
struct raw_state {
  const uint8_t *key, *val, *proof;
  size_t key_len, val_len, proof_len;
  bool has_val;
};

/* One event as the bundle gives it. */
struct raw_event {
  uint64_t height, time_ms;
  const uint8_t *tx; /* into the arena */
  size_t tx_len;
};

struct verify {
  enum blok_report_check stage; /* the check running */
  const json_t *b;
  const struct blok_genesis *g;
  struct blok_report_result *res;
  char vin[BLOK_VIN_LEN + 1];
  uint64_t height, time_ms;
  uint8_t hash[32];
  struct blok_buf header, qc, record, proof;
  struct raw_event *ev;
  size_t ev_count;
  uint8_t *arena; /* every event's transaction bytes */
  struct blok_header h;
  struct blok_vehicle_record rec;
  struct blok_report_event *events; /* decoded, in check 5 */
  struct raw_state *st;             /* "recalls", in the order given */
  size_t st_count, st_next;         /* st_next: the next one the walk may read */
  uint8_t *st_arena;
  struct blok_parts_open_recall *recalls; /* what the walk found, in check 7 */
  size_t recall_count;
};

/* Records the failure of check c and returns err. */
__attribute__((format(printf, 4, 5))) static enum blok_err
fail(struct verify *v, enum blok_report_check c, enum blok_err err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v->res->why, sizeof v->res->why, fmt, ap);
  va_end(ap);
  v->res->failed = c;
  v->res->err = err;
  return err;
}

/* --- 1. format ---------------------------------------------------------------------------- */

/* o is an object with exactly the fields named. */
static enum blok_err exact_fields(struct verify *v, const json_t *o, const char *where,
                                  const char *const *names, size_t n) {
  if (!json_is_object(o))
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT, "%s: an object is required", where);
  const char *key;
  const json_t *val;
  json_object_foreach((json_t *)(uintptr_t)o, key, val) {
    size_t i = 0;
    while (i < n && strcmp(key, names[i]) != 0)
      i++;
    if (i == n)
      return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT, "%s: unknown field %.64s", where, key);
  }
  for (size_t i = 0; i < n; i++)
    if (json_object_get(o, names[i]) == NULL)
      return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT, "%s: field %s is missing", where,
                  names[i]);
  return BLOK_OK;
}

/* A u64: a JSON integer at least 0, or (above 2^63 - 1 only) a string of its decimal digits. */
static enum blok_err get_u64(struct verify *v, const json_t *o, const char *field,
                             const char *where, uint64_t *out) {
  const json_t *j = json_object_get(o, field);
  if (json_is_integer(j) && json_integer_value(j) >= 0) {
    *out = (uint64_t)json_integer_value(j);
    return BLOK_OK;
  }
  const char *s = json_string_value(j);
  size_t n = s ? json_string_length(j) : 0;
  bool digits = n > 0 && n <= 20 && s[0] != '0';
  for (size_t i = 0; digits && i < n; i++)
    digits = s[i] >= '0' && s[i] <= '9';
  if (digits) {
    unsigned long long x = strtoull(s, NULL, 10);
    if (x > (unsigned long long)INT64_MAX && !(n == 20 && strcmp(s, "18446744073709551615") > 0)) {
      *out = (uint64_t)x;
      return BLOK_OK;
    }
  }
  return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT,
              "%s.%s: a whole number from 0 to 2^64 - 1 is required", where, field);
}

/* A string of lowercase hex digits decoding to at most max bytes, appended to out. */
static enum blok_err get_hex(struct verify *v, const json_t *o, const char *field,
                             const char *where, size_t max, struct blok_buf *out) {
  const json_t *j = json_object_get(o, field);
  const char *s = json_string_value(j);
  if (s == NULL)
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT, "%s.%s: a string is required", where,
                field);
  size_t n = json_string_length(j);
  if (n % 2 != 0 || n / 2 > max)
    return fail(v, BLOK_REPORT_CHECK_FORMAT, n % 2 ? BLOK_EHEX : BLOK_ETOOLONG,
                "%s.%s: an even number of hex digits, at most %zu bytes, is required", where, field,
                max);
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EHEX,
                  "%s.%s: only lowercase hex digits are allowed (position %zu)", where, field, i);
  if (n == 0) return BLOK_OK; /* nothing to decode; the check that reads it refuses it */
  enum blok_err rc = blok_buf_reserve(out, n / 2);
  size_t got = 0;
  if (rc == BLOK_OK) rc = blok_hex_decode(out->data + out->len, n / 2, &got, s, n);
  if (rc != BLOK_OK)
    return fail(v, BLOK_REPORT_CHECK_FORMAT, rc, "%s.%s: %s", where, field, blok_strerror(rc));
  out->len += got;
  return BLOK_OK;
}

static enum blok_err check_vin(struct verify *v) {
  const json_t *j = json_object_get(v->b, "vin");
  const char *s = json_string_value(j);
  struct blok_vin parsed;
  if (s == NULL || json_string_length(j) != BLOK_VIN_LEN ||
      blok_vin_parse(&parsed, NULL, s, BLOK_VIN_LEN) != BLOK_OK ||
      memcmp(parsed.vin, s, BLOK_VIN_LEN) != 0)
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EVIN,
                "vin: a valid vin of 17 upper-case characters is required");
  memcpy(v->vin, s, BLOK_VIN_LEN + 1);
  return BLOK_OK;
}

static enum blok_err check_block(struct verify *v) {
  static const char *const fields[] = {"height", "time_ms", "hash", "header", "qc"};
  const json_t *b = json_object_get(v->b, "block");
  struct blok_buf hash;
  BLOK_TRY(exact_fields(v, b, "block", fields, BLOK_ARRAY_LEN(fields)));
  BLOK_TRY(get_u64(v, b, "height", "block", &v->height));
  BLOK_TRY(get_u64(v, b, "time_ms", "block", &v->time_ms));
  blok_buf_init(&hash, 32);
  enum blok_err rc = get_hex(v, b, "hash", "block", 32, &hash);
  if (rc == BLOK_OK && hash.len != 32)
    rc = fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EHEX, "block.hash: 64 hex digits are required");
  if (rc == BLOK_OK) memcpy(v->hash, hash.data, 32);
  blok_buf_release(&hash);
  BLOK_TRY(rc);
  BLOK_TRY(get_hex(v, b, "header", "block", BLOK_HEADER_ENCODED_MAX, &v->header));
  return get_hex(v, b, "qc", "block", QC_ENCODED_MAX, &v->qc);
}

static enum blok_err check_event_fields(struct verify *v, const json_t *e, size_t i,
                                        struct blok_buf *arena) {
  static const char *const fields[] = {"height", "time_ms", "tx"};
  char where[32];
  snprintf(where, sizeof where, "events[%zu]", i);
  BLOK_TRY(exact_fields(v, e, where, fields, BLOK_ARRAY_LEN(fields)));
  BLOK_TRY(get_u64(v, e, "height", where, &v->ev[i].height));
  BLOK_TRY(get_u64(v, e, "time_ms", where, &v->ev[i].time_ms));
  size_t start = arena->len;
  BLOK_TRY(get_hex(v, e, "tx", where, BLOK_TX_ENCODED_MAX, arena));
  v->ev[i].tx_len = arena->len - start;
  return BLOK_OK;
}

/* Every event's fields; the transactions' bytes go into one arena, sized from the hex. */
static enum blok_err check_events_format(struct verify *v) {
  const json_t *list = json_object_get(v->b, "events");
  if (!json_is_array(list))
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT, "events: an array is required");
  v->ev_count = json_array_size(list);
  if (v->ev_count > BLOK_REPORT_EVENTS_MAX)
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_ETOOLONG,
                "events: %zu events; a report holds at most %d", v->ev_count,
                BLOK_REPORT_EVENTS_MAX);
  size_t total = 0, i;
  const json_t *e;
  json_array_foreach(list, i, e) total += json_string_length(json_object_get(e, "tx")) / 2;
  struct blok_buf arena;
  blok_buf_init(&arena, total);
  v->ev = calloc(v->ev_count + 1, sizeof *v->ev);
  enum blok_err rc = v->ev && blok_buf_reserve(&arena, total) == BLOK_OK ? BLOK_OK : BLOK_ENOMEM;
  if (rc != BLOK_OK) rc = fail(v, BLOK_REPORT_CHECK_FORMAT, rc, "events: out of memory");
  json_array_foreach(list, i, e) {
    if (rc != BLOK_OK) break;
    rc = check_event_fields(v, e, i, &arena);
  }
  v->arena = arena.data; /* the buffer never moved: its room was reserved at once */
  for (size_t k = 0, off = 0; rc == BLOK_OK && k < v->ev_count; off += v->ev[k].tx_len, k++)
    v->ev[k].tx = v->arena + off;
  return rc;
}

/* The length in bytes of a hex field (0 when it is no string). */
static size_t hex_bytes(const json_t *o, const char *field) {
  return json_string_length(json_object_get(o, field)) / 2;
}

static enum blok_err check_state_fields(struct verify *v, const json_t *e, size_t i,
                                        struct blok_buf *arena, size_t *offs) {
  static const char *const fields[] = {"key", "value", "proof"};
  char where[32];
  snprintf(where, sizeof where, "recalls[%zu]", i);
  BLOK_TRY(exact_fields(v, e, where, fields, BLOK_ARRAY_LEN(fields)));
  offs[0] = arena->len;
  BLOK_TRY(get_hex(v, e, "key", where, BLOK_STATE_KEY_MAX, arena));
  if (arena->len == offs[0])
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT,
                "%s.key: a key of 1 to %d bytes is "
                "required",
                where, BLOK_STATE_KEY_MAX);
  offs[1] = arena->len;
  v->st[i].has_val = !json_is_null(json_object_get(e, "value"));
  if (v->st[i].has_val) BLOK_TRY(get_hex(v, e, "value", where, BLOK_STATE_VALUE_MAX, arena));
  offs[2] = arena->len;
  BLOK_TRY(get_hex(v, e, "proof", where, PROOF_ENCODED_MAX, arena));
  offs[3] = arena->len;
  return BLOK_OK;
}

/* The state values of "recalls": their bytes go into one arena, sized from the hex. */
static enum blok_err check_state_format(struct verify *v) {
  const json_t *list = json_object_get(v->b, "recalls");
  if (!json_is_array(list))
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT, "recalls: an array is required");
  v->st_count = json_array_size(list);
  if (v->st_count > BLOK_REPORT_STATE_MAX)
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_ETOOLONG,
                "recalls: %zu state values; a report holds at most %d", v->st_count,
                BLOK_REPORT_STATE_MAX);
  size_t total = 0, i;
  const json_t *e;
  json_array_foreach(list, i, e) total +=
      hex_bytes(e, "key") + hex_bytes(e, "value") + hex_bytes(e, "proof");
  struct blok_buf arena;
  blok_buf_init(&arena, total);
  v->st = calloc(v->st_count + 1, sizeof *v->st);
  size_t *offs = calloc(4 * (v->st_count + 1), sizeof *offs);
  enum blok_err rc =
      v->st && offs && blok_buf_reserve(&arena, total) == BLOK_OK ? BLOK_OK : BLOK_ENOMEM;
  if (rc != BLOK_OK) rc = fail(v, BLOK_REPORT_CHECK_FORMAT, rc, "recalls: out of memory");
  json_array_foreach(list, i, e) {
    if (rc != BLOK_OK) break;
    rc = check_state_fields(v, e, i, &arena, offs + 4 * i);
  }
  v->st_arena = arena.data; /* the buffer never moved: its room was reserved at once */
  for (size_t k = 0; rc == BLOK_OK && k < v->st_count; k++) {
    const size_t *o = offs + 4 * k;
    v->st[k].key = v->st_arena + o[0];
    v->st[k].key_len = o[1] - o[0];
    v->st[k].val = v->st_arena + o[1];
    v->st[k].val_len = o[2] - o[1];
    v->st[k].proof = v->st_arena + o[2];
    v->st[k].proof_len = o[3] - o[2];
  }
  free(offs);
  return rc;
}

static enum blok_err check_format(struct verify *v) {
  static const char *const fields[] = {"format", "chain_id", "vin",     "block",  "record",
                                       "proof",  "events",   "recalls", "summary"};
  BLOK_TRY(exact_fields(v, v->b, "bundle", fields, BLOK_ARRAY_LEN(fields)));
  const char *format = json_string_value(json_object_get(v->b, "format"));
  if (format == NULL || strcmp(format, BLOK_REPORT_FORMAT) != 0 ||
      json_string_length(json_object_get(v->b, "format")) != strlen(BLOK_REPORT_FORMAT))
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT,
                "format: not a %s bundle (or an unsupported version)", BLOK_REPORT_FORMAT);
  if (!json_is_string(json_object_get(v->b, "chain_id")))
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT, "chain_id: a string is required");
  if (!json_is_object(json_object_get(v->b, "summary")))
    return fail(v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT, "summary: an object is required");
  BLOK_TRY(check_vin(v));
  BLOK_TRY(check_block(v));
  BLOK_TRY(get_hex(v, v->b, "record", "bundle", RECORD_ENCODED_MAX, &v->record));
  BLOK_TRY(get_hex(v, v->b, "proof", "bundle", PROOF_ENCODED_MAX, &v->proof));
  BLOK_TRY(check_events_format(v));
  return check_state_format(v);
}

/* --- 2. header, 3. certificate, 4. record ------------------------------------------------- */

static enum blok_err check_header(struct verify *v) {
  struct blok_reader r;
  uint8_t hash[32];
  blok_reader_init(&r, v->header.data, v->header.len);
  enum blok_err rc = blok_header_decode(&r, &v->h);
  if (rc == BLOK_OK) rc = blok_dec_end(&r);
  if (rc != BLOK_OK)
    return fail(v, BLOK_REPORT_CHECK_HEADER, rc, "block.header: does not decode: %s",
                blok_strerror(rc));
  if (strcmp(v->h.chain_id, v->g->chain_id) != 0)
    return fail(v, BLOK_REPORT_CHECK_HEADER, BLOK_EBADTAG,
                "the block is of chain %s, the genesis of chain %s", v->h.chain_id, v->g->chain_id);
  if (strcmp(json_string_value(json_object_get(v->b, "chain_id")), v->g->chain_id) != 0)
    return fail(v, BLOK_REPORT_CHECK_HEADER, BLOK_EBADTAG,
                "chain_id: the bundle names another chain than the genesis, %s", v->g->chain_id);
  BLOK_TRY(blok_header_hash(&v->h, hash));
  if (memcmp(hash, v->hash, 32) != 0)
    return fail(v, BLOK_REPORT_CHECK_HEADER, BLOK_EBADPROOF,
                "block.hash is not the hash of block.header");
  if (v->h.height != v->height || v->h.timestamp_ms != v->time_ms)
    return fail(v, BLOK_REPORT_CHECK_HEADER, BLOK_EBADPROOF,
                "block.height and block.time_ms must be the header's, %llu and %llu",
                (unsigned long long)v->h.height, (unsigned long long)v->h.timestamp_ms);
  return BLOK_OK;
}

static enum blok_err check_certificate(struct verify *v) {
  struct blok_qc *qc = malloc(sizeof *qc);
  if (qc == NULL) return fail(v, BLOK_REPORT_CHECK_CERTIFICATE, BLOK_ENOMEM, "out of memory");
  struct blok_reader r;
  uint8_t vh[32];
  blok_reader_init(&r, v->qc.data, v->qc.len);
  enum blok_err rc = blok_qc_decode(&r, qc);
  if (rc == BLOK_OK) rc = blok_dec_end(&r);
  if (rc != BLOK_OK) {
    rc = fail(v, BLOK_REPORT_CHECK_CERTIFICATE, rc, "block.qc: does not decode: %s",
              blok_strerror(rc));
  } else if (memcmp(qc->vote.block_hash, v->hash, 32) != 0 || qc->vote.height != v->h.height ||
             qc->vote.epoch != v->h.epoch || qc->vote.round != v->h.round) {
    rc = fail(v, BLOK_REPORT_CHECK_CERTIFICATE, BLOK_EBADPROOF,
              "the certificate is for another block than block.header");
  } else if ((rc = blok_validators_hash(v->g->validators[0], v->g->validator_count, vh)) !=
                 BLOK_OK ||
             memcmp(vh, v->h.validators_hash, 32) != 0) {
    rc = fail(v, BLOK_REPORT_CHECK_CERTIFICATE, BLOK_EBADPROOF,
              "the block was made by another validator set than the genesis names");
  } else if ((rc = blok_qc_verify(qc, v->g->chain_id, v->g->validators[0],
                                  v->g->validator_count)) != BLOK_OK) {
    rc = fail(v, BLOK_REPORT_CHECK_CERTIFICATE, rc,
              "the certificate does not verify against the genesis validators: %s",
              blok_strerror(rc));
  }
  free(qc);
  return rc;
}

static enum blok_err check_record(struct verify *v) {
  struct blok_smt_proof *p = malloc(sizeof *p);
  if (p == NULL) return fail(v, BLOK_REPORT_CHECK_RECORD, BLOK_ENOMEM, "out of memory");
  struct blok_reader r;
  uint8_t key[19], tk[32], vh[32];
  blok_reader_init(&r, v->proof.data, v->proof.len);
  enum blok_err rc = blok_smt_proof_decode(&r, p);
  if (rc == BLOK_OK) rc = blok_dec_end(&r);
  if (rc != BLOK_OK) {
    rc = fail(v, BLOK_REPORT_CHECK_RECORD, rc, "proof: does not decode: %s", blok_strerror(rc));
  } else if ((rc = blok_vehicle_record_decode(v->record.data, v->record.len, &v->rec)) != BLOK_OK) {
    rc = fail(v, BLOK_REPORT_CHECK_RECORD, rc, "record: does not decode: %s", blok_strerror(rc));
  } else if (strcmp(v->rec.vin, v->vin) != 0) {
    rc = fail(v, BLOK_REPORT_CHECK_RECORD, BLOK_EBADPROOF, "record: it is the record of vin %s",
              v->rec.vin);
  } else {
    blok_vehicle_state_key(key, v->vin);
    rc = blok_state_key(tk, BLOK_VEHICLE_MODULE, key, sizeof key);
    blok_sha256(vh, v->record.data, v->record.len);
    if (rc == BLOK_OK) rc = blok_smt_verify(v->h.state_root, tk, vh, p);
    if (rc != BLOK_OK)
      rc = fail(v, BLOK_REPORT_CHECK_RECORD, rc,
                "the proof does not show this record in the state of block %llu",
                (unsigned long long)v->h.height);
  }
  free(p);
  return rc;
}

/* --- 5. events, 6. chain ------------------------------------------------------------------ */

static enum blok_err check_event(struct verify *v, size_t i) {
  struct blok_tx *tx = &v->events[i].tx;
  struct blok_why why = {{0}};
  char vin[BLOK_VIN_LEN + 1];
  enum blok_err rc = blok_tx_decode(tx, v->ev[i].tx, v->ev[i].tx_len);
  if (rc != BLOK_OK)
    return fail(v, BLOK_REPORT_CHECK_EVENTS, rc, "events[%zu]: the transaction does not decode: %s",
                i, blok_strerror(rc));
  const struct blok_tx_kind *kind = blok__report_kind(tx->type);
  if (strcmp(tx->chain_id, v->g->chain_id) != 0 || strcmp(tx->module, BLOK_VEHICLE_MODULE) != 0 ||
      kind == NULL)
    return fail(v, BLOK_REPORT_CHECK_EVENTS, BLOK_EFORMAT,
                "events[%zu]: not a vehicle transaction of this chain", i);
  if ((rc = blok_kind_check(kind, tx->payload, tx->payload_len, &why)) != BLOK_OK)
    return fail(v, BLOK_REPORT_CHECK_EVENTS, rc, "events[%zu]: payload: %s", i,
                why.msg[0] ? why.msg : blok_strerror(rc));
  if (blok_vehicle_payload_vin(tx->payload, tx->payload_len, vin) != BLOK_OK ||
      strcmp(vin, v->vin) != 0)
    return fail(v, BLOK_REPORT_CHECK_EVENTS, BLOK_EFORMAT,
                "events[%zu]: the transaction is about another vin", i);
  if ((rc = blok_tx_verify(tx)) != BLOK_OK)
    return fail(v, BLOK_REPORT_CHECK_EVENTS, rc, "events[%zu]: the signature does not verify: %s",
                i, blok_strerror(rc));
  v->events[i].height = v->ev[i].height;
  v->events[i].time_ms = v->ev[i].time_ms;
  return BLOK_OK;
}

static enum blok_err check_events(struct verify *v) {
  v->events = calloc(v->ev_count + 1, sizeof *v->events);
  if (v->events == NULL) return fail(v, BLOK_REPORT_CHECK_EVENTS, BLOK_ENOMEM, "out of memory");
  for (size_t i = 0; i < v->ev_count; i++)
    BLOK_TRY(check_event(v, i));
  return BLOK_OK;
}

static enum blok_err check_chain(struct verify *v) {
  uint8_t head[32] = {0};
  if (v->ev_count != v->rec.event_count)
    return fail(v, BLOK_REPORT_CHECK_CHAIN, BLOK_EBADPROOF,
                "the bundle holds %zu events; the record counts %llu", v->ev_count,
                (unsigned long long)v->rec.event_count);
  for (size_t i = 0; i < v->ev_count; i++) {
    if (v->ev[i].height > v->h.height)
      return fail(v, BLOK_REPORT_CHECK_CHAIN, BLOK_EBADPROOF,
                  "events[%zu]: at height %llu, above the block's %llu", i,
                  (unsigned long long)v->ev[i].height, (unsigned long long)v->h.height);
    blok_vehicle_chain_next(head, v->events[i].tx.id, v->ev[i].height, v->ev[i].time_ms);
  }
  if (memcmp(head, v->rec.chain_head, 32) != 0)
    return fail(v, BLOK_REPORT_CHECK_CHAIN, BLOK_EBADPROOF,
                "the events do not give the record's chain head: one is missing, added, changed "
                "or out of order");
  return BLOK_OK;
}

/* --- 7. recalls --------------------------------------------------------------------------- */

/* A module key for a sentence: printable ASCII as it is, other bytes as \xNN. */
static void key_text(char *out, size_t cap, const uint8_t *k, size_t n) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && used + 5 < cap; i++)
    used += (size_t)(k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\\'
                         ? snprintf(out + used, cap - used, "%c", k[i])
                         : snprintf(out + used, cap - used, "\\x%02x", k[i]));
}

/* The walk's reader: the bundle's next state value, which must be the one asked for, with a
 * proof that it is (or that nothing is) under that key in the state of the block. */
static enum blok_err bundle_get(void *ctx, const uint8_t *key, size_t key_len, bool *found,
                                const uint8_t **val, size_t *val_len, struct blok_why *why) {
  struct verify *v = ctx;
  char kt[96];
  uint8_t tk[32], vh[32];
  key_text(kt, sizeof kt, key, key_len);
  if (v->st_next == v->st_count)
    return blok_refuse(why, BLOK_EBADPROOF,
                       "the walk reads state %s after the last of the %zu values given", kt,
                       v->st_count);
  size_t i = v->st_next;
  const struct raw_state *e = &v->st[i];
  if (e->key_len != key_len || memcmp(e->key, key, key_len) != 0)
    return blok_refuse(why, BLOK_EBADPROOF,
                       "recalls[%zu] is not the value the walk reads there, state %s", i, kt);
  struct blok_smt_proof *p = malloc(sizeof *p);
  if (p == NULL) return BLOK_ENOMEM;
  struct blok_reader r;
  blok_reader_init(&r, e->proof, e->proof_len);
  enum blok_err rc = blok_smt_proof_decode(&r, p);
  if (rc == BLOK_OK) rc = blok_dec_end(&r);
  if (rc != BLOK_OK) {
    free(p);
    return blok_refuse(why, rc, "recalls[%zu].proof: does not decode: %s", i, blok_strerror(rc));
  }
  if (e->has_val) blok_sha256(vh, e->val, e->val_len);
  rc = blok_state_key(tk, BLOK_PARTS_MODULE, key, key_len);
  if (rc == BLOK_OK) rc = blok_smt_verify(v->h.state_root, tk, e->has_val ? vh : NULL, p);
  free(p);
  if (rc != BLOK_OK)
    return blok_refuse(why, BLOK_EBADPROOF,
                       "recalls[%zu]: the proof does not show state %s %s in the state of block "
                       "%llu",
                       i, kt, e->has_val ? "with this value" : "absent",
                       (unsigned long long)v->h.height);
  v->st_next++;
  *found = e->has_val;
  *val = e->val;
  *val_len = e->val_len;
  return BLOK_OK;
}

static enum blok_err check_recalls(struct verify *v) {
  struct blok_parts_state s = {.ctx = v, .get = bundle_get};
  struct blok_why why = {{0}};
  v->recalls = malloc(BLOK_PARTS_RECALLS_MAX * sizeof *v->recalls);
  if (v->recalls == NULL) return fail(v, BLOK_REPORT_CHECK_RECALLS, BLOK_ENOMEM, "out of memory");
  enum blok_err rc =
      blok_parts_vehicle_recalls(&s, v->vin, v->rec.model, v->rec.model_year, v->recalls,
                                 BLOK_PARTS_RECALLS_MAX, &v->recall_count, &why);
  if (rc != BLOK_OK)
    return fail(v, BLOK_REPORT_CHECK_RECALLS, rc, "%s", why.msg[0] ? why.msg : blok_strerror(rc));
  if (v->st_next != v->st_count)
    return fail(v, BLOK_REPORT_CHECK_RECALLS, BLOK_EBADPROOF,
                "recalls holds %zu state values; the walk reads %zu", v->st_count, v->st_next);
  return BLOK_OK;
}

/* --- 8. summary --------------------------------------------------------------------------- */

/* Names the first part of the bundle's summary that differs from the recomputed one. */
static enum blok_err summary_differs(struct verify *v, const json_t *got, const json_t *want) {
  const char *key;
  const json_t *val;
  json_object_foreach((json_t *)(uintptr_t)got, key, val) {
    if (json_object_get(want, key) == NULL)
      return fail(v, BLOK_REPORT_CHECK_SUMMARY, BLOK_EFORMAT, "summary: unknown field %.64s", key);
  }
  json_object_foreach((json_t *)(uintptr_t)want, key, val) {
    const json_t *g = json_object_get(got, key);
    if (json_equal(g, val)) continue;
    if (strcmp(key, "open_recalls") == 0)
      return fail(v, BLOK_REPORT_CHECK_SUMMARY, BLOK_EBADPROOF,
                  "summary.open_recalls is not what the parts state gives");
    if (strcmp(key, "events") != 0 || !json_is_array(g))
      return fail(v, BLOK_REPORT_CHECK_SUMMARY, BLOK_EBADPROOF,
                  "summary.%s is not what the record and events give", key);
    for (size_t i = 0; i < json_array_size(val); i++)
      if (!json_equal(json_array_get(g, i), json_array_get(val, i)))
        return fail(v, BLOK_REPORT_CHECK_SUMMARY, BLOK_EBADPROOF,
                    "summary.events[%zu] is not what event %zu gives", i, i + 1);
    return fail(v, BLOK_REPORT_CHECK_SUMMARY, BLOK_EBADPROOF,
                "summary.events has more lines than there are events");
  }
  return BLOK_OK;
}

static enum blok_err check_summary(struct verify *v) {
  json_t *want = NULL;
  enum blok_err rc = blok_report_summary(v->g, &v->rec, v->events, v->ev_count, v->recalls,
                                         v->recall_count, &want);
  if (rc != BLOK_OK)
    return fail(v, BLOK_REPORT_CHECK_SUMMARY, rc, "cannot compute the summary: %s",
                blok_strerror(rc));
  rc = summary_differs(v, json_object_get(v->b, "summary"), want);
  json_decref(want);
  return rc;
}

/* --- the whole ---------------------------------------------------------------------------- */

static enum blok_err run_checks(struct verify *v) {
  static enum blok_err (*const checks[])(struct verify *) = {
      check_format, check_header, check_certificate, check_record,
      check_events, check_chain,  check_recalls,     check_summary,
  };
  for (size_t i = 0; i < BLOK_ARRAY_LEN(checks); i++) {
    v->stage = (enum blok_report_check)(BLOK_REPORT_CHECK_FORMAT + i);
    BLOK_TRY(checks[i](v));
  }
  return BLOK_OK;
}

enum blok_err blok_report_verify(const json_t *bundle, const struct blok_genesis *g,
                                 struct blok_report_result *res) {
  struct verify v = {.b = bundle, .g = g, .res = res};
  memset(res, 0, sizeof *res);
  blok_buf_init(&v.header, BLOK_HEADER_ENCODED_MAX);
  blok_buf_init(&v.qc, QC_ENCODED_MAX);
  blok_buf_init(&v.record, RECORD_ENCODED_MAX);
  blok_buf_init(&v.proof, PROOF_ENCODED_MAX);
  enum blok_err rc = run_checks(&v);
  if (rc == BLOK_OK) {
    memcpy(res->vin, v.vin, sizeof res->vin);
    res->height = v.h.height;
    res->time_ms = v.h.timestamp_ms;
    res->event_count = v.ev_count;
    res->open_recalls = v.recall_count;
  } else if (res->failed == BLOK_REPORT_CHECK_NONE) {
    /* An error the check did not describe (out of memory in a library call). */
    fail(&v, v.stage, rc, "%s", blok_strerror(rc));
  }
  blok_buf_release(&v.header);
  blok_buf_release(&v.qc);
  blok_buf_release(&v.record);
  blok_buf_release(&v.proof);
  free(v.ev);
  free(v.arena);
  free(v.events);
  free(v.st);
  free(v.st_arena);
  free(v.recalls);
  return rc;
}

enum blok_err blok_report_verify_text(const char *text, size_t len, const struct blok_genesis *g,
                                      struct blok_report_result *res) {
  struct verify v = {.res = res};
  memset(res, 0, sizeof *res);
  if (len > BLOK_REPORT_BYTES_MAX)
    return fail(&v, BLOK_REPORT_CHECK_FORMAT, BLOK_ETOOLONG,
                "the bundle is %zu bytes; at most %zu are read", len, BLOK_REPORT_BYTES_MAX);
  if (len > 0 && text[len - 1] == '\n') len--;
  if (len < 2 || text[0] != '{' || text[len - 1] != '}')
    return fail(&v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT,
                "a bundle is one json object, with nothing before it and at most a newline "
                "after it");
  json_error_t e;
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
  if (j == NULL)
    return fail(&v, BLOK_REPORT_CHECK_FORMAT, BLOK_EFORMAT,
                "not valid json at line %d column %d: %.100s", e.line, e.column, e.text);
  enum blok_err rc = blok_report_verify(j, g, res);
  json_decref(j);
  return rc;
}
