/*
 * The parts routes of the API (docs/API.md, "Parts"): a part and its history, a batch with its
 * genealogy and sourcing status, a recall with its counts and a page of its reach, and a
 * vehicle's parts with its open recalls. Each reads one read transaction through the parts
 * module's JSON queries (blok/parts.h); pages take `cursor` (hex, from the previous page's
 * next_cursor) and `limit` (1..1000, default 100).
 */
#include <string.h>

#include "api_internal.h"
#include "blok/ledger.h"
#include "blok/parts.h"
#include "blok/vin.h"
#include "blok/banned.h"

#define PARTS_LIMIT_DEFAULT 100

static bool limit_arg(const struct blok__query *q, size_t *limit, struct blok__reply *r) {
  uint64_t v = PARTS_LIMIT_DEFAULT;
  if (q->limit != NULL && (!blok__parse_u64(q->limit, &v) || v == 0 || v > BLOK_PARTS_PAGE_MAX)) {
    blok__reply_error(r, 400, BLOK_ERANGE, "limit: a number from 1 to %d is required",
                      BLOK_PARTS_PAGE_MAX);
    return false;
  }
  *limit = (size_t)v;
  return true;
}

/* The sub-path a route ends with ("/history", "/parts"), cut off rest; NULL when none. */
static bool ends_with(const char *s, size_t *len, const char *tail) {
  size_t n = strlen(s), t = strlen(tail);
  if (n <= t || strcmp(s + n - t, tail) != 0) return false;
  *len = n - t;
  return true;
}

static void answer(struct blok__reply *r, enum blok_err rc, json_t *j, const char *what,
                   const char *id) {
  if (rc == BLOK_OK)
    blok__reply_json(r, 200, j);
  else if (rc == BLOK_ENOTFOUND)
    blok__reply_error(r, 404, rc, "%s: %.64s is not registered", what, id);
  else if (rc == BLOK_EINVAL)
    blok__reply_error(r, 400, rc, "%s: %.64s or the cursor is not valid", what, id);
  else
    blok__reply_error(r, blok__api_status(rc), rc, "%s: %s", what, blok_strerror(rc));
}

enum which { PART, HISTORY, BATCH, RECALL, VEHICLE };

static enum blok_err run(struct blok_txn *t, enum which w, const char *id, const char *cursor,
                         size_t limit, json_t **out) {
  switch (w) {
    case PART:
      return blok_parts_part_json(t, id, out);
    case HISTORY:
      return blok_parts_history_json(t, id, cursor, limit, out);
    case BATCH:
      return blok_parts_batch_json(t, id, out);
    case RECALL:
      return blok_parts_recall_json(t, id, cursor, limit, out);
    default:
      return blok_parts_vehicle_json(t, id, cursor, limit, out);
  }
}

static void query(struct blok_api *a, enum which w, const char *id, const struct blok__query *q,
                  struct blok__reply *r) {
  static const char *const what[] = {"serial", "serial", "batch", "recall", "vin"};
  struct blok_txn *t;
  json_t *j = NULL;
  size_t limit;
  if (!limit_arg(q, &limit, r)) return;
  enum blok_err rc = blok_store_read_begin(blok_ledger_store(a->d.ledger), &t);
  if (rc == BLOK_OK) {
    rc = run(t, w, id, q->cursor, limit, &j);
    blok_store_read_end(t);
  }
  answer(r, rc, j, what[w], id);
}

void blok__route_parts(struct blok_api *a, char what, const char *rest, const struct blok__query *q,
                       struct blok__reply *r) {
  char id[BLOK_PARTS_SERIAL_MAX + 1];
  size_t n = strlen(rest);
  enum which w = what == 'b' ? BATCH : what == 'r' ? RECALL : PART;
  if (w == PART && ends_with(rest, &n, "/history")) w = HISTORY;
  if (n == 0 || n > BLOK_PARTS_SERIAL_MAX) {
    blok__reply_error(r, 404, BLOK_ENOTFOUND, "path: an id of 1 to %d characters is required",
                      BLOK_PARTS_SERIAL_MAX);
    return;
  }
  memcpy(id, rest, n);
  id[n] = '\0';
  query(a, w, id, q, r);
}

bool blok__route_vehicle_parts(struct blok_api *a, const char *rest, const struct blok__query *q,
                               struct blok__reply *r) {
  struct blok_vin v;
  size_t n;
  if (!ends_with(rest, &n, "/parts")) return false;
  if (blok_vin_parse(&v, NULL, rest, n) != BLOK_OK) {
    blok__reply_error(r, 400, BLOK_EVIN, "vin: %.*s is not a valid vin", (int)(n > 17 ? 17 : n),
                      rest);
    return true;
  }
  query(a, VEHICLE, v.vin, q, r);
  return true;
}
