/*
 * Inside the vehicle module: the decoded form of the twelve payloads and the table that
 * describes them. vehicle_codec.c turns payloads into struct blok__vpay and back (binary and
 * JSON) from that table; vehicle.c decides who may send them and applies them.
 */
#ifndef BLOK_VEHICLE_INTERNAL_H
#define BLOK_VEHICLE_INTERNAL_H

#include "blok/codec.h"
#include "blok/vehicle.h"

/* Limits of the payload fields (docs/PROTOCOL.md, "Vehicles"). */
#define BLOK__VEHICLE_MAKE_MAX    32
#define BLOK__VEHICLE_MODEL_MAX   64
#define BLOK__VEHICLE_SUMMARY_MAX 200
#define BLOK__VEHICLE_YEAR_MIN    1980 /* the first model year of 17-character VINs */
#define BLOK__VEHICLE_YEAR_MAX    2100
#define BLOK__VEHICLE_ROLE_MAX    16

/* The record encoding at its largest: every opt field present, every text at its maximum. */
#define BLOK__VEHICLE_RECORD_MAX                                                                   \
  (1 + (4 + 17) + 1 + 2 + (4 + BLOK__VEHICLE_MAKE_MAX) + (4 + BLOK__VEHICLE_MODEL_MAX) + 32 +      \
   (1 + 32) + (1 + 4 + BLOK_NAME_MAX) + 1 + 8 + 8 + 4 + 4 + 4 + (1 + 32 + 8) + 8 + 8 + 8 + 32)
_Static_assert(BLOK__VEHICLE_RECORD_MAX == 389, "the vehicle record layout changed");

/* A history index value at its largest (docs/PROTOCOL.md, "History index"). */
#define BLOK__VEHICLE_EVENT_MAX                                                                    \
  (8 + 8 + 4 + 32 + 32 + (4 + BLOK_NAME_MAX) + (4 + BLOK__VEHICLE_ROLE_MAX) + 1 + 8)
_Static_assert(BLOK__VEHICLE_EVENT_MAX == 181, "the history index layout changed");
#define BLOK__VEHICLE_EVENT_KEY_LEN (17 + 8)

/* The kinds, in the order of the module's table. */
enum blok__vkind {
  BLOK__VK_REGISTER,
  BLOK__VK_ROTATE_KEY,
  BLOK__VK_TRANSFER_OFFER,
  BLOK__VK_TRANSFER_ACCEPT,
  BLOK__VK_LIEN,
  BLOK__VK_BRAND,
  BLOK__VK_ODOMETER,
  BLOK__VK_CLUSTER_REPLACE,
  BLOK__VK_SERVICE,
  BLOK__VK_REPAIR,
  BLOK__VK_ACCIDENT,
  BLOK__VK_INSPECTION,
  BLOK__VK_END_OF_LIFE,
  BLOK__VK_COUNT
};

enum { BLOK__LIEN_PLACE = 1, BLOK__LIEN_RELEASE = 2 };

struct blok__vtext {
  const char *s; /* into the payload or the JSON document: not NUL-terminated */
  size_t len;
};

/* Every field any payload has; a kind uses the ones its table row names. */
struct blok__vpay {
  char vin[18];
  uint16_t model_year;
  struct blok__vtext make, model, summary;
  uint8_t owner[32], new_owner[32], vehicle_key[32], document[32], certificate[32];
  uint8_t consent[64];
  bool has_vehicle_key, has_consent, has_document;
  uint64_t expiry_height, km, old_km, new_km;
  uint8_t action, brand, severity;
  bool airbag_deployed, structural_damage, passed;
};

/* The kind named type, or BLOK__VK_COUNT. */
enum blok__vkind blok__vkind_of(const char *type);
const char *blok__vkind_name(enum blok__vkind k);
const char *blok__vbrand_name(unsigned brand);

/* Strict decode and check of kind k's payload (the kind's check hook, with a reason). */
BLOK_WUR enum blok_err blok__vpay_decode(enum blok__vkind k, const uint8_t *data, size_t len,
                                         struct blok__vpay *p, struct blok_why *why);
BLOK_WUR enum blok_err blok__vpay_encode(enum blok__vkind k, struct blok_buf *out,
                                         const struct blok__vpay *p, struct blok_why *why);
BLOK_WUR enum blok_err blok__vpay_from_json(enum blok__vkind k, const json_t *j,
                                            struct blok_buf *out, struct blok_why *why);
json_t *blok__vpay_to_json(enum blok__vkind k, const uint8_t *data, size_t len);

/* Checks a text<17> VIN as payloads and records carry it: valid, normalised (upper case). */
BLOK_WUR enum blok_err blok__vin_canonical(const char *s, size_t len, char vin[18],
                                           struct blok_why *why);

/* The bytes the owner's consent signs: text<17> vin || fixed[32] new_owner || u64 expiry. */
#define BLOK__VEHICLE_CONSENT_MSG_LEN (4 + 17 + 32 + 8)
void blok__vehicle_consent_message(uint8_t out[BLOK__VEHICLE_CONSENT_MSG_LEN], const char vin[17],
                                   const uint8_t new_owner[32], uint64_t expiry_height);

/* JSON for a u64: an integer up to 2^63 - 1, a decimal string above. */
json_t *blok__vjson_u64(uint64_t v);

#endif
