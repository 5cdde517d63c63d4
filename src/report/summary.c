/*
 * The summary of a report (blok/report.h; docs/PROTOCOL.md, "Report bundle"): what a person
 * reads. It is computed from the vehicle's record, its events and the genesis members only, so a
 * verifier computes the same one and can require the bundle's to be equal.
 *
 * The counts, status, brands, lien and odometer come from the record, which the state proof
 * makes authentic. The lines come from replaying the events in order: the replay tracks the
 * owner key and the vehicle key (to name a signer that is no member) and the highest odometer
 * reading (to say which reading was a rollback), by the rules of "Vehicles". Every string is
 * built with fixed formats and no locale, so the same input gives the same bytes everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blok/consortium.h"
#include "blok/hex.h"
#include "report_internal.h"
#include "blok/banned.h"

/* Hex digits of a key shown for a key that is no member. */
#define KEY_PREFIX_HEX 16
#define LINE_MAX_BYTES 512

json_t *blok__report_json_u64(uint64_t v) {
  if (v <= (uint64_t)INT64_MAX) return json_integer((json_int_t)v);
  char s[24];
  snprintf(s, sizeof s, "%llu", (unsigned long long)v);
  return json_string(s);
}

json_t *blok__report_json_hex(const uint8_t *data, size_t n) {
  char *s = malloc(BLOK_HEX_LEN(n));
  if (s == NULL) return NULL;
  blok_hex_encode(s, BLOK_HEX_LEN(n), data, n);
  json_t *j = json_stringn(s, 2 * n);
  free(s);
  return j;
}

const struct blok_tx_kind *blok__report_kind(const char *type) {
  for (size_t i = 0; i < blok_vehicle_module.kind_count; i++)
    if (strcmp(blok_vehicle_module.kinds[i].type, type) == 0) return &blok_vehicle_module.kinds[i];
  return NULL;
}

/* --- time --------------------------------------------------------------------------------- */

/* Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day count from
 * 1970-01-01, exact for every day a u64 of milliseconds can name. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  uint64_t doe = (uint64_t)(z - era * 146097);
  uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  uint64_t mp = (5 * doy + 2) / 153;
  *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void blok_report_time(char out[BLOK_REPORT_TIME_MAX], uint64_t time_ms) {
  uint64_t s = time_ms / 1000;
  int64_t y;
  unsigned mo, d;
  civil_from_days((int64_t)(s / 86400), &y, &mo, &d);
  unsigned sod = (unsigned)(s % 86400);
  snprintf(out, BLOK_REPORT_TIME_MAX, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, mo, d,
           sod / 3600, sod / 60 % 60, sod % 60);
}

/* --- signers ------------------------------------------------------------------------------ */

struct signer {
  uint8_t key[32];
  const char *name; /* into the genesis document */
  const char *role;
};

struct members {
  struct signer *v;
  size_t n;
};

static int signer_cmp(const void *a, const void *b) {
  return memcmp(((const struct signer *)a)->key, ((const struct signer *)b)->key, 32);
}

/* A member's first role: the lowest role bit it has (as the history index names it). */
static const char *first_role(const json_t *roles) {
  unsigned best = BLOK_ROLE_COUNT;
  size_t i;
  const json_t *v;
  json_array_foreach(roles, i, v) {
    enum blok_role r;
    const char *s = json_string_value(v);
    if (s != NULL && blok_role_parse(s, &r) == BLOK_OK && (unsigned)r < best) best = (unsigned)r;
  }
  return best < BLOK_ROLE_COUNT ? blok_role_name((enum blok_role)best) : "member";
}

static enum blok_err members_add(struct members *m, size_t cap, const json_t *member) {
  const char *name = json_string_value(json_object_get(member, "name"));
  const char *role = first_role(json_object_get(member, "roles"));
  size_t i;
  const json_t *k;
  json_array_foreach(json_object_get(member, "keys"), i, k) {
    const char *hex = json_string_value(k);
    if (name == NULL || hex == NULL || m->n >= cap) return BLOK_EFORMAT;
    struct signer *s = &m->v[m->n];
    if (blok_hex_decode_exact(s->key, 32, hex, strlen(hex)) != BLOK_OK) return BLOK_EFORMAT;
    s->name = name;
    s->role = role;
    m->n++;
  }
  return BLOK_OK;
}

/* Every member key of the genesis, sorted for lookup. The genesis was checked when it was
 * parsed; a document that is not what that check allows is BLOK_EFORMAT. */
static enum blok_err members_load(const struct blok_genesis *g, struct members *m) {
  const json_t *list = json_object_get(json_object_get(g->doc, "consortium"), "members");
  size_t cap = 0, i;
  const json_t *member;
  memset(m, 0, sizeof *m);
  json_array_foreach(list, i, member) cap += json_array_size(json_object_get(member, "keys"));
  if (cap == 0) return BLOK_OK;
  if ((m->v = calloc(cap, sizeof *m->v)) == NULL) return BLOK_ENOMEM;
  json_array_foreach(list, i, member) BLOK_TRY(members_add(m, cap, member));
  qsort(m->v, m->n, sizeof *m->v, signer_cmp);
  return BLOK_OK;
}

static const struct signer *members_find(const struct members *m, const uint8_t key[32]) {
  struct signer probe;
  memcpy(probe.key, key, 32);
  return m->n ? bsearch(&probe, m->v, m->n, sizeof *m->v, signer_cmp) : NULL;
}

/* --- the replay --------------------------------------------------------------------------- */

struct replay {
  const struct members *members;
  uint8_t owner[32];
  bool has_vehicle_key;
  uint8_t vehicle_key[32];
  uint64_t high_km;
  bool has_reading;
};

/* A u64 field of a payload's JSON form: an integer, or a decimal string above 2^63 - 1. */
static uint64_t field_u64(const json_t *p, const char *name) {
  const json_t *v = json_object_get(p, name);
  if (json_is_integer(v) && json_integer_value(v) >= 0) return (uint64_t)json_integer_value(v);
  const char *s = json_string_value(v);
  return s ? strtoull(s, NULL, 10) : 0;
}

static const char *field_str(const json_t *p, const char *name) {
  const char *s = json_string_value(json_object_get(p, name));
  return s ? s : "";
}

/* The first KEY_PREFIX_HEX digits of a hex field ("" when absent). */
static void field_prefix(char out[KEY_PREFIX_HEX + 1], const json_t *p, const char *name) {
  snprintf(out, KEY_PREFIX_HEX + 1, "%s", field_str(p, name));
}

static void field_key(uint8_t out[32], bool *has, const json_t *p, const char *name) {
  const char *s = json_string_value(json_object_get(p, name));
  *has = s != NULL && blok_hex_decode_exact(out, 32, s, strlen(s)) == BLOK_OK;
  if (!*has) memset(out, 0, 32);
}

/* " [document 0123456789abcdef]" when the payload names a document, else "". */
static void document_note(char *out, size_t cap, const json_t *p, const char *field) {
  char pre[KEY_PREFIX_HEX + 1];
  field_prefix(pre, p, field);
  if (pre[0])
    snprintf(out, cap, " [%s %s]", strcmp(field, "certificate") ? "document" : "certificate", pre);
  else
    out[0] = '\0';
}

/* An odometer reading (odometer, inspection): the note on it, and the new highest. */
static void reading(struct replay *rp, uint64_t km, char *note, size_t cap) {
  rp->has_reading = true;
  if (km < rp->high_km) {
    snprintf(note, cap, ": rollback, below the highest reading %llu km",
             (unsigned long long)rp->high_km);
    return;
  }
  rp->high_km = km;
  note[0] = '\0';
}

static void text_register(struct replay *rp, const json_t *p, char *t, size_t cap) {
  char owner[KEY_PREFIX_HEX + 1], vk[KEY_PREFIX_HEX + 1];
  field_key(rp->owner, &(bool){false}, p, "owner");
  field_key(rp->vehicle_key, &rp->has_vehicle_key, p, "vehicle_key");
  field_prefix(owner, p, "owner");
  field_prefix(vk, p, "vehicle_key");
  snprintf(t, cap, "registered %llu %s %s; owner key %s%s%s",
           (unsigned long long)field_u64(p, "model_year"), field_str(p, "make"),
           field_str(p, "model"), owner, vk[0] ? "; vehicle key " : "", vk);
}

static void text_title(struct replay *rp, const char *kind, const json_t *p,
                       const struct blok_tx *tx, const char *signer, char *t, size_t cap) {
  char k[KEY_PREFIX_HEX + 1];
  if (strcmp(kind, "rotate_key") == 0) {
    field_key(rp->vehicle_key, &rp->has_vehicle_key, p, "vehicle_key");
    field_prefix(k, p, "vehicle_key");
    snprintf(t, cap, k[0] ? "vehicle key set to %s" : "vehicle key cleared%s", k);
  } else if (strcmp(kind, "transfer_offer") == 0) {
    field_prefix(k, p, "new_owner");
    snprintf(t, cap, "transfer offered to key %s, open until block %llu%s", k,
             (unsigned long long)field_u64(p, "expiry_height"),
             json_object_get(p, "consent") ? ", with the owner's consent" : "");
  } else if (strcmp(kind, "transfer_accept") == 0) {
    memcpy(rp->owner, tx->sender, 32);
    char hex[65];
    blok_hex_encode(hex, sizeof hex, tx->sender, 32);
    snprintf(t, cap, "ownership transferred to key %.*s", KEY_PREFIX_HEX, hex);
  } else if (strcmp(kind, "lien") == 0) {
    bool place = strcmp(field_str(p, "action"), "place") == 0;
    snprintf(t, cap, place ? "lien placed by %s" : "lien released%s", place ? signer : "");
  } else if (strcmp(kind, "brand") == 0) {
    snprintf(t, cap, "title branded %s", field_str(p, "brand"));
  } else {
    char doc[KEY_PREFIX_HEX + 32];
    document_note(doc, sizeof doc, p, "certificate");
    snprintf(t, cap, "end of life: vin retired%s", doc);
  }
}

static void text_history(struct replay *rp, const char *kind, const json_t *p, char *t,
                         size_t cap) {
  char doc[KEY_PREFIX_HEX + 32], note[96];
  document_note(doc, sizeof doc, p, "document");
  if (strcmp(kind, "odometer") == 0) {
    uint64_t km = field_u64(p, "km");
    reading(rp, km, note, sizeof note);
    snprintf(t, cap, "odometer %llu km%s", (unsigned long long)km, note);
  } else if (strcmp(kind, "cluster_replace") == 0) {
    rp->has_reading = true;
    rp->high_km = field_u64(p, "new_km");
    snprintf(t, cap, "instrument cluster replaced at %llu km; the new one reads %llu km%s",
             (unsigned long long)field_u64(p, "old_km"), (unsigned long long)rp->high_km, doc);
  } else if (strcmp(kind, "service") == 0 || strcmp(kind, "repair") == 0) {
    snprintf(t, cap, "%s: %s%s", kind, field_str(p, "summary"), doc);
  } else if (strcmp(kind, "accident") == 0) {
    snprintf(t, cap, "accident: %s%s%s%s", field_str(p, "severity"),
             json_is_true(json_object_get(p, "airbag_deployed")) ? ", airbag deployed" : "",
             json_is_true(json_object_get(p, "structural_damage")) ? ", structural damage" : "",
             doc);
  } else {
    uint64_t km = field_u64(p, "km");
    reading(rp, km, note, sizeof note);
    snprintf(t, cap, "inspection %s at %llu km%s%s",
             json_is_true(json_object_get(p, "passed")) ? "passed" : "failed",
             (unsigned long long)km, note, doc);
  }
}

/* The signer's name and role, as of after the event (so an accepted transfer's sender is the
 * owner): a genesis member's name and first role, else the owner, the vehicle, or a key. */
static void signer_of(const struct replay *rp, const uint8_t key[32], char *name, size_t cap,
                      const char **role) {
  const struct signer *s = members_find(rp->members, key);
  if (s != NULL) {
    snprintf(name, cap, "%s", s->name);
    *role = s->role;
  } else if (memcmp(key, rp->owner, 32) == 0) {
    snprintf(name, cap, "owner");
    *role = "owner";
  } else if (rp->has_vehicle_key && memcmp(key, rp->vehicle_key, 32) == 0) {
    snprintf(name, cap, "vehicle");
    *role = "vehicle";
  } else {
    char hex[65];
    blok_hex_encode(hex, sizeof hex, key, 32);
    snprintf(name, cap, "key %.*s", KEY_PREFIX_HEX, hex);
    *role = "other";
  }
}

static bool is_title_kind(const char *kind) {
  static const char *const title[] = {"rotate_key", "transfer_offer", "transfer_accept",
                                      "lien",       "brand",          "end_of_life"};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(title); i++)
    if (strcmp(kind, title[i]) == 0) return true;
  return false;
}

static json_t *event_line(struct replay *rp, uint64_t n, const struct blok_report_event *e) {
  const struct blok_tx_kind *kind = blok__report_kind(e->tx.type);
  json_t *p =
      kind && kind->to_json ? blok_kind_to_json(kind, e->tx.payload, e->tx.payload_len) : NULL;
  if (p == NULL) return NULL;
  const char *type = e->tx.type, *role;
  char text[LINE_MAX_BYTES], name[BLOK_NAME_MAX + 1], when[BLOK_REPORT_TIME_MAX];
  /* A lien's line names its holder, the sender, as it stood before the event. */
  signer_of(rp, e->tx.sender, name, sizeof name, &role);
  if (strcmp(type, "register") == 0)
    text_register(rp, p, text, sizeof text);
  else if (is_title_kind(type))
    text_title(rp, type, p, &e->tx, name, text, sizeof text);
  else
    text_history(rp, type, p, text, sizeof text);
  json_decref(p);
  signer_of(rp, e->tx.sender, name, sizeof name, &role);
  blok_report_time(when, e->time_ms);
  return json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:s}", "n", blok__report_json_u64(n), "height",
                   blok__report_json_u64(e->height), "time", when, "kind", type, "signer", name,
                   "role", role, "text", text);
}

/* --- the record's part -------------------------------------------------------------------- */

static json_t *brands_json(uint8_t brands) {
  static const char *const names[] = {"salvage", "flood", "rebuilt", "lemon", "junk"};
  json_t *a = json_array();
  for (unsigned i = 0; a && i < BLOK_ARRAY_LEN(names); i++)
    if (brands & (1u << i)) json_array_append_new(a, json_string(names[i]));
  return a;
}

static json_t *record_part(const struct blok_vehicle_record *r, bool has_reading) {
  json_t *lien = json_pack("{s:b, s:o}", "open", (int)r->lien_open, "holder",
                           r->lien_open ? json_string(r->lien_holder) : json_null());
  return json_pack("{s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "vin", r->vin,
                   "make", r->make, "model", r->model, "model_year", (int)r->model_year, "status",
                   r->status == BLOK_VEHICLE_RETIRED ? "retired" : "active", "owners",
                   (json_int_t)r->owners, "accidents", (json_int_t)r->accidents, "rollbacks",
                   (json_int_t)r->rollbacks, "brands", brands_json(r->brands), "lien", lien,
                   "odometer_km",
                   has_reading ? blok__report_json_u64(r->odometer_last_km) : json_null(),
                   "event_count", blok__report_json_u64(r->event_count));
}

/* --- open recalls ------------------------------------------------------------------------ */

static json_t *open_recalls_json(const struct blok_parts_open_recall *o, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++) {
    json_t *path = json_array();
    for (size_t d = 0; path && d < o[i].depth; d++)
      json_array_append_new(path, json_string(o[i].path[d]));
    json_t *e = path ? json_pack("{s:s, s:s, s:s, s:o}", "recall", o[i].recall, "reason",
                                 o[i].reason, "remedy", o[i].remedy, "path", path)
                     : NULL;
    if (e == NULL || json_array_append_new(a, e) != 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

enum blok_err blok_report_summary(const struct blok_genesis *g, const struct blok_vehicle_record *r,
                                  const struct blok_report_event *events, size_t n,
                                  const struct blok_parts_open_recall *recalls, size_t recall_count,
                                  json_t **out) {
  struct members m;
  *out = NULL;
  enum blok_err rc = members_load(g, &m);
  struct replay rp = {.members = &m};
  json_t *lines = rc == BLOK_OK ? json_array() : NULL;
  if (rc == BLOK_OK && lines == NULL) rc = BLOK_ENOMEM;
  for (size_t i = 0; rc == BLOK_OK && i < n; i++) {
    json_t *line = event_line(&rp, (uint64_t)i + 1, &events[i]);
    if (line == NULL || json_array_append_new(lines, line) != 0) rc = BLOK_EFORMAT;
  }
  json_t *s = rc == BLOK_OK ? record_part(r, rp.has_reading) : NULL;
  if (rc == BLOK_OK &&
      (s == NULL ||
       json_object_set_new(s, "open_recalls", open_recalls_json(recalls, recall_count)) != 0 ||
       json_object_set(s, "events", lines) != 0))
    rc = BLOK_ENOMEM;
  free(m.v);
  json_decref(lines);
  if (rc != BLOK_OK) {
    json_decref(s);
    return rc;
  }
  *out = s;
  return BLOK_OK;
}
