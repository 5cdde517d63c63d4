/*
 * A vehicle's open recalls from state alone (blok/parts.h, blok_parts_vehicle_recalls;
 * docs/PROTOCOL.md, "Parts", "Open recalls of a vehicle").
 *
 * Everything needed is in the state tree, so a node, a report builder and a report verifier
 * run this same walk, each with its own reader: the node reads its store, the builder reads its
 * store and keeps every value read with its proof, the verifier hands back the values of the
 * bundle after checking each proof. The walk reads in one fixed order, so "the values read" is
 * a list both sides agree on, and nothing the walk needs can be left out of a bundle:
 *
 *   1. "V/" vin, then "C/" serial for each part breadth first: the whole parts tree, with the
 *      totals each record keeps checked against the tree found;
 *   2. for each batch in the tree, in the order first met: "b/" batch (its part number) and
 *      "rb/" batch (the recalls naming it);
 *   3. for each part number, in the order first met: "rp/" part number;
 *   4. for each serial prefix and width, in the order first met: "rs/" width || prefix;
 *   5. "rv/" and the VIN's WMI;
 *   6. for every recall listed there for a part of the tree or the VIN, in id order: "r/" id,
 *      and, when the vehicle passes its model and model-year filter, "m/" id "/" vin.
 *
 * Because apply keeps the lists (a recall is listed under everything its scopes name, a part
 * under the vehicle or part it is in), a recall that reaches the vehicle is always among those
 * read: the walk is complete as of the state it reads.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blok/ledger.h"
#include "blok/vin.h"
#include "parts_internal.h"
#include "blok/banned.h"

struct node {
  char serial[BLOK_PARTS_SERIAL_MAX + 1];
  char batch[BLOK__PARTS_ID_MAX + 1];
  char part_number[BLOK__PARTS_ID_MAX + 1];
  int parent; /* -1: installed in the vehicle */
  unsigned depth;
  uint32_t total; /* what its "C/" record says is under it */
  uint32_t size;  /* what the walk found under it */
};

struct walk {
  const struct blok_parts_state *s;
  struct blok_why *why;
  char vin[BLOK_VIN_LEN + 1];
  size_t count;
  struct node n[BLOK_PARTS_VEHICLE_PARTS_MAX];
  size_t cand_count;
  char cand[BLOK_PARTS_RECALLS_MAX][BLOK__PARTS_ID_MAX + 1];
  struct blok__installed inst;
  struct blok__rlist list;
  struct blok__ppay recall;
};

static enum blok_err get(struct walk *w, const uint8_t *k, size_t kl, bool *found,
                         const uint8_t **v, size_t *n) {
  *found = false;
  *v = NULL;
  *n = 0;
  return w->s->get(w->s->ctx, k, kl, found, v, n, w->why);
}

/* --- 1. the parts tree -------------------------------------------------------------------- */

static enum blok_err read_installed(struct walk *w, char tag, const char *id, bool *found) {
  uint8_t k[2 + BLOK_PARTS_SERIAL_MAX];
  const uint8_t *v;
  size_t n;
  w->inst.count = 0;
  w->inst.total = 0;
  BLOK_TRY(get(w, k, blok__parts_key(k, sizeof k, tag, id, strlen(id)), found, &v, &n));
  if (*found && blok__installed_decode(v, n, &w->inst) != BLOK_OK)
    return blok_refuse(w->why, BLOK_ESTORE, "the record of the parts in %s does not decode", id);
  return BLOK_OK;
}

static enum blok_err add_children(struct walk *w, int parent) {
  unsigned depth = parent < 0 ? 1 : w->n[parent].depth + 1;
  if (w->inst.count > 0 && depth > BLOK_PARTS_DEPTH_MAX)
    return blok_refuse(w->why, BLOK_ESTORE, "parts in %s nest deeper than %d", w->n[parent].serial,
                       BLOK_PARTS_DEPTH_MAX);
  for (size_t i = 0; i < w->inst.count; i++) {
    if (w->count == BLOK_PARTS_VEHICLE_PARTS_MAX)
      return blok_refuse(w->why, BLOK_ETOOLONG, "vin %s holds more than %d parts", w->vin,
                         BLOK_PARTS_VEHICLE_PARTS_MAX);
    struct node *e = &w->n[w->count++];
    memset(e, 0, sizeof *e);
    memcpy(e->serial, w->inst.e[i].serial, sizeof e->serial);
    memcpy(e->batch, w->inst.e[i].batch, sizeof e->batch);
    e->parent = parent;
    e->depth = depth;
  }
  return BLOK_OK;
}

static enum blok_err read_tree(struct walk *w) {
  bool found;
  w->count = 0;
  BLOK_TRY(read_installed(w, 'V', w->vin, &found));
  uint32_t total = w->inst.total;
  if (total > BLOK_PARTS_VEHICLE_PARTS_MAX)
    return blok_refuse(w->why, BLOK_ETOOLONG, "vin %s holds %u parts; at most %d are walked",
                       w->vin, total, BLOK_PARTS_VEHICLE_PARTS_MAX);
  BLOK_TRY(add_children(w, -1));
  for (size_t i = 0; i < w->count; i++) {
    BLOK_TRY(read_installed(w, 'C', w->n[i].serial, &found));
    w->n[i].total = w->inst.total;
    BLOK_TRY(add_children(w, (int)i));
  }
  /* Children come after their parent, so one pass backwards sums every subtree. */
  for (size_t i = w->count; i-- > 0;) {
    if (w->n[i].size != w->n[i].total)
      return blok_refuse(w->why, BLOK_ESTORE, "part %s counts %u parts in it; %u are there",
                         w->n[i].serial, w->n[i].total, w->n[i].size);
    if (w->n[i].parent >= 0) w->n[w->n[i].parent].size += 1 + w->n[i].size;
  }
  if (total != (uint32_t)w->count)
    return blok_refuse(w->why, BLOK_ESTORE, "vin %s counts %u parts; %zu are there", w->vin, total,
                       w->count);
  return BLOK_OK;
}

/* --- 2-5. the recalls listed for the tree and the VIN ------------------------------------- */

static enum blok_err add_candidate(struct walk *w, const char *id) {
  size_t at = 0;
  while (at < w->cand_count && strcmp(w->cand[at], id) < 0)
    at++;
  if (at < w->cand_count && strcmp(w->cand[at], id) == 0) return BLOK_OK;
  if (w->cand_count == BLOK_PARTS_RECALLS_MAX)
    return blok_refuse(w->why, BLOK_ETOOLONG, "more than %d recalls are listed for vin %s",
                       BLOK_PARTS_RECALLS_MAX, w->vin);
  memmove(&w->cand[at + 1], &w->cand[at], (w->cand_count - at) * sizeof w->cand[0]);
  snprintf(w->cand[at], sizeof w->cand[at], "%s", id);
  w->cand_count++;
  return BLOK_OK;
}

/* Reads a recall list (empty when absent). */
static enum blok_err read_list(struct walk *w, const uint8_t *k, size_t kl,
                               enum blok__rlist_kind kind) {
  const uint8_t *v;
  size_t n;
  bool found;
  w->list.count = 0;
  BLOK_TRY(get(w, k, kl, &found, &v, &n));
  if (found && blok__rlist_decode(v, n, kind, &w->list) != BLOK_OK)
    return blok_refuse(w->why, BLOK_ESTORE, "a recall list of the state does not decode");
  return BLOK_OK;
}

static enum blok_err read_ids(struct walk *w, const char *tag, const char *id) {
  uint8_t k[3 + BLOK__PARTS_ID_MAX];
  BLOK_TRY(read_list(w, k, blok__parts_tkey(k, sizeof k, tag, id, strlen(id)), BLOK__RL_IDS));
  for (size_t i = 0; i < w->list.count; i++)
    BLOK_TRY(add_candidate(w, w->list.e[i].recall));
  return BLOK_OK;
}

/* The index of the first node with the same batch (by), part number, or serial prefix and
 * width as node i: i itself when it is the first. */
enum by { BY_BATCH, BY_PART_NUMBER, BY_PREFIX };

static bool same(const struct node *a, const struct node *b, enum by by) {
  if (by == BY_BATCH) return strcmp(a->batch, b->batch) == 0;
  if (by == BY_PART_NUMBER) return strcmp(a->part_number, b->part_number) == 0;
  struct blok__psplit x, y;
  bool ox = blok__parts_split(a->serial, strlen(a->serial), &x);
  bool oy = blok__parts_split(b->serial, strlen(b->serial), &y);
  return ox && oy && x.width == y.width && x.prefix_len == y.prefix_len &&
         memcmp(a->serial, b->serial, x.prefix_len) == 0;
}

static bool first_of(const struct walk *w, size_t i, enum by by) {
  for (size_t j = 0; j < i; j++)
    if (same(&w->n[j], &w->n[i], by)) return false;
  return true;
}

static enum blok_err read_batch(struct walk *w, size_t i) {
  static _Thread_local struct blok__batch b;
  uint8_t k[2 + BLOK__PARTS_ID_MAX];
  const uint8_t *v;
  size_t n;
  bool found;
  const char *id = w->n[i].batch;
  BLOK_TRY(get(w, k, blok__parts_key(k, sizeof k, 'b', id, strlen(id)), &found, &v, &n));
  if (!found)
    return blok_refuse(w->why, BLOK_ESTORE, "batch %s of part %s has no record", id,
                       w->n[i].serial);
  if (blok__batch_decode(v, n, &b) != BLOK_OK || strcmp(b.id, id) != 0)
    return blok_refuse(w->why, BLOK_ESTORE, "the record of batch %s does not decode", id);
  for (size_t j = i; j < w->count; j++)
    if (strcmp(w->n[j].batch, id) == 0) memcpy(w->n[j].part_number, b.part_number, 33);
  return read_ids(w, "rb", id);
}

/* The serial ranges under node i's prefix and width; a range holding a part's number of the
 * same prefix and width lists its recall. */
static enum blok_err read_ranges(struct walk *w, size_t i) {
  struct blok__psplit sp;
  uint8_t k[4 + BLOK_PARTS_SERIAL_MAX];
  const char *s = w->n[i].serial;
  if (!blok__parts_split(s, strlen(s), &sp)) return BLOK_OK; /* no range holds it */
  BLOK_TRY(read_list(w, k, blok__parts_rs_key(k, sizeof k, sp.width, s, sp.prefix_len),
                     BLOK__RL_SERIALS));
  for (size_t e = 0; e < w->list.count; e++)
    for (size_t j = i; j < w->count; j++) {
      struct blok__psplit q;
      if (same(&w->n[j], &w->n[i], BY_PREFIX) &&
          blok__parts_split(w->n[j].serial, strlen(w->n[j].serial), &q) &&
          w->list.e[e].first <= q.number && q.number <= w->list.e[e].last) {
        BLOK_TRY(add_candidate(w, w->list.e[e].recall));
        break;
      }
    }
  return BLOK_OK;
}

static enum blok_err read_vins(struct walk *w) {
  uint8_t k[3 + 3];
  BLOK_TRY(read_list(w, k, blok__parts_tkey(k, sizeof k, "rv", w->vin, 3), BLOK__RL_VINS));
  for (size_t e = 0; e < w->list.count; e++)
    if (strcmp(w->list.e[e].from, w->vin) <= 0 && strcmp(w->vin, w->list.e[e].to) <= 0)
      BLOK_TRY(add_candidate(w, w->list.e[e].recall));
  return BLOK_OK;
}

static enum blok_err read_lists(struct walk *w) {
  w->cand_count = 0;
  for (size_t i = 0; i < w->count; i++)
    if (first_of(w, i, BY_BATCH)) BLOK_TRY(read_batch(w, i));
  for (size_t i = 0; i < w->count; i++)
    if (first_of(w, i, BY_PART_NUMBER)) BLOK_TRY(read_ids(w, "rp", w->n[i].part_number));
  for (size_t i = 0; i < w->count; i++)
    if (first_of(w, i, BY_PREFIX)) BLOK_TRY(read_ranges(w, i));
  return read_vins(w);
}

/* --- 6. each listed recall ---------------------------------------------------------------- */

static bool text_is(const struct blok__ptext *a, const char *b) {
  return strlen(b) == a->len && memcmp(a->s, b, a->len) == 0;
}

static bool scope_hits_part(const struct blok__pscope *s, const struct node *e) {
  struct blok__psplit sp;
  if (s->type == BLOK__SCOPE_BATCH) return text_is(&s->id, e->batch);
  if (s->type == BLOK__SCOPE_PART_NUMBER) return text_is(&s->id, e->part_number);
  if (s->type != BLOK__SCOPE_SERIALS) return false;
  return blok__parts_split(e->serial, strlen(e->serial), &sp) &&
         sp.prefix_len == s->range.prefix.len &&
         memcmp(e->serial, s->range.prefix.s, sp.prefix_len) == 0 && sp.width == s->range.width &&
         sp.number >= s->range.first && sp.number - s->range.first < s->range.count;
}

/* The first part in the tree's order a scope of the recall reaches (-1: none); *vin when a
 * VIN range holds the vehicle. */
static int recall_hit(const struct walk *w, const struct blok__ppay *p, bool *vin) {
  *vin = false;
  for (size_t s = 0; s < p->scope_count; s++)
    if (p->scopes[s].type == BLOK__SCOPE_VINS && strcmp(p->scopes[s].vin_from, w->vin) <= 0 &&
        strcmp(w->vin, p->scopes[s].vin_to) <= 0)
      *vin = true;
  for (size_t i = 0; i < w->count; i++)
    for (size_t s = 0; s < p->scope_count; s++)
      if (scope_hits_part(&p->scopes[s], &w->n[i])) return (int)i;
  return -1;
}

/* The recall's record: u64 height || text<64> maker || fixed[32] maker key || the payload. */
static enum blok_err read_recall(struct walk *w, const char *id) {
  uint8_t k[2 + BLOK__PARTS_ID_MAX], key[32];
  const uint8_t *v;
  size_t n, ml;
  bool found;
  const char *maker;
  uint64_t h;
  struct blok_reader rd;
  struct blok_why ignored = {{0}};
  BLOK_TRY(get(w, k, blok__parts_key(k, sizeof k, 'r', id, strlen(id)), &found, &v, &n));
  if (!found) return blok_refuse(w->why, BLOK_ESTORE, "recall %s is listed but has no record", id);
  blok_reader_init(&rd, v, n);
  if (blok_dec_u64(&rd, &h) || blok_dec_text(&rd, &maker, &ml, BLOK_NAME_MAX) ||
      blok_dec_fixed(&rd, key, 32) ||
      blok__ppay_decode(BLOK__PK_RECALL, v + rd.pos, n - rd.pos, &w->recall, &ignored) ||
      !text_is(&w->recall.recall, id))
    return blok_refuse(w->why, BLOK_ESTORE, "the record of recall %s does not decode", id);
  return BLOK_OK;
}

static bool vehicle_fits(const struct blok__ppay *p, const char *model, uint16_t year) {
  if (p->model.len > 0 && !text_is(&p->model, model)) return false;
  if (p->year_from && year < p->year_from) return false;
  return !(p->year_to && year > p->year_to);
}

static void open_recall(const struct walk *w, const char *id, int hit,
                        struct blok_parts_open_recall *o) {
  const struct blok__ppay *p = &w->recall;
  memset(o, 0, sizeof *o);
  snprintf(o->recall, sizeof o->recall, "%s", id);
  snprintf(o->reason, sizeof o->reason, "%.*s", (int)p->reason.len, p->reason.s);
  snprintf(o->remedy, sizeof o->remedy, "%.*s", (int)p->remedy.len, p->remedy.s);
  o->depth = hit < 0 ? 0 : w->n[hit].depth;
  for (int i = hit, d = (int)o->depth; i >= 0; i = w->n[i].parent)
    memcpy(o->path[--d], w->n[i].serial, sizeof o->path[0]);
}

static enum blok_err read_recalls(struct walk *w, const char *model, uint16_t year,
                                  struct blok_parts_open_recall *out, size_t max, size_t *count) {
  char key[BLOK__PARTS_ID_MAX + 1 + BLOK_VIN_LEN + 1];
  uint8_t k[2 + sizeof key];
  const uint8_t *v;
  size_t n;
  for (size_t c = 0; c < w->cand_count; c++) {
    const char *id = w->cand[c];
    bool vin, done;
    BLOK_TRY(read_recall(w, id));
    int hit = recall_hit(w, &w->recall, &vin);
    if (hit < 0 && !vin)
      return blok_refuse(w->why, BLOK_ESTORE,
                         "recall %s is listed for vin %s but none of its scopes reaches it", id,
                         w->vin);
    if (!vehicle_fits(&w->recall, model, year)) continue;
    int kl = snprintf(key, sizeof key, "%s/%s", id, w->vin);
    BLOK_ASSERT(kl > 0 && (size_t)kl < sizeof key);
    BLOK_TRY(get(w, k, blok__parts_key(k, sizeof k, 'm', key, (size_t)kl), &done, &v, &n));
    if (done) continue;
    if (*count == max)
      return blok_refuse(w->why, BLOK_ETOOLONG, "vin %s has more than %zu open recalls", w->vin,
                         max);
    open_recall(w, id, hit, &out[(*count)++]);
  }
  return BLOK_OK;
}

enum blok_err blok_parts_vehicle_recalls(const struct blok_parts_state *s, const char vin[17],
                                         const char *model, uint16_t model_year,
                                         struct blok_parts_open_recall *out, size_t max,
                                         size_t *count, struct blok_why *why) {
  *count = 0;
  if (max > BLOK_PARTS_RECALLS_MAX) return BLOK_EINVAL;
  struct walk *w = malloc(sizeof *w);
  if (w == NULL) return BLOK_ENOMEM;
  memset(w, 0, offsetof(struct walk, n));
  w->s = s;
  w->why = why;
  memcpy(w->vin, vin, BLOK_VIN_LEN);
  w->vin[BLOK_VIN_LEN] = '\0';
  enum blok_err rc = read_tree(w);
  if (rc == BLOK_OK) rc = read_lists(w);
  if (rc == BLOK_OK) rc = read_recalls(w, model, model_year, out, max, count);
  if (rc != BLOK_OK) *count = 0;
  free(w);
  return rc;
}
