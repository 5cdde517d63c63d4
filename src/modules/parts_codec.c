/*
 * The parts module's formats (docs/PROTOCOL.md, "Parts"): the payloads in binary and JSON,
 * serial ranges, recall scopes and the batch and part records.
 *
 * As in vehicle_codec.c, the payloads are described by one table, a row of fields per kind,
 * and one decoder, encoder and JSON converter walk it, so each limit is written once and holds
 * the same way for a signed transaction, one built from JSON, and one shown back as JSON. The
 * checks here are stateless; what depends on state is in parts.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "blok/hex.h"
#include "blok/vin.h"
#include "parts_internal.h"
#include "blok/banned.h"

/* --- the payload table -------------------------------------------------------------------- */

enum pft {
  PF_ID,      /* text<max>, 1..max of [A-Za-z0-9._:/-] */
  PF_TEXT,    /* text<max>, 1..max bytes of UTF-8 without control characters */
  PF_TEXT0,   /* the same, and may be empty */
  PF_DATE,    /* u32 YYYYMMDD */
  PF_U32,     /* u32, at most max */
  PF_I32,     /* i32 (u32 two's complement), -1000..2000 (tenths of a degree Celsius) */
  PF_YEAR0,   /* u16 model year 1980..2100, or 0 for any */
  PF_ENUM,    /* u8, 1..count, named in JSON */
  PF_KEY,     /* fixed[32] Ed25519 public key */
  PF_HASH,    /* fixed[32] */
  PF_VIN,     /* text<17>, a valid upper-case VIN */
  PF_COUNTRY, /* text<2>, two upper-case letters (ISO 3166-1 alpha-2) */
  PF_IDS,     /* list<text<32> id, 16> */
  PF_RANGES,  /* list<range, 64> */
  PF_SCOPES,  /* list<scope, 16> */
};

#define OFF(f) offsetof(struct blok__ppay, f)

struct pfield {
  const char *name;
  enum pft type;
  size_t off;
  uint64_t max; /* PF_ID, PF_TEXT: bytes; PF_U32: value; PF_ENUM: how many names */
  const char *const *names;
};

static const char *const into_names[] = {"part", "vehicle"};
static const char *const subject_names[] = {"batch", "part"};

#define F(n, t, f, max)                                                                            \
  { n, t, OFF(f), max, NULL }
#define E(n, f, list)                                                                              \
  { n, PF_ENUM, OFF(f), BLOK_ARRAY_LEN(list), list }
#define ID(n, f)     F(n, PF_ID, f, BLOK__PARTS_ID_MAX)
#define SERIAL(n, f) F(n, PF_ID, f, BLOK_PARTS_SERIAL_MAX)

static const struct pfield f_batch[] = {
    ID("batch", batch),
    ID("part_number", part_number),
    ID("part_type", part_type),
    F("site", PF_TEXT, site, BLOK__PARTS_NAME_MAX),
    F("production_date", PF_DATE, production_date, 0),
    F("quantity", PF_U32, quantity, BLOK__PARTS_QUANTITY_MAX),
    F("inputs", PF_IDS, inputs, BLOK__PARTS_INPUTS_MAX),
};
static const struct pfield f_serials[] = {
    ID("batch", batch),
    F("ranges", PF_RANGES, ranges, BLOK__PARTS_RANGES_MAX),
};
static const struct pfield f_install[] = {
    SERIAL("serial", serial),
    E("into", into, into_names),
    SERIAL("target", target),
};
static const struct pfield f_remove[] = {SERIAL("serial", serial)};
static const struct pfield f_recall[] = {
    ID("recall", recall),
    F("reason", PF_TEXT, reason, BLOK__PARTS_TEXT_MAX),
    F("remedy", PF_TEXT, remedy, BLOK__PARTS_TEXT_MAX),
    F("scopes", PF_SCOPES, scopes, BLOK__PARTS_SCOPES_MAX),
    F("model", PF_TEXT0, model, BLOK__PARTS_NAME_MAX),
    F("year_from", PF_YEAR0, year_from, 0),
    F("year_to", PF_YEAR0, year_to, 0),
};
static const struct pfield f_remedy[] = {ID("recall", recall), F("vin", PF_VIN, vin, 0)};
static const struct pfield f_offer[] = {
    E("subject", subject, subject_names),
    SERIAL("id", id),
    F("to", PF_KEY, to, 0),
    ID("location", location),
};
static const struct pfield f_accept[] = {
    E("subject", subject, subject_names),
    SERIAL("id", id),
    ID("location", location),
};
static const struct pfield f_sensor[] = {F("key", PF_KEY, key, 0)};
static const struct pfield f_limits[] = {
    ID("part_type", part_type),
    F("temp_min", PF_I32, temp_min, 0),
    F("temp_max", PF_I32, temp_max, 0),
    F("humidity_max", PF_U32, humidity_max, 1000),
    F("shock_max", PF_U32, shock_max, 1000000),
};
static const struct pfield f_reading[] = {
    E("subject", subject, subject_names), SERIAL("id", id),
    F("temp", PF_I32, temp, 0),           F("humidity", PF_U32, humidity, 1000),
    F("shock", PF_U32, shock, 1000000),
};
static const struct pfield f_attest[] = {
    ID("lot", lot),
    F("material", PF_TEXT, material, BLOK__PARTS_NAME_MAX),
    F("site", PF_TEXT, site, BLOK__PARTS_NAME_MAX),
    F("country", PF_COUNTRY, country, 2),
    F("scheme", PF_TEXT, scheme, BLOK__PARTS_NAME_MAX),
    F("certificate", PF_HASH, certificate, 0),
};
static const struct pfield f_observe[] = {SERIAL("serial", serial), F("vin", PF_VIN, vin, 0)};

struct pformat {
  const char *type;
  const struct pfield *fields;
  size_t count;
};

#define ROW(name, f)                                                                               \
  { name, f, BLOK_ARRAY_LEN(f) }
static const struct pformat formats[BLOK__PK_COUNT] = {
    [BLOK__PK_BATCH] = ROW("batch", f_batch),
    [BLOK__PK_SERIALS] = ROW("serials", f_serials),
    [BLOK__PK_INSTALL] = ROW("install", f_install),
    [BLOK__PK_REMOVE] = ROW("remove", f_remove),
    [BLOK__PK_RECALL] = ROW("recall", f_recall),
    [BLOK__PK_REMEDY] = ROW("remedy", f_remedy),
    [BLOK__PK_HANDOFF_OFFER] = ROW("handoff_offer", f_offer),
    [BLOK__PK_HANDOFF_ACCEPT] = ROW("handoff_accept", f_accept),
    [BLOK__PK_SENSOR] = ROW("sensor", f_sensor),
    [BLOK__PK_LIMITS] = ROW("limits", f_limits),
    [BLOK__PK_READING] = ROW("reading", f_reading),
    [BLOK__PK_ATTEST] = ROW("attest", f_attest),
    [BLOK__PK_OBSERVE] = ROW("observe", f_observe),
};

enum blok__pkind blok__pkind_of(const char *type) {
  for (unsigned k = 0; k < BLOK__PK_COUNT; k++)
    if (strcmp(formats[k].type, type) == 0) return (enum blok__pkind)k;
  return BLOK__PK_COUNT;
}

const char *blok__pkind_name(enum blok__pkind k) {
  return (unsigned)k < BLOK__PK_COUNT ? formats[k].type : "unknown";
}

/* --- ids and serials ---------------------------------------------------------------------- */

static bool id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '/' || c == '-';
}

bool blok__parts_id_ok(const char *s, size_t len, size_t max) {
  if (len == 0 || len > max) return false;
  for (size_t i = 0; i < len; i++)
    if (!id_char(s[i])) return false;
  return true;
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool blok__parts_split(const char *s, size_t len, struct blok__psplit *out) {
  if (!blok__parts_id_ok(s, len, BLOK_PARTS_SERIAL_MAX)) return false;
  size_t d = 0;
  while (d < len && d < BLOK__PARTS_WIDTH_MAX && is_digit(s[len - 1 - d]))
    d++;
  /* A run of digits longer than the width limit: the prefix would end in a digit. */
  if (d < len && is_digit(s[len - 1 - d])) return false;
  out->prefix_len = len - d;
  out->width = (uint8_t)d;
  out->number = 0;
  for (size_t i = len - d; i < len; i++)
    out->number = out->number * 10 + (uint64_t)(s[i] - '0');
  return true;
}

size_t blok__parts_serial(char *out, size_t cap, const struct blok__ptext *prefix, uint8_t width,
                          uint64_t number) {
  int w = width ? snprintf(out, cap, "%.*s%0*llu", (int)prefix->len, prefix->s, (int)width,
                           (unsigned long long)number)
                : snprintf(out, cap, "%.*s", (int)prefix->len, prefix->s);
  BLOK_ASSERT(w > 0 && (size_t)w < cap);
  return (size_t)w;
}

static uint64_t pow10_u64(unsigned n) {
  uint64_t v = 1;
  while (n--)
    v *= 10;
  return v;
}

/* A range's limits (docs/PROTOCOL.md, "Parts", serial ranges). */
static enum blok_err range_check(const struct blok__prange *r, const char *name, size_t i,
                                 uint32_t count_max, struct blok_why *why) {
  const struct blok__ptext *p = &r->prefix;
  if (p->len > BLOK__PARTS_ID_MAX || (p->len > 0 && !blok__parts_id_ok(p->s, p->len, 32)))
    return blok_refuse(why, BLOK_EFORMAT,
                       "payload.%s[%zu].prefix: 0 to 32 of A-Z a-z 0-9 . _ : / - are required",
                       name, i);
  if (p->len > 0 && is_digit(p->s[p->len - 1]))
    return blok_refuse(why, BLOK_EFORMAT,
                       "payload.%s[%zu].prefix: it must not end in a digit (the digits are the "
                       "number)",
                       name, i);
  if (r->width > BLOK__PARTS_WIDTH_MAX || p->len + r->width > BLOK_PARTS_SERIAL_MAX)
    return blok_refuse(why, BLOK_ERANGE,
                       "payload.%s[%zu].width: %u digits; at most 18, and prefix and number at "
                       "most 48 bytes",
                       name, i, r->width);
  if (r->width == 0) {
    if (p->len == 0 || r->first != 0 || r->count != 1)
      return blok_refuse(why, BLOK_ERANGE,
                         "payload.%s[%zu]: a serial without digits is one serial (width 0, first "
                         "0, count 1, a prefix)",
                         name, i);
    return BLOK_OK;
  }
  if (r->count == 0 || r->count > count_max)
    return blok_refuse(why, BLOK_ERANGE, "payload.%s[%zu].count: 1..%u, not %u", name, i, count_max,
                       r->count);
  uint64_t top = pow10_u64(r->width);
  if (r->first >= top || r->count > top - r->first)
    return blok_refuse(why, BLOK_ERANGE,
                       "payload.%s[%zu]: first %llu + count %u does not fit in %u digits", name, i,
                       (unsigned long long)r->first, r->count, r->width);
  return BLOK_OK;
}

/* --- checks shared by every path ---------------------------------------------------------- */

static bool text_readable(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t c = (uint8_t)s[i];
    if (c < 0x20 || c == 0x7f) return false;
  }
  return blok_utf8_valid((const uint8_t *)s, n);
}

static void *at(struct blok__ppay *p, size_t off) {
  return (uint8_t *)p + off;
}
static const void *at_c(const struct blok__ppay *p, size_t off) {
  return (const uint8_t *)p + off;
}

static enum blok_err vin_check(const char *s, size_t len, char vin[18], const char *name,
                               struct blok_why *why) {
  struct blok_vin v;
  struct blok_vin_problem prob;
  char text[BLOK_VIN_PROBLEM_MAX];
  if (blok_vin_parse(&v, &prob, s, len) != BLOK_OK) {
    (void)blok_vin_problem_describe(text, sizeof text, &prob);
    return blok_refuse(why, BLOK_EVIN, "payload.%s: %s", name, text);
  }
  if (memcmp(v.vin, s, BLOK_VIN_LEN) != 0)
    return blok_refuse(why, BLOK_EVIN, "payload.%s: %s must be written in upper case", name, v.vin);
  memcpy(vin, v.vin, sizeof v.vin);
  return BLOK_OK;
}

static enum blok_err text_check(const struct pfield *f, const struct blok__ptext *t,
                                struct blok_why *why) {
  size_t min = f->type == PF_TEXT0 ? 0 : 1;
  if (f->type == PF_ID) {
    if (!blok__parts_id_ok(t->s, t->len, (size_t)f->max))
      return blok_refuse(why, BLOK_EFORMAT,
                         "payload.%s: 1 to %llu of A-Z a-z 0-9 . _ : / - are required", f->name,
                         (unsigned long long)f->max);
    return BLOK_OK;
  }
  if (f->type == PF_COUNTRY) {
    if (t->len != 2 || t->s[0] < 'A' || t->s[0] > 'Z' || t->s[1] < 'A' || t->s[1] > 'Z')
      return blok_refuse(why, BLOK_EFORMAT,
                         "payload.%s: two upper-case letters (ISO 3166-1) are required", f->name);
    return BLOK_OK;
  }
  if (t->len < min || t->len > f->max)
    return blok_refuse(why, BLOK_ETOOLONG, "payload.%s: %zu to %llu bytes are required, not %zu",
                       f->name, min, (unsigned long long)f->max, t->len);
  if (!text_readable(t->s, t->len))
    return blok_refuse(why, BLOK_EUTF8,
                       "payload.%s: utf-8 text without control characters is required", f->name);
  return BLOK_OK;
}

static bool date_ok(uint32_t d) {
  static const uint8_t days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  uint32_t y = d / 10000, m = d / 100 % 100, day = d % 100;
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || day < 1 || day > days[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && day == 29 && !leap);
}

static enum blok_err scope_check(const struct blok__pscope *s, size_t i, struct blok_why *why) {
  char a[18], b[18];
  switch (s->type) {
    case BLOK__SCOPE_BATCH:
    case BLOK__SCOPE_PART_NUMBER:
      if (!blok__parts_id_ok(s->id.s, s->id.len, BLOK__PARTS_ID_MAX))
        return blok_refuse(why, BLOK_EFORMAT,
                           "payload.scopes[%zu]: a batch or part number id "
                           "(1 to 32 of A-Z a-z 0-9 . _ : / -) is required",
                           i);
      return BLOK_OK;
    case BLOK__SCOPE_SERIALS:
      return range_check(&s->range, "scopes", i, UINT32_MAX, why);
    case BLOK__SCOPE_VINS:
      BLOK_TRY(vin_check(s->vin_from, strnlen(s->vin_from, 18), a, "scopes.from", why));
      BLOK_TRY(vin_check(s->vin_to, strnlen(s->vin_to, 18), b, "scopes.to", why));
      if (memcmp(a, b, 17) > 0)
        return blok_refuse(why, BLOK_ERANGE, "payload.scopes[%zu]: from %s is after to %s", i, a,
                           b);
      /* A range is listed under its WMI ("rv/" in state), so one WMI finds every range that
       * can hold a VIN. */
      if (memcmp(a, b, 3) != 0)
        return blok_refuse(why, BLOK_ERANGE,
                           "payload.scopes[%zu]: a vin range stays within one wmi (the first "
                           "three characters): from %s and to %s differ; send a scope per wmi",
                           i, a, b);
      return BLOK_OK;
    default:
      return blok_refuse(why, BLOK_ERANGE,
                         "payload.scopes[%zu]: type %u is not one of 1 batch, 2 part number, 3 "
                         "serials, 4 vins",
                         i, s->type);
  }
}

/* The limits of one field. */
static enum blok_err field_check(const struct pfield *f, const struct blok__ppay *p,
                                 struct blok_why *why) {
  switch (f->type) {
    case PF_ID:
    case PF_TEXT:
    case PF_TEXT0:
    case PF_COUNTRY: {
      struct blok__ptext t;
      memcpy(&t, at_c(p, f->off), sizeof t);
      return text_check(f, &t, why);
    }
    case PF_DATE:
      if (!date_ok(p->production_date))
        return blok_refuse(why, BLOK_ERANGE, "payload.%s: %u is not a date YYYYMMDD (1900..2200)",
                           f->name, p->production_date);
      return BLOK_OK;
    case PF_U32: {
      uint32_t v;
      memcpy(&v, at_c(p, f->off), sizeof v);
      bool low = f->off == OFF(quantity) && v == 0;
      if (v > f->max || low)
        return blok_refuse(why, BLOK_ERANGE, "payload.%s: %u is not in %u..%llu", f->name, v,
                           low ? 1u : 0u, (unsigned long long)f->max);
      return BLOK_OK;
    }
    case PF_I32: {
      int32_t v;
      memcpy(&v, at_c(p, f->off), sizeof v);
      if (v < -1000 || v > 2000)
        return blok_refuse(why, BLOK_ERANGE,
                           "payload.%s: %d tenths of a degree is not in -1000..2000", f->name, v);
      return BLOK_OK;
    }
    case PF_YEAR0: {
      uint16_t y;
      memcpy(&y, at_c(p, f->off), sizeof y);
      if (y != 0 && (y < 1980 || y > 2100))
        return blok_refuse(why, BLOK_ERANGE,
                           "payload.%s: %u is not a model year in 1980..2100 (or 0 for any)",
                           f->name, y);
      return BLOK_OK;
    }
    case PF_ENUM: {
      uint8_t v;
      memcpy(&v, at_c(p, f->off), 1);
      if (v < 1 || v > f->max)
        return blok_refuse(why, BLOK_ERANGE, "payload.%s: %u is not one of 1..%llu", f->name, v,
                           (unsigned long long)f->max);
      return BLOK_OK;
    }
    case PF_KEY:
      if (blok_sign_check_pk(at_c(p, f->off)) != BLOK_OK)
        return blok_refuse(why, BLOK_EBADKEY, "payload.%s: not a valid ed25519 public key",
                           f->name);
      return BLOK_OK;
    case PF_VIN: {
      char vin[18];
      return vin_check(p->vin, strnlen(p->vin, sizeof p->vin), vin, f->name, why);
    }
    case PF_IDS:
      for (size_t i = 0; i < p->input_count; i++) {
        if (!blok__parts_id_ok(p->inputs[i].s, p->inputs[i].len, BLOK__PARTS_ID_MAX))
          return blok_refuse(why, BLOK_EFORMAT,
                             "payload.%s[%zu]: 1 to 32 of A-Z a-z 0-9 . _ : / - are required",
                             f->name, i);
        for (size_t j = 0; j < i; j++)
          if (p->inputs[j].len == p->inputs[i].len &&
              memcmp(p->inputs[j].s, p->inputs[i].s, p->inputs[i].len) == 0)
            return blok_refuse(why, BLOK_EINVAL, "payload.%s[%zu]: %.*s is listed twice", f->name,
                               i, (int)p->inputs[i].len, p->inputs[i].s);
      }
      return BLOK_OK;
    case PF_RANGES: {
      uint64_t total = 0;
      if (p->range_count == 0)
        return blok_refuse(why, BLOK_EINVAL, "payload.%s: at least one range is required", f->name);
      for (size_t i = 0; i < p->range_count; i++) {
        BLOK_TRY(range_check(&p->ranges[i], f->name, i, BLOK_PARTS_SERIALS_TX, why));
        total += p->ranges[i].count;
      }
      if (total > BLOK_PARTS_SERIALS_TX)
        return blok_refuse(why, BLOK_ERANGE,
                           "payload.%s: %llu serials; one transaction registers at most %u, send "
                           "the rest in another",
                           f->name, (unsigned long long)total, BLOK_PARTS_SERIALS_TX);
      return BLOK_OK;
    }
    case PF_SCOPES:
      if (p->scope_count == 0)
        return blok_refuse(why, BLOK_EINVAL, "payload.%s: at least one scope is required", f->name);
      for (size_t i = 0; i < p->scope_count; i++)
        BLOK_TRY(scope_check(&p->scopes[i], i, why));
      return BLOK_OK;
    default:
      return BLOK_OK;
  }
}

/* Rules across fields of one kind. */
static enum blok_err kind_check(enum blok__pkind k, const struct blok__ppay *p,
                                struct blok_why *why) {
  char vin[18];
  if (k == BLOK__PK_INSTALL) {
    if (p->into == BLOK__INTO_VEHICLE)
      return vin_check(p->target.s, p->target.len, vin, "target", why);
    if (p->target.len == p->serial.len && memcmp(p->target.s, p->serial.s, p->serial.len) == 0)
      return blok_refuse(why, BLOK_EINVAL, "payload.target: a part cannot be installed in itself");
  }
  if (k == BLOK__PK_LIMITS && p->temp_min > p->temp_max)
    return blok_refuse(why, BLOK_ERANGE, "payload: temp_min %d is above temp_max %d", p->temp_min,
                       p->temp_max);
  if (k == BLOK__PK_RECALL && p->year_from && p->year_to && p->year_from > p->year_to)
    return blok_refuse(why, BLOK_ERANGE, "payload: year_from %u is after year_to %u", p->year_from,
                       p->year_to);
  if (k == BLOK__PK_BATCH)
    for (size_t i = 0; i < p->input_count; i++)
      if (p->inputs[i].len == p->batch.len && memcmp(p->inputs[i].s, p->batch.s, p->batch.len) == 0)
        return blok_refuse(why, BLOK_EINVAL, "payload.inputs: a batch cannot consume itself");
  return BLOK_OK;
}

/* --- binary ------------------------------------------------------------------------------- */

static enum blok_err dec_ptext(struct blok_reader *rd, struct blok__ptext *t, size_t max) {
  return blok_dec_text(rd, &t->s, &t->len, max);
}

static enum blok_err dec_range(struct blok_reader *rd, struct blok__prange *r) {
  BLOK_TRY(dec_ptext(rd, &r->prefix, BLOK__PARTS_ID_MAX));
  BLOK_TRY(blok_dec_u8(rd, &r->width));
  BLOK_TRY(blok_dec_u64(rd, &r->first));
  return blok_dec_u32(rd, &r->count);
}

static enum blok_err dec_vin_text(struct blok_reader *rd, char out[18]) {
  const char *s;
  size_t n;
  BLOK_TRY(blok_dec_text(rd, &s, &n, BLOK_VIN_LEN));
  if (memchr(s, 0, n) != NULL) return BLOK_EFORMAT;
  memcpy(out, s, n);
  out[n] = '\0';
  return BLOK_OK;
}

static enum blok_err dec_scope(struct blok_reader *rd, struct blok__pscope *s) {
  BLOK_TRY(blok_dec_u8(rd, &s->type));
  switch (s->type) {
    case BLOK__SCOPE_BATCH:
    case BLOK__SCOPE_PART_NUMBER:
      return dec_ptext(rd, &s->id, BLOK__PARTS_ID_MAX);
    case BLOK__SCOPE_SERIALS:
      return dec_range(rd, &s->range);
    case BLOK__SCOPE_VINS:
      BLOK_TRY(dec_vin_text(rd, s->vin_from));
      return dec_vin_text(rd, s->vin_to);
    default:
      return BLOK_ERANGE;
  }
}

static enum blok_err dec_field(struct blok_reader *rd, const struct pfield *f,
                               struct blok__ppay *p) {
  size_t n;
  switch (f->type) {
    case PF_ID:
    case PF_TEXT:
    case PF_TEXT0:
    case PF_COUNTRY: {
      struct blok__ptext t;
      BLOK_TRY(dec_ptext(rd, &t, (size_t)f->max));
      memcpy(at(p, f->off), &t, sizeof t);
      return BLOK_OK;
    }
    case PF_DATE:
    case PF_U32:
    case PF_I32:
      return blok_dec_u32(rd, at(p, f->off));
    case PF_YEAR0:
      return blok_dec_u16(rd, at(p, f->off));
    case PF_ENUM:
      return blok_dec_u8(rd, at(p, f->off));
    case PF_KEY:
    case PF_HASH:
      return blok_dec_fixed(rd, at(p, f->off), 32);
    case PF_VIN:
      return dec_vin_text(rd, p->vin);
    case PF_IDS:
      BLOK_TRY(blok_dec_count(rd, &n, BLOK__PARTS_INPUTS_MAX));
      p->input_count = n;
      for (size_t i = 0; i < n; i++)
        BLOK_TRY(dec_ptext(rd, &p->inputs[i], BLOK__PARTS_ID_MAX));
      return BLOK_OK;
    case PF_RANGES:
      BLOK_TRY(blok_dec_count(rd, &n, BLOK__PARTS_RANGES_MAX));
      p->range_count = n;
      for (size_t i = 0; i < n; i++)
        BLOK_TRY(dec_range(rd, &p->ranges[i]));
      return BLOK_OK;
    case PF_SCOPES:
      BLOK_TRY(blok_dec_count(rd, &n, BLOK__PARTS_SCOPES_MAX));
      p->scope_count = n;
      for (size_t i = 0; i < n; i++)
        BLOK_TRY(dec_scope(rd, &p->scopes[i]));
      return BLOK_OK;
  }
  return BLOK_EINVAL;
}

static enum blok_err enc_ptext(struct blok_buf *b, const struct blok__ptext *t, size_t max) {
  return blok_enc_text(b, t->s, t->len, max);
}

static enum blok_err enc_range(struct blok_buf *b, const struct blok__prange *r) {
  BLOK_TRY(enc_ptext(b, &r->prefix, BLOK__PARTS_ID_MAX));
  BLOK_TRY(blok_enc_u8(b, r->width));
  BLOK_TRY(blok_enc_u64(b, r->first));
  return blok_enc_u32(b, r->count);
}

static enum blok_err enc_scope(struct blok_buf *b, const struct blok__pscope *s) {
  BLOK_TRY(blok_enc_u8(b, s->type));
  switch (s->type) {
    case BLOK__SCOPE_BATCH:
    case BLOK__SCOPE_PART_NUMBER:
      return enc_ptext(b, &s->id, BLOK__PARTS_ID_MAX);
    case BLOK__SCOPE_SERIALS:
      return enc_range(b, &s->range);
    default:
      BLOK_TRY(blok_enc_text(b, s->vin_from, strlen(s->vin_from), BLOK_VIN_LEN));
      return blok_enc_text(b, s->vin_to, strlen(s->vin_to), BLOK_VIN_LEN);
  }
}

static enum blok_err enc_field(struct blok_buf *b, const struct pfield *f,
                               const struct blok__ppay *p) {
  uint32_t u;
  switch (f->type) {
    case PF_ID:
    case PF_TEXT:
    case PF_TEXT0:
    case PF_COUNTRY: {
      struct blok__ptext t;
      memcpy(&t, at_c(p, f->off), sizeof t);
      return enc_ptext(b, &t, (size_t)f->max);
    }
    case PF_DATE:
    case PF_U32:
    case PF_I32:
      memcpy(&u, at_c(p, f->off), sizeof u);
      return blok_enc_u32(b, u);
    case PF_YEAR0: {
      uint16_t y;
      memcpy(&y, at_c(p, f->off), sizeof y);
      return blok_enc_u16(b, y);
    }
    case PF_ENUM:
      return blok_enc_u8(b, *(const uint8_t *)at_c(p, f->off));
    case PF_KEY:
    case PF_HASH:
      return blok_enc_fixed(b, at_c(p, f->off), 32);
    case PF_VIN:
      return blok_enc_text(b, p->vin, strlen(p->vin), BLOK_VIN_LEN);
    case PF_IDS:
      BLOK_TRY(blok_enc_count(b, p->input_count, BLOK__PARTS_INPUTS_MAX));
      for (size_t i = 0; i < p->input_count; i++)
        BLOK_TRY(enc_ptext(b, &p->inputs[i], BLOK__PARTS_ID_MAX));
      return BLOK_OK;
    case PF_RANGES:
      BLOK_TRY(blok_enc_count(b, p->range_count, BLOK__PARTS_RANGES_MAX));
      for (size_t i = 0; i < p->range_count; i++)
        BLOK_TRY(enc_range(b, &p->ranges[i]));
      return BLOK_OK;
    case PF_SCOPES:
      BLOK_TRY(blok_enc_count(b, p->scope_count, BLOK__PARTS_SCOPES_MAX));
      for (size_t i = 0; i < p->scope_count; i++)
        BLOK_TRY(enc_scope(b, &p->scopes[i]));
      return BLOK_OK;
  }
  return BLOK_EINVAL;
}

enum blok_err blok__ppay_decode(enum blok__pkind k, const uint8_t *data, size_t len,
                                struct blok__ppay *p, struct blok_why *why) {
  BLOK_ASSERT((unsigned)k < BLOK__PK_COUNT);
  const struct pformat *fm = &formats[k];
  struct blok_reader rd;
  memset(p, 0, sizeof *p);
  blok_reader_init(&rd, data, len);
  for (size_t i = 0; i < fm->count; i++) {
    enum blok_err rc = dec_field(&rd, &fm->fields[i], p);
    if (rc != BLOK_OK)
      return blok_refuse(why, rc, "payload.%s: %s", fm->fields[i].name, blok_strerror(rc));
    BLOK_TRY(field_check(&fm->fields[i], p, why));
  }
  if (blok_dec_end(&rd) != BLOK_OK)
    return blok_refuse(why, BLOK_ETRAILING, "payload: %zu bytes after the last field of %s",
                       len - rd.pos, fm->type);
  return kind_check(k, p, why);
}

enum blok_err blok__ppay_encode(enum blok__pkind k, struct blok_buf *out,
                                const struct blok__ppay *p, struct blok_why *why) {
  BLOK_ASSERT((unsigned)k < BLOK__PK_COUNT);
  const struct pformat *fm = &formats[k];
  for (size_t i = 0; i < fm->count; i++) {
    BLOK_TRY(field_check(&fm->fields[i], p, why));
    enum blok_err rc = enc_field(out, &fm->fields[i], p);
    if (rc != BLOK_OK)
      return blok_refuse(why, rc, "payload.%s: %s", fm->fields[i].name, blok_strerror(rc));
  }
  return kind_check(k, p, why);
}

/* --- JSON --------------------------------------------------------------------------------- */

static bool json_u64(const json_t *j, uint64_t *out) {
  if (!json_is_integer(j) || json_integer_value(j) < 0) return false;
  *out = (uint64_t)json_integer_value(j);
  return true;
}

static enum blok_err json_text(const json_t *j, struct blok__ptext *t, const char *name,
                               struct blok_why *why) {
  if (!json_is_string(j))
    return blok_refuse(why, BLOK_EFORMAT, "payload.%s: a string is required", name);
  t->s = json_string_value(j);
  t->len = json_string_length(j);
  return BLOK_OK;
}

static enum blok_err json_vin_into(const json_t *j, char out[18], const char *name,
                                   struct blok_why *why) {
  struct blok_vin v;
  struct blok_vin_problem prob;
  char text[BLOK_VIN_PROBLEM_MAX];
  if (!json_is_string(j))
    return blok_refuse(why, BLOK_EFORMAT, "payload.%s: a vin (a string) is required", name);
  if (blok_vin_parse(&v, &prob, json_string_value(j), json_string_length(j)) != BLOK_OK) {
    (void)blok_vin_problem_describe(text, sizeof text, &prob);
    return blok_refuse(why, BLOK_EVIN, "payload.%s: %s", name, text);
  }
  memcpy(out, v.vin, 18);
  return BLOK_OK;
}

/* A range from {"prefix", "width", "first", "count"} or {"serial"} (one serial). */
static enum blok_err json_range(const json_t *j, struct blok__prange *r, const char *name,
                                struct blok_why *why) {
  const json_t *s = json_object_get(j, "serial");
  uint64_t w = 0, c = 0;
  if (!json_is_object(j))
    return blok_refuse(why, BLOK_EFORMAT, "payload.%s: objects are required", name);
  if (s != NULL) {
    struct blok__psplit sp;
    if (json_object_size(j) != 1)
      return blok_refuse(why, BLOK_EFORMAT, "payload.%s: {\"serial\"} stands alone", name);
    if (!json_is_string(s) || !blok__parts_split(json_string_value(s), json_string_length(s), &sp))
      return blok_refuse(why, BLOK_EFORMAT,
                         "payload.%s.serial: 1 to 48 of A-Z a-z 0-9 . _ : / - are required", name);
    *r = (struct blok__prange){{json_string_value(s), sp.prefix_len}, sp.width, sp.number, 1};
    return BLOK_OK;
  }
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)(uintptr_t)j, key, v) {
    if (strcmp(key, "prefix") && strcmp(key, "width") && strcmp(key, "first") &&
        strcmp(key, "count"))
      return blok_refuse(why, BLOK_EFORMAT, "payload.%s: unknown field %s", name, key);
  }
  BLOK_TRY(json_text(json_object_get(j, "prefix"), &r->prefix, "prefix", why));
  if (!json_u64(json_object_get(j, "width"), &w) || w > 255 ||
      !json_u64(json_object_get(j, "first"), &r->first) ||
      !json_u64(json_object_get(j, "count"), &c) || c > UINT32_MAX)
    return blok_refuse(why, BLOK_EFORMAT,
                       "payload.%s: width, first and count (non-negative integers) are required",
                       name);
  r->width = (uint8_t)w;
  r->count = (uint32_t)c;
  return BLOK_OK;
}

static enum blok_err json_scope(const json_t *j, struct blok__pscope *s, struct blok_why *why) {
  const char *key;
  json_t *v;
  if (!json_is_object(j) || json_object_size(j) != 1)
    return blok_refuse(why, BLOK_EFORMAT,
                       "payload.scopes: each is one of {\"batch\"}, {\"part_number\"}, "
                       "{\"serials\"}, {\"vins\": {\"from\", \"to\"}}");
  json_object_foreach((json_t *)(uintptr_t)j, key, v) {
    if (strcmp(key, "batch") == 0 || strcmp(key, "part_number") == 0) {
      s->type = key[0] == 'b' ? BLOK__SCOPE_BATCH : BLOK__SCOPE_PART_NUMBER;
      return json_text(v, &s->id, key, why);
    }
    if (strcmp(key, "serials") == 0) {
      s->type = BLOK__SCOPE_SERIALS;
      return json_range(v, &s->range, "scopes.serials", why);
    }
    if (strcmp(key, "vins") == 0) {
      s->type = BLOK__SCOPE_VINS;
      if (!json_is_object(v) || json_object_size(v) != 2)
        return blok_refuse(why, BLOK_EFORMAT, "payload.scopes.vins: {\"from\", \"to\"}");
      BLOK_TRY(json_vin_into(json_object_get(v, "from"), s->vin_from, "scopes.vins.from", why));
      return json_vin_into(json_object_get(v, "to"), s->vin_to, "scopes.vins.to", why);
    }
    return blok_refuse(why, BLOK_EFORMAT, "payload.scopes: unknown scope %s", key);
  }
  return BLOK_EFORMAT;
}

static enum blok_err json_list(const struct pfield *f, const json_t *j, struct blok__ppay *p,
                               struct blok_why *why) {
  size_t n = json_array_size(j);
  if (!json_is_array(j))
    return blok_refuse(why, BLOK_EFORMAT, "payload.%s: a list is required", f->name);
  if (n > f->max)
    return blok_refuse(why, BLOK_ETOOLONG, "payload.%s: at most %llu entries, not %zu", f->name,
                       (unsigned long long)f->max, n);
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(j, i);
    if (f->type == PF_IDS) BLOK_TRY(json_text(e, &p->inputs[i], f->name, why));
    if (f->type == PF_RANGES) BLOK_TRY(json_range(e, &p->ranges[i], f->name, why));
    if (f->type == PF_SCOPES) BLOK_TRY(json_scope(e, &p->scopes[i], why));
  }
  if (f->type == PF_IDS) p->input_count = n;
  if (f->type == PF_RANGES) p->range_count = n;
  if (f->type == PF_SCOPES) p->scope_count = n;
  return BLOK_OK;
}

static enum blok_err json_enum(const struct pfield *f, const json_t *j, struct blok__ppay *p,
                               struct blok_why *why) {
  const char *s = json_string_value(j);
  for (size_t i = 0; s != NULL && i < f->max; i++)
    if (strcmp(s, f->names[i]) == 0) {
      uint8_t v = (uint8_t)(i + 1);
      memcpy(at(p, f->off), &v, 1);
      return BLOK_OK;
    }
  return blok_refuse(why, BLOK_EINVAL, "payload.%s: one of %s, %s is required", f->name,
                     f->names[0], f->names[1]);
}

static enum blok_err json_field(const struct pfield *f, const json_t *j, struct blok__ppay *p,
                                struct blok_why *why) {
  switch (f->type) {
    case PF_ID:
    case PF_TEXT:
    case PF_TEXT0:
    case PF_COUNTRY:
      return json_text(j, at(p, f->off), f->name, why);
    case PF_DATE:
    case PF_U32:
    case PF_YEAR0: {
      uint64_t v;
      uint64_t cap = f->type == PF_YEAR0 ? UINT16_MAX : UINT32_MAX;
      if (!json_u64(j, &v) || v > cap)
        return blok_refuse(why, BLOK_EFORMAT,
                           "payload.%s: a non-negative integer up to %llu is "
                           "required",
                           f->name, (unsigned long long)cap);
      if (f->type == PF_YEAR0) {
        uint16_t y = (uint16_t)v;
        memcpy(at(p, f->off), &y, sizeof y);
      } else {
        uint32_t u = (uint32_t)v;
        memcpy(at(p, f->off), &u, sizeof u);
      }
      return BLOK_OK;
    }
    case PF_I32: {
      if (!json_is_integer(j) || json_integer_value(j) < INT32_MIN ||
          json_integer_value(j) > INT32_MAX)
        return blok_refuse(why, BLOK_EFORMAT, "payload.%s: an integer is required", f->name);
      int32_t v = (int32_t)json_integer_value(j);
      memcpy(at(p, f->off), &v, sizeof v);
      return BLOK_OK;
    }
    case PF_ENUM:
      return json_enum(f, j, p, why);
    case PF_KEY:
    case PF_HASH: {
      const char *hex = json_string_value(j);
      if (hex == NULL || blok_hex_decode_exact(at(p, f->off), 32, hex, strlen(hex)) != BLOK_OK)
        return blok_refuse(why, BLOK_EHEX, "payload.%s: 64 hex digits are required", f->name);
      return BLOK_OK;
    }
    case PF_VIN:
      return json_vin_into(j, p->vin, f->name, why);
    default:
      return json_list(f, j, p, why);
  }
}

static const struct pfield *field_named(const struct pformat *fm, const char *name) {
  for (size_t i = 0; i < fm->count; i++)
    if (strcmp(fm->fields[i].name, name) == 0) return &fm->fields[i];
  return NULL;
}

/* An install's target VIN may be lower case in JSON, as every VIN: normalised here. */
static enum blok_err json_target(enum blok__pkind k, struct blok__ppay *p, char vin[18]) {
  struct blok_vin v;
  if (k != BLOK__PK_INSTALL || p->into != BLOK__INTO_VEHICLE) return BLOK_OK;
  if (blok_vin_parse(&v, NULL, p->target.s, p->target.len) != BLOK_OK) return BLOK_OK;
  memcpy(vin, v.vin, 18);
  p->target.s = vin;
  return BLOK_OK;
}

enum blok_err blok__ppay_from_json(enum blok__pkind k, const json_t *j, struct blok_buf *out,
                                   struct blok_why *why) {
  BLOK_ASSERT((unsigned)k < BLOK__PK_COUNT);
  const struct pformat *fm = &formats[k];
  static _Thread_local struct blok__ppay p;
  char vin[18];
  const char *key;
  json_t *v;
  memset(&p, 0, sizeof p);
  if (!json_is_object(j)) return blok_refuse(why, BLOK_EFORMAT, "payload: an object is required");
  json_object_foreach((json_t *)(uintptr_t)j, key, v) {
    if (field_named(fm, key) == NULL)
      return blok_refuse(why, BLOK_EFORMAT, "payload: unknown field %s for parts/%s", key,
                         fm->type);
  }
  for (size_t i = 0; i < fm->count; i++) {
    const struct pfield *f = &fm->fields[i];
    const json_t *fv = json_object_get(j, f->name);
    bool optional = f->type == PF_TEXT0 || f->type == PF_YEAR0 || f->type == PF_IDS;
    if (fv == NULL && optional) continue;
    if (fv == NULL) return blok_refuse(why, BLOK_EFORMAT, "payload.%s is required", f->name);
    BLOK_TRY(json_field(f, fv, &p, why));
  }
  BLOK_TRY(json_target(k, &p, vin));
  return blok__ppay_encode(k, out, &p, why);
}

static json_t *range_json(const struct blok__prange *r) {
  return json_pack("{s:s%, s:i, s:I, s:I}", "prefix", r->prefix.s, r->prefix.len, "width",
                   (int)r->width, "first", (json_int_t)r->first, "count", (json_int_t)r->count);
}

static json_t *scope_json(const struct blok__pscope *s) {
  switch (s->type) {
    case BLOK__SCOPE_BATCH:
      return json_pack("{s:s%}", "batch", s->id.s, s->id.len);
    case BLOK__SCOPE_PART_NUMBER:
      return json_pack("{s:s%}", "part_number", s->id.s, s->id.len);
    case BLOK__SCOPE_SERIALS:
      return json_pack("{s:o}", "serials", range_json(&s->range));
    default:
      return json_pack("{s:{s:s, s:s}}", "vins", "from", s->vin_from, "to", s->vin_to);
  }
}

static json_t *list_json(const struct pfield *f, const struct blok__ppay *p) {
  json_t *a = json_array();
  size_t n = f->type == PF_IDS      ? p->input_count
             : f->type == PF_RANGES ? p->range_count
                                    : p->scope_count;
  for (size_t i = 0; a != NULL && i < n; i++) {
    json_t *e = f->type == PF_IDS      ? json_stringn(p->inputs[i].s, p->inputs[i].len)
                : f->type == PF_RANGES ? range_json(&p->ranges[i])
                                       : scope_json(&p->scopes[i]);
    if (json_array_append_new(a, e) != 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static json_t *field_json(const struct pfield *f, const struct blok__ppay *p) {
  switch (f->type) {
    case PF_ID:
    case PF_TEXT:
    case PF_TEXT0:
    case PF_COUNTRY: {
      struct blok__ptext t;
      memcpy(&t, at_c(p, f->off), sizeof t);
      return json_stringn(t.s, t.len);
    }
    case PF_DATE:
    case PF_U32: {
      uint32_t u;
      memcpy(&u, at_c(p, f->off), sizeof u);
      return json_integer((json_int_t)u);
    }
    case PF_I32: {
      int32_t v;
      memcpy(&v, at_c(p, f->off), sizeof v);
      return json_integer((json_int_t)v);
    }
    case PF_YEAR0: {
      uint16_t y;
      memcpy(&y, at_c(p, f->off), sizeof y);
      return json_integer((json_int_t)y);
    }
    case PF_ENUM:
      return json_string(f->names[*(const uint8_t *)at_c(p, f->off) - 1]);
    case PF_KEY:
    case PF_HASH: {
      char hex[BLOK_HEX_LEN(32)];
      blok_hex_encode(hex, sizeof hex, at_c(p, f->off), 32);
      return json_string(hex);
    }
    case PF_VIN:
      return json_string(p->vin);
    default:
      return list_json(f, p);
  }
}

json_t *blok__ppay_to_json(enum blok__pkind k, const uint8_t *data, size_t len) {
  static _Thread_local struct blok__ppay p;
  struct blok_why why = {{0}};
  if ((unsigned)k >= BLOK__PK_COUNT || blok__ppay_decode(k, data, len, &p, &why) != BLOK_OK)
    return NULL;
  const struct pformat *fm = &formats[k];
  json_t *j = json_object();
  for (size_t i = 0; j != NULL && i < fm->count; i++)
    if (json_object_set_new(j, fm->fields[i].name, field_json(&fm->fields[i], &p)) != 0) {
      json_decref(j);
      return NULL;
    }
  return j;
}

/* --- records ------------------------------------------------------------------------------ */

size_t blok__parts_key(uint8_t *out, size_t cap, char tag, const char *id, size_t len) {
  BLOK_ASSERT(2 + len <= cap);
  out[0] = (uint8_t)tag;
  out[1] = '/';
  memcpy(out + 2, id, len);
  return 2 + len;
}

size_t blok__parts_lkey(uint8_t *out, const char *id, size_t len) {
  BLOK_ASSERT(len <= 255);
  out[0] = (uint8_t)len;
  memcpy(out + 1, id, len);
  return 1 + len;
}

static enum blok_err enc_cstr(struct blok_buf *b, const char *s, size_t max) {
  return blok_enc_text(b, s, strlen(s), max);
}

static enum blok_err dec_cstr(struct blok_reader *rd, char *out, size_t max) {
  const char *s;
  size_t n;
  BLOK_TRY(blok_dec_text(rd, &s, &n, max));
  if (memchr(s, 0, n) != NULL) return BLOK_EFORMAT;
  memcpy(out, s, n);
  out[n] = '\0';
  return BLOK_OK;
}

enum blok_err blok__batch_encode(struct blok_buf *b, const struct blok__batch *r) {
  BLOK_TRY(blok_enc_u8(b, 1));
  BLOK_TRY(enc_cstr(b, r->id, BLOK__PARTS_ID_MAX));
  BLOK_TRY(enc_cstr(b, r->part_number, BLOK__PARTS_ID_MAX));
  BLOK_TRY(enc_cstr(b, r->part_type, BLOK__PARTS_ID_MAX));
  BLOK_TRY(enc_cstr(b, r->site, BLOK__PARTS_NAME_MAX));
  BLOK_TRY(enc_cstr(b, r->maker, BLOK_NAME_MAX));
  BLOK_TRY(blok_enc_fixed(b, r->maker_key, 32));
  BLOK_TRY(blok_enc_u32(b, r->production_date));
  BLOK_TRY(blok_enc_u32(b, r->quantity));
  BLOK_TRY(blok_enc_u64(b, r->serials));
  BLOK_TRY(blok_enc_u64(b, r->height));
  BLOK_TRY(blok_enc_fixed(b, r->holder, 32));
  BLOK_TRY(enc_cstr(b, r->location, BLOK__PARTS_ID_MAX));
  BLOK_TRY(blok_enc_bool(b, r->has_offer));
  if (r->has_offer) BLOK_TRY(blok_enc_fixed(b, r->offer_to, 32));
  BLOK_TRY(blok_enc_count(b, r->input_count, BLOK__PARTS_INPUTS_MAX));
  for (size_t i = 0; i < r->input_count; i++)
    BLOK_TRY(enc_cstr(b, r->inputs[i], BLOK__PARTS_ID_MAX));
  return BLOK_OK;
}

enum blok_err blok__batch_decode(const uint8_t *v, size_t n, struct blok__batch *r) {
  struct blok_reader rd;
  uint8_t version;
  memset(r, 0, sizeof *r);
  blok_reader_init(&rd, v, n);
  BLOK_TRY(blok_dec_u8(&rd, &version));
  if (version != 1) return BLOK_EFORMAT;
  BLOK_TRY(dec_cstr(&rd, r->id, BLOK__PARTS_ID_MAX));
  BLOK_TRY(dec_cstr(&rd, r->part_number, BLOK__PARTS_ID_MAX));
  BLOK_TRY(dec_cstr(&rd, r->part_type, BLOK__PARTS_ID_MAX));
  BLOK_TRY(dec_cstr(&rd, r->site, BLOK__PARTS_NAME_MAX));
  BLOK_TRY(dec_cstr(&rd, r->maker, BLOK_NAME_MAX));
  BLOK_TRY(blok_dec_fixed(&rd, r->maker_key, 32));
  BLOK_TRY(blok_dec_u32(&rd, &r->production_date));
  BLOK_TRY(blok_dec_u32(&rd, &r->quantity));
  BLOK_TRY(blok_dec_u64(&rd, &r->serials));
  BLOK_TRY(blok_dec_u64(&rd, &r->height));
  BLOK_TRY(blok_dec_fixed(&rd, r->holder, 32));
  BLOK_TRY(dec_cstr(&rd, r->location, BLOK__PARTS_ID_MAX));
  BLOK_TRY(blok_dec_bool(&rd, &r->has_offer));
  if (r->has_offer) BLOK_TRY(blok_dec_fixed(&rd, r->offer_to, 32));
  BLOK_TRY(blok_dec_count(&rd, &r->input_count, BLOK__PARTS_INPUTS_MAX));
  for (size_t i = 0; i < r->input_count; i++)
    BLOK_TRY(dec_cstr(&rd, r->inputs[i], BLOK__PARTS_ID_MAX));
  return blok_dec_end(&rd);
}

enum blok_err blok__part_encode(struct blok_buf *b, const struct blok__part *r) {
  BLOK_TRY(blok_enc_u8(b, 1));
  BLOK_TRY(enc_cstr(b, r->batch, BLOK__PARTS_ID_MAX));
  BLOK_TRY(blok_enc_u8(b, r->loc));
  BLOK_TRY(enc_cstr(b, r->where, BLOK_PARTS_SERIAL_MAX));
  BLOK_TRY(blok_enc_u8(b, r->flags));
  BLOK_TRY(blok_enc_u8(b, r->below));
  BLOK_TRY(blok_enc_bool(b, r->has_holder));
  if (r->has_holder) BLOK_TRY(blok_enc_fixed(b, r->holder, 32));
  BLOK_TRY(enc_cstr(b, r->location, BLOK__PARTS_ID_MAX));
  BLOK_TRY(blok_enc_bool(b, r->has_offer));
  return r->has_offer ? blok_enc_fixed(b, r->offer_to, 32) : BLOK_OK;
}

enum blok_err blok__part_decode(const uint8_t *v, size_t n, struct blok__part *r) {
  struct blok_reader rd;
  uint8_t version;
  memset(r, 0, sizeof *r);
  blok_reader_init(&rd, v, n);
  BLOK_TRY(blok_dec_u8(&rd, &version));
  if (version != 1) return BLOK_EFORMAT;
  BLOK_TRY(dec_cstr(&rd, r->batch, BLOK__PARTS_ID_MAX));
  BLOK_TRY(blok_dec_u8(&rd, &r->loc));
  if (r->loc > BLOK__INTO_VEHICLE) return BLOK_EFORMAT;
  BLOK_TRY(dec_cstr(&rd, r->where, BLOK_PARTS_SERIAL_MAX));
  BLOK_TRY(blok_dec_u8(&rd, &r->flags));
  BLOK_TRY(blok_dec_u8(&rd, &r->below));
  if (r->below > BLOK_PARTS_DEPTH_MAX) return BLOK_EFORMAT;
  BLOK_TRY(blok_dec_bool(&rd, &r->has_holder));
  if (r->has_holder) BLOK_TRY(blok_dec_fixed(&rd, r->holder, 32));
  BLOK_TRY(dec_cstr(&rd, r->location, BLOK__PARTS_ID_MAX));
  BLOK_TRY(blok_dec_bool(&rd, &r->has_offer));
  if (r->has_offer) BLOK_TRY(blok_dec_fixed(&rd, r->offer_to, 32));
  return blok_dec_end(&rd);
}

/* --- installed parts and recall lists ----------------------------------------------------- */

size_t blok__parts_tkey(uint8_t *out, size_t cap, const char *tag, const void *id, size_t len) {
  size_t tl = strlen(tag);
  BLOK_ASSERT(tl + 1 + len <= cap);
  memcpy(out, tag, tl);
  out[tl] = '/';
  memcpy(out + tl + 1, id, len);
  return tl + 1 + len;
}

size_t blok__parts_rs_key(uint8_t *out, size_t cap, uint8_t width, const char *prefix, size_t len) {
  BLOK_ASSERT(4 + len <= cap);
  memcpy(out, "rs/", 3);
  out[3] = width;
  memcpy(out + 4, prefix, len);
  return 4 + len;
}

enum blok_err blok__installed_encode(struct blok_buf *b, const struct blok__installed *r) {
  BLOK_TRY(blok_enc_u32(b, r->total));
  BLOK_TRY(blok_enc_count(b, r->count, BLOK_PARTS_INSTALLED_MAX));
  for (size_t i = 0; i < r->count; i++) {
    BLOK_TRY(enc_cstr(b, r->e[i].serial, BLOK_PARTS_SERIAL_MAX));
    BLOK_TRY(enc_cstr(b, r->e[i].batch, BLOK__PARTS_ID_MAX));
  }
  return BLOK_OK;
}

/* Strict: ids of the alphabet, serials in increasing order, a total that counts the entries. */
enum blok_err blok__installed_decode(const uint8_t *v, size_t n, struct blok__installed *r) {
  struct blok_reader rd;
  blok_reader_init(&rd, v, n);
  r->count = 0;
  BLOK_TRY(blok_dec_u32(&rd, &r->total));
  BLOK_TRY(blok_dec_count(&rd, &r->count, BLOK_PARTS_INSTALLED_MAX));
  for (size_t i = 0; i < r->count; i++) {
    struct blok__pentry *e = &r->e[i];
    BLOK_TRY(dec_cstr(&rd, e->serial, BLOK_PARTS_SERIAL_MAX));
    BLOK_TRY(dec_cstr(&rd, e->batch, BLOK__PARTS_ID_MAX));
    if (!blok__parts_id_ok(e->serial, strlen(e->serial), BLOK_PARTS_SERIAL_MAX) ||
        !blok__parts_id_ok(e->batch, strlen(e->batch), BLOK__PARTS_ID_MAX) ||
        (i > 0 && strcmp(r->e[i - 1].serial, e->serial) >= 0))
      return BLOK_EFORMAT;
  }
  if (r->total < r->count) return BLOK_EFORMAT;
  return blok_dec_end(&rd);
}

int blok__rentry_cmp(enum blok__rlist_kind k, const struct blok__rentry *a,
                     const struct blok__rentry *b) {
  int c = 0;
  if (k == BLOK__RL_SERIALS) {
    c = a->first != b->first ? (a->first < b->first ? -1 : 1)
        : a->last != b->last ? (a->last < b->last ? -1 : 1)
                             : 0;
  } else if (k == BLOK__RL_VINS) {
    c = strcmp(a->from, b->from);
    if (c == 0) c = strcmp(a->to, b->to);
  }
  return c != 0 ? c : strcmp(a->recall, b->recall);
}

enum blok_err blok__rlist_encode(struct blok_buf *b, enum blok__rlist_kind k,
                                 const struct blok__rlist *r) {
  BLOK_TRY(blok_enc_count(b, r->count, BLOK_PARTS_RECALL_LIST_MAX));
  for (size_t i = 0; i < r->count; i++) {
    const struct blok__rentry *e = &r->e[i];
    if (k == BLOK__RL_SERIALS) {
      BLOK_TRY(blok_enc_u64(b, e->first));
      BLOK_TRY(blok_enc_u64(b, e->last));
    } else if (k == BLOK__RL_VINS) {
      BLOK_TRY(enc_cstr(b, e->from, BLOK_VIN_LEN));
      BLOK_TRY(enc_cstr(b, e->to, BLOK_VIN_LEN));
    }
    BLOK_TRY(enc_cstr(b, e->recall, BLOK__PARTS_ID_MAX));
  }
  return BLOK_OK;
}

/* Strict: valid ids, VINs of 17 characters, first <= last, from <= to in one WMI, entries in
 * increasing order with none twice. */
enum blok_err blok__rlist_decode(const uint8_t *v, size_t n, enum blok__rlist_kind k,
                                 struct blok__rlist *r) {
  struct blok_reader rd;
  blok_reader_init(&rd, v, n);
  r->count = 0;
  BLOK_TRY(blok_dec_count(&rd, &r->count, BLOK_PARTS_RECALL_LIST_MAX));
  for (size_t i = 0; i < r->count; i++) {
    struct blok__rentry *e = &r->e[i];
    memset(e, 0, sizeof *e);
    if (k == BLOK__RL_SERIALS) {
      BLOK_TRY(blok_dec_u64(&rd, &e->first));
      BLOK_TRY(blok_dec_u64(&rd, &e->last));
      if (e->first > e->last) return BLOK_EFORMAT;
    } else if (k == BLOK__RL_VINS) {
      BLOK_TRY(dec_cstr(&rd, e->from, BLOK_VIN_LEN));
      BLOK_TRY(dec_cstr(&rd, e->to, BLOK_VIN_LEN));
      if (strlen(e->from) != BLOK_VIN_LEN || strlen(e->to) != BLOK_VIN_LEN ||
          strcmp(e->from, e->to) > 0 || memcmp(e->from, e->to, 3) != 0)
        return BLOK_EFORMAT;
    }
    BLOK_TRY(dec_cstr(&rd, e->recall, BLOK__PARTS_ID_MAX));
    if (!blok__parts_id_ok(e->recall, strlen(e->recall), BLOK__PARTS_ID_MAX) ||
        (i > 0 && blok__rentry_cmp(k, &r->e[i - 1], e) >= 0))
      return BLOK_EFORMAT;
  }
  return blok_dec_end(&rd);
}
