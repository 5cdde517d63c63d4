/*
 * The vehicle module's formats (docs/PROTOCOL.md, "Vehicles"): the twelve payloads in binary
 * and JSON, the state record, the event chain and the owner's consent.
 *
 * The payloads are described by one table, a row of fields per kind, and a single decoder,
 * encoder and JSON converter walk it. So each rule (a limit, a key check, a VIN check) is
 * written once and holds the same way for a transaction that arrives signed, one built from
 * JSON by the API, and one shown back as JSON. Every check here is stateless; what depends on
 * the record is in vehicle.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "blok/hex.h"
#include "blok/sha256.h"
#include "blok/vin.h"
#include "vehicle_internal.h"
#include "blok/banned.h"

/* --- the payload table -------------------------------------------------------------------- */

enum vft {
  VF_ENUM, /* u8, 1..count, named in JSON */
  VF_BOOL,
  VF_YEAR, /* u16 model year */
  VF_U64,
  VF_KM,   /* u64, at most BLOK_VEHICLE_KM_MAX */
  VF_TEXT, /* text<max>, 1..max bytes, no control characters */
  VF_KEY,  /* fixed[32], an Ed25519 public key that passes blok_sign_check_pk */
  VF_HASH, /* fixed[32] */
  VF_SIG,  /* fixed[64] */
};

#define NO_OPT ((size_t)-1)
#define OFF(f) offsetof(struct blok__vpay, f)

struct vfield {
  const char *name;
  enum vft type;
  size_t off;
  size_t has_off; /* the presence flag of an opt field, or NO_OPT */
  size_t max;     /* VF_TEXT: bytes; VF_ENUM: how many names */
  const char *const *names;
};

static const char *const action_names[] = {"place", "release"};
static const char *const brand_names[] = {"salvage", "flood", "rebuilt", "lemon", "junk"};
static const char *const severity_names[] = {"minor", "moderate", "severe", "total_loss"};

#define ENUM_FIELD(n, f, list)                                                                     \
  { n, VF_ENUM, OFF(f), NO_OPT, BLOK_ARRAY_LEN(list), list }
#define PLAIN(n, t, f)                                                                             \
  { n, t, OFF(f), NO_OPT, 0, NULL }
#define OPT(n, t, f, has)                                                                          \
  { n, t, OFF(f), OFF(has), 0, NULL }
#define TEXT(n, f, max)                                                                            \
  { n, VF_TEXT, OFF(f), NO_OPT, max, NULL }
#define DOCUMENT OPT("document", VF_HASH, document, has_document)

static const struct vfield f_register[] = {
    PLAIN("model_year", VF_YEAR, model_year),
    TEXT("make", make, BLOK__VEHICLE_MAKE_MAX),
    TEXT("model", model, BLOK__VEHICLE_MODEL_MAX),
    PLAIN("owner", VF_KEY, owner),
    OPT("vehicle_key", VF_KEY, vehicle_key, has_vehicle_key),
};
static const struct vfield f_rotate_key[] = {
    OPT("vehicle_key", VF_KEY, vehicle_key, has_vehicle_key),
};
static const struct vfield f_transfer_offer[] = {
    PLAIN("new_owner", VF_KEY, new_owner),
    PLAIN("expiry_height", VF_U64, expiry_height),
    OPT("consent", VF_SIG, consent, has_consent),
};
static const struct vfield f_lien[] = {ENUM_FIELD("action", action, action_names)};
static const struct vfield f_brand[] = {ENUM_FIELD("brand", brand, brand_names)};
static const struct vfield f_odometer[] = {PLAIN("km", VF_KM, km)};
static const struct vfield f_cluster_replace[] = {
    PLAIN("old_km", VF_KM, old_km),
    PLAIN("new_km", VF_KM, new_km),
    DOCUMENT,
};
static const struct vfield f_service[] = {
    TEXT("summary", summary, BLOK__VEHICLE_SUMMARY_MAX),
    DOCUMENT,
};
static const struct vfield f_accident[] = {
    ENUM_FIELD("severity", severity, severity_names),
    PLAIN("airbag_deployed", VF_BOOL, airbag_deployed),
    PLAIN("structural_damage", VF_BOOL, structural_damage),
    DOCUMENT,
};
static const struct vfield f_inspection[] = {
    PLAIN("passed", VF_BOOL, passed),
    PLAIN("km", VF_KM, km),
    DOCUMENT,
};
static const struct vfield f_end_of_life[] = {PLAIN("certificate", VF_HASH, certificate)};

struct vformat {
  const char *type;
  const struct vfield *fields;
  size_t count;
};

#define ROW(name, f)                                                                               \
  { name, f, BLOK_ARRAY_LEN(f) }
static const struct vformat formats[BLOK__VK_COUNT] = {
    [BLOK__VK_REGISTER] = ROW("register", f_register),
    [BLOK__VK_ROTATE_KEY] = ROW("rotate_key", f_rotate_key),
    [BLOK__VK_TRANSFER_OFFER] = ROW("transfer_offer", f_transfer_offer),
    [BLOK__VK_TRANSFER_ACCEPT] = {"transfer_accept", NULL, 0},
    [BLOK__VK_LIEN] = ROW("lien", f_lien),
    [BLOK__VK_BRAND] = ROW("brand", f_brand),
    [BLOK__VK_ODOMETER] = ROW("odometer", f_odometer),
    [BLOK__VK_CLUSTER_REPLACE] = ROW("cluster_replace", f_cluster_replace),
    [BLOK__VK_SERVICE] = ROW("service", f_service),
    [BLOK__VK_REPAIR] = ROW("repair", f_service),
    [BLOK__VK_ACCIDENT] = ROW("accident", f_accident),
    [BLOK__VK_INSPECTION] = ROW("inspection", f_inspection),
    [BLOK__VK_END_OF_LIFE] = ROW("end_of_life", f_end_of_life),
};

enum blok__vkind blok__vkind_of(const char *type) {
  for (unsigned k = 0; k < BLOK__VK_COUNT; k++)
    if (strcmp(formats[k].type, type) == 0) return (enum blok__vkind)k;
  return BLOK__VK_COUNT;
}

const char *blok__vkind_name(enum blok__vkind k) {
  return (unsigned)k < BLOK__VK_COUNT ? formats[k].type : "unknown";
}

const char *blok__vbrand_name(unsigned brand) {
  return brand >= 1 && brand <= BLOK_ARRAY_LEN(brand_names) ? brand_names[brand - 1] : "unknown";
}

/* --- field access ------------------------------------------------------------------------- */

/* Fields are reached by offset; memcpy keeps the access free of aliasing questions. */
static void *at(struct blok__vpay *p, size_t off) {
  return (uint8_t *)p + off;
}
static const void *at_c(const struct blok__vpay *p, size_t off) {
  return (const uint8_t *)p + off;
}

static bool present(const struct vfield *f, const struct blok__vpay *p) {
  bool has = true;
  if (f->has_off != NO_OPT) memcpy(&has, at_c(p, f->has_off), sizeof has);
  return has;
}

static void set_present(const struct vfield *f, struct blok__vpay *p, bool has) {
  if (f->has_off != NO_OPT) memcpy(at(p, f->has_off), &has, sizeof has);
}

static uint64_t get_u64(const struct vfield *f, const struct blok__vpay *p) {
  uint64_t v = 0;
  switch (f->type) {
    case VF_ENUM:
    case VF_BOOL: {
      uint8_t b;
      memcpy(&b, at_c(p, f->off), 1);
      v = b;
      break;
    }
    case VF_YEAR: {
      uint16_t y;
      memcpy(&y, at_c(p, f->off), sizeof y);
      v = y;
      break;
    }
    default:
      memcpy(&v, at_c(p, f->off), sizeof v);
  }
  return v;
}

static size_t fixed_len(enum vft t) {
  return t == VF_SIG ? 64 : 32;
}

/* --- checks shared by every path ---------------------------------------------------------- */

/* Text a person reads in a report: valid UTF-8 and no control characters (no NUL to cut a
 * string short, no escape sequence to play tricks on a terminal). */
static bool text_readable(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t c = (uint8_t)s[i];
    if (c < 0x20 || c == 0x7f) return false;
  }
  return blok_utf8_valid((const uint8_t *)s, n);
}

enum blok_err blok__vin_canonical(const char *s, size_t len, char vin[18], struct blok_why *why) {
  struct blok_vin v;
  struct blok_vin_problem prob;
  char text[BLOK_VIN_PROBLEM_MAX];
  if (blok_vin_parse(&v, &prob, s, len) != BLOK_OK) {
    (void)blok_vin_problem_describe(text, sizeof text, &prob);
    return blok_refuse(why, BLOK_EVIN, "payload.vin: %s", text);
  }
  if (memcmp(v.vin, s, BLOK_VIN_LEN) != 0)
    return blok_refuse(why, BLOK_EVIN, "payload.vin: %s must be written in upper case", v.vin);
  memcpy(vin, v.vin, sizeof v.vin);
  return BLOK_OK;
}

/* The limits of one present field. */
static enum blok_err field_check(const struct vfield *f, const struct blok__vpay *p,
                                 struct blok_why *why) {
  uint64_t v = get_u64(f, p);
  switch (f->type) {
    case VF_ENUM:
      if (v < 1 || v > f->max)
        return blok_refuse(why, BLOK_ERANGE, "payload.%s: %llu is not one of 1..%zu", f->name,
                           (unsigned long long)v, f->max);
      return BLOK_OK;
    case VF_YEAR:
      if (v < BLOK__VEHICLE_YEAR_MIN || v > BLOK__VEHICLE_YEAR_MAX)
        return blok_refuse(why, BLOK_ERANGE, "payload.%s: %llu is not a model year in %d..%d",
                           f->name, (unsigned long long)v, BLOK__VEHICLE_YEAR_MIN,
                           BLOK__VEHICLE_YEAR_MAX);
      return BLOK_OK;
    case VF_KM:
      if (v > BLOK_VEHICLE_KM_MAX)
        return blok_refuse(why, BLOK_ERANGE, "payload.%s: %llu km is above the limit of %u km",
                           f->name, (unsigned long long)v, BLOK_VEHICLE_KM_MAX);
      return BLOK_OK;
    case VF_TEXT: {
      struct blok__vtext t;
      memcpy(&t, at_c(p, f->off), sizeof t);
      if (t.len == 0 || t.len > f->max)
        return blok_refuse(why, BLOK_ETOOLONG, "payload.%s: 1 to %zu bytes are required, not %zu",
                           f->name, f->max, t.len);
      if (!text_readable(t.s, t.len))
        return blok_refuse(why, BLOK_EUTF8,
                           "payload.%s: utf-8 text without control characters is required",
                           f->name);
      return BLOK_OK;
    }
    case VF_KEY:
      if (blok_sign_check_pk(at_c(p, f->off)) != BLOK_OK)
        return blok_refuse(why, BLOK_EBADKEY, "payload.%s: not a valid ed25519 public key",
                           f->name);
      return BLOK_OK;
    default:
      return BLOK_OK;
  }
}

/* --- binary ------------------------------------------------------------------------------- */

static enum blok_err dec_field(struct blok_reader *rd, const struct vfield *f,
                               struct blok__vpay *p) {
  switch (f->type) {
    case VF_ENUM:
      return blok_dec_u8(rd, at(p, f->off));
    case VF_BOOL:
      return blok_dec_bool(rd, at(p, f->off));
    case VF_YEAR:
      return blok_dec_u16(rd, at(p, f->off));
    case VF_U64:
    case VF_KM:
      return blok_dec_u64(rd, at(p, f->off));
    case VF_TEXT: {
      struct blok__vtext t;
      BLOK_TRY(blok_dec_text(rd, &t.s, &t.len, f->max));
      memcpy(at(p, f->off), &t, sizeof t);
      return BLOK_OK;
    }
    default:
      return blok_dec_fixed(rd, at(p, f->off), fixed_len(f->type));
  }
}

static enum blok_err enc_field(struct blok_buf *b, const struct vfield *f,
                               const struct blok__vpay *p) {
  uint64_t v = get_u64(f, p);
  switch (f->type) {
    case VF_ENUM:
      return blok_enc_u8(b, (uint8_t)v);
    case VF_BOOL:
      return blok_enc_bool(b, v != 0);
    case VF_YEAR:
      return blok_enc_u16(b, (uint16_t)v);
    case VF_U64:
    case VF_KM:
      return blok_enc_u64(b, v);
    case VF_TEXT: {
      struct blok__vtext t;
      memcpy(&t, at_c(p, f->off), sizeof t);
      return blok_enc_text(b, t.s, t.len, f->max);
    }
    default:
      return blok_enc_fixed(b, at_c(p, f->off), fixed_len(f->type));
  }
}

/* Reads one field, and its presence flag first when it is opt. */
static enum blok_err dec_one(struct blok_reader *rd, const struct vfield *f, struct blok__vpay *p,
                             struct blok_why *why) {
  enum blok_err rc = BLOK_OK;
  bool has = true;
  if (f->has_off != NO_OPT) rc = blok_dec_bool(rd, &has);
  if (rc == BLOK_OK && has) rc = dec_field(rd, f, p);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "payload.%s: %s", f->name, blok_strerror(rc));
  set_present(f, p, has);
  return has ? field_check(f, p, why) : BLOK_OK;
}

enum blok_err blok__vpay_decode(enum blok__vkind k, const uint8_t *data, size_t len,
                                struct blok__vpay *p, struct blok_why *why) {
  BLOK_ASSERT((unsigned)k < BLOK__VK_COUNT);
  const struct vformat *fm = &formats[k];
  struct blok_reader rd;
  const char *s;
  size_t n;
  memset(p, 0, sizeof *p);
  blok_reader_init(&rd, data, len);
  enum blok_err rc = blok_dec_text(&rd, &s, &n, BLOK_VIN_LEN);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "payload.vin: %s", blok_strerror(rc));
  BLOK_TRY(blok__vin_canonical(s, n, p->vin, why));
  for (size_t i = 0; i < fm->count; i++)
    BLOK_TRY(dec_one(&rd, &fm->fields[i], p, why));
  if (blok_dec_end(&rd) != BLOK_OK)
    return blok_refuse(why, BLOK_ETRAILING, "payload: %zu bytes after the last field of %s",
                       len - rd.pos, fm->type);
  return BLOK_OK;
}

enum blok_err blok__vpay_encode(enum blok__vkind k, struct blok_buf *out,
                                const struct blok__vpay *p, struct blok_why *why) {
  BLOK_ASSERT((unsigned)k < BLOK__VK_COUNT);
  const struct vformat *fm = &formats[k];
  char vin[18];
  BLOK_TRY(blok__vin_canonical(p->vin, strnlen(p->vin, sizeof p->vin), vin, why));
  BLOK_TRY(blok_enc_text(out, vin, BLOK_VIN_LEN, BLOK_VIN_LEN));
  for (size_t i = 0; i < fm->count; i++) {
    const struct vfield *f = &fm->fields[i];
    bool has = present(f, p);
    if (has) BLOK_TRY(field_check(f, p, why));
    if (f->has_off != NO_OPT) BLOK_TRY(blok_enc_bool(out, has));
    if (has) BLOK_TRY(enc_field(out, f, p));
  }
  return BLOK_OK;
}

/* --- JSON --------------------------------------------------------------------------------- */

json_t *blok__vjson_u64(uint64_t v) {
  if (v <= (uint64_t)INT64_MAX) return json_integer((json_int_t)v);
  char s[24];
  snprintf(s, sizeof s, "%llu", (unsigned long long)v);
  return json_string(s);
}

/* A u64 from JSON: a non-negative integer, or a string of decimal digits (for values above
 * 2^63 - 1, which JSON parsers hold as doubles or not at all). */
static bool json_u64(const json_t *j, uint64_t *out) {
  if (json_is_integer(j)) {
    json_int_t v = json_integer_value(j);
    if (v < 0) return false;
    *out = (uint64_t)v;
    return true;
  }
  const char *s = json_string_value(j);
  size_t n = s ? json_string_length(j) : 0;
  if (n == 0 || n > 20 || (s[0] == '0' && n > 1)) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

static enum blok_err json_enum(const struct vfield *f, const json_t *j, struct blok__vpay *p,
                               struct blok_why *why) {
  const char *s = json_string_value(j);
  for (size_t i = 0; s != NULL && i < f->max; i++)
    if (strcmp(s, f->names[i]) == 0) {
      uint8_t v = (uint8_t)(i + 1);
      memcpy(at(p, f->off), &v, 1);
      return BLOK_OK;
    }
  char list[96] = "";
  size_t used = 0;
  for (size_t i = 0; i < f->max && used < sizeof list; i++) {
    int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", f->names[i]);
    if (w > 0) used += (size_t)w;
  }
  return blok_refuse(why, BLOK_EINVAL, "payload.%s: one of %s is required", f->name, list);
}

/* One field from its JSON value (present, not null). */
static enum blok_err json_field(const struct vfield *f, const json_t *j, struct blok__vpay *p,
                                struct blok_why *why) {
  uint64_t v;
  switch (f->type) {
    case VF_ENUM:
      return json_enum(f, j, p, why);
    case VF_BOOL: {
      if (!json_is_boolean(j))
        return blok_refuse(why, BLOK_EFORMAT, "payload.%s: true or false is required", f->name);
      bool b = json_is_true(j);
      memcpy(at(p, f->off), &b, sizeof b);
      return BLOK_OK;
    }
    case VF_YEAR: {
      if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > UINT16_MAX)
        return blok_refuse(why, BLOK_EFORMAT, "payload.%s: a year (an integer) is required",
                           f->name);
      uint16_t y = (uint16_t)json_integer_value(j);
      memcpy(at(p, f->off), &y, sizeof y);
      return BLOK_OK;
    }
    case VF_U64:
    case VF_KM:
      if (!json_u64(j, &v))
        return blok_refuse(why, BLOK_EFORMAT, "payload.%s: a non-negative integer is required",
                           f->name);
      memcpy(at(p, f->off), &v, sizeof v);
      return BLOK_OK;
    case VF_TEXT: {
      if (!json_is_string(j))
        return blok_refuse(why, BLOK_EFORMAT, "payload.%s: a string is required", f->name);
      struct blok__vtext t = {json_string_value(j), json_string_length(j)};
      memcpy(at(p, f->off), &t, sizeof t);
      return BLOK_OK;
    }
    default: {
      const char *hex = json_string_value(j);
      size_t n = fixed_len(f->type);
      if (hex == NULL || blok_hex_decode_exact(at(p, f->off), n, hex, strlen(hex)) != BLOK_OK)
        return blok_refuse(why, BLOK_EHEX, "payload.%s: %zu hex digits are required", f->name,
                           2 * n);
      return BLOK_OK;
    }
  }
}

static const struct vfield *field_named(const struct vformat *fm, const char *name) {
  for (size_t i = 0; i < fm->count; i++)
    if (strcmp(fm->fields[i].name, name) == 0) return &fm->fields[i];
  return NULL;
}

static enum blok_err json_vin(const json_t *j, struct blok__vpay *p, struct blok_why *why) {
  const json_t *v = json_object_get(j, "vin");
  if (v == NULL) return blok_refuse(why, BLOK_EFORMAT, "payload.vin is required");
  if (!json_is_string(v))
    return blok_refuse(why, BLOK_EFORMAT, "payload.vin: a string of 17 characters is required");
  struct blok_vin parsed;
  struct blok_vin_problem prob;
  char text[BLOK_VIN_PROBLEM_MAX];
  if (blok_vin_parse(&parsed, &prob, json_string_value(v), json_string_length(v)) != BLOK_OK) {
    (void)blok_vin_problem_describe(text, sizeof text, &prob);
    return blok_refuse(why, BLOK_EVIN, "payload.vin: %s", text);
  }
  memcpy(p->vin, parsed.vin, sizeof p->vin);
  return BLOK_OK;
}

enum blok_err blok__vpay_from_json(enum blok__vkind k, const json_t *j, struct blok_buf *out,
                                   struct blok_why *why) {
  BLOK_ASSERT((unsigned)k < BLOK__VK_COUNT);
  const struct vformat *fm = &formats[k];
  struct blok__vpay p;
  const char *key;
  json_t *v;
  memset(&p, 0, sizeof p);
  if (!json_is_object(j)) return blok_refuse(why, BLOK_EFORMAT, "payload: an object is required");
  json_object_foreach((json_t *)(uintptr_t)j, key, v) {
    if (strcmp(key, "vin") != 0 && field_named(fm, key) == NULL)
      return blok_refuse(why, BLOK_EFORMAT, "payload: unknown field %s for vehicle/%s", key,
                         fm->type);
  }
  BLOK_TRY(json_vin(j, &p, why));
  for (size_t i = 0; i < fm->count; i++) {
    const struct vfield *f = &fm->fields[i];
    const json_t *fv = json_object_get(j, f->name);
    if (fv == NULL && f->has_off == NO_OPT)
      return blok_refuse(why, BLOK_EFORMAT, "payload.%s is required", f->name);
    if (json_is_null(fv))
      return blok_refuse(why, BLOK_EFORMAT, "payload.%s: leave the field out rather than null",
                         f->name);
    set_present(f, &p, fv != NULL);
    if (fv != NULL) BLOK_TRY(json_field(f, fv, &p, why));
  }
  return blok__vpay_encode(k, out, &p, why);
}

static json_t *field_json(const struct vfield *f, const struct blok__vpay *p) {
  uint64_t v = get_u64(f, p);
  switch (f->type) {
    case VF_ENUM:
      return json_string(f->names[v - 1]);
    case VF_BOOL:
      return json_boolean(v != 0);
    case VF_YEAR:
    case VF_U64:
    case VF_KM:
      return blok__vjson_u64(v);
    case VF_TEXT: {
      struct blok__vtext t;
      memcpy(&t, at_c(p, f->off), sizeof t);
      return json_stringn(t.s, t.len);
    }
    default: {
      char hex[BLOK_HEX_LEN(64)];
      blok_hex_encode(hex, sizeof hex, at_c(p, f->off), fixed_len(f->type));
      return json_string(hex);
    }
  }
}

json_t *blok__vpay_to_json(enum blok__vkind k, const uint8_t *data, size_t len) {
  struct blok__vpay p;
  struct blok_why why = {{0}};
  if ((unsigned)k >= BLOK__VK_COUNT || blok__vpay_decode(k, data, len, &p, &why) != BLOK_OK)
    return NULL;
  const struct vformat *fm = &formats[k];
  json_t *j = json_object();
  if (j == NULL || json_object_set_new(j, "vin", json_string(p.vin)) != 0) goto fail;
  for (size_t i = 0; i < fm->count; i++) {
    const struct vfield *f = &fm->fields[i];
    if (present(f, &p) && json_object_set_new(j, f->name, field_json(f, &p)) != 0) goto fail;
  }
  return j;
fail:
  json_decref(j);
  return NULL;
}

/* --- the record --------------------------------------------------------------------------- */

static bool cstr_ok(const char *s, size_t cap, size_t min, bool readable) {
  size_t n = strnlen(s, cap);
  if (n == cap || n < min) return false;
  return readable ? text_readable(s, n) : blok_utf8_valid((const uint8_t *)s, n);
}

/* Whether a record is one the decoder accepts (the encoder refuses any other). */
static enum blok_err record_check(const struct blok_vehicle_record *r) {
  struct blok_why why = {{0}};
  char vin[18];
  if (r->version != BLOK_VEHICLE_RECORD_VERSION) return BLOK_EFORMAT;
  if (strnlen(r->vin, sizeof r->vin) != BLOK_VIN_LEN ||
      blok__vin_canonical(r->vin, BLOK_VIN_LEN, vin, &why) != BLOK_OK)
    return BLOK_EVIN;
  if (r->status != BLOK_VEHICLE_ACTIVE && r->status != BLOK_VEHICLE_RETIRED) return BLOK_EFORMAT;
  if (r->model_year < BLOK__VEHICLE_YEAR_MIN || r->model_year > BLOK__VEHICLE_YEAR_MAX ||
      !cstr_ok(r->make, sizeof r->make, 1, true) || !cstr_ok(r->model, sizeof r->model, 1, true))
    return BLOK_EFORMAT;
  if (r->lien_open && !cstr_ok(r->lien_holder, sizeof r->lien_holder, 1, false))
    return BLOK_EFORMAT;
  if ((r->brands & ~0x1fu) != 0 || r->odometer_high_km > BLOK_VEHICLE_KM_MAX ||
      r->odometer_last_km > BLOK_VEHICLE_KM_MAX || r->owners == 0 || r->event_count == 0)
    return BLOK_EFORMAT;
  bool retired = r->status == BLOK_VEHICLE_RETIRED;
  if (retired ? r->retired_height < r->registered_height || r->retired_height == 0
              : r->retired_height != 0)
    return BLOK_EFORMAT;
  return BLOK_OK;
}

static enum blok_err enc_opt_fixed(struct blok_buf *b, bool has, const uint8_t *v) {
  BLOK_TRY(blok_enc_bool(b, has));
  return has ? blok_enc_fixed(b, v, 32) : BLOK_OK;
}

enum blok_err blok_vehicle_record_encode(struct blok_buf *out,
                                         const struct blok_vehicle_record *r) {
  if (record_check(r) != BLOK_OK) return BLOK_EINVAL;
  BLOK_TRY(blok_enc_u8(out, r->version));
  BLOK_TRY(blok_enc_text(out, r->vin, BLOK_VIN_LEN, BLOK_VIN_LEN));
  BLOK_TRY(blok_enc_u8(out, r->status));
  BLOK_TRY(blok_enc_u16(out, r->model_year));
  BLOK_TRY(blok_enc_text(out, r->make, strlen(r->make), BLOK__VEHICLE_MAKE_MAX));
  BLOK_TRY(blok_enc_text(out, r->model, strlen(r->model), BLOK__VEHICLE_MODEL_MAX));
  BLOK_TRY(blok_enc_fixed(out, r->owner, 32));
  BLOK_TRY(enc_opt_fixed(out, r->has_vehicle_key, r->vehicle_key));
  BLOK_TRY(blok_enc_bool(out, r->lien_open));
  if (r->lien_open)
    BLOK_TRY(blok_enc_text(out, r->lien_holder, strlen(r->lien_holder), BLOK_NAME_MAX));
  BLOK_TRY(blok_enc_u8(out, r->brands));
  BLOK_TRY(blok_enc_u64(out, r->odometer_high_km));
  BLOK_TRY(blok_enc_u64(out, r->odometer_last_km));
  BLOK_TRY(blok_enc_u32(out, r->rollbacks));
  BLOK_TRY(blok_enc_u32(out, r->owners));
  BLOK_TRY(blok_enc_u32(out, r->accidents));
  BLOK_TRY(enc_opt_fixed(out, r->has_offer, r->offer_to));
  if (r->has_offer) BLOK_TRY(blok_enc_u64(out, r->offer_expiry_height));
  BLOK_TRY(blok_enc_u64(out, r->registered_height));
  BLOK_TRY(blok_enc_u64(out, r->retired_height));
  BLOK_TRY(blok_enc_u64(out, r->event_count));
  return blok_enc_fixed(out, r->chain_head, 32);
}

/* A text field into a NUL-terminated array; text holding a NUL is refused. */
static enum blok_err dec_cstr(struct blok_reader *rd, char *out, size_t max) {
  const char *s;
  size_t n;
  BLOK_TRY(blok_dec_text(rd, &s, &n, max));
  if (memchr(s, 0, n) != NULL) return BLOK_EFORMAT;
  memcpy(out, s, n);
  out[n] = '\0';
  return BLOK_OK;
}

static enum blok_err dec_opt_fixed(struct blok_reader *rd, bool *has, uint8_t *v) {
  BLOK_TRY(blok_dec_bool(rd, has));
  return *has ? blok_dec_fixed(rd, v, 32) : BLOK_OK;
}

enum blok_err blok_vehicle_record_decode(const uint8_t *data, size_t len,
                                         struct blok_vehicle_record *r) {
  struct blok_reader rd;
  memset(r, 0, sizeof *r);
  blok_reader_init(&rd, data, len);
  BLOK_TRY(blok_dec_u8(&rd, &r->version));
  if (r->version != BLOK_VEHICLE_RECORD_VERSION) return BLOK_EFORMAT;
  BLOK_TRY(dec_cstr(&rd, r->vin, BLOK_VIN_LEN));
  BLOK_TRY(blok_dec_u8(&rd, &r->status));
  BLOK_TRY(blok_dec_u16(&rd, &r->model_year));
  BLOK_TRY(dec_cstr(&rd, r->make, BLOK__VEHICLE_MAKE_MAX));
  BLOK_TRY(dec_cstr(&rd, r->model, BLOK__VEHICLE_MODEL_MAX));
  BLOK_TRY(blok_dec_fixed(&rd, r->owner, 32));
  BLOK_TRY(dec_opt_fixed(&rd, &r->has_vehicle_key, r->vehicle_key));
  BLOK_TRY(blok_dec_bool(&rd, &r->lien_open));
  if (r->lien_open) BLOK_TRY(dec_cstr(&rd, r->lien_holder, BLOK_NAME_MAX));
  BLOK_TRY(blok_dec_u8(&rd, &r->brands));
  BLOK_TRY(blok_dec_u64(&rd, &r->odometer_high_km));
  BLOK_TRY(blok_dec_u64(&rd, &r->odometer_last_km));
  BLOK_TRY(blok_dec_u32(&rd, &r->rollbacks));
  BLOK_TRY(blok_dec_u32(&rd, &r->owners));
  BLOK_TRY(blok_dec_u32(&rd, &r->accidents));
  BLOK_TRY(dec_opt_fixed(&rd, &r->has_offer, r->offer_to));
  if (r->has_offer) BLOK_TRY(blok_dec_u64(&rd, &r->offer_expiry_height));
  BLOK_TRY(blok_dec_u64(&rd, &r->registered_height));
  BLOK_TRY(blok_dec_u64(&rd, &r->retired_height));
  BLOK_TRY(blok_dec_u64(&rd, &r->event_count));
  BLOK_TRY(blok_dec_fixed(&rd, r->chain_head, 32));
  BLOK_TRY(blok_dec_end(&rd));
  return record_check(r);
}

static json_t *hex_or_null(bool has, const uint8_t *v, size_t n) {
  if (!has) return json_null();
  char hex[BLOK_HEX_LEN(32)];
  blok_hex_encode(hex, sizeof hex, v, n);
  return json_string(hex);
}

static json_t *brands_json(uint8_t brands) {
  json_t *a = json_array();
  for (unsigned b = 1; a != NULL && b <= BLOK_ARRAY_LEN(brand_names); b++) {
    if ((brands & (1u << (b - 1))) == 0) continue;
    if (json_array_append_new(a, json_string(brand_names[b - 1])) != 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

json_t *blok_vehicle_record_to_json(const struct blok_vehicle_record *r) {
  json_t *j = json_pack(
      "{s:i, s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:o, "
      "s:o, s:o, s:o, s:o}",
      "version", (int)r->version, "vin", r->vin, "status",
      r->status == BLOK_VEHICLE_RETIRED ? "retired" : "active", "model_year", (int)r->model_year,
      "make", r->make, "model", r->model, "owner", hex_or_null(true, r->owner, 32), "vehicle_key",
      hex_or_null(r->has_vehicle_key, r->vehicle_key, 32), "lien_holder",
      r->lien_open ? json_string(r->lien_holder) : json_null(), "brands", brands_json(r->brands),
      "odometer_high_km", blok__vjson_u64(r->odometer_high_km), "odometer_last_km",
      blok__vjson_u64(r->odometer_last_km), "rollbacks", (json_int_t)r->rollbacks, "owners",
      (json_int_t)r->owners, "accidents", (json_int_t)r->accidents, "offer_to",
      hex_or_null(r->has_offer, r->offer_to, 32), "offer_expiry_height",
      r->has_offer ? blok__vjson_u64(r->offer_expiry_height) : json_null(), "registered_height",
      blok__vjson_u64(r->registered_height), "retired_height", blok__vjson_u64(r->retired_height),
      "event_count", blok__vjson_u64(r->event_count), "chain_head",
      hex_or_null(true, r->chain_head, 32));
  return j;
}

/* --- keys, chain, consent ----------------------------------------------------------------- */

void blok_vehicle_state_key(uint8_t out[19], const char vin[17]) {
  out[0] = 'v';
  out[1] = '/';
  memcpy(out + 2, vin, BLOK_VIN_LEN);
}

static void put_u64_le(uint8_t *out, uint64_t v) {
  for (int i = 0; i < 8; i++)
    out[i] = (uint8_t)(v >> (8 * i));
}

void blok_vehicle_chain_next(uint8_t head[32], const uint8_t tx_id[32], uint64_t height,
                             uint64_t time_ms) {
  uint8_t m[80];
  memcpy(m, head, 32);
  memcpy(m + 32, tx_id, 32);
  put_u64_le(m + 64, height);
  put_u64_le(m + 72, time_ms);
  blok_sha256(head, m, sizeof m);
}

enum blok_err blok_vehicle_payload_vin(const uint8_t *payload, size_t len, char vin[18]) {
  struct blok_reader rd;
  struct blok_why why = {{0}};
  const char *s;
  size_t n;
  blok_reader_init(&rd, payload, len);
  BLOK_TRY(blok_dec_text(&rd, &s, &n, BLOK_VIN_LEN));
  return blok__vin_canonical(s, n, vin, &why);
}

void blok__vehicle_consent_message(uint8_t out[BLOK__VEHICLE_CONSENT_MSG_LEN], const char vin[17],
                                   const uint8_t new_owner[32], uint64_t expiry_height) {
  struct blok_buf b = {.data = out,
                       .cap = BLOK__VEHICLE_CONSENT_MSG_LEN,
                       .size_bytes_max = BLOK__VEHICLE_CONSENT_MSG_LEN};
  BLOK_ASSERT(blok_enc_text(&b, vin, BLOK_VIN_LEN, BLOK_VIN_LEN) == BLOK_OK);
  BLOK_ASSERT(blok_enc_fixed(&b, new_owner, 32) == BLOK_OK);
  BLOK_ASSERT(blok_enc_u64(&b, expiry_height) == BLOK_OK);
  BLOK_ASSERT(b.len == BLOK__VEHICLE_CONSENT_MSG_LEN);
}

enum blok_err blok_vehicle_consent_sign(uint8_t sig[64], const struct blok_sign_keypair *owner,
                                        const char *chain_id, const char vin[17],
                                        const uint8_t new_owner[32], uint64_t expiry_height) {
  uint8_t m[BLOK__VEHICLE_CONSENT_MSG_LEN];
  char v[18];
  struct blok_why why = {{0}};
  BLOK_TRY(blok__vin_canonical(vin, BLOK_VIN_LEN, v, &why));
  blok__vehicle_consent_message(m, v, new_owner, expiry_height);
  return blok_sign_domain(sig, owner, BLOK_VEHICLE_CONSENT_TAG, chain_id, m, sizeof m);
}
