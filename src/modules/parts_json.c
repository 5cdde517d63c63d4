/*
 * The JSON forms of the parts module's queries (blok/parts.h), shared by the API routes and
 * anything else that shows them: a part, a page of its history, a batch with its genealogy and
 * sourcing status, a recall with its counts and a page of its reach, a vehicle's parts and open
 * recalls. Cursors travel as hex text; every page is bounded by its limit.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/hex.h"
#include "blok/ledger.h"
#include "parts_internal.h"
#include "blok/banned.h"

#define OUTPUTS_MAX 100 /* outputs of a batch listed with it */

static json_t *hex32(const uint8_t *v) {
  char h[65];
  blok_hex_encode(h, sizeof h, v, 32);
  return json_string(h);
}

enum blok_err blok_parts_cursor_parse(struct blok_parts_cursor *c, const char *hex) {
  size_t n = hex ? strlen(hex) : 0;
  c->len = 0;
  if (n == 0) return BLOK_OK;
  if (n % 2 || n / 2 > sizeof c->bytes) return BLOK_EINVAL;
  if (blok_hex_decode_exact(c->bytes, n / 2, hex, n) != BLOK_OK) return BLOK_EINVAL;
  c->len = n / 2;
  return BLOK_OK;
}

static json_t *cursor_json(const struct blok_parts_cursor *c) {
  if (c->len == 0) return json_null();
  char h[2 * BLOK_PARTS_CURSOR_MAX + 1];
  blok_hex_encode(h, sizeof h, c->bytes, c->len);
  return json_string(h);
}

static json_t *flags_json(uint8_t f) {
  return json_pack("{s:b, s:b, s:b}", "clone", (f & BLOK_PARTS_FLAG_CLONE) != 0, "not_genuine",
                   (f & BLOK_PARTS_FLAG_NOT_GENUINE) != 0, "out_of_limits",
                   (f & BLOK_PARTS_FLAG_OUT_OF_LIMIT) != 0);
}

static json_t *path_json(const struct blok_parts_path *p) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < p->depth; i++)
    json_array_append_new(a, json_string(p->path[i]));
  return json_pack("{s:o, s:o}", "path", a ? a : json_null(), "vin",
                   p->vin[0] ? json_string(p->vin) : json_null());
}

static enum blok_err state(struct blok_txn *t, char tag, const char *id, const uint8_t **v,
                           size_t *n) {
  uint8_t k[2 + 64], tk[32];
  if (strlen(id) > 64) return BLOK_ENOTFOUND;
  size_t kl = blok__parts_key(k, sizeof k, tag, id, strlen(id));
  BLOK_TRY(blok_state_key(tk, BLOK_PARTS_MODULE, k, kl));
  return blok_state_get(t, tk, v, n);
}

enum blok_err blok_parts_part_json(struct blok_txn *t, const char *serial, json_t **out) {
  struct blok_parts_path where;
  struct blok__part r;
  const uint8_t *v;
  size_t n;
  char batch[33];
  *out = NULL;
  BLOK_TRY(blok_parts_where(t, serial, &where));
  memset(&r, 0, sizeof r);
  enum blok_err rc = state(t, 'p', serial, &v, &n);
  if (rc == BLOK_OK && blok__part_decode(v, n, &r) != BLOK_OK) return BLOK_ESTORE;
  if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
  if (rc == BLOK_ENOTFOUND)
    BLOK_TRY(blok_parts_serial_batch(t, serial, batch));
  else
    memcpy(batch, r.batch, sizeof batch);
  *out = json_pack("{s:s, s:o, s:o, s:o, s:o}", "serial", serial, "batch",
                   batch[0] ? json_string(batch) : json_null(), "where", path_json(&where), "flags",
                   flags_json(r.flags), "holder", r.has_holder ? hex32(r.holder) : json_null());
  return *out ? BLOK_OK : BLOK_ENOMEM;
}

enum blok_err blok_parts_history_json(struct blok_txn *t, const char *serial, const char *cursor,
                                      size_t limit, json_t **out) {
  struct blok_parts_cursor c;
  size_t n;
  *out = NULL;
  BLOK_TRY(blok_parts_cursor_parse(&c, cursor));
  struct blok_parts_event *ev = malloc(limit * sizeof *ev);
  if (ev == NULL) return BLOK_ENOMEM;
  enum blok_err rc = blok_parts_history(t, serial, &c, limit, ev, &n);
  json_t *a = rc == BLOK_OK ? json_array() : NULL;
  for (size_t i = 0; a && i < n; i++) {
    char tx[65];
    blok_hex_encode(tx, sizeof tx, ev[i].tx_id, 32);
    json_array_append_new(
        a, json_pack("{s:I, s:I, s:I, s:s, s:o, s:s, s:s, s:o}", "height", (json_int_t)ev[i].height,
                     "time_ms", (json_int_t)ev[i].time_ms, "position", (json_int_t)ev[i].position,
                     "tx_id", tx, "signer", hex32(ev[i].signer), "kind", ev[i].kind, "detail",
                     ev[i].detail, "flags", flags_json(ev[i].flags)));
  }
  free(ev);
  if (rc != BLOK_OK) return rc;
  *out =
      json_pack("{s:s, s:o, s:o}", "serial", serial, "events", a, "next_cursor", cursor_json(&c));
  return *out ? BLOK_OK : BLOK_ENOMEM;
}

static json_t *outputs_json(struct blok_txn *t, const char *batch) {
  uint8_t p[1 + BLOK__PARTS_ID_MAX];
  size_t pl = blok__parts_lkey(p, batch, strlen(batch));
  struct blok_cursor *cur;
  struct blok_kv kv;
  json_t *a = json_array();
  if (a == NULL || blok_cursor_open(t, blok__parts_tables[BLOK__PT_OUTPUTS], &cur) != BLOK_OK)
    return a;
  enum blok_err rc = blok_cursor_seek(cur, p, pl, &kv);
  for (size_t i = 0;
       rc == BLOK_OK && i < OUTPUTS_MAX && kv.key_len > pl && memcmp(kv.key, p, pl) == 0; i++) {
    json_array_append_new(a, json_stringn((const char *)kv.key + pl, kv.key_len - pl));
    rc = blok_cursor_next(cur, &kv);
  }
  blok_cursor_close(cur);
  return a;
}

enum blok_err blok_parts_batch_json(struct blok_txn *t, const char *id, json_t **out) {
  static _Thread_local struct blok__batch b;
  struct blok_parts_sourcing s;
  const uint8_t *v;
  size_t n;
  *out = NULL;
  if (!blok__parts_id_ok(id, strlen(id), BLOK__PARTS_ID_MAX)) return BLOK_EINVAL;
  BLOK_TRY(state(t, 'b', id, &v, &n));
  if (blok__batch_decode(v, n, &b) != BLOK_OK) return BLOK_ESTORE;
  enum blok_err rc = blok_parts_sourcing(t, id, &s);
  if (rc != BLOK_OK && rc != BLOK_EFULL) return rc;
  json_t *inputs = json_array();
  for (size_t i = 0; inputs && i < b.input_count; i++) {
    bool lot = state(t, 'l', b.inputs[i], &v, &n) == BLOK_OK;
    json_array_append_new(
        inputs, json_pack("{s:s, s:s}", "id", b.inputs[i], "kind", lot ? "attested_lot" : "batch"));
  }
  *out = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:o, s:s, s:o, s:o, s:{s:s, s:b, s:i, s:i, "
      "s:i, s:o}}",
      "batch", b.id, "part_number", b.part_number, "part_type", b.part_type, "site", b.site,
      "maker", b.maker, "production_date", (int)b.production_date, "quantity",
      (json_int_t)b.quantity, "serials", (json_int_t)b.serials, "height", (json_int_t)b.height,
      "holder", hex32(b.holder), "location", b.location, "inputs", inputs ? inputs : json_null(),
      "outputs", outputs_json(t, id), "sourcing", "status",
      rc == BLOK_EFULL ? "too_deep"
      : s.complete     ? "complete"
                       : "incomplete",
      "complete", s.complete, "batches", (int)s.batches, "attested_lots", (int)s.attested,
      "missing", (int)s.missing, "first_missing",
      s.missing ? json_string(s.first_missing) : json_null());
  return *out ? BLOK_OK : BLOK_ENOMEM;
}

enum blok_err blok_parts_recall_json(struct blok_txn *t, const char *id, const char *cursor,
                                     size_t limit, json_t **out) {
  struct blok_parts_cursor c;
  const uint8_t *v;
  size_t n;
  uint64_t reached = 0, remedied = 0;
  *out = NULL;
  if (!blok__parts_id_ok(id, strlen(id), BLOK__PARTS_ID_MAX)) return BLOK_EINVAL;
  BLOK_TRY(blok_parts_cursor_parse(&c, cursor));
  BLOK_TRY(state(t, 'r', id, &v, &n));
  /* u64 height || text<64> maker || fixed[32] key || the payload */
  struct blok_reader rd;
  const char *maker;
  size_t ml;
  uint64_t h;
  uint8_t key[32];
  blok_reader_init(&rd, v, n);
  if (blok_dec_u64(&rd, &h) || blok_dec_text(&rd, &maker, &ml, BLOK_NAME_MAX) ||
      blok_dec_fixed(&rd, key, 32))
    return BLOK_ESTORE;
  json_t *recall = blok__ppay_to_json(BLOK__PK_RECALL, v + rd.pos, n - rd.pos);
  if (recall == NULL) return BLOK_ESTORE;
  /* The counts walk the whole reach once (constant memory); the first page carries them. */
  bool first = c.len == 0;
  enum blok_err rc = first ? blok_parts_recall_counts(t, id, &reached, &remedied) : BLOK_OK;
  struct blok_parts_reach *page = rc == BLOK_OK ? malloc(limit * sizeof *page) : NULL;
  if (rc == BLOK_OK && page == NULL) rc = BLOK_ENOMEM;
  if (rc == BLOK_OK) rc = blok_parts_recall_reach(t, id, &c, limit, page, &n);
  json_t *a = rc == BLOK_OK ? json_array() : NULL;
  for (size_t i = 0; a && i < n; i++) {
    json_t *p = path_json(&page[i].path);
    json_object_set_new(p, "owner", hex32(page[i].owner));
    json_object_set_new(p, "remedy", json_string(page[i].remedied ? "done" : "open"));
    json_object_set_new(p, "remedy_height",
                        page[i].remedied ? json_integer((json_int_t)page[i].remedy_height)
                                         : json_null());
    json_array_append_new(a, p);
  }
  free(page);
  if (rc != BLOK_OK) {
    json_decref(recall);
    return rc;
  }
  json_object_set_new(recall, "issued_by", json_stringn(maker, ml));
  json_object_set_new(recall, "height", json_integer((json_int_t)h));
  *out =
      json_pack("{s:o, s:o, s:o, s:o}", "recall", recall, "counts",
                !first ? json_null()
                       : json_pack("{s:I, s:I, s:I}", "reached", (json_int_t)reached, "remedied",
                                   (json_int_t)remedied, "open", (json_int_t)(reached - remedied)),
                "vehicles", a, "next_cursor", cursor_json(&c));
  return *out ? BLOK_OK : BLOK_ENOMEM;
}

enum blok_err blok_parts_vehicle_json(struct blok_txn *t, const char vin[17], const char *cursor,
                                      size_t limit, json_t **out) {
  struct blok_parts_cursor c;
  char ids[BLOK_PARTS_RECALLS_MAX][33];
  size_t n, nr;
  *out = NULL;
  BLOK_TRY(blok_parts_cursor_parse(&c, cursor));
  BLOK_TRY(blok_parts_open_recalls(t, vin, ids, BLOK_PARTS_RECALLS_MAX, &nr));
  struct blok_parts_path *bom = malloc(limit * sizeof *bom);
  if (bom == NULL) return BLOK_ENOMEM;
  enum blok_err rc = blok_parts_bom(t, vin, &c, limit, bom, &n);
  json_t *parts = rc == BLOK_OK ? json_array() : NULL, *open = json_array();
  for (size_t i = 0; parts && i < n; i++)
    json_array_append_new(parts, path_json(&bom[i]));
  for (size_t i = 0; open && i < nr; i++)
    json_array_append_new(open, json_string(ids[i]));
  free(bom);
  if (rc != BLOK_OK) {
    json_decref(open);
    return rc;
  }
  *out = json_pack("{s:s%, s:o, s:o, s:o}", "vin", vin, (size_t)17, "open_recalls", open, "parts",
                   parts, "next_cursor", cursor_json(&c));
  return *out ? BLOK_OK : BLOK_ENOMEM;
}
