/*
 * The demo's plan (demo_plan.c): every vehicle and every event of its history, computed from the
 * seed alone before anything is sent. The loader (demo.c) turns each event into a signed
 * transaction when its turn comes. Keeping the two apart keeps the plan pure: no clock, no I/O,
 * the same seed gives the same plan, byte for byte.
 */
#ifndef BLOK_NODE_DEMO_INTERNAL_H
#define BLOK_NODE_DEMO_INTERNAL_H

#include <stdbool.h>

#include "blok/sign.h"

/* The content's calendar: histories run from a vehicle's delivery up to this month. The chain's
 * own block times are real time; these dates live only in the events' content. */
#define BLOK_DEMO_END_YEAR  2025
#define BLOK_DEMO_END_MONTH 6 /* June */
/* A vehicle's history is at most this many events (the plan stops adding before it). */
#define BLOK_DEMO_EVENTS_MAX 160

enum blok_demo_kind {
  BLOK_DEMO_REGISTER,
  BLOK_DEMO_ODOMETER,
  BLOK_DEMO_SERVICE,
  BLOK_DEMO_REPAIR,
  BLOK_DEMO_INSPECTION,
  BLOK_DEMO_ACCIDENT,
  BLOK_DEMO_BRAND,
  BLOK_DEMO_LIEN_PLACE,
  BLOK_DEMO_LIEN_RELEASE,
  BLOK_DEMO_OFFER,
  BLOK_DEMO_ACCEPT,
  BLOK_DEMO_CLUSTER,
  BLOK_DEMO_END_OF_LIFE,
};

/* Who signs an event: a member by role, or one of the vehicle's own keys. */
enum blok_demo_signer {
  BLOK_DEMO_BY_MANUFACTURER, /* the member owning the VIN's WMI */
  BLOK_DEMO_BY_SERVICE,
  BLOK_DEMO_BY_INSURER,
  BLOK_DEMO_BY_REGISTRY,
  BLOK_DEMO_BY_LENDER,
  BLOK_DEMO_BY_DEALER,
  BLOK_DEMO_BY_RECYCLER,
  BLOK_DEMO_BY_OWNER,   /* the current owner's key */
  BLOK_DEMO_BY_BUYER,   /* the key the pending offer names */
  BLOK_DEMO_BY_VEHICLE, /* the vehicle's telematics key */
};
#define BLOK_DEMO_MEMBER_ROLES 7 /* the signers before BLOK_DEMO_BY_OWNER */

/* Flags of an event. */
#define BLOK_DEMO_F_DOCUMENT   0x01u /* carries a document hash */
#define BLOK_DEMO_F_AIRBAG     0x02u /* accident: airbags deployed */
#define BLOK_DEMO_F_STRUCTURAL 0x04u /* accident: structural damage */
#define BLOK_DEMO_F_PASSED     0x08u /* inspection passed */
#define BLOK_DEMO_F_DEALER     0x10u /* offer made by the dealer with the owner's consent */

/* What a service or repair summary says (blok__demo_summary). */
enum blok_demo_text {
  BLOK_DEMO_TEXT_NONE,
  BLOK_DEMO_TEXT_SERVICE,
  BLOK_DEMO_TEXT_SERVICE_MAJOR,
  BLOK_DEMO_TEXT_SERVICE_EV,
  BLOK_DEMO_TEXT_REPAIR_MINOR,
  BLOK_DEMO_TEXT_REPAIR_MODERATE,
  BLOK_DEMO_TEXT_REPAIR_SEVERE,
  BLOK_DEMO_TEXT_REPAIR_INSPECTION,
  BLOK_DEMO_TEXT_REPAIR_FLOOD,
  BLOK_DEMO_TEXT_REPAIR_WARRANTY,
};

struct blok_demo_event {
  uint8_t kind;   /* enum blok_demo_kind */
  uint8_t signer; /* enum blok_demo_signer */
  uint8_t arg;    /* accident severity 1-4, brand 1-5, text (enum blok_demo_text) */
  uint8_t flags;  /* BLOK_DEMO_F_* */
  uint16_t month; /* year * 12 + (month - 1), in the content's calendar */
  uint32_t km;    /* the odometer as shown: reading, inspection, service; cluster: old */
  uint32_t km2;   /* cluster: new reading */
};

struct blok_demo_vehicle {
  char vin[18];
  uint16_t model_year;
  uint16_t model; /* index into the catalogue */
  bool has_key;   /* registered with a telematics key */
  uint32_t first; /* its events: plan.events[first .. first + count) */
  uint32_t count;
  /* What its record should say once every event is applied. */
  uint32_t owners, accidents, rollbacks, sales;
  uint8_t brands; /* bit (brand - 1) */
  bool retired, cluster_replaced;
  uint32_t odometer_high_km, odometer_last_km;
};

struct blok_demo_plan {
  uint64_t seed;
  size_t count;
  struct blok_demo_vehicle *vehicles;
  struct blok_demo_event *events;
  size_t event_count;
  /* Totals, for the closing summary. */
  size_t sales, dealer_sales, liens, accidents, brands, rollbacks, rollback_vehicles, clusters,
      retired, inspections, services;
};

/* Builds the plan of count vehicles (1 .. BLOK_DEMO_VEHICLES_MAX). BLOK_ENOMEM. */
BLOK_WUR enum blok_err blok__demo_plan_make(struct blok_demo_plan *p, uint64_t seed, size_t count);
void blok__demo_plan_release(struct blok_demo_plan *p);

const char *blok__demo_make(const struct blok_demo_vehicle *v);
const char *blok__demo_model(const struct blok_demo_vehicle *v);
/* The WMI of the vehicle (its VIN's first three characters), NUL-terminated. */
void blok__demo_wmi(const struct blok_demo_vehicle *v, char wmi[4]);
/* Every WMI the catalogue uses, NULL-terminated. */
const char *const *blok__demo_wmis(void);

/* The summary text of a service or repair event (at most 200 bytes), e.g. "2019-04 scheduled
 * service at 45,210 km: engine oil and filter, tyre rotation, brake check". */
void blok__demo_summary(char *out, size_t cap, const struct blok_demo_vehicle *v,
                        const struct blok_demo_event *e);
/* A document hash for event index i of vehicle v (an invoice, a report, a certificate). */
void blok__demo_document(uint8_t out[32], uint64_t seed, const struct blok_demo_vehicle *v,
                         uint32_t i);

/* The keys the plan's people and vehicles hold, derived from the seed: owner number k (0 at
 * registration, k after the k-th sale) of vehicle i, and vehicle i's telematics key. */
BLOK_WUR enum blok_err blok__demo_owner_key(struct blok_sign_keypair *kp, uint64_t seed, size_t i,
                                            uint32_t k);
BLOK_WUR enum blok_err blok__demo_vehicle_key(struct blok_sign_keypair *kp, uint64_t seed,
                                              size_t i);

#endif
