/*
 * The parts module (blok/parts.h; docs/PROTOCOL.md, "Parts"): what applying each kind does to
 * the batch, serial, part, recall and lot records, and the index entries every applied
 * transaction writes at commit for the queries of parts_query.c.
 *
 * Serials are not stored one by one: a range (prefix, width, first, count) is cut at multiples
 * of BLOK__PARTS_BUCKET and each piece appended to its bucket's state entry, so registering
 * 100,000 serials writes some 25 state entries, and finding a serial's batch is one read. A
 * part gets a record of its own only when something happens to it (an install, a handoff, a
 * reading, a report); until then it is loose and held with its batch.
 *
 * apply reads only the execution context and iterates only over payload lists and sorted
 * bucket entries, so every node reaches the same verdict.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "blok/consortium.h"
#include "blok/hex.h"
#include "blok/ledger.h"
#include "blok/vehicle.h"
#include "blok/vin.h"
#include "parts_internal.h"
#include "blok/banned.h"

#define MODULE BLOK_PARTS_MODULE

unsigned blok__parts_tables[BLOK__PT_COUNT];
bool blok__parts_tables_open;

struct pctx {
  struct blok_exec *x;
  const struct blok_tx *tx;
  enum blok__pkind k;
  struct blok__ppay p;
  struct blok_member m;
  bool is_member;
};

/* --- state helpers ------------------------------------------------------------------------ */

static enum blok_err sget(struct pctx *c, char tag, const char *id, size_t len, const uint8_t **v,
                          size_t *n) {
  uint8_t k[2 + 64];
  size_t kl = blok__parts_key(k, sizeof k, tag, id, len);
  return blok_exec_get(c->x, MODULE, k, kl, v, n);
}

static enum blok_err sput(struct pctx *c, char tag, const char *id, size_t len, const void *v,
                          size_t n) {
  uint8_t k[2 + 64];
  size_t kl = blok__parts_key(k, sizeof k, tag, id, len);
  return blok_exec_put(c->x, MODULE, k, kl, v, n);
}

static enum blok_err load_batch(struct pctx *c, const char *id, size_t len, struct blok__batch *b,
                                struct blok_why *why) {
  const uint8_t *v;
  size_t n;
  enum blok_err rc = sget(c, 'b', id, len, &v, &n);
  if (rc == BLOK_ENOTFOUND)
    return blok_refuse(why, BLOK_ENOTFOUND, "batch %.*s is not registered", (int)len, id);
  BLOK_TRY(rc);
  return blok__batch_decode(v, n, b) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
}

static enum blok_err save_batch(struct pctx *c, const struct blok__batch *b) {
  uint8_t mem[2048];
  struct blok_buf buf = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  BLOK_ASSERT(blok__batch_encode(&buf, b) == BLOK_OK);
  return sput(c, 'b', b->id, strlen(b->id), buf.data, buf.len);
}

static enum blok_err save_part(struct pctx *c, const char *serial, const struct blok__part *r) {
  uint8_t mem[256];
  struct blok_buf buf = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  BLOK_ASSERT(blok__part_encode(&buf, r) == BLOK_OK);
  return sput(c, 'p', serial, strlen(serial), buf.data, buf.len);
}

/* A serial's part record, or a loose one of its batch when it has none yet. found says whether
 * the serial was ever registered (or reported). */
static enum blok_err load_part(struct pctx *c, const char *serial, struct blok__part *r,
                               bool *found);

/* --- serial buckets ----------------------------------------------------------------------- */

/* "s/" || u8 width || u64 bucket (big-endian) || prefix */
static size_t bucket_key(uint8_t *k, const struct blok__ptext *prefix, uint8_t width,
                         uint64_t bucket) {
  k[0] = 's';
  k[1] = '/';
  k[2] = width;
  blok_store_u64_key(k + 3, bucket);
  memcpy(k + 11, prefix->s, prefix->len);
  return 11 + prefix->len;
}

struct bentry {
  uint64_t lo, hi;
  char batch[33];
};

struct bucket {
  size_t count;
  struct bentry e[BLOK__PARTS_BUCKET_MAX];
};

static enum blok_err bucket_decode(const uint8_t *v, size_t n, struct bucket *b) {
  struct blok_reader rd;
  const char *s;
  size_t len;
  blok_reader_init(&rd, v, n);
  BLOK_TRY(blok_dec_count(&rd, &b->count, BLOK__PARTS_BUCKET_MAX));
  for (size_t i = 0; i < b->count; i++) {
    BLOK_TRY(blok_dec_u64(&rd, &b->e[i].lo));
    BLOK_TRY(blok_dec_u64(&rd, &b->e[i].hi));
    BLOK_TRY(blok_dec_text(&rd, &s, &len, BLOK__PARTS_ID_MAX));
    memcpy(b->e[i].batch, s, len);
    b->e[i].batch[len] = '\0';
  }
  return blok_dec_end(&rd);
}

static enum blok_err bucket_encode(struct blok_buf *out, const struct bucket *b) {
  BLOK_TRY(blok_enc_count(out, b->count, BLOK__PARTS_BUCKET_MAX));
  for (size_t i = 0; i < b->count; i++) {
    BLOK_TRY(blok_enc_u64(out, b->e[i].lo));
    BLOK_TRY(blok_enc_u64(out, b->e[i].hi));
    BLOK_TRY(blok_enc_text(out, b->e[i].batch, strlen(b->e[i].batch), BLOK__PARTS_ID_MAX));
  }
  return BLOK_OK;
}

/* Reads a bucket from the execution (empty when absent). */
static enum blok_err bucket_load(struct blok_exec *x, const uint8_t *k, size_t kl,
                                 struct bucket *b) {
  const uint8_t *v;
  size_t n;
  b->count = 0;
  enum blok_err rc = blok_exec_get(x, MODULE, k, kl, &v, &n);
  if (rc == BLOK_ENOTFOUND) return BLOK_OK;
  BLOK_TRY(rc);
  return bucket_decode(v, n, b) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
}

/* Adds lo..hi of batch to the bucket, kept sorted by lo; an overlap is refused. */
static enum blok_err bucket_add(struct pctx *c, struct bucket *b, const struct blok__prange *r,
                                uint64_t lo, uint64_t hi, struct blok_why *why) {
  size_t at = 0;
  while (at < b->count && b->e[at].hi < lo)
    at++;
  if (at < b->count && b->e[at].lo <= hi) {
    char s[BLOK_PARTS_SERIAL_MAX + 1];
    uint64_t first = lo > b->e[at].lo ? lo : b->e[at].lo;
    blok__parts_serial(s, sizeof s, &r->prefix, r->width, first);
    return blok_refuse(why, BLOK_EEXIST, "serial %s is already registered, in batch %s", s,
                       b->e[at].batch);
  }
  if (b->count == BLOK__PARTS_BUCKET_MAX)
    return blok_refuse(why, BLOK_EFULL,
                       "too many separate ranges near serial %.*s%llu; register serials in "
                       "longer ranges",
                       (int)r->prefix.len, r->prefix.s, (unsigned long long)lo);
  memmove(&b->e[at + 1], &b->e[at], (b->count - at) * sizeof b->e[0]);
  b->e[at].lo = lo;
  b->e[at].hi = hi;
  snprintf(b->e[at].batch, sizeof b->e[at].batch, "%.*s", (int)c->p.batch.len, c->p.batch.s);
  b->count++;
  return BLOK_OK;
}

static enum blok_err range_register(struct pctx *c, const struct blok__prange *r,
                                    struct blok_why *why) {
  static _Thread_local struct bucket b;
  static _Thread_local uint8_t mem[4 + BLOK__PARTS_BUCKET_MAX * (16 + 4 + 32)];
  uint8_t k[11 + BLOK__PARTS_ID_MAX];
  uint64_t last = r->first + r->count - 1;
  for (uint64_t bk = r->first / BLOK__PARTS_BUCKET; bk <= last / BLOK__PARTS_BUCKET; bk++) {
    uint64_t lo = bk * BLOK__PARTS_BUCKET, hi = lo + BLOK__PARTS_BUCKET - 1;
    size_t kl = bucket_key(k, &r->prefix, r->width, bk);
    BLOK_TRY(bucket_load(c->x, k, kl, &b));
    BLOK_TRY(bucket_add(c, &b, r, lo > r->first ? lo : r->first, hi < last ? hi : last, why));
    struct blok_buf buf = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
    BLOK_ASSERT(bucket_encode(&buf, &b) == BLOK_OK);
    BLOK_TRY(blok_exec_put(c->x, MODULE, k, kl, buf.data, buf.len));
  }
  return BLOK_OK;
}

/* The batch a serial was registered in, or BLOK_ENOTFOUND. */
static enum blok_err serial_batch(struct blok_exec *x, const char *serial, size_t len,
                                  char batch[33]) {
  static _Thread_local struct bucket b;
  struct blok__psplit sp;
  uint8_t k[11 + BLOK_PARTS_SERIAL_MAX];
  if (!blok__parts_split(serial, len, &sp)) return BLOK_ENOTFOUND;
  if (sp.prefix_len > BLOK__PARTS_ID_MAX) return BLOK_ENOTFOUND;
  struct blok__ptext prefix = {serial, sp.prefix_len};
  size_t kl = bucket_key(k, &prefix, sp.width, sp.number / BLOK__PARTS_BUCKET);
  BLOK_TRY(bucket_load(x, k, kl, &b));
  for (size_t i = 0; i < b.count; i++)
    if (b.e[i].lo <= sp.number && sp.number <= b.e[i].hi) {
      memcpy(batch, b.e[i].batch, sizeof b.e[i].batch);
      return BLOK_OK;
    }
  return BLOK_ENOTFOUND;
}

static enum blok_err load_part(struct pctx *c, const char *serial, struct blok__part *r,
                               bool *found) {
  const uint8_t *v;
  size_t n;
  memset(r, 0, sizeof *r);
  enum blok_err rc = sget(c, 'p', serial, strlen(serial), &v, &n);
  if (rc == BLOK_OK) {
    *found = true;
    return blok__part_decode(v, n, r) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
  }
  if (rc != BLOK_ENOTFOUND) return rc;
  rc = serial_batch(c->x, serial, strlen(serial), r->batch);
  *found = rc == BLOK_OK;
  return rc == BLOK_ENOTFOUND ? BLOK_OK : rc;
}

/* --- index entries ------------------------------------------------------------------------ */

static enum blok_err iput(struct pctx *c, enum blok__ptable t, const uint8_t *k, size_t kl,
                          const void *v, size_t vl) {
  BLOK_ASSERT(blok__parts_tables_open);
  return blok_exec_index_put(c->x, blok__parts_tables[t], k, kl, v, vl);
}

/* An event of a batch or a part, keyed so that a subject's events sort by block and position. */
static enum blok_err event(struct pctx *c, uint8_t subject, const char *id, uint8_t flags,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum blok_err event(struct pctx *c, uint8_t subject, const char *id, uint8_t flags,
                           const char *fmt, ...) {
  uint8_t k[1 + 1 + BLOK_PARTS_SERIAL_MAX + 12], v[8 + 64 + 4 + 32 + 4 + 200 + 1];
  char detail[201];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  k[0] = subject;
  size_t kl = 1 + blok__parts_lkey(k + 1, id, strlen(id));
  blok_store_u64_key(k + kl, blok_exec_height(c->x));
  uint32_t pos = blok_exec_tx_position(c->x);
  for (int i = 0; i < 4; i++)
    k[kl + 8 + (size_t)i] = (uint8_t)(pos >> (24 - 8 * i));
  kl += 12;
  struct blok_buf b = {.data = v, .cap = sizeof v, .size_bytes_max = sizeof v};
  const char *kind = blok__pkind_name(c->k);
  BLOK_ASSERT(blok_enc_u64(&b, blok_exec_time_ms(c->x)) == BLOK_OK);
  BLOK_ASSERT(blok_enc_fixed(&b, c->tx->id, 32) == BLOK_OK);
  BLOK_ASSERT(blok_enc_fixed(&b, c->tx->sender, 32) == BLOK_OK);
  BLOK_ASSERT(blok_enc_text(&b, kind, strlen(kind), 32) == BLOK_OK);
  BLOK_ASSERT(blok_enc_text(&b, detail, strlen(detail), 200) == BLOK_OK);
  BLOK_ASSERT(blok_enc_u8(&b, flags) == BLOK_OK);
  return iput(c, BLOK__PT_EVENTS, k, kl, b.data, b.len);
}

static void cstr(char *out, size_t cap, const struct blok__ptext *t) {
  BLOK_ASSERT(t->len < cap);
  memcpy(out, t->s, t->len);
  out[t->len] = '\0';
}

/* --- batches and serials ------------------------------------------------------------------ */

static enum blok_err input_exists(struct pctx *c, const struct blok__ptext *in,
                                  struct blok_why *why) {
  const uint8_t *v;
  size_t n;
  enum blok_err rc = sget(c, 'b', in->s, in->len, &v, &n);
  if (rc == BLOK_ENOTFOUND) rc = sget(c, 'l', in->s, in->len, &v, &n);
  if (rc == BLOK_ENOTFOUND)
    return blok_refuse(why, BLOK_ENOTFOUND,
                       "input %.*s is neither a registered batch nor an attested lot; register "
                       "or attest it first",
                       (int)in->len, in->s);
  return rc;
}

static enum blok_err apply_batch(struct pctx *c, struct blok_why *why) {
  const struct blok__ppay *p = &c->p;
  static _Thread_local struct blok__batch b;
  const uint8_t *v;
  size_t n;
  if (sget(c, 'b', p->batch.s, p->batch.len, &v, &n) == BLOK_OK)
    return blok_refuse(why, BLOK_EEXIST, "batch %.*s is already registered", (int)p->batch.len,
                       p->batch.s);
  memset(&b, 0, sizeof b);
  for (size_t i = 0; i < p->input_count; i++) {
    BLOK_TRY(input_exists(c, &p->inputs[i], why));
    cstr(b.inputs[i], sizeof b.inputs[i], &p->inputs[i]);
  }
  b.input_count = p->input_count;
  cstr(b.id, sizeof b.id, &p->batch);
  cstr(b.part_number, sizeof b.part_number, &p->part_number);
  cstr(b.part_type, sizeof b.part_type, &p->part_type);
  cstr(b.site, sizeof b.site, &p->site);
  snprintf(b.maker, sizeof b.maker, "%s", c->m.name);
  memcpy(b.maker_key, c->tx->sender, 32);
  memcpy(b.holder, c->tx->sender, 32);
  b.production_date = p->production_date;
  b.quantity = p->quantity;
  b.height = blok_exec_height(c->x);
  BLOK_TRY(save_batch(c, &b));
  uint8_t k[2 * 33];
  size_t kl = blok__parts_lkey(k, b.part_number, strlen(b.part_number));
  memcpy(k + kl, b.id, strlen(b.id));
  BLOK_TRY(iput(c, BLOK__PT_BYPN, k, kl + strlen(b.id), "", 0));
  for (size_t i = 0; i < b.input_count; i++) {
    kl = blok__parts_lkey(k, b.inputs[i], strlen(b.inputs[i]));
    memcpy(k + kl, b.id, strlen(b.id));
    BLOK_TRY(iput(c, BLOK__PT_OUTPUTS, k, kl + strlen(b.id), "", 0));
  }
  return event(c, BLOK__SUBJECT_BATCH, b.id, 0, "batch of %u %s (%s) registered by %s at %s",
               b.quantity, b.part_number, b.part_type, b.maker, b.site);
}

static enum blok_err apply_serials(struct pctx *c, struct blok_why *why) {
  static _Thread_local struct blok__batch b;
  uint64_t total = 0;
  BLOK_TRY(load_batch(c, c->p.batch.s, c->p.batch.len, &b, why));
  if (strcmp(b.maker, c->m.name) != 0)
    return blok_refuse(why, BLOK_ENOTPERMITTED,
                       "batch %s was registered by %s; only %s may register its serials", b.id,
                       b.maker, b.maker);
  for (size_t i = 0; i < c->p.range_count; i++)
    total += c->p.ranges[i].count;
  if (b.serials + total > b.quantity)
    return blok_refuse(why, BLOK_ERANGE,
                       "batch %s has a quantity of %u and %llu serials; %llu more would exceed it",
                       b.id, b.quantity, (unsigned long long)b.serials, (unsigned long long)total);
  for (size_t i = 0; i < c->p.range_count; i++)
    BLOK_TRY(range_register(c, &c->p.ranges[i], why));
  b.serials += total;
  BLOK_TRY(save_batch(c, &b));
  return event(c, BLOK__SUBJECT_BATCH, b.id, 0, "%llu serials registered (%llu of %u)",
               (unsigned long long)total, (unsigned long long)b.serials, b.quantity);
}

/* --- installs ----------------------------------------------------------------------------- */

static const char *place_text(const struct blok__part *r) {
  return r->loc == BLOK__INTO_VEHICLE ? "vehicle" : "part";
}

static enum blok_err vehicle_active(struct pctx *c, const char *vin, struct blok_why *why) {
  uint8_t k[19];
  const uint8_t *v;
  size_t n;
  static _Thread_local struct blok_vehicle_record r;
  blok_vehicle_state_key(k, vin);
  enum blok_err rc = blok_exec_get(c->x, BLOK_VEHICLE_MODULE, k, sizeof k, &v, &n);
  if (rc == BLOK_ENOTFOUND)
    return blok_refuse(why, BLOK_ENOTFOUND, "vin %s is not registered", vin);
  BLOK_TRY(rc);
  if (blok_vehicle_record_decode(v, n, &r) != BLOK_OK) return BLOK_ESTORE;
  if (r.status == BLOK_VEHICLE_RETIRED)
    return blok_refuse(why, BLOK_EREFUSED, "vin %s was retired at height %llu", vin,
                       (unsigned long long)r.retired_height);
  return BLOK_OK;
}

/* Walks up from target (target included) counting the parts above the place, refusing a loop
 * back to serial and a nesting deeper than BLOK_PARTS_DEPTH_MAX: the parts under serial
 * (below), serial itself and the parts from target up. */
static enum blok_err chain_above(struct pctx *c, const char *serial, const char *target,
                                 uint8_t below, struct blok_why *why) {
  char cur[BLOK_PARTS_SERIAL_MAX + 1];
  snprintf(cur, sizeof cur, "%s", target);
  for (size_t above = 1;; above++) {
    struct blok__part r;
    bool found;
    if (strcmp(cur, serial) == 0)
      return blok_refuse(why, BLOK_EREFUSED,
                         "part %s is inside part %s: installing it there would make a loop", target,
                         serial);
    if (below + 1 + above > BLOK_PARTS_DEPTH_MAX)
      return blok_refuse(why, BLOK_ERANGE,
                         "parts nest at most %d deep: %s holds parts %u deep, and %s sits %zu "
                         "deep",
                         BLOK_PARTS_DEPTH_MAX, serial, below, target, above);
    BLOK_TRY(load_part(c, cur, &r, &found));
    if (r.loc != BLOK__INTO_PART) return BLOK_OK;
    snprintf(cur, sizeof cur, "%s", r.where);
  }
}

static enum blok_err install_target(struct pctx *c, const char *serial, const char *target,
                                    uint8_t below, struct blok_why *why) {
  struct blok__part t;
  bool found;
  if (c->p.into == BLOK__INTO_VEHICLE) return vehicle_active(c, target, why);
  BLOK_TRY(load_part(c, target, &t, &found));
  if (!found || t.batch[0] == '\0')
    return blok_refuse(why, BLOK_ENOTFOUND, "part %s (the target) was never registered", target);
  return chain_above(c, serial, target, below, why);
}

/* Raises the recorded depth of the parts under each part above a new one (h for target).
 * Removals never lower it: the bound stays conservative and costs no walk down. */
static enum blok_err raise_below(struct pctx *c, const char *target, unsigned h) {
  char cur[BLOK_PARTS_SERIAL_MAX + 1];
  snprintf(cur, sizeof cur, "%s", target);
  for (; h <= BLOK_PARTS_DEPTH_MAX; h++) {
    struct blok__part r;
    bool found;
    BLOK_TRY(load_part(c, cur, &r, &found));
    if (r.below >= h) return BLOK_OK;
    r.below = (uint8_t)h;
    BLOK_TRY(save_part(c, cur, &r));
    if (r.loc != BLOK__INTO_PART) return BLOK_OK;
    snprintf(cur, sizeof cur, "%s", r.where);
  }
  return BLOK_OK;
}

static enum blok_err place_index(struct pctx *c, const char *serial, const struct blok__part *r,
                                 uint8_t on) {
  uint8_t k[1 + 2 * BLOK_PARTS_SERIAL_MAX + 17], v[1 + BLOK_PARTS_SERIAL_MAX];
  size_t sl = strlen(serial), wl = strlen(r->where), kl;
  if (r->loc == BLOK__INTO_VEHICLE) {
    memcpy(k, r->where, 17);
    kl = 17;
  } else {
    kl = blok__parts_lkey(k, r->where, wl);
  }
  memcpy(k + kl, serial, sl);
  BLOK_TRY(iput(c, r->loc == BLOK__INTO_VEHICLE ? BLOK__PT_VPARTS : BLOK__PT_CHILDREN, k, kl + sl,
                &on, 1));
  v[0] = on ? r->loc : 0;
  memcpy(v + 1, r->where, wl);
  return iput(c, BLOK__PT_LOC, (const uint8_t *)serial, sl, v, on ? 1 + wl : 1);
}

/* --- the parts trees in state ("V/" vin, "C/" serial) ------------------------------------- */

/* The parts installed directly in a vehicle ('V') or a part ('C'): empty when absent. */
static enum blok_err installed_load(struct pctx *c, char tag, const char *id,
                                    struct blok__installed *r) {
  const uint8_t *v;
  size_t n;
  r->count = 0;
  r->total = 0;
  enum blok_err rc = sget(c, tag, id, strlen(id), &v, &n);
  if (rc == BLOK_ENOTFOUND) return BLOK_OK;
  BLOK_TRY(rc);
  return blok__installed_decode(v, n, r) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
}

/* Writes the record, or deletes it when nothing is installed any more. */
static enum blok_err installed_save(struct pctx *c, char tag, const char *id,
                                    const struct blok__installed *r) {
  static _Thread_local uint8_t
      mem[8 + BLOK_PARTS_INSTALLED_MAX * (8 + BLOK_PARTS_SERIAL_MAX + BLOK__PARTS_ID_MAX)];
  uint8_t k[2 + BLOK_PARTS_SERIAL_MAX];
  size_t kl = blok__parts_key(k, sizeof k, tag, id, strlen(id));
  if (r->count == 0) {
    BLOK_ASSERT(r->total == 0);
    return blok_exec_del(c->x, MODULE, k, kl);
  }
  struct blok_buf buf = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  BLOK_ASSERT(blok__installed_encode(&buf, r) == BLOK_OK);
  return blok_exec_put(c->x, MODULE, k, kl, buf.data, buf.len);
}

/* Adds serial (of batch) to the list, kept sorted; or takes it out. */
static enum blok_err installed_edit(struct blok__installed *r, const char *where,
                                    const char *serial, const char *batch, bool add,
                                    struct blok_why *why) {
  size_t at = 0;
  while (at < r->count && strcmp(r->e[at].serial, serial) < 0)
    at++;
  bool here = at < r->count && strcmp(r->e[at].serial, serial) == 0;
  if (!add) {
    if (!here) return BLOK_ESTORE; /* the part record and the tree disagree */
    memmove(&r->e[at], &r->e[at + 1], (r->count - at - 1) * sizeof r->e[0]);
    r->count--;
    return BLOK_OK;
  }
  if (here) return BLOK_ESTORE;
  if (r->count == BLOK_PARTS_INSTALLED_MAX)
    return blok_refuse(why, BLOK_EFULL,
                       "%s holds %d parts directly, the most one vehicle or part may; install "
                       "parts into assemblies",
                       where, BLOK_PARTS_INSTALLED_MAX);
  memmove(&r->e[at + 1], &r->e[at], (r->count - at) * sizeof r->e[0]);
  snprintf(r->e[at].serial, sizeof r->e[at].serial, "%s", serial);
  snprintf(r->e[at].batch, sizeof r->e[at].batch, "%s", batch);
  r->count++;
  return BLOK_OK;
}

/* The parts under a part (0 when nothing is installed in it). */
static enum blok_err subtree_size(struct pctx *c, const char *serial, uint32_t *out) {
  static _Thread_local struct blok__installed r;
  BLOK_TRY(installed_load(c, 'C', serial, &r));
  *out = r.total;
  return BLOK_OK;
}

/* A part with n parts in all (itself and those in it) was installed at (loc, where), or is
 * taken out of it: the list of its place changes, and the totals of its place and of every
 * part and vehicle above it. A vehicle holds at most BLOK_PARTS_VEHICLE_PARTS_MAX parts, a
 * part one fewer (it must fit in a vehicle), so every vehicle's tree fits in a report. */
static enum blok_err tree_adjust(struct pctx *c, uint8_t loc, const char *where, const char *serial,
                                 const char *batch, bool add, uint32_t n, struct blok_why *why) {
  static _Thread_local struct blok__installed in;
  char cur[BLOK_PARTS_SERIAL_MAX + 1], name[BLOK_PARTS_SERIAL_MAX + 16];
  snprintf(cur, sizeof cur, "%s", where);
  for (int d = 0; d <= BLOK_PARTS_DEPTH_MAX + 1; d++) {
    bool vehicle = loc == BLOK__INTO_VEHICLE;
    uint32_t cap = vehicle ? BLOK_PARTS_VEHICLE_PARTS_MAX : BLOK_PARTS_VEHICLE_PARTS_MAX - 1;
    snprintf(name, sizeof name, "%s %s", vehicle ? "vehicle" : "part", cur);
    BLOK_TRY(installed_load(c, vehicle ? 'V' : 'C', cur, &in));
    if (d == 0) BLOK_TRY(installed_edit(&in, name, serial, batch, add, why));
    if (add && in.total + n > cap)
      return blok_refuse(why, BLOK_EFULL,
                         "%s would hold %llu parts; a vehicle holds at most %d and a part %d, the "
                         "parts inside parts included",
                         name, (unsigned long long)in.total + n, BLOK_PARTS_VEHICLE_PARTS_MAX,
                         BLOK_PARTS_VEHICLE_PARTS_MAX - 1);
    if (!add && in.total < n) return BLOK_ESTORE;
    in.total = add ? in.total + n : in.total - n;
    BLOK_TRY(installed_save(c, vehicle ? 'V' : 'C', cur, &in));
    if (vehicle) return BLOK_OK;
    struct blok__part r;
    bool found;
    BLOK_TRY(load_part(c, cur, &r, &found));
    if (r.loc == 0) return BLOK_OK;
    loc = r.loc;
    snprintf(cur, sizeof cur, "%s", r.where);
  }
  return BLOK_ESTORE; /* deeper than parts nest */
}

static enum blok_err apply_install(struct pctx *c, struct blok_why *why) {
  char serial[BLOK_PARTS_SERIAL_MAX + 1], target[BLOK_PARTS_SERIAL_MAX + 1];
  struct blok__part r;
  bool found;
  cstr(serial, sizeof serial, &c->p.serial);
  cstr(target, sizeof target, &c->p.target);
  BLOK_TRY(load_part(c, serial, &r, &found));
  if (!found || r.batch[0] == '\0')
    return blok_refuse(why, BLOK_ENOTFOUND,
                       "serial %s was never registered; its maker registers it with its batch",
                       serial);
  if (r.loc != 0)
    return blok_refuse(why, BLOK_EREFUSED,
                       "part %s is installed in %s %s; a part is in one place at a time: remove "
                       "it first",
                       serial, place_text(&r), r.where);
  BLOK_TRY(install_target(c, serial, target, r.below, why));
  uint32_t under;
  BLOK_TRY(subtree_size(c, serial, &under));
  r.loc = c->p.into;
  snprintf(r.where, sizeof r.where, "%s", target);
  BLOK_TRY(save_part(c, serial, &r));
  if (r.loc == BLOK__INTO_PART) BLOK_TRY(raise_below(c, target, r.below + 1u));
  BLOK_TRY(tree_adjust(c, r.loc, r.where, serial, r.batch, true, under + 1, why));
  uint8_t k[1 + BLOK__PARTS_ID_MAX + BLOK_PARTS_SERIAL_MAX];
  size_t kl = blok__parts_lkey(k, r.batch, strlen(r.batch));
  memcpy(k + kl, serial, strlen(serial));
  BLOK_TRY(iput(c, BLOK__PT_BYBATCH, k, kl + strlen(serial), "", 0));
  BLOK_TRY(place_index(c, serial, &r, 1));
  return event(c, BLOK__SUBJECT_PART, serial, 0, "installed into %s %s by %s", place_text(&r),
               target, c->m.name);
}

static enum blok_err apply_remove(struct pctx *c, struct blok_why *why) {
  char serial[BLOK_PARTS_SERIAL_MAX + 1];
  struct blok__part r;
  bool found;
  cstr(serial, sizeof serial, &c->p.serial);
  BLOK_TRY(load_part(c, serial, &r, &found));
  if (!found) return blok_refuse(why, BLOK_ENOTFOUND, "serial %s was never registered", serial);
  if (r.loc == 0) return blok_refuse(why, BLOK_EREFUSED, "part %s is not installed", serial);
  uint32_t under;
  BLOK_TRY(subtree_size(c, serial, &under));
  BLOK_TRY(tree_adjust(c, r.loc, r.where, serial, r.batch, false, under + 1, why));
  BLOK_TRY(place_index(c, serial, &r, 0));
  struct blok__part before = r;
  r.loc = 0;
  r.where[0] = '\0';
  BLOK_TRY(save_part(c, serial, &r));
  return event(c, BLOK__SUBJECT_PART, serial, 0, "removed from %s %s by %s", place_text(&before),
               before.where, c->m.name);
}

/* --- recalls ------------------------------------------------------------------------------ */

/* Adds e to the recall list under key k (what names it for a person), kept sorted; an entry
 * already there is not added twice. */
static enum blok_err rlist_add(struct pctx *c, const uint8_t *k, size_t kl,
                               enum blok__rlist_kind kind, const struct blok__rentry *e,
                               const char *what, struct blok_why *why) {
  static _Thread_local struct blok__rlist l;
  static _Thread_local uint8_t mem[4 + BLOK_PARTS_RECALL_LIST_MAX * (3 * 4 + 2 * 17 + 32)];
  const uint8_t *v;
  size_t n, at = 0;
  l.count = 0;
  enum blok_err rc = blok_exec_get(c->x, MODULE, k, kl, &v, &n);
  if (rc == BLOK_OK && blok__rlist_decode(v, n, kind, &l) != BLOK_OK) return BLOK_ESTORE;
  if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
  while (at < l.count && blok__rentry_cmp(kind, &l.e[at], e) < 0)
    at++;
  if (at < l.count && blok__rentry_cmp(kind, &l.e[at], e) == 0) return BLOK_OK;
  if (l.count == BLOK_PARTS_RECALL_LIST_MAX)
    return blok_refuse(why, BLOK_EFULL,
                       "%s is named by %d recall scopes already, the most one list holds; name "
                       "the parts or vehicles another way",
                       what, BLOK_PARTS_RECALL_LIST_MAX);
  memmove(&l.e[at + 1], &l.e[at], (l.count - at) * sizeof l.e[0]);
  l.e[at] = *e;
  l.count++;
  struct blok_buf buf = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  BLOK_ASSERT(blok__rlist_encode(&buf, kind, &l) == BLOK_OK);
  return blok_exec_put(c->x, MODULE, k, kl, buf.data, buf.len);
}

/* Lists the recall under what each scope names, so a vehicle's open recalls are found from
 * state: "rb/" batch, "rp/" part number, "rs/" width || prefix, "rv/" WMI. */
static enum blok_err recall_index(struct pctx *c, const struct blok__pscope *s,
                                  struct blok_why *why) {
  uint8_t k[BLOK__PARTS_KEY_MAX];
  char what[96];
  size_t kl;
  struct blok__rentry e;
  enum blok__rlist_kind kind = BLOK__RL_IDS;
  memset(&e, 0, sizeof e);
  cstr(e.recall, sizeof e.recall, &c->p.recall);
  switch (s->type) {
    case BLOK__SCOPE_BATCH:
    case BLOK__SCOPE_PART_NUMBER: {
      bool batch = s->type == BLOK__SCOPE_BATCH;
      kl = blok__parts_tkey(k, sizeof k, batch ? "rb" : "rp", s->id.s, s->id.len);
      snprintf(what, sizeof what, "%s %.*s", batch ? "batch" : "part number", (int)s->id.len,
               s->id.s);
      break;
    }
    case BLOK__SCOPE_SERIALS:
      kind = BLOK__RL_SERIALS;
      kl = blok__parts_rs_key(k, sizeof k, s->range.width, s->range.prefix.s, s->range.prefix.len);
      e.first = s->range.first;
      e.last = s->range.first + s->range.count - 1;
      snprintf(what, sizeof what, "serial prefix %.*s (%u digits)", (int)s->range.prefix.len,
               s->range.prefix.s, s->range.width);
      break;
    default:
      kind = BLOK__RL_VINS;
      kl = blok__parts_tkey(k, sizeof k, "rv", s->vin_from, 3);
      memcpy(e.from, s->vin_from, sizeof e.from);
      memcpy(e.to, s->vin_to, sizeof e.to);
      snprintf(what, sizeof what, "wmi %.3s", s->vin_from);
      break;
  }
  return rlist_add(c, k, kl, kind, &e, what, why);
}

static enum blok_err apply_recall(struct pctx *c, struct blok_why *why) {
  const uint8_t *v;
  size_t n;
  const struct blok__ptext *id = &c->p.recall;
  if (sget(c, 'r', id->s, id->len, &v, &n) == BLOK_OK)
    return blok_refuse(why, BLOK_EEXIST, "recall %.*s was already issued", (int)id->len, id->s);
  /* The record: u64 height || text<64> maker || fixed[32] maker key || the payload. */
  static _Thread_local uint8_t mem[8 + 4 + BLOK_NAME_MAX + 32 + BLOK_TX_PAYLOAD_MAX];
  struct blok_buf b = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  BLOK_ASSERT(blok_enc_u64(&b, blok_exec_height(c->x)) == BLOK_OK);
  BLOK_ASSERT(blok_enc_text(&b, c->m.name, strlen(c->m.name), BLOK_NAME_MAX) == BLOK_OK);
  BLOK_ASSERT(blok_enc_fixed(&b, c->tx->sender, 32) == BLOK_OK);
  BLOK_ASSERT(blok_buf_append(&b, c->tx->payload, c->tx->payload_len) == BLOK_OK);
  BLOK_TRY(sput(c, 'r', id->s, id->len, b.data, b.len));
  for (size_t i = 0; i < c->p.scope_count; i++)
    BLOK_TRY(recall_index(c, &c->p.scopes[i], why));
  return iput(c, BLOK__PT_RECALLS, (const uint8_t *)id->s, id->len, "", 0);
}

static enum blok_err apply_remedy(struct pctx *c, struct blok_why *why) {
  const uint8_t *v;
  size_t n;
  char key[BLOK__PARTS_ID_MAX + 1 + 17 + 1];
  const struct blok__ptext *id = &c->p.recall;
  if (sget(c, 'r', id->s, id->len, &v, &n) == BLOK_ENOTFOUND)
    return blok_refuse(why, BLOK_ENOTFOUND, "recall %.*s was never issued", (int)id->len, id->s);
  BLOK_TRY(vehicle_active(c, c->p.vin, why));
  int kl = snprintf(key, sizeof key, "%.*s/%s", (int)id->len, id->s, c->p.vin);
  BLOK_ASSERT(kl > 0 && (size_t)kl < sizeof key);
  if (sget(c, 'm', key, (size_t)kl, &v, &n) == BLOK_OK)
    return blok_refuse(why, BLOK_EEXIST, "the remedy of recall %.*s is already recorded for %s",
                       (int)id->len, id->s, c->p.vin);
  uint8_t h[8];
  struct blok_buf b = {.data = h, .cap = 8, .size_bytes_max = 8};
  BLOK_ASSERT(blok_enc_u64(&b, blok_exec_height(c->x)) == BLOK_OK);
  return sput(c, 'm', key, (size_t)kl, h, 8);
}

/* --- custody and conditions --------------------------------------------------------------- */

/* The holder (and pending offer) of a batch or a loose part. */
struct custody {
  uint8_t holder[32];
  bool has_offer;
  uint8_t offer_to[32];
  char part_type[33];
  struct blok__batch *b;
  struct blok__part r;
  bool is_part;
};

static enum blok_err custody_load(struct pctx *c, struct custody *cu, struct blok_why *why) {
  static _Thread_local struct blok__batch b;
  char id[BLOK_PARTS_SERIAL_MAX + 1];
  bool found;
  cstr(id, sizeof id, &c->p.id);
  memset(cu, 0, sizeof *cu);
  cu->b = &b;
  cu->is_part = c->p.subject == BLOK__SUBJECT_PART;
  if (!cu->is_part) {
    if (c->p.id.len > BLOK__PARTS_ID_MAX)
      return blok_refuse(why, BLOK_ENOTFOUND, "batch %s is not registered", id);
    BLOK_TRY(load_batch(c, id, strlen(id), &b, why));
    memcpy(cu->holder, b.holder, 32);
    cu->has_offer = b.has_offer;
    memcpy(cu->offer_to, b.offer_to, 32);
  } else {
    BLOK_TRY(load_part(c, id, &cu->r, &found));
    if (!found || cu->r.batch[0] == '\0')
      return blok_refuse(why, BLOK_ENOTFOUND, "serial %s was never registered", id);
    BLOK_TRY(load_batch(c, cu->r.batch, strlen(cu->r.batch), &b, why));
    memcpy(cu->holder, cu->r.has_holder ? cu->r.holder : b.holder, 32);
    cu->has_offer = cu->r.has_offer;
    memcpy(cu->offer_to, cu->r.offer_to, 32);
  }
  snprintf(cu->part_type, sizeof cu->part_type, "%s", b.part_type);
  return BLOK_OK;
}

static enum blok_err custody_save(struct pctx *c, struct custody *cu) {
  char id[BLOK_PARTS_SERIAL_MAX + 1], loc[BLOK__PARTS_ID_MAX + 1];
  cstr(id, sizeof id, &c->p.id);
  cstr(loc, sizeof loc, &c->p.location);
  if (!cu->is_part) {
    memcpy(cu->b->holder, cu->holder, 32);
    cu->b->has_offer = cu->has_offer;
    memcpy(cu->b->offer_to, cu->offer_to, 32);
    snprintf(cu->b->location, sizeof cu->b->location, "%s", loc);
    return save_batch(c, cu->b);
  }
  cu->r.has_holder = true;
  memcpy(cu->r.holder, cu->holder, 32);
  cu->r.has_offer = cu->has_offer;
  memcpy(cu->r.offer_to, cu->offer_to, 32);
  snprintf(cu->r.location, sizeof cu->r.location, "%s", loc);
  return save_part(c, id, &cu->r);
}

static void short_hex(char out[17], const uint8_t *k) {
  blok_hex_encode(out, 17, k, 8);
}

static enum blok_err apply_offer(struct pctx *c, struct blok_why *why) {
  struct custody cu;
  char h[17];
  BLOK_TRY(custody_load(c, &cu, why));
  if (memcmp(cu.holder, c->tx->sender, 32) != 0)
    return blok_refuse(why, BLOK_ENOTPERMITTED,
                       "%.*s is held by another key; only its holder "
                       "may hand it off",
                       (int)c->p.id.len, c->p.id.s);
  if (cu.is_part && cu.r.loc != 0)
    return blok_refuse(why, BLOK_EREFUSED, "part %.*s is installed in %s %s; remove it first",
                       (int)c->p.id.len, c->p.id.s, place_text(&cu.r), cu.r.where);
  if (memcmp(c->p.to, c->tx->sender, 32) == 0)
    return blok_refuse(why, BLOK_EINVAL, "the key offered to is already the holder");
  cu.has_offer = true;
  memcpy(cu.offer_to, c->p.to, 32);
  BLOK_TRY(custody_save(c, &cu));
  short_hex(h, c->p.to);
  char id[BLOK_PARTS_SERIAL_MAX + 1];
  cstr(id, sizeof id, &c->p.id);
  return event(c, c->p.subject, id, 0, "handed off at %.*s to key %s...", (int)c->p.location.len,
               c->p.location.s, h);
}

static enum blok_err apply_accept(struct pctx *c, struct blok_why *why) {
  struct custody cu;
  char h[17], id[BLOK_PARTS_SERIAL_MAX + 1];
  BLOK_TRY(custody_load(c, &cu, why));
  cstr(id, sizeof id, &c->p.id);
  if (!cu.has_offer || memcmp(cu.offer_to, c->tx->sender, 32) != 0)
    return blok_refuse(why, BLOK_ENOTPERMITTED, "no handoff of %s is offered to this key", id);
  short_hex(h, cu.holder);
  memcpy(cu.holder, c->tx->sender, 32);
  cu.has_offer = false;
  memset(cu.offer_to, 0, 32);
  BLOK_TRY(custody_save(c, &cu));
  return event(c, c->p.subject, id, 0, "received at %.*s from key %s...", (int)c->p.location.len,
               c->p.location.s, h);
}

static enum blok_err apply_sensor(struct pctx *c, struct blok_why *why) {
  const uint8_t *v;
  size_t n;
  if (sget(c, 'k', (const char *)c->p.key, 32, &v, &n) == BLOK_OK)
    return blok_refuse(why, BLOK_EEXIST, "that sensor key is already registered");
  return sput(c, 'k', (const char *)c->p.key, 32, c->tx->sender, 32);
}

static enum blok_err apply_limits(struct pctx *c, struct blok_why *why) {
  uint8_t mem[16];
  struct blok_buf b = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  (void)why;
  BLOK_ASSERT(blok_enc_u32(&b, (uint32_t)c->p.temp_min) == BLOK_OK);
  BLOK_ASSERT(blok_enc_u32(&b, (uint32_t)c->p.temp_max) == BLOK_OK);
  BLOK_ASSERT(blok_enc_u32(&b, c->p.humidity_max) == BLOK_OK);
  BLOK_ASSERT(blok_enc_u32(&b, c->p.shock_max) == BLOK_OK);
  return sput(c, 't', c->p.part_type.s, c->p.part_type.len, b.data, b.len);
}

/* Whether the reading is outside the part type's limits (none set: never). */
static enum blok_err out_of_limits(struct pctx *c, const char *type, bool *out) {
  const uint8_t *v;
  size_t n;
  uint32_t lo, hi, hum, shock;
  struct blok_reader rd;
  *out = false;
  enum blok_err rc = sget(c, 't', type, strlen(type), &v, &n);
  if (rc == BLOK_ENOTFOUND) return BLOK_OK;
  BLOK_TRY(rc);
  blok_reader_init(&rd, v, n);
  if (blok_dec_u32(&rd, &lo) || blok_dec_u32(&rd, &hi) || blok_dec_u32(&rd, &hum) ||
      blok_dec_u32(&rd, &shock))
    return BLOK_ESTORE;
  *out = c->p.temp < (int32_t)lo || c->p.temp > (int32_t)hi || c->p.humidity > hum ||
         c->p.shock > shock;
  return BLOK_OK;
}

/* The reading's sender: the holder, or a sensor key the holder registered. */
static enum blok_err reader_ok(struct pctx *c, const struct custody *cu, struct blok_why *why) {
  const uint8_t *v;
  size_t n;
  if (memcmp(cu->holder, c->tx->sender, 32) == 0) return BLOK_OK;
  if (sget(c, 'k', (const char *)c->tx->sender, 32, &v, &n) == BLOK_OK && n == 32 &&
      memcmp(v, cu->holder, 32) == 0)
    return BLOK_OK;
  return blok_refuse(why, BLOK_ENOTPERMITTED,
                     "readings of %.*s are signed by its holder or a sensor its holder registered",
                     (int)c->p.id.len, c->p.id.s);
}

static enum blok_err apply_reading(struct pctx *c, struct blok_why *why) {
  struct custody cu;
  bool out;
  char id[BLOK_PARTS_SERIAL_MAX + 1];
  BLOK_TRY(custody_load(c, &cu, why));
  BLOK_TRY(reader_ok(c, &cu, why));
  BLOK_TRY(out_of_limits(c, cu.part_type, &out));
  cstr(id, sizeof id, &c->p.id);
  if (out && cu.is_part) {
    cu.r.flags |= BLOK_PARTS_FLAG_OUT_OF_LIMIT;
    BLOK_TRY(save_part(c, id, &cu.r));
  }
  int32_t t = c->p.temp;
  return event(c, c->p.subject, id, out ? BLOK_PARTS_FLAG_OUT_OF_LIMIT : 0,
               "%s%d.%d C, humidity %u/1000, shock %u mg%s", t < 0 ? "-" : "",
               (t < 0 ? -t : t) / 10, (t < 0 ? -t : t) % 10, c->p.humidity, c->p.shock,
               out ? "; outside the limits of its part type" : "");
}

/* --- origin ------------------------------------------------------------------------------- */

static enum blok_err apply_attest(struct pctx *c, struct blok_why *why) {
  const uint8_t *v;
  size_t n;
  const struct blok__ptext *lot = &c->p.lot;
  if (sget(c, 'l', lot->s, lot->len, &v, &n) == BLOK_OK ||
      sget(c, 'b', lot->s, lot->len, &v, &n) == BLOK_OK)
    return blok_refuse(why, BLOK_EEXIST, "%.*s is already an attested lot or a batch",
                       (int)lot->len, lot->s);
  /* The record: text<64> auditor || u64 height || the payload. */
  uint8_t mem[4 + BLOK_NAME_MAX + 8 + 1024];
  struct blok_buf b = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  BLOK_TRY(blok_enc_text(&b, c->m.name, strlen(c->m.name), BLOK_NAME_MAX));
  BLOK_TRY(blok_enc_u64(&b, blok_exec_height(c->x)));
  BLOK_TRY(blok_buf_append(&b, c->tx->payload, c->tx->payload_len));
  return sput(c, 'l', lot->s, lot->len, b.data, b.len);
}

/* --- reports from the field --------------------------------------------------------------- */

/* The vehicle a part sits in, following the parts above it (empty when in none). */
static enum blok_err vehicle_of(struct pctx *c, const struct blok__part *r, char vin[18]) {
  struct blok__part cur = *r;
  vin[0] = '\0';
  for (int d = 0; d <= BLOK_PARTS_DEPTH_MAX && cur.loc == BLOK__INTO_PART; d++) {
    char up[BLOK_PARTS_SERIAL_MAX + 1];
    bool found;
    snprintf(up, sizeof up, "%s", cur.where);
    BLOK_TRY(load_part(c, up, &cur, &found));
  }
  if (cur.loc == BLOK__INTO_VEHICLE) snprintf(vin, 18, "%.17s", cur.where);
  return BLOK_OK;
}

static bool maker_genuine(struct pctx *c, const char *batch) {
  static _Thread_local struct blok__batch b;
  struct blok_member m;
  struct blok_why why = {{0}};
  if (load_batch(c, batch, strlen(batch), &b, &why) != BLOK_OK) return false;
  if (blok_consortium_member_by_key(c->x, b.maker_key, &m) != BLOK_OK) return false;
  return (m.roles & ((1u << BLOK_ROLE_SUPPLIER) | (1u << BLOK_ROLE_MANUFACTURER))) != 0;
}

static enum blok_err apply_observe(struct pctx *c, struct blok_why *why) {
  char serial[BLOK_PARTS_SERIAL_MAX + 1], in[18];
  struct blok__part r;
  bool found;
  uint8_t flags = 0;
  cstr(serial, sizeof serial, &c->p.serial);
  BLOK_TRY(vehicle_active(c, c->p.vin, why));
  BLOK_TRY(load_part(c, serial, &r, &found));
  if (!found || r.batch[0] == '\0' || !maker_genuine(c, r.batch))
    flags |= BLOK_PARTS_FLAG_NOT_GENUINE;
  BLOK_TRY(vehicle_of(c, &r, in));
  if (in[0] != '\0' && strcmp(in, c->p.vin) != 0) flags |= BLOK_PARTS_FLAG_CLONE;
  r.flags |= flags;
  BLOK_TRY(save_part(c, serial, &r));
  if (r.batch[0] != '\0') {
    uint8_t k[1 + BLOK__PARTS_ID_MAX + BLOK_PARTS_SERIAL_MAX];
    size_t kl = blok__parts_lkey(k, r.batch, strlen(r.batch));
    memcpy(k + kl, serial, strlen(serial));
    BLOK_TRY(iput(c, BLOK__PT_BYBATCH, k, kl + strlen(serial), "", 0));
  }
  return event(c, BLOK__SUBJECT_PART, serial, flags, "reported in vehicle %s by %s%s%s", c->p.vin,
               c->m.name, flags & BLOK_PARTS_FLAG_CLONE ? "; CLONE: the ledger has it in " : "",
               flags & BLOK_PARTS_FLAG_CLONE ? in
               : flags & BLOK_PARTS_FLAG_NOT_GENUINE
                   ? "; NOT GENUINE: unregistered serial or maker that is no supplier"
                   : "");
}

/* --- apply and authorize ------------------------------------------------------------------ */

static enum blok_err ctx_init(struct pctx *c, struct blok_exec *x, const struct blok_tx *tx,
                              struct blok_why *why) {
  memset(c, 0, sizeof *c);
  c->x = x;
  c->tx = tx;
  c->k = blok__pkind_of(tx->type);
  BLOK_ASSERT(c->k < BLOK__PK_COUNT);
  enum blok_err rc = blok_consortium_member_by_key(x, tx->sender, &c->m);
  if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
  c->is_member = rc == BLOK_OK;
  return blok__ppay_decode(c->k, tx->payload, tx->payload_len, &c->p, why);
}

static enum blok_err apply(struct blok_exec *x, const struct blok_tx *tx, struct blok_why *why) {
  static _Thread_local struct pctx c;
  BLOK_TRY(ctx_init(&c, x, tx, why));
  if (!c.is_member && c.k != BLOK__PK_READING)
    return blok_refuse(why, BLOK_ENOTPERMITTED, "sender key belongs to no member");
  switch (c.k) {
    case BLOK__PK_BATCH:
      return apply_batch(&c, why);
    case BLOK__PK_SERIALS:
      return apply_serials(&c, why);
    case BLOK__PK_INSTALL:
      return apply_install(&c, why);
    case BLOK__PK_REMOVE:
      return apply_remove(&c, why);
    case BLOK__PK_RECALL:
      return apply_recall(&c, why);
    case BLOK__PK_REMEDY:
      return apply_remedy(&c, why);
    case BLOK__PK_HANDOFF_OFFER:
      return apply_offer(&c, why);
    case BLOK__PK_HANDOFF_ACCEPT:
      return apply_accept(&c, why);
    case BLOK__PK_SENSOR:
      return apply_sensor(&c, why);
    case BLOK__PK_LIMITS:
      return apply_limits(&c, why);
    case BLOK__PK_READING:
      return apply_reading(&c, why);
    case BLOK__PK_ATTEST:
      return apply_attest(&c, why);
    case BLOK__PK_OBSERVE:
      return apply_observe(&c, why);
    default:
      return BLOK_EINVAL;
  }
}

/* A reading from a key that is no member is a registered sensor's: admitted only when it
 * would be applied (the sensor's holder holds the subject), so sensor keys cannot fill blocks
 * with refusals. */
static enum blok_err authorize_reading(struct blok_exec *x, const struct blok_tx *tx,
                                       const struct blok_member *m, struct blok_why *why) {
  static _Thread_local struct pctx c;
  struct custody cu;
  if (m != NULL) return BLOK_OK;
  BLOK_TRY(ctx_init(&c, x, tx, why));
  const uint8_t *v;
  size_t n;
  if (sget(&c, 'k', (const char *)tx->sender, 32, &v, &n) != BLOK_OK)
    return blok_refuse(why, BLOK_ENOTPERMITTED,
                       "sender key belongs to no member and is no registered sensor");
  enum blok_err rc = custody_load(&c, &cu, why);
  if (rc == BLOK_OK) rc = reader_ok(&c, &cu, why);
  return rc == BLOK_OK ? BLOK_OK : BLOK_ENOTPERMITTED;
}

/* --- the module --------------------------------------------------------------------------- */

static enum blok_err open_tables(struct blok_store *s) {
  static const char *const names[BLOK__PT_COUNT] = {
      [BLOK__PT_EVENTS] = "parts.events",
      [BLOK__PT_LOC] = "parts.loc",
      [BLOK__PT_BYBATCH] = "parts.bybatch",
      [BLOK__PT_VPARTS] = "parts.vparts",
      [BLOK__PT_CHILDREN] = "parts.children",
      [BLOK__PT_BYPN] = "parts.bypn",
      [BLOK__PT_OUTPUTS] = "parts.outputs",
      [BLOK__PT_RECALLS] = "parts.recalls",
      [BLOK__PT_VEVENTS] = BLOK_VEHICLE_EVENTS_TABLE,
  };
  for (unsigned i = 0; i < BLOK__PT_COUNT; i++)
    BLOK_TRY(blok_store_table_shared(s, names[i], &blok__parts_tables[i]));
  blok__parts_tables_open = true;
  return BLOK_OK;
}

/* The three payload hooks, for every kind: the kind's tag is its enum blok__pkind. */
static enum blok_err check(const struct blok_tx_kind *k, const uint8_t *p, size_t len,
                           struct blok_why *why) {
  static _Thread_local struct blok__ppay v;
  return blok__ppay_decode((enum blok__pkind)k->tag, p, len, &v, why);
}

static enum blok_err from_json(const struct blok_tx_kind *k, const json_t *j, struct blok_buf *out,
                               struct blok_why *why) {
  return blok__ppay_from_json((enum blok__pkind)k->tag, j, out, why);
}

static json_t *to_json(const struct blok_tx_kind *k, const uint8_t *p, size_t len) {
  return blok__ppay_to_json((enum blok__pkind)k->tag, p, len);
}

static const char *const r_makers[] = {"supplier", "manufacturer", NULL};
static const char *const r_fitters[] = {"manufacturer", "supplier", "service", NULL};
static const char *const r_manufacturer[] = {"manufacturer", NULL};
static const char *const r_service[] = {"service", NULL};
static const char *const r_auditor[] = {"auditor", NULL};
static const char *const r_observers[] = {"service", "registry", "manufacturer", NULL};

#define KIND(K, name, r, auth)                                                                     \
  [K] = {.type = #name,                                                                            \
         .roles = r,                                                                               \
         .tag = K,                                                                                 \
         .check = check,                                                                           \
         .from_json = from_json,                                                                   \
         .to_json = to_json,                                                                       \
         .apply = apply,                                                                           \
         .authorize = auth}

static const struct blok_tx_kind kinds[BLOK__PK_COUNT] = {
    KIND(BLOK__PK_BATCH, batch, r_makers, NULL),
    KIND(BLOK__PK_SERIALS, serials, r_makers, NULL),
    KIND(BLOK__PK_INSTALL, install, r_fitters, NULL),
    KIND(BLOK__PK_REMOVE, remove, r_fitters, NULL),
    KIND(BLOK__PK_RECALL, recall, r_manufacturer, NULL),
    KIND(BLOK__PK_REMEDY, remedy, r_service, NULL),
    KIND(BLOK__PK_HANDOFF_OFFER, handoff_offer, NULL, NULL),
    KIND(BLOK__PK_HANDOFF_ACCEPT, handoff_accept, NULL, NULL),
    KIND(BLOK__PK_SENSOR, sensor, NULL, NULL),
    KIND(BLOK__PK_LIMITS, limits, r_makers, NULL),
    KIND(BLOK__PK_READING, reading, NULL, authorize_reading),
    KIND(BLOK__PK_ATTEST, attest, r_auditor, NULL),
    KIND(BLOK__PK_OBSERVE, observe, r_observers, NULL),
};

const struct blok_module blok_parts_module = {
    .name = MODULE,
    .kinds = kinds,
    .kind_count = BLOK__PK_COUNT,
    .open = open_tables,
};
