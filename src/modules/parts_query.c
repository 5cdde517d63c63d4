/*
 * The parts module's queries (blok/parts.h): a part's history, where it is, a vehicle's bill of
 * materials, a batch's sourcing status, a recall's reach and a vehicle's open recalls. They
 * read committed state and the index tables parts.c writes at commit, in a read transaction.
 *
 * A recall's reach walks, scope by scope, the index entries of the parts the scope names (the
 * parts of a batch ever installed, the parts of every batch of a part number, the installed
 * serials of a range, the vehicles of a VIN range), follows each part up through the parts
 * that hold it to a vehicle, and emits that vehicle with the path. A page holds at most
 * `limit` vehicles and reads at most BLOK_PARTS_SCAN_MAX index entries; its cursor is the scope
 * and the last index key read, so memory does not grow with the reach.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blok/ledger.h"
#include "blok/vehicle.h"
#include "blok/vin.h"
#include "parts_internal.h"
#include "blok/banned.h"

#define MODULE BLOK_PARTS_MODULE

/* --- state and index reads ---------------------------------------------------------------- */

static enum blok_err qget(struct blok_txn *t, char tag, const char *id, size_t len,
                          const uint8_t **v, size_t *n) {
  uint8_t k[2 + 64], tk[32];
  size_t kl = blok__parts_key(k, sizeof k, tag, id, len);
  BLOK_TRY(blok_state_key(tk, MODULE, k, kl));
  return blok_state_get(t, tk, v, n);
}

static enum blok_err q_part(struct blok_txn *t, const char *serial, struct blok__part *r,
                            bool *found) {
  const uint8_t *v;
  size_t n;
  memset(r, 0, sizeof *r);
  enum blok_err rc = qget(t, 'p', serial, strlen(serial), &v, &n);
  *found = rc == BLOK_OK;
  if (rc == BLOK_ENOTFOUND) return BLOK_OK;
  BLOK_TRY(rc);
  return blok__part_decode(v, n, r) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
}

static enum blok_err q_batch(struct blok_txn *t, const char *id, struct blok__batch *b) {
  const uint8_t *v;
  size_t n;
  if (strlen(id) > BLOK__PARTS_ID_MAX) return BLOK_ENOTFOUND;
  BLOK_TRY(qget(t, 'b', id, strlen(id), &v, &n));
  return blok__batch_decode(v, n, b) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
}

static enum blok_err q_vehicle(struct blok_txn *t, const char *vin, struct blok_vehicle_record *r) {
  uint8_t k[19], tk[32];
  const uint8_t *v;
  size_t n;
  blok_vehicle_state_key(k, vin);
  BLOK_TRY(blok_state_key(tk, BLOK_VEHICLE_MODULE, k, sizeof k));
  BLOK_TRY(blok_state_get(t, tk, &v, &n));
  return blok_vehicle_record_decode(v, n, r) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
}

static bool has_prefix(const struct blok_kv *kv, const uint8_t *p, size_t n) {
  return kv->key_len >= n && memcmp(kv->key, p, n) == 0;
}

/* --- where a part is ---------------------------------------------------------------------- */

/* Follows a part up to its vehicle. The path starts with the part itself. */
static enum blok_err resolve(struct blok_txn *t, const char *serial, size_t len,
                             struct blok_parts_path *out) {
  struct blok__part r;
  bool found;
  memset(out, 0, sizeof *out);
  snprintf(out->path[0], sizeof out->path[0], "%.*s", (int)len, serial);
  out->depth = 1;
  for (;;) {
    BLOK_TRY(q_part(t, out->path[out->depth - 1], &r, &found));
    if (r.loc == BLOK__INTO_VEHICLE) {
      snprintf(out->vin, sizeof out->vin, "%.17s", r.where);
      return BLOK_OK;
    }
    if (r.loc != BLOK__INTO_PART || out->depth == BLOK_PARTS_DEPTH_MAX + 1) return BLOK_OK;
    snprintf(out->path[out->depth], sizeof out->path[0], "%s", r.where);
    out->depth++;
  }
}

enum blok_err blok_parts_where(struct blok_txn *t, const char *serial,
                               struct blok_parts_path *out) {
  struct blok__part r;
  bool found;
  if (!blok__parts_tables_open) return BLOK_EUNAVAIL;
  if (!blok__parts_id_ok(serial, strlen(serial), BLOK_PARTS_SERIAL_MAX)) return BLOK_EINVAL;
  BLOK_TRY(q_part(t, serial, &r, &found));
  if (!found) {
    /* A serial with no record of its own is registered when a bucket holds it. */
    char batch[33];
    BLOK_TRY(blok_parts_serial_batch(t, serial, batch));
  }
  return resolve(t, serial, strlen(serial), out);
}

enum blok_err blok_parts_serial_batch(struct blok_txn *t, const char *serial, char batch[33]) {
  struct blok__psplit sp;
  uint8_t k[11 + BLOK_PARTS_SERIAL_MAX], tk[32];
  const uint8_t *v;
  size_t n, count;
  struct blok_reader rd;
  if (!blok__parts_split(serial, strlen(serial), &sp) || sp.prefix_len > BLOK__PARTS_ID_MAX)
    return BLOK_ENOTFOUND;
  k[0] = 's';
  k[1] = '/';
  k[2] = sp.width;
  blok_store_u64_key(k + 3, sp.number / BLOK__PARTS_BUCKET);
  memcpy(k + 11, serial, sp.prefix_len);
  BLOK_TRY(blok_state_key(tk, MODULE, k, 11 + sp.prefix_len));
  BLOK_TRY(blok_state_get(t, tk, &v, &n));
  blok_reader_init(&rd, v, n);
  BLOK_TRY(blok_dec_count(&rd, &count, BLOK__PARTS_BUCKET_MAX));
  for (size_t i = 0; i < count; i++) {
    uint64_t lo, hi;
    const char *s;
    size_t len;
    BLOK_TRY(blok_dec_u64(&rd, &lo));
    BLOK_TRY(blok_dec_u64(&rd, &hi));
    BLOK_TRY(blok_dec_text(&rd, &s, &len, BLOK__PARTS_ID_MAX));
    if (lo <= sp.number && sp.number <= hi) {
      memcpy(batch, s, len);
      batch[len] = '\0';
      return BLOK_OK;
    }
  }
  return BLOK_ENOTFOUND;
}

/* --- history ------------------------------------------------------------------------------ */

static enum blok_err event_decode(const struct blok_kv *kv, size_t prefix_len,
                                  struct blok_parts_event *e) {
  struct blok_reader rd;
  const char *s;
  size_t n;
  memset(e, 0, sizeof *e);
  if (kv->key_len != prefix_len + 12) return BLOK_EFORMAT;
  e->height = blok_store_u64_from_key(kv->key + prefix_len);
  for (int i = 0; i < 4; i++)
    e->position = e->position << 8 | kv->key[prefix_len + 8 + (size_t)i];
  blok_reader_init(&rd, kv->val, kv->val_len);
  BLOK_TRY(blok_dec_u64(&rd, &e->time_ms));
  BLOK_TRY(blok_dec_fixed(&rd, e->tx_id, 32));
  BLOK_TRY(blok_dec_fixed(&rd, e->signer, 32));
  BLOK_TRY(blok_dec_text(&rd, &s, &n, 32));
  memcpy(e->kind, s, n);
  BLOK_TRY(blok_dec_text(&rd, &s, &n, 200));
  memcpy(e->detail, s, n);
  BLOK_TRY(blok_dec_u8(&rd, &e->flags));
  return blok_dec_end(&rd);
}

/* Events of one subject after the cursor key (when it is of this subject). */
static enum blok_err events_walk(struct blok_cursor *cur, uint8_t subject, const char *id,
                                 struct blok_parts_cursor *cursor, size_t limit,
                                 struct blok_parts_event *out, size_t *count) {
  uint8_t p[2 + BLOK_PARTS_SERIAL_MAX];
  struct blok_kv kv;
  p[0] = subject;
  size_t pl = 1 + blok__parts_lkey(p + 1, id, strlen(id));
  bool resume = cursor->len > 0 && cursor->bytes[0] == subject;
  enum blok_err rc = resume ? blok_cursor_seek(cur, cursor->bytes + 1, cursor->len - 1, &kv)
                            : blok_cursor_seek(cur, p, pl, &kv);
  if (rc == BLOK_OK && resume && kv.key_len == cursor->len - 1 &&
      memcmp(kv.key, cursor->bytes + 1, kv.key_len) == 0)
    rc = blok_cursor_next(cur, &kv);
  while (rc == BLOK_OK && has_prefix(&kv, p, pl)) {
    if (*count == limit) return BLOK_OK; /* the cursor already names the last one read */
    if (event_decode(&kv, pl, &out[*count]) != BLOK_OK) return BLOK_ESTORE;
    (*count)++;
    cursor->bytes[0] = subject;
    memcpy(cursor->bytes + 1, kv.key, kv.key_len);
    cursor->len = 1 + kv.key_len;
    rc = blok_cursor_next(cur, &kv);
  }
  if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
  cursor->bytes[0] = 0xff; /* this subject is done */
  cursor->len = 1;
  return BLOK_OK;
}

enum blok_err blok_parts_history(struct blok_txn *t, const char *serial,
                                 struct blok_parts_cursor *cursor, size_t limit,
                                 struct blok_parts_event *out, size_t *count) {
  struct blok_cursor *cur;
  struct blok__part r;
  bool found;
  char batch[33] = "";
  *count = 0;
  if (!blok__parts_tables_open) return BLOK_EUNAVAIL;
  if (limit == 0 || limit > BLOK_PARTS_PAGE_MAX || cursor->len > sizeof cursor->bytes)
    return BLOK_EINVAL;
  if (!blok__parts_id_ok(serial, strlen(serial), BLOK_PARTS_SERIAL_MAX)) return BLOK_EINVAL;
  BLOK_TRY(q_part(t, serial, &r, &found));
  if (found) snprintf(batch, sizeof batch, "%s", r.batch);
  if (!found) BLOK_TRY(blok_parts_serial_batch(t, serial, batch));
  BLOK_TRY(blok_cursor_open(t, blok__parts_tables[BLOK__PT_EVENTS], &cur));
  enum blok_err rc = BLOK_OK;
  /* The cursor: empty (start), the part's last key read, 0xfe (the batch's events from the
   * start) or the batch's last key read. The part's events come first. */
  bool in_part = cursor->len == 0 || cursor->bytes[0] == BLOK__SUBJECT_PART;
  if (in_part) {
    rc = events_walk(cur, BLOK__SUBJECT_PART, serial, cursor, limit, out, count);
    if (rc == BLOK_OK && cursor->bytes[0] == 0xff) cursor->bytes[0] = 0xfe;
  }
  if (rc == BLOK_OK && cursor->len == 1 && cursor->bytes[0] == 0xfe) {
    if (batch[0] == '\0') {
      cursor->len = 0;
    } else if (*count < limit) {
      cursor->len = 0;
      rc = events_walk(cur, BLOK__SUBJECT_BATCH, batch, cursor, limit, out, count);
    }
  } else if (rc == BLOK_OK && !in_part) {
    rc = events_walk(cur, BLOK__SUBJECT_BATCH, batch, cursor, limit, out, count);
  }
  blok_cursor_close(cur);
  if (rc == BLOK_OK && cursor->len == 1 && cursor->bytes[0] == 0xff) cursor->len = 0;
  return rc;
}

/* --- bill of materials -------------------------------------------------------------------- */

struct bom {
  struct blok_txn *t;
  struct blok_parts_path *out;
  size_t limit, *count;
};

/* Emits the part at path (depth entries, innermost first) and, depth first, every part in it. */
static enum blok_err bom_part(struct bom *b, struct blok_parts_path *path) {
  if (*b->count == b->limit) return BLOK_EFULL;
  b->out[(*b->count)++] = *path;
  if (path->depth > BLOK_PARTS_DEPTH_MAX) return BLOK_OK;
  const char *me = path->path[0];
  uint8_t p[1 + BLOK_PARTS_SERIAL_MAX];
  size_t pl = blok__parts_lkey(p, me, strlen(me));
  struct blok_cursor *cur;
  struct blok_kv kv;
  struct blok_parts_path child = *path;
  memmove(&child.path[1], &child.path[0], path->depth * sizeof child.path[0]);
  child.depth = path->depth + 1;
  /* Children are visited by key; a cursor per level, so the walk's memory is the depth. */
  uint8_t last[1 + 2 * BLOK_PARTS_SERIAL_MAX];
  size_t last_len = pl;
  memcpy(last, p, pl);
  for (;;) {
    BLOK_TRY(blok_cursor_open(b->t, blok__parts_tables[BLOK__PT_CHILDREN], &cur));
    enum blok_err rc = blok_cursor_seek(cur, last, last_len, &kv);
    while (rc == BLOK_OK && has_prefix(&kv, p, pl) && kv.key_len == last_len &&
           memcmp(kv.key, last, last_len) == 0)
      rc = blok_cursor_next(cur, &kv);
    while (rc == BLOK_OK && has_prefix(&kv, p, pl) && !(kv.val_len == 1 && kv.val[0] == 1))
      rc = blok_cursor_next(cur, &kv);
    bool more = rc == BLOK_OK && has_prefix(&kv, p, pl) && kv.key_len - pl <= BLOK_PARTS_SERIAL_MAX;
    if (more) {
      snprintf(child.path[0], sizeof child.path[0], "%.*s", (int)(kv.key_len - pl),
               (const char *)kv.key + pl);
      memcpy(last, kv.key, kv.key_len);
      last_len = kv.key_len;
    }
    blok_cursor_close(cur);
    if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
    if (!more) return BLOK_OK;
    BLOK_TRY(bom_part(b, &child));
  }
}

enum blok_err blok_parts_bom(struct blok_txn *t, const char vin[17],
                             struct blok_parts_cursor *cursor, size_t limit,
                             struct blok_parts_path *out, size_t *count) {
  struct blok_cursor *cur;
  struct blok_kv kv;
  struct bom b = {t, out, limit, count};
  *count = 0;
  if (!blok__parts_tables_open) return BLOK_EUNAVAIL;
  if (limit == 0 || limit > BLOK_PARTS_PAGE_MAX) return BLOK_EINVAL;
  uint8_t start[17 + BLOK_PARTS_SERIAL_MAX];
  size_t sl = 17;
  memcpy(start, vin, 17);
  if (cursor->len > 0 && cursor->len <= BLOK_PARTS_SERIAL_MAX) {
    memcpy(start + 17, cursor->bytes, cursor->len);
    sl += cursor->len;
    start[sl++] = 0; /* just after the cursor's part */
  }
  cursor->len = 0;
  BLOK_TRY(blok_cursor_open(t, blok__parts_tables[BLOK__PT_VPARTS], &cur));
  enum blok_err rc = blok_cursor_seek(cur, start, sl, &kv);
  while (rc == BLOK_OK && has_prefix(&kv, (const uint8_t *)vin, 17)) {
    if (kv.val_len == 1 && kv.val[0] == 1 && kv.key_len - 17 <= BLOK_PARTS_SERIAL_MAX) {
      struct blok_parts_path path;
      size_t before = *count;
      memset(&path, 0, sizeof path);
      snprintf(path.path[0], sizeof path.path[0], "%.*s", (int)(kv.key_len - 17),
               (const char *)kv.key + 17);
      memcpy(path.vin, vin, 17);
      path.depth = 1;
      rc = bom_part(&b, &path);
      if (rc == BLOK_EFULL) {
        /* The page is full: the next one starts again at this part. */
        if (before == 0) break; /* one part's tree is bigger than the limit */
        *count = before;
        rc = BLOK_OK;
        break;
      }
      if (rc != BLOK_OK) break;
      cursor->len = kv.key_len - 17;
      memcpy(cursor->bytes, kv.key + 17, cursor->len);
    }
    rc = blok_cursor_next(cur, &kv);
  }
  if (rc == BLOK_ENOTFOUND || (rc == BLOK_OK && !has_prefix(&kv, (const uint8_t *)vin, 17)))
    cursor->len = 0, rc = BLOK_OK;
  blok_cursor_close(cur);
  return rc;
}

/* --- recall reach ------------------------------------------------------------------------- */

/* A recall's record: u64 height || text<64> maker || fixed[32] maker key || the payload. */
static enum blok_err q_recall(struct blok_txn *t, const char *id, struct blok__ppay *p) {
  const uint8_t *v;
  size_t n, ml;
  const char *maker;
  struct blok_reader rd;
  struct blok_why why = {{0}};
  uint64_t h;
  uint8_t key[32];
  if (!blok__parts_id_ok(id, strlen(id), BLOK__PARTS_ID_MAX)) return BLOK_EINVAL;
  BLOK_TRY(qget(t, 'r', id, strlen(id), &v, &n));
  blok_reader_init(&rd, v, n);
  if (blok_dec_u64(&rd, &h) || blok_dec_text(&rd, &maker, &ml, BLOK_NAME_MAX) ||
      blok_dec_fixed(&rd, key, 32))
    return BLOK_ESTORE;
  return blok__ppay_decode(BLOK__PK_RECALL, v + rd.pos, n - rd.pos, p, &why) == BLOK_OK
             ? BLOK_OK
             : BLOK_ESTORE;
}

static enum blok_err q_remedy(struct blok_txn *t, const char *recall, const char *vin, bool *done,
                              uint64_t *height) {
  char key[BLOK__PARTS_ID_MAX + 1 + 17 + 1];
  const uint8_t *v;
  size_t n;
  int kl = snprintf(key, sizeof key, "%s/%s", recall, vin);
  BLOK_ASSERT(kl > 0 && (size_t)kl < sizeof key);
  enum blok_err rc = qget(t, 'm', key, (size_t)kl, &v, &n);
  *done = rc == BLOK_OK;
  *height = 0;
  if (rc == BLOK_ENOTFOUND) return BLOK_OK;
  BLOK_TRY(rc);
  struct blok_reader rd;
  blok_reader_init(&rd, v, n);
  return blok_dec_u64(&rd, height) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
}

/* Whether a vehicle passes the recall's model and model-year filter. */
static bool vehicle_fits(const struct blok__ppay *p, const struct blok_vehicle_record *r) {
  if (p->model.len > 0 &&
      (strlen(r->model) != p->model.len || memcmp(r->model, p->model.s, p->model.len) != 0))
    return false;
  if (p->year_from && r->model_year < p->year_from) return false;
  return !(p->year_to && r->model_year > p->year_to);
}

struct reach {
  struct blok_txn *t;
  char recall[33];
  struct blok__ppay p;
  struct blok_parts_reach *out; /* NULL: only counting */
  size_t limit, count;
  uint64_t scanned, reached, remedied;
  uint8_t scope;
  struct blok_parts_cursor *cursor;
  bool stop; /* the page is full or its scan budget spent */
  struct blok_vehicle_record vr;
};

/* Notes key as the last read; ends the page when it is full or its budget spent. */
static void reach_mark(struct reach *rs, const uint8_t *key, size_t len) {
  rs->scanned++;
  if (rs->out == NULL) return;
  BLOK_ASSERT(2 + len <= sizeof rs->cursor->bytes);
  rs->cursor->bytes[0] = rs->scope;
  rs->cursor->bytes[1] = 0;
  memcpy(rs->cursor->bytes + 2, key, len);
  rs->cursor->len = 2 + len;
  if (rs->count == rs->limit || rs->scanned >= BLOK_PARTS_SCAN_MAX) rs->stop = true;
}

static enum blok_err reach_emit(struct reach *rs, const struct blok_parts_path *path) {
  bool done;
  uint64_t h;
  enum blok_err rc = q_vehicle(rs->t, path->vin, &rs->vr);
  if (rc == BLOK_ENOTFOUND) return BLOK_OK;
  BLOK_TRY(rc);
  if (!vehicle_fits(&rs->p, &rs->vr)) return BLOK_OK;
  BLOK_TRY(q_remedy(rs->t, rs->recall, path->vin, &done, &h));
  rs->reached++;
  rs->remedied += done;
  if (rs->out == NULL) return BLOK_OK;
  struct blok_parts_reach *e = &rs->out[rs->count++];
  memcpy(e->vin, path->vin, sizeof e->vin);
  e->path = *path;
  memcpy(e->owner, rs->vr.owner, 32);
  e->remedied = done;
  e->remedy_height = h;
  return BLOK_OK;
}

static enum blok_err reach_serial(struct reach *rs, const char *serial, size_t len) {
  struct blok_parts_path path;
  BLOK_TRY(resolve(rs->t, serial, len, &path));
  return path.vin[0] ? reach_emit(rs, &path) : BLOK_OK;
}

/* Seeks the first key of a walk: after the cursor's key when resuming, else the prefix. */
static enum blok_err walk_start(struct blok_cursor *cur, const uint8_t *from, size_t from_len,
                                bool after, struct blok_kv *kv) {
  enum blok_err rc = blok_cursor_seek(cur, from, from_len, kv);
  if (rc == BLOK_OK && after && kv->key_len == from_len && memcmp(kv->key, from, from_len) == 0)
    rc = blok_cursor_next(cur, kv);
  return rc;
}

/* The parts of one batch ever installed, from the key `from` (after it when `after`). */
static enum blok_err reach_batch(struct reach *rs, const uint8_t *from, size_t from_len,
                                 bool after) {
  struct blok_cursor *cur;
  struct blok_kv kv;
  size_t pl = 1 + from[0];
  BLOK_TRY(blok_cursor_open(rs->t, blok__parts_tables[BLOK__PT_BYBATCH], &cur));
  enum blok_err rc = walk_start(cur, from, from_len, after, &kv);
  while (rc == BLOK_OK && !rs->stop && has_prefix(&kv, from, pl)) {
    if (kv.key_len - pl <= BLOK_PARTS_SERIAL_MAX)
      rc = reach_serial(rs, (const char *)kv.key + pl, kv.key_len - pl);
    reach_mark(rs, kv.key, kv.key_len);
    if (rc == BLOK_OK && !rs->stop) rc = blok_cursor_next(cur, &kv);
  }
  blok_cursor_close(cur);
  return rc == BLOK_ENOTFOUND ? BLOK_OK : rc;
}

/* Every batch of a part number; resume names the batch walk's key to go on after. */
static enum blok_err reach_part_number(struct reach *rs, const struct blok__ptext *pn,
                                       const uint8_t *resume, size_t resume_len) {
  uint8_t p[1 + 2 * BLOK__PARTS_ID_MAX], from[1 + BLOK__PARTS_ID_MAX];
  size_t pl = blok__parts_lkey(p, pn->s, pn->len), kl = pl;
  struct blok_cursor *cur;
  struct blok_kv kv;
  if (resume_len > 0) { /* the batch the cursor is in */
    memcpy(p + pl, resume + 1, resume[0]);
    kl += resume[0];
  }
  BLOK_TRY(blok_cursor_open(rs->t, blok__parts_tables[BLOK__PT_BYPN], &cur));
  enum blok_err rc = blok_cursor_seek(cur, p, kl, &kv);
  while (rc == BLOK_OK && !rs->stop && has_prefix(&kv, p, pl)) {
    size_t bl = kv.key_len - pl;
    if (bl == 0 || bl > BLOK__PARTS_ID_MAX) break;
    bool here = resume_len > 0 && bl == resume[0] && memcmp(kv.key + pl, resume + 1, bl) == 0;
    size_t fl = blok__parts_lkey(from, (const char *)kv.key + pl, bl);
    rc = here ? reach_batch(rs, resume, resume_len, true) : reach_batch(rs, from, fl, false);
    if (rc == BLOK_OK && !rs->stop) rc = blok_cursor_next(cur, &kv);
  }
  blok_cursor_close(cur);
  return rc == BLOK_ENOTFOUND ? BLOK_OK : rc;
}

/* The installed parts of a serial range, from the location index in serial order: every
 * serial of the range sorts between its first and last (same prefix, same width), so the walk
 * runs from the first to the last and skips the other serials that sort among them. */
static enum blok_err reach_serials(struct reach *rs, const struct blok__prange *r,
                                   const uint8_t *resume, size_t resume_len) {
  char lo[BLOK_PARTS_SERIAL_MAX + 1], hi[BLOK_PARTS_SERIAL_MAX + 1];
  size_t ll = blok__parts_serial(lo, sizeof lo, &r->prefix, r->width, r->first);
  size_t hl = blok__parts_serial(hi, sizeof hi, &r->prefix, r->width, r->first + r->count - 1);
  struct blok_cursor *cur;
  struct blok_kv kv;
  struct blok__psplit sp;
  BLOK_TRY(blok_cursor_open(rs->t, blok__parts_tables[BLOK__PT_LOC], &cur));
  enum blok_err rc = resume_len ? walk_start(cur, resume, resume_len, true, &kv)
                                : walk_start(cur, (const uint8_t *)lo, ll, false, &kv);
  while (rc == BLOK_OK && !rs->stop) {
    size_t m = kv.key_len < hl ? kv.key_len : hl;
    int c = memcmp(kv.key, hi, m);
    if (c > 0 || (c == 0 && kv.key_len > hl)) break;
    const char *s = (const char *)kv.key;
    if (blok__parts_split(s, kv.key_len, &sp) && sp.prefix_len == r->prefix.len &&
        sp.width == r->width && sp.number >= r->first && kv.val_len > 1 && kv.val[0] != 0)
      rc = reach_serial(rs, s, kv.key_len);
    reach_mark(rs, kv.key, kv.key_len);
    if (rc == BLOK_OK && !rs->stop) rc = blok_cursor_next(cur, &kv);
  }
  blok_cursor_close(cur);
  return rc == BLOK_ENOTFOUND ? BLOK_OK : rc;
}

/* The vehicles of a VIN range, from the vehicle module's history index (one entry per event:
 * each VIN is read once and the walk jumps past its events). */
static enum blok_err reach_vins(struct reach *rs, const struct blok__pscope *s,
                                const uint8_t *resume, size_t resume_len) {
  uint8_t k[17 + 8];
  struct blok_cursor *cur;
  struct blok_kv kv;
  memcpy(k, resume_len == 17 ? (const char *)resume : s->vin_from, 17);
  memset(k + 17, resume_len == 17 ? 0xff : 0, 8);
  BLOK_TRY(blok_cursor_open(rs->t, blok__parts_tables[BLOK__PT_VEVENTS], &cur));
  enum blok_err rc = blok_cursor_seek(cur, k, sizeof k, &kv);
  while (rc == BLOK_OK && !rs->stop && kv.key_len == 25 && memcmp(kv.key, s->vin_to, 17) <= 0) {
    struct blok_parts_path path;
    memset(&path, 0, sizeof path);
    memcpy(path.vin, kv.key, 17);
    rc = reach_emit(rs, &path);
    reach_mark(rs, kv.key, 17);
    memcpy(k, kv.key, 17);
    memset(k + 17, 0xff, 8);
    if (rc == BLOK_OK && !rs->stop) rc = blok_cursor_seek(cur, k, sizeof k, &kv);
  }
  blok_cursor_close(cur);
  return rc == BLOK_ENOTFOUND ? BLOK_OK : rc;
}

static enum blok_err reach_scope(struct reach *rs, const uint8_t *resume, size_t resume_len) {
  const struct blok__pscope *s = &rs->p.scopes[rs->scope];
  uint8_t from[1 + BLOK__PARTS_ID_MAX];
  switch (s->type) {
    case BLOK__SCOPE_BATCH:
      if (resume_len) return reach_batch(rs, resume, resume_len, true);
      return reach_batch(rs, from, blok__parts_lkey(from, s->id.s, s->id.len), false);
    case BLOK__SCOPE_PART_NUMBER:
      return reach_part_number(rs, &s->id, resume, resume_len);
    case BLOK__SCOPE_SERIALS:
      return reach_serials(rs, &s->range, resume, resume_len);
    default:
      return reach_vins(rs, s, resume, resume_len);
  }
}

static enum blok_err reach_run(struct reach *rs) {
  struct blok_parts_cursor *c = rs->cursor;
  uint8_t resume[BLOK_PARTS_CURSOR_MAX];
  size_t resume_len = 0;
  if (c != NULL && c->len >= 2) {
    if (c->bytes[0] >= rs->p.scope_count || c->bytes[1] != 0) return BLOK_EINVAL;
    rs->scope = c->bytes[0];
    resume_len = c->len - 2;
    memcpy(resume, c->bytes + 2, resume_len);
    if (rs->p.scopes[rs->scope].type == BLOK__SCOPE_BATCH ||
        rs->p.scopes[rs->scope].type == BLOK__SCOPE_PART_NUMBER)
      if (resume_len == 0 || (size_t)resume[0] + 1 > resume_len) return BLOK_EINVAL;
  }
  for (; rs->scope < rs->p.scope_count; rs->scope++) {
    BLOK_TRY(reach_scope(rs, resume, resume_len));
    if (rs->stop) return BLOK_OK;
    resume_len = 0;
  }
  if (c != NULL) c->len = 0;
  return BLOK_OK;
}

static enum blok_err reach_init(struct reach *rs, struct blok_txn *t, const char *recall) {
  memset(rs, 0, sizeof *rs);
  if (!blok__parts_tables_open) return BLOK_EUNAVAIL;
  rs->t = t;
  BLOK_TRY(q_recall(t, recall, &rs->p));
  snprintf(rs->recall, sizeof rs->recall, "%s", recall);
  return BLOK_OK;
}

enum blok_err blok_parts_recall_reach(struct blok_txn *t, const char *recall_id,
                                      struct blok_parts_cursor *cursor, size_t limit,
                                      struct blok_parts_reach *out, size_t *count) {
  static _Thread_local struct reach rs;
  *count = 0;
  if (limit == 0 || limit > BLOK_PARTS_PAGE_MAX || cursor->len > sizeof cursor->bytes)
    return BLOK_EINVAL;
  BLOK_TRY(reach_init(&rs, t, recall_id));
  rs.out = out;
  rs.limit = limit;
  rs.cursor = cursor;
  enum blok_err rc = reach_run(&rs);
  *count = rc == BLOK_OK ? rs.count : 0;
  return rc;
}

enum blok_err blok_parts_recall_counts(struct blok_txn *t, const char *recall_id, uint64_t *reached,
                                       uint64_t *remedied) {
  static _Thread_local struct reach rs;
  *reached = *remedied = 0;
  BLOK_TRY(reach_init(&rs, t, recall_id));
  BLOK_TRY(reach_run(&rs));
  *reached = rs.reached;
  *remedied = rs.remedied;
  return BLOK_OK;
}

/* --- open recalls of a vehicle ------------------------------------------------------------ */

/* The committed state as blok_parts_vehicle_recalls reads it. */
static enum blok_err txn_get(void *ctx, const uint8_t *key, size_t key_len, bool *found,
                             const uint8_t **val, size_t *val_len, struct blok_why *why) {
  uint8_t tk[32];
  (void)why;
  BLOK_TRY(blok_state_key(tk, MODULE, key, key_len));
  enum blok_err rc = blok_state_get(ctx, tk, val, val_len);
  *found = rc == BLOK_OK;
  return rc == BLOK_ENOTFOUND ? BLOK_OK : rc;
}

enum blok_err blok_parts_open_recalls(struct blok_txn *t, const char vin[17], char (*ids)[33],
                                      size_t max, size_t *count) {
  static _Thread_local struct blok_vehicle_record vr;
  struct blok_parts_state s = {.ctx = t, .get = txn_get};
  struct blok_why why = {{0}};
  char v[18];
  size_t n;
  *count = 0;
  if (max > BLOK_PARTS_RECALLS_MAX) return BLOK_EINVAL;
  memcpy(v, vin, 17);
  v[17] = '\0';
  BLOK_TRY(q_vehicle(t, v, &vr));
  struct blok_parts_open_recall *out = malloc(BLOK_PARTS_RECALLS_MAX * sizeof *out);
  if (out == NULL) return BLOK_ENOMEM;
  enum blok_err rc = blok_parts_vehicle_recalls(&s, v, vr.model, vr.model_year, out,
                                                BLOK_PARTS_RECALLS_MAX, &n, &why);
  for (size_t i = 0; rc == BLOK_OK && i < n && *count < max; i++)
    memcpy(ids[(*count)++], out[i].recall, 33);
  free(out);
  return rc;
}

/* --- sourcing ----------------------------------------------------------------------------- */

#define SOURCING_NODES_MAX 4096 /* inputs examined for one batch */

static enum blok_err sourcing_walk(struct blok_txn *t, const char *batch, unsigned depth,
                                   struct blok_parts_sourcing *s) {
  struct blok__batch b;
  const uint8_t *v;
  size_t n;
  if (depth > 32 || s->batches + s->attested + s->missing > SOURCING_NODES_MAX) return BLOK_EFULL;
  BLOK_TRY(q_batch(t, batch, &b));
  s->batches++;
  for (size_t i = 0; i < b.input_count; i++) {
    const char *in = b.inputs[i];
    enum blok_err rc = qget(t, 'l', in, strlen(in), &v, &n);
    if (rc == BLOK_OK) {
      s->attested++;
      continue;
    }
    if (rc != BLOK_ENOTFOUND) return rc;
    rc = sourcing_walk(t, in, depth + 1, s);
    if (rc == BLOK_ENOTFOUND) {
      /* An input is checked at registration; one that is no longer found is missing. */
      if (s->missing++ == 0) snprintf(s->first_missing, sizeof s->first_missing, "%s", in);
      continue;
    }
    BLOK_TRY(rc);
  }
  /* A batch that consumed nothing recorded has no attested origin. */
  if (b.input_count == 0 && s->missing++ == 0)
    snprintf(s->first_missing, sizeof s->first_missing, "%s", batch);
  return BLOK_OK;
}

enum blok_err blok_parts_sourcing(struct blok_txn *t, const char *batch,
                                  struct blok_parts_sourcing *out) {
  memset(out, 0, sizeof *out);
  if (!blok__parts_id_ok(batch, strlen(batch), BLOK__PARTS_ID_MAX)) return BLOK_EINVAL;
  BLOK_TRY(sourcing_walk(t, batch, 0, out));
  out->complete = out->missing == 0;
  return BLOK_OK;
}
