/*
 * The vehicle module: identity, title and history of vehicles (docs/PROTOCOL.md, "Vehicles").
 * A vehicle's state record holds its status, owner, lien, brands, odometer, counts and the head
 * of a hash chain over all its events, so a report can prove it is complete.
 */
#ifndef BLOK_VEHICLE_H
#define BLOK_VEHICLE_H

#include <stdbool.h>

#include "blok/module.h"

#define BLOK_VEHICLE_MODULE           "vehicle"
#define BLOK_VEHICLE_CONSENT_TAG      "blokauto/vehicle-consent/v1"
#define BLOK_VEHICLE_RECORD_VERSION   1
#define BLOK_VEHICLE_KM_MAX           10000000u
#define BLOK_VEHICLE_EVENTS_TABLE     "vehicle.events"
#define BLOK_VEHICLE_HISTORY_PAGE_MAX 1000

enum blok_vehicle_status { BLOK_VEHICLE_ACTIVE = 1, BLOK_VEHICLE_RETIRED = 2 };
enum blok_brand {
  BLOK_BRAND_SALVAGE = 1,
  BLOK_BRAND_FLOOD = 2,
  BLOK_BRAND_REBUILT = 3,
  BLOK_BRAND_LEMON = 4,
  BLOK_BRAND_JUNK = 5,
};

struct blok_vehicle_record {
  uint8_t version;
  char vin[18];
  uint8_t status;
  uint16_t model_year;
  char make[33];
  char model[65];
  uint8_t owner[32];
  bool has_vehicle_key;
  uint8_t vehicle_key[32];
  bool lien_open;
  char lien_holder[65];
  uint8_t brands; /* bit (brand - 1) */
  uint64_t odometer_high_km, odometer_last_km;
  uint32_t rollbacks, owners, accidents;
  bool has_offer;
  uint8_t offer_to[32];
  uint64_t offer_expiry_height;
  uint64_t registered_height, retired_height, event_count;
  uint8_t chain_head[32];
};

extern const struct blok_module blok_vehicle_module;

BLOK_WUR enum blok_err blok_vehicle_record_encode(struct blok_buf *out,
                                                  const struct blok_vehicle_record *r);
/* Strict: every limit, no trailing bytes, valid VIN, known status and version. */
BLOK_WUR enum blok_err blok_vehicle_record_decode(const uint8_t *data, size_t len,
                                                  struct blok_vehicle_record *r);
json_t *blok_vehicle_record_to_json(const struct blok_vehicle_record *r);

/* The record's key in module "vehicle": "v/" || vin (19 bytes). */
void blok_vehicle_state_key(uint8_t out[19], const char vin[17]);
/* head = SHA-256(head || tx_id || u64 height || u64 time_ms), in place. */
void blok_vehicle_chain_next(uint8_t head[32], const uint8_t tx_id[32], uint64_t height,
                             uint64_t time_ms);
/* The VIN a vehicle payload names (every payload starts with text<17> vin). */
BLOK_WUR enum blok_err blok_vehicle_payload_vin(const uint8_t *payload, size_t len, char vin[18]);
/* The owner's consent to a dealer's transfer offer. */
BLOK_WUR enum blok_err blok_vehicle_consent_sign(uint8_t sig[64],
                                                 const struct blok_sign_keypair *owner,
                                                 const char *chain_id, const char vin[17],
                                                 const uint8_t new_owner[32],
                                                 uint64_t expiry_height);

/* One entry of the history index (docs/PROTOCOL.md, "History index"). */
struct blok_vehicle_event {
  uint64_t n; /* 1 for the registration */
  uint64_t height, time_ms;
  uint32_t position; /* in its block */
  uint8_t tx_id[32];
  uint8_t signer[32];
  char signer_name[65];
  char signer_role[17];
  /* An odometer or inspection reading below the highest so far is kept and flagged, and the
   * event keeps the highest before it (for every event: the record's odometer_high_km as the
   * event found it). */
  bool rollback;
  uint64_t previous_high_km;
};

/* A page of a vehicle's events from a read transaction: up to limit (at most
 * BLOK_VEHICLE_HISTORY_PAGE_MAX) events starting after event `cursor` (0: from the start, or the
 * end when descending). *next_cursor is the n to pass for the next page, 0 when none is left. */
BLOK_WUR enum blok_err blok_vehicle_history(struct blok_txn *t, const char vin[17], uint64_t cursor,
                                            size_t limit, bool descending,
                                            struct blok_vehicle_event *out, size_t *count,
                                            uint64_t *next_cursor);

#endif
