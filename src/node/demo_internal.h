/*
 * The demo's plan (demo_plan.c): every vehicle and every event of its history, then the parts
 * (batches, installs, recalls and their remedies), computed from the seed alone before anything
 * is sent. The loader (demo.c) turns each event into a signed
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
  BLOK_DEMO_BY_SUPPLIER,
  BLOK_DEMO_BY_AUDITOR,
  BLOK_DEMO_BY_OWNER,   /* the current owner's key */
  BLOK_DEMO_BY_BUYER,   /* the key the pending offer names */
  BLOK_DEMO_BY_VEHICLE, /* the vehicle's telematics key */
};
#define BLOK_DEMO_MEMBER_ROLES 9 /* the signers before BLOK_DEMO_BY_OWNER */

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

/* --- parts (docs/PROTOCOL.md, "Parts") ---------------------------------------------------- */

/* Parts go into at most this many vehicles (the first active ones), so a big demo stays quick. */
#define BLOK_DEMO_PARTS_VEHICLES_MAX 2000
#define BLOK_DEMO_CELLS_PER_PACK     4 /* the cells a pack's record names, a sample of the real */

/* The demo's batches, in the order they are registered. */
enum blok_demo_batch_id {
  BLOK_DEMO_B_CHIPS,  /* microcontrollers */
  BLOK_DEMO_B_ECUS,   /* body control modules, made with the chips */
  BLOK_DEMO_B_PADS_A, /* front brake pads: the recalled batch */
  BLOK_DEMO_B_PADS_B, /* front brake pads: a good batch */
  BLOK_DEMO_B_CELLS,  /* battery cells, made from the attested lots */
  BLOK_DEMO_B_PACKS,  /* battery packs, made with the cells */
  BLOK_DEMO_BATCHES
};
#define BLOK_DEMO_LOTS    2 /* attested raw-material lots: cobalt, lithium */
#define BLOK_DEMO_RECALLS 2 /* the brake pads of PADS_A; a range of chips */

struct blok_demo_batch {
  const char *id, *part_number, *part_type, *site, *what;
  const char *prefix; /* serials: prefix, then the number in width digits from 1 */
  uint8_t width;
  uint32_t production_date;
  const char *inputs[BLOK_DEMO_LOTS + 1]; /* NULL-terminated */
};
struct blok_demo_lot {
  const char *id, *material, *site, *country, *scheme;
};
struct blok_demo_recall {
  const char *id, *reason, *remedy, *what;
};
const struct blok_demo_batch *blok__demo_batch(enum blok_demo_batch_id b);
const struct blok_demo_lot *blok__demo_lot(size_t i);
const struct blok_demo_recall *blok__demo_recall(size_t i);
/* Serial number n (from 1) of batch b, e.g. "ECU-0000042". */
void blok__demo_serial(char *out, size_t cap, enum blok_demo_batch_id b, uint32_t n);
/* A lot's audit certificate hash. */
void blok__demo_certificate(uint8_t out[32], uint64_t seed, size_t lot);

enum blok_demo_pkind {
  BLOK_DEMO_P_ATTEST,       /* arg: the lot */
  BLOK_DEMO_P_BATCH,        /* arg: the batch */
  BLOK_DEMO_P_SERIALS,      /* arg: the batch; a: how many, from 1 */
  BLOK_DEMO_P_INTO_PART,    /* arg: the batch of part a; b: the part it goes into */
  BLOK_DEMO_P_INTO_VEHICLE, /* arg: the batch of part a; car: the vehicle */
  BLOK_DEMO_P_RECALL,       /* arg: the recall */
  BLOK_DEMO_P_REMEDY,       /* arg: the recall; car: the vehicle */
  BLOK_DEMO_P_OBSERVE,      /* arg: the batch of part a, seen in car */
};

/* One parts transaction. Transactions of one phase only depend on earlier phases, or on earlier
 * ones of the same signer (their nonces keep them in order). */
struct blok_demo_ptx {
  uint8_t kind;   /* enum blok_demo_pkind */
  uint8_t signer; /* enum blok_demo_signer: a member; MANUFACTURER is the car's maker, or the
                     first manufacturer when car is BLOK_DEMO_NO_CAR */
  uint8_t phase;
  uint8_t arg;
  uint32_t car;
  uint32_t a, b;
};
#define BLOK_DEMO_NO_CAR UINT32_MAX

struct blok_demo_parts {
  struct blok_demo_ptx *txs;
  size_t count, phases;
  uint32_t serials[BLOK_DEMO_BATCHES]; /* registered per batch, numbered from 1 */
  size_t vehicles, evs, installs, remedies;
  uint32_t chips_recalled;            /* the chip recall's range: chips 1 .. this */
  size_t reached[BLOK_DEMO_RECALLS];  /* vehicles each recall reaches */
  size_t remedied[BLOK_DEMO_RECALLS]; /* of them, with the remedy recorded */
  uint32_t open_car;                  /* reached by both recalls, no remedy; or NO_CAR */
  uint32_t clone_car, clone_seen_car; /* ECU 1's vehicle, and where its clone was seen */
};

/* The parts of the plan: batches, serials, installs into the plan's active vehicles, the
 * recalls and their remedies, one cloned serial. BLOK_ENOMEM. */
BLOK_WUR enum blok_err blok__demo_parts_make(struct blok_demo_parts *pp,
                                             const struct blok_demo_plan *p);
void blok__demo_parts_release(struct blok_demo_parts *pp);
bool blok__demo_is_ev(const struct blok_demo_vehicle *v);

#endif
