/*
 * Building a report bundle (blok/report.h) on a node.
 *
 * Everything comes from one LMDB read transaction: the head's height from the meta table, its
 * header and certificate, the vehicle's record and its state-tree proof at the head's state
 * root, the history index, and each event's signed transaction taken from its block by
 * position. A block committed meanwhile is simply not seen, so the parts always agree. (The
 * ledger's own reads each open their own transaction, which is why this file reads the tables
 * laid out in docs/PROTOCOL.md, "Storage", itself.)
 *
 * Before it answers, the builder checks what it read the way a verifier will (each transaction
 * is the one the index names, the chain over the events gives the record's head), so a damaged
 * index is reported here as BLOK_ESTORE rather than handed out as a bundle that fails.
 *
 * The open recalls come from blok_parts_vehicle_recalls run over the same read transaction with
 * a reader that keeps every value it hands out, with its state-tree proof against the head's
 * state root (inclusion, or non-inclusion for a value that is absent): the bundle's "recalls",
 * which a verifier walks again.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/hex.h"
#include "report_internal.h"
#include "blok/banned.h"

/* What an event adds to the bundle besides its transaction's hex: its fields and its summary
 * line (at most about 700 bytes); used to refuse a bundle that would pass the limit. */
#define EVENT_OVERHEAD_BYTES 1024
/* What a state value adds besides its hex: its field names, and its summary line when it is a
 * recall's record. */
#define STATE_OVERHEAD_BYTES 1024

struct build {
  struct blok_txn *t;
  const char *vin;
  struct blok_why *why;
  struct blok_header head;
  uint8_t head_hash[32];
  struct blok_buf header; /* the head's header encoding */
  const uint8_t *qc;      /* into the map */
  size_t qc_len;
  const uint8_t *record; /* into the map */
  size_t record_len;
  struct blok_vehicle_record rec;
  struct blok_buf proof; /* encoded */
  struct blok_report_event *events;
  size_t count;
  struct blok_block_view *view; /* the block last read, at view_height */
  uint64_t view_height;
  bool view_ok;
  size_t bytes;                           /* the bundle's size so far, roughly from above */
  json_t *state;                          /* "recalls": the values the walk read, with proofs */
  struct blok_parts_open_recall *recalls; /* what the walk found */
  size_t recall_count;
};

static enum blok_err read_head(struct build *b) {
  enum blok_err rc = blok_ledger_head_in(b->t, &b->head);
  if (rc != BLOK_OK)
    return blok_refuse(b->why, rc == BLOK_ENOTFOUND ? BLOK_ESTORE : rc,
                       "the store has no head block");
  uint8_t hk[8];
  blok_store_u64_key(hk, b->head.height);
  BLOK_TRY(blok_header_hash(&b->head, b->head_hash));
  BLOK_TRY(blok_header_encode(&b->header, &b->head));
  rc = blok_txn_get(b->t, BLOK_TABLE_QC, hk, 8, &b->qc, &b->qc_len);
  if (rc == BLOK_ENOTFOUND)
    return blok_refuse(b->why, BLOK_EUNAVAIL, "block %llu has no certificate yet",
                       (unsigned long long)b->head.height);
  return rc;
}

static enum blok_err read_record(struct build *b) {
  uint8_t key[19], tk[32];
  blok_vehicle_state_key(key, b->vin);
  BLOK_TRY(blok_state_key(tk, BLOK_VEHICLE_MODULE, key, sizeof key));
  enum blok_err rc = blok_state_get(b->t, tk, &b->record, &b->record_len);
  if (rc == BLOK_ENOTFOUND) return blok_refuse(b->why, rc, "vin %.17s is not registered", b->vin);
  BLOK_TRY(rc);
  if (blok_vehicle_record_decode(b->record, b->record_len, &b->rec) != BLOK_OK)
    return blok_refuse(b->why, BLOK_ESTORE, "the stored record of vin %.17s does not decode",
                       b->vin);
  if (b->rec.event_count > BLOK_REPORT_EVENTS_MAX)
    return blok_refuse(b->why, BLOK_ETOOLONG,
                       "vin %.17s has %llu events; a report holds at most %d", b->vin,
                       (unsigned long long)b->rec.event_count, BLOK_REPORT_EVENTS_MAX);
  struct blok_smt_proof *p = malloc(sizeof *p);
  struct blok_smt_store s;
  if (p == NULL) return BLOK_ENOMEM;
  blok_txn_smt_store(b->t, &s);
  rc = blok_smt_prove(&s, b->head.state_root, tk, p);
  if (rc == BLOK_OK) rc = blok_smt_proof_encode(&b->proof, p);
  free(p);
  return rc;
}

/* The block at height in b->view (kept from the last call when it is the same block). */
static enum blok_err load_block(struct build *b, uint64_t height) {
  if (b->view_ok && b->view_height == height) return BLOK_OK;
  uint8_t hk[8];
  const uint8_t *v;
  size_t n;
  b->view_ok = false;
  blok_store_u64_key(hk, height);
  BLOK_TRY(blok_txn_get(b->t, BLOK_TABLE_BLOCKS, hk, 8, &v, &n));
  BLOK_TRY(blok_block_parse(b->view, v, n));
  b->view_height = height;
  b->view_ok = true;
  return BLOK_OK;
}

/* The event's transaction, from its block by position, checked against the index entry. */
static enum blok_err take_event(struct build *b, const struct blok_vehicle_event *e) {
  struct blok_report_event *out = &b->events[b->count];
  if (e->n != b->count + 1 || e->height > b->head.height) return BLOK_ESTORE;
  enum blok_err rc = load_block(b, e->height);
  if (rc != BLOK_OK) return rc == BLOK_ENOTFOUND ? BLOK_ESTORE : rc;
  if (e->position >= b->view->tx_count || b->view->header.timestamp_ms != e->time_ms)
    return BLOK_ESTORE;
  rc = blok_tx_decode(&out->tx, b->view->txs[e->position], b->view->tx_lens[e->position]);
  if (rc != BLOK_OK || memcmp(out->tx.id, e->tx_id, 32) != 0) return BLOK_ESTORE;
  out->height = e->height;
  out->time_ms = e->time_ms;
  b->bytes += 2 * out->tx.raw_len + EVENT_OVERHEAD_BYTES;
  if (b->bytes > BLOK_REPORT_BYTES_MAX)
    return blok_refuse(b->why, BLOK_ETOOLONG, "the report of vin %.17s would pass %zu MiB", b->vin,
                       BLOK_REPORT_BYTES_MAX >> 20);
  b->count++;
  return BLOK_OK;
}

/* Every event from the history index, in order, one page at a time. */
static enum blok_err read_events(struct build *b) {
  size_t want = (size_t)b->rec.event_count, got = 0;
  struct blok_vehicle_event *page = malloc(BLOK_VEHICLE_HISTORY_PAGE_MAX * sizeof *page);
  b->events = calloc(want + 1, sizeof *b->events);
  b->view = malloc(sizeof *b->view);
  enum blok_err rc = page && b->events && b->view ? BLOK_OK : BLOK_ENOMEM;
  uint64_t cursor = 0;
  do {
    if (rc == BLOK_OK)
      rc = blok_vehicle_history(b->t, b->vin, cursor, BLOK_VEHICLE_HISTORY_PAGE_MAX, false, page,
                                &got, &cursor);
    for (size_t i = 0; rc == BLOK_OK && i < got; i++)
      rc = b->count < want ? take_event(b, &page[i]) : BLOK_ESTORE;
  } while (rc == BLOK_OK && cursor != 0 && got > 0);
  free(page);
  if (rc == BLOK_OK && b->count != want) rc = BLOK_ESTORE;
  uint8_t head[32] = {0};
  for (size_t i = 0; rc == BLOK_OK && i < b->count; i++)
    blok_vehicle_chain_next(head, b->events[i].tx.id, b->events[i].height, b->events[i].time_ms);
  if (rc == BLOK_OK && memcmp(head, b->rec.chain_head, 32) != 0) rc = BLOK_ESTORE;
  if (rc == BLOK_ESTORE)
    return blok_refuse(b->why, rc,
                       "the history index of vin %.17s disagrees with its record at event %zu",
                       b->vin, b->count + 1);
  return rc;
}

/* The walk's reader: the committed value, kept in b->state with its proof. */
static enum blok_err state_get(void *ctx, const uint8_t *key, size_t key_len, bool *found,
                               const uint8_t **val, size_t *val_len, struct blok_why *why) {
  struct build *b = ctx;
  uint8_t tk[32];
  struct blok_smt_store s;
  struct blok_buf proof;
  BLOK_TRY(blok_state_key(tk, BLOK_PARTS_MODULE, key, key_len));
  enum blok_err rc = blok_state_get(b->t, tk, val, val_len);
  if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
  *found = rc == BLOK_OK;
  if (json_array_size(b->state) == BLOK_REPORT_STATE_MAX)
    return blok_refuse(why, BLOK_ETOOLONG,
                       "the open recalls of vin %.17s need more than %d state "
                       "values",
                       b->vin, BLOK_REPORT_STATE_MAX);
  struct blok_smt_proof *p = malloc(sizeof *p);
  if (p == NULL) return BLOK_ENOMEM;
  blok_buf_init(&proof, 1 + 64 + 4 + 32 * BLOK_SMT_DEPTH_MAX);
  blok_txn_smt_store(b->t, &s);
  rc = blok_smt_prove(&s, b->head.state_root, tk, p);
  if (rc == BLOK_OK) rc = blok_smt_proof_encode(&proof, p);
  free(p);
  json_t *e = rc == BLOK_OK
                  ? json_pack("{s:o, s:o, s:o}", "key", blok__report_json_hex(key, key_len),
                              "value", *found ? blok__report_json_hex(*val, *val_len) : json_null(),
                              "proof", blok__report_json_hex(proof.data, proof.len))
                  : NULL;
  b->bytes += 2 * (key_len + (*found ? *val_len : 0) + proof.len) + STATE_OVERHEAD_BYTES;
  blok_buf_release(&proof);
  if (rc != BLOK_OK) return rc;
  if (e == NULL || json_array_append_new(b->state, e) != 0) return BLOK_ENOMEM;
  if (b->bytes > BLOK_REPORT_BYTES_MAX)
    return blok_refuse(why, BLOK_ETOOLONG, "the report of vin %.17s would pass %zu MiB", b->vin,
                       BLOK_REPORT_BYTES_MAX >> 20);
  return BLOK_OK;
}

/* The vehicle's open recalls, and the state values they come from. */
static enum blok_err read_recalls(struct build *b) {
  struct blok_parts_state s = {.ctx = b, .get = state_get};
  b->state = json_array();
  b->recalls = malloc(BLOK_PARTS_RECALLS_MAX * sizeof *b->recalls);
  if (b->state == NULL || b->recalls == NULL) return BLOK_ENOMEM;
  enum blok_err rc =
      blok_parts_vehicle_recalls(&s, b->vin, b->rec.model, b->rec.model_year, b->recalls,
                                 BLOK_PARTS_RECALLS_MAX, &b->recall_count, b->why);
  if (rc == BLOK_ESTORE)
    return blok_refuse(b->why, rc, "the parts state of vin %.17s disagrees with itself", b->vin);
  return rc;
}

static json_t *events_json(const struct build *b) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < b->count; i++) {
    const struct blok_report_event *e = &b->events[i];
    json_t *o = json_pack("{s:o, s:o, s:o}", "height", blok__report_json_u64(e->height), "time_ms",
                          blok__report_json_u64(e->time_ms), "tx",
                          blok__report_json_hex(e->tx.raw, e->tx.raw_len));
    if (o == NULL || json_array_append_new(a, o) != 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static enum blok_err bundle_json(struct build *b, const struct blok_genesis *g, json_t **out) {
  json_t *summary = NULL;
  BLOK_TRY(
      blok_report_summary(g, &b->rec, b->events, b->count, b->recalls, b->recall_count, &summary));
  json_t *block = json_pack(
      "{s:o, s:o, s:o, s:o, s:o}", "height", blok__report_json_u64(b->head.height), "time_ms",
      blok__report_json_u64(b->head.timestamp_ms), "hash", blok__report_json_hex(b->head_hash, 32),
      "header", blok__report_json_hex(b->header.data, b->header.len), "qc",
      blok__report_json_hex(b->qc, b->qc_len));
  *out = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:O, s:o}", "format", BLOK_REPORT_FORMAT,
                   "chain_id", b->head.chain_id, "vin", b->rec.vin, "block", block, "record",
                   blok__report_json_hex(b->record, b->record_len), "proof",
                   blok__report_json_hex(b->proof.data, b->proof.len), "events", events_json(b),
                   "recalls", b->state, "summary", summary);
  return *out ? BLOK_OK : BLOK_ENOMEM;
}

enum blok_err blok_report_build(struct blok_ledger *l, const char vin[BLOK_VIN_LEN], json_t **out,
                                struct blok_why *why) {
  struct blok_vin parsed;
  char v[BLOK_VIN_LEN + 1];
  *out = NULL;
  memcpy(v, vin, BLOK_VIN_LEN);
  v[BLOK_VIN_LEN] = '\0';
  if (blok_vin_parse(&parsed, NULL, v, BLOK_VIN_LEN) != BLOK_OK ||
      memcmp(parsed.vin, v, BLOK_VIN_LEN) != 0)
    return blok_refuse(why, BLOK_EVIN, "vin: %.17s is not a valid normalised vin", v);
  struct build b = {.vin = v, .why = why};
  blok_buf_init(&b.header, BLOK_HEADER_ENCODED_MAX);
  blok_buf_init(&b.proof, 1 + 64 + 4 + 32 * BLOK_SMT_DEPTH_MAX);
  enum blok_err rc = blok_store_read_begin(blok_ledger_store(l), &b.t);
  if (rc == BLOK_OK) {
    rc = read_head(&b);
    if (rc == BLOK_OK) rc = read_record(&b);
    if (rc == BLOK_OK) rc = read_events(&b);
    if (rc == BLOK_OK) rc = read_recalls(&b);
    /* The events point into the map: the JSON is made before the transaction ends. */
    if (rc == BLOK_OK) rc = bundle_json(&b, blok_ledger_genesis(l), out);
    blok_store_read_end(b.t);
  }
  blok_buf_release(&b.header);
  blok_buf_release(&b.proof);
  free(b.events);
  free(b.view);
  free(b.recalls);
  json_decref(b.state);
  return rc;
}
