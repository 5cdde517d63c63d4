/*
 * The vehicle routes of the API (docs/API.md, "Vehicles"):
 *
 *   GET /v1/vehicles/{vin}           the record, its state-tree proof and the vPIC decoding
 *   GET /v1/vehicles/{vin}/history   a page of the history index
 *   GET /v1/vehicles/{vin}/report    the verifiable report bundle (blok/report.h)
 *
 * Each read uses one LMDB read transaction, so the record, its proof and the page agree. The
 * vPIC database (optional, not consensus) is opened once, read-only, on the first request that
 * needs it, and shared under a mutex: a struct blok_vpic belongs to one thread at a time. When it
 * cannot be opened the node answers without decoding until it restarts (no retry per request).
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "blok/report.h"
#include "blok/vehicle.h"
#include "blok/vin.h"
#include "blok/vpic.h"
#include "blok/banned.h"

#define HISTORY_LIMIT_DEFAULT 50

void blok__vehicles_init(struct blok_api *a) {
  pthread_mutex_init(&a->vpic_mu, NULL);
  memset(&a->vpic, 0, sizeof a->vpic);
  a->vpic_state = 0;
}

void blok__vehicles_release(struct blok_api *a) {
  blok_vpic_close(&a->vpic);
  pthread_mutex_destroy(&a->vpic_mu);
}

/* The vPIC decoding of the VIN's WMI, or JSON null when the database is unavailable or does
 * not list the WMI. */
static json_t *vpic_json(struct blok_api *a, const struct blok_vin *vin) {
  struct blok_vpic_wmi w;
  enum blok_err rc = BLOK_EUNAVAIL;
  pthread_mutex_lock(&a->vpic_mu);
  if (a->vpic_state == 0)
    a->vpic_state = blok_vpic_open(&a->vpic, blok_vpic_default_path()) == BLOK_OK ? 1 : -1;
  if (a->vpic_state == 1) rc = blok_vpic_lookup_vin(&a->vpic, &w, vin);
  pthread_mutex_unlock(&a->vpic_mu);
  if (rc != BLOK_OK) return json_null();
  return json_pack("{s:s, s:s, s:s, s:s, s:s}", "wmi", w.wmi, "manufacturer", w.manufacturer,
                   "make", w.make, "country", w.country, "vehicle_type", w.vehicle_type);
}

/* The VIN of the path, parsed; false with a 400 reply when it is not valid. */
static bool parse_vin(const char *text, size_t len, struct blok_vin *vin, struct blok__reply *r) {
  struct blok_vin_problem p;
  if (blok_vin_parse(vin, &p, text, len) == BLOK_OK) return true;
  char why[BLOK_VIN_PROBLEM_MAX];
  blok_vin_problem_describe(why, sizeof why, &p);
  blok__reply_error(r, 400, BLOK_EVIN, "vin: %s", why);
  return false;
}

static void not_registered(struct blok__reply *r, const char *vin) {
  blok__reply_error(r, 404, BLOK_ENOTFOUND, "vin: %s is not registered", vin);
}

/* --- GET /v1/vehicles/{vin} --------------------------------------------------------------- */

static json_t *record_json(struct blok_api *a, const struct blok_vin *vin,
                           const struct blok_buf *value, const struct blok_smt_proof *p,
                           const struct blok_header *h, const uint8_t key[19]) {
  struct blok_vehicle_record rec;
  uint8_t tk[32];
  if (blok_vehicle_record_decode(value->data, value->len, &rec) != BLOK_OK ||
      blok_state_key(tk, BLOK_VEHICLE_MODULE, key, 19) != BLOK_OK)
    return NULL;
  return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "vin", vin->vin, "vehicle",
                   blok_vehicle_record_to_json(&rec), "record",
                   blok__json_hex(value->data, value->len), "height", blok__json_u64(h->height),
                   "state_root", blok__json_hex(h->state_root, 32), "tree_key",
                   blok__json_hex(tk, 32), "proof", blok__json_smt_proof(p), "vpic",
                   vpic_json(a, vin));
}

static void route_record(struct blok_api *a, const struct blok_vin *vin, struct blok__reply *r) {
  uint8_t key[19];
  bool found = false;
  struct blok_buf value;
  struct blok_header h;
  struct blok_smt_proof *p = malloc(sizeof *p);
  blok_vehicle_state_key(key, vin->vin);
  blok_buf_init(&value, BLOK_STATE_VALUE_MAX);
  enum blok_err rc = p ? blok_ledger_state(a->d.ledger, BLOK_VEHICLE_MODULE, key, sizeof key,
                                           &found, &value, p, &h)
                       : BLOK_ENOMEM;
  if (rc != BLOK_OK)
    blok__reply_error(r, 500, rc, "vehicle: %s", blok_strerror(rc));
  else if (!found)
    not_registered(r, vin->vin);
  else
    blok__reply_json(r, 200, record_json(a, vin, &value, p, &h, key));
  free(p);
  blok_buf_release(&value);
}

/* --- GET /v1/vehicles/{vin}/history ------------------------------------------------------- */

struct page_args {
  uint64_t cursor;
  size_t limit;
  bool descending;
};

static bool page_args(const struct blok__query *q, struct page_args *pa, struct blok__reply *r) {
  uint64_t limit = HISTORY_LIMIT_DEFAULT;
  pa->cursor = 0;
  pa->descending = false;
  if (q->cursor != NULL && !blok__parse_u64(q->cursor, &pa->cursor)) {
    blok__reply_error(r, 400, BLOK_ERANGE, "cursor: a decimal number below 2^64 is required");
    return false;
  }
  if (q->limit != NULL &&
      (!blok__parse_u64(q->limit, &limit) || limit == 0 || limit > BLOK_VEHICLE_HISTORY_PAGE_MAX)) {
    blok__reply_error(r, 400, BLOK_ERANGE, "limit: a number from 1 to %d is required",
                      BLOK_VEHICLE_HISTORY_PAGE_MAX);
    return false;
  }
  if (q->order != NULL && strcmp(q->order, "asc") != 0 && strcmp(q->order, "desc") != 0) {
    blok__reply_error(r, 400, BLOK_EINVAL, "order: asc or desc is required");
    return false;
  }
  pa->limit = (size_t)limit;
  pa->descending = q->order != NULL && strcmp(q->order, "desc") == 0;
  return true;
}

static json_t *event_json(const struct blok_vehicle_event *e) {
  return json_pack("{s:o, s:o, s:o, s:I, s:o, s:o, s:s, s:s, s:b, s:o}", "n", blok__json_u64(e->n),
                   "height", blok__json_u64(e->height), "time_ms", blok__json_u64(e->time_ms),
                   "position", (json_int_t)e->position, "tx_id", blok__json_hex(e->tx_id, 32),
                   "signer", blok__json_hex(e->signer, 32), "signer_name", e->signer_name,
                   "signer_role", e->signer_role, "rollback", (int)e->rollback, "previous_high_km",
                   blok__json_u64(e->previous_high_km));
}

static json_t *page_json(const struct blok_vin *vin, const struct page_args *pa,
                         const struct blok_vehicle_record *rec, const struct blok_vehicle_event *ev,
                         size_t n, uint64_t next) {
  json_t *events = json_array();
  for (size_t i = 0; events && i < n; i++)
    if (json_array_append_new(events, event_json(&ev[i])) != 0) {
      json_decref(events);
      return NULL;
    }
  return json_pack("{s:s, s:s, s:o, s:o, s:o}", "vin", vin->vin, "order",
                   pa->descending ? "desc" : "asc", "event_count", blok__json_u64(rec->event_count),
                   "events", events, "next_cursor", next ? blok__json_u64(next) : json_null());
}

/* The record and a page of events, from one read transaction. */
static enum blok_err read_page(struct blok_api *a, const struct blok_vin *vin,
                               const struct page_args *pa, struct blok_vehicle_record *rec,
                               struct blok_vehicle_event *ev, size_t *n, uint64_t *next) {
  uint8_t key[19], tk[32];
  const uint8_t *v;
  size_t len;
  struct blok_txn *t;
  blok_vehicle_state_key(key, vin->vin);
  BLOK_TRY(blok_state_key(tk, BLOK_VEHICLE_MODULE, key, sizeof key));
  BLOK_TRY(blok_store_read_begin(blok_ledger_store(a->d.ledger), &t));
  enum blok_err rc = blok_state_get(t, tk, &v, &len);
  if (rc == BLOK_OK)
    rc = blok_vehicle_record_decode(v, len, rec) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
  if (rc == BLOK_OK)
    rc = blok_vehicle_history(t, vin->vin, pa->cursor, pa->limit, pa->descending, ev, n, next);
  blok_store_read_end(t);
  return rc;
}

static void route_history(struct blok_api *a, const struct blok_vin *vin,
                          const struct blok__query *q, struct blok__reply *r) {
  struct page_args pa;
  if (!page_args(q, &pa, r)) return;
  struct blok_vehicle_record rec;
  struct blok_vehicle_event *ev = malloc(pa.limit * sizeof *ev);
  size_t n = 0;
  uint64_t next = 0;
  enum blok_err rc = ev ? read_page(a, vin, &pa, &rec, ev, &n, &next) : BLOK_ENOMEM;
  if (rc == BLOK_ENOTFOUND)
    not_registered(r, vin->vin);
  else if (rc != BLOK_OK)
    blok__reply_error(r, 500, rc, "history: %s", blok_strerror(rc));
  else
    blok__reply_json(r, 200, page_json(vin, &pa, &rec, ev, n, next));
  free(ev);
}

/* --- GET /v1/vehicles/{vin}/report -------------------------------------------------------- */

static void route_report(struct blok_api *a, const struct blok_vin *vin, struct blok__reply *r) {
  struct blok_why why = {{0}};
  json_t *bundle = NULL;
  enum blok_err rc = blok_report_build(a->d.ledger, vin->vin, &bundle, &why);
  if (rc == BLOK_OK)
    blok__reply_json(r, 200, bundle);
  else if (rc == BLOK_ENOTFOUND)
    not_registered(r, vin->vin);
  else if (rc == BLOK_ETOOLONG)
    blok__reply_error(r, 422, rc, "%s", why.msg[0] ? why.msg : blok_strerror(rc));
  else
    blok__reply_refusal(r, rc, &why);
}

/* --- routing ------------------------------------------------------------------------------ */

void blok__route_vehicle(struct blok_api *a, const char *rest, const struct blok__query *q,
                         struct blok__reply *r) {
  const char *slash = strchr(rest, '/');
  size_t vin_len = slash ? (size_t)(slash - rest) : strlen(rest);
  const char *sub = slash ? slash + 1 : "";
  if (strcmp(sub, "") != 0 && strcmp(sub, "history") != 0 && strcmp(sub, "report") != 0) {
    blok__reply_error(r, 404, BLOK_ENOTFOUND,
                      "path: /v1/vehicles/{vin}, {vin}/history or {vin}/report is required");
    return;
  }
  if (slash != NULL && sub[0] == '\0') {
    blok__reply_error(r, 404, BLOK_ENOTFOUND, "path: no route");
    return;
  }
  struct blok_vin vin;
  if (!parse_vin(rest, vin_len, &vin, r)) return;
  if (sub[0] == '\0')
    route_record(a, &vin, r);
  else if (strcmp(sub, "history") == 0)
    route_history(a, &vin, q, r);
  else
    route_report(a, &vin, r);
}
