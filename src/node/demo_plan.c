/*
 * The demo's plan (demo_internal.h): a catalogue of real manufacturers' WMIs and models, and for
 * each vehicle a VIN and a history that reads like one, all from a seeded generator.
 *
 * Each vehicle draws from its own stream (the seed mixed with its index), so vehicle i is the same
 * whatever the vehicle count, and the plan reads no clock. A history is simulated month by month
 * from delivery to June 2025: the odometer grows at the owner's yearly rate, a service comes due
 * every 10,000-15,000 km (every year for an electric car), inspections every two years after the
 * third, a telematics reading every year when the vehicle has a key; sales come every few years
 * (offer and accept, a lien released before and often placed after), and a few vehicles get an
 * accident, a flood, a lemon brand, a replaced instrument cluster, a rolled-back odometer before a
 * sale, or an end of life. The plan also keeps what each record should say at the end (owners,
 * accidents, rollbacks, brands, retired), computed by the module's rules.
 *
 * The parts follow from the vehicles: the first active ones (in index order) each get a body
 * control module with a chip inside and a set of brake pads, the electric ones a battery pack with
 * cells inside; two in five get the pads of the recalled batch, and every other one of those the
 * remedy. The plan keeps what the recalls' reach should be, for the closing summary.
 */
#include <string.h>

#include "demo_internal.h"
#include "blok/demo.h"
#include "blok/sha256.h"
#include "blok/vehicle.h"
#include "blok/vin.h"
#include "blok/banned.h"

/* --- catalogue ---------------------------------------------------------------------------- */

struct model {
  const char *wmi, *make, *name;
  const char *vds[2]; /* positions 4-8: two trims; position 9 is the check digit */
  const char *plants; /* position 11 */
  uint16_t from, to;  /* model years */
  uint8_t weight;
  bool ev;
};

/* Model years 2010-2024, so every year code at position 10 is in the 2010-2039 cycle and position 7
 * of a North American VIN is a letter (49 CFR 565.15; docs/VIN.md). */
static const struct model models[] = {
    {"1HG", "Honda", "Civic", {"FB2F5", "FB4F2"}, "EH", 2012, 2015, 5, false},
    {"1HG", "Honda", "Civic", {"FC2F5", "FC1F7"}, "AH", 2016, 2021, 6, false},
    {"1HG", "Honda", "Accord", {"CR2F3", "CR3F4"}, "A", 2013, 2017, 5, false},
    {"1HG", "Honda", "Accord", {"CV1F3", "CV2F5"}, "A", 2018, 2024, 5, false},
    {"JHM", "Honda", "Fit", {"GE8H3", "GE8G5"}, "S", 2010, 2014, 3, false},
    {"JHM", "Honda", "Insight", {"ZE2H7", "ZE2H5"}, "S", 2010, 2014, 2, false},
    {"JHM", "Honda", "CR-Z", {"ZF1D4", "ZF1C6"}, "S", 2011, 2016, 1, false},
    {"1FA", "Ford", "Mustang", {"6P8TH", "6P8CF"}, "5", 2015, 2024, 5, false},
    {"1FA", "Ford", "Focus", {"DP3F2", "DP3K2"}, "L", 2012, 2018, 5, false},
    {"1FA", "Ford", "Taurus", {"HP2D8", "HP2E8"}, "G", 2013, 2019, 2, false},
    {"1G1", "Chevrolet", "Malibu", {"ZD5ST", "ZE5ST"}, "F", 2016, 2024, 4, false},
    {"1G1", "Chevrolet", "Cruze", {"BE5SM", "BC5SM"}, "7", 2016, 2019, 3, false},
    {"1G1", "Chevrolet", "Camaro", {"FB1RX", "FD1RS"}, "0", 2016, 2024, 2, false},
    {"1G1", "Chevrolet", "Bolt EV", {"FY6S0", "FW6S0"}, "4", 2017, 2023, 2, true},
    {"1G1", "Chevrolet", "Volt", {"RA6E4", "RD6S5"}, "U", 2011, 2019, 1, false},
    {"2T1", "Toyota", "Corolla", {"BU4EE", "BU4EF"}, "C", 2010, 2013, 4, false},
    {"2T1", "Toyota", "Corolla", {"BURHE", "BPRHE"}, "C", 2014, 2019, 5, false},
    {"2T1", "Toyota", "Matrix", {"KU4EE", "KE4EE"}, "C", 2010, 2014, 1, false},
    {"5YJ", "Tesla", "Model S", {"SA1E2", "SA1E4"}, "F", 2012, 2024, 2, true},
    {"5YJ", "Tesla", "Model X", {"XCBE2", "XCAE2"}, "F", 2016, 2024, 1, true},
    {"5YJ", "Tesla", "Model 3", {"3E1EA", "3E1EB"}, "F", 2017, 2024, 4, true},
    {"5YJ", "Tesla", "Model Y", {"YGDEE", "YGEEE"}, "F", 2020, 2024, 3, true},
    {"KM8", "Hyundai", "Tucson", {"J3CA4", "J33A4"}, "U", 2016, 2021, 3, false},
    {"KM8", "Hyundai", "Santa Fe", {"SRDHF", "SRDHB"}, "U", 2013, 2018, 2, false},
    {"KM8", "Hyundai", "Kona", {"K2CAB", "K22AA"}, "U", 2018, 2024, 2, false},
    {"KM8", "Hyundai", "Kona Electric", {"K33AG", "K23AG"}, "U", 2019, 2024, 1, true},
    {"WBA", "BMW", "3 Series", {"8E9G5", "8E5G5"}, "NK", 2012, 2019, 3, false},
    {"WBA", "BMW", "3 Series", {"5R1C0", "5R7C5"}, "FU", 2019, 2024, 3, false},
    {"WBA", "BMW", "5 Series", {"JA5C5", "JE5C5"}, "WG", 2017, 2024, 2, false},
    {"WVW", "Volkswagen", "Golf", {"ZZZAU", "ZZZBA"}, "W", 2013, 2020, 5, false},
    {"WVW", "Volkswagen", "Golf", {"ZZZCD", "ZZZCE"}, "W", 2020, 2024, 3, false},
    {"WVW", "Volkswagen", "Polo", {"ZZZ6R", "ZZZ6C"}, "Y", 2010, 2017, 3, false},
    {"WVW", "Volkswagen", "Passat", {"ZZZ3C", "ZZZ3G"}, "E", 2015, 2023, 2, false},
    {"WVW", "Volkswagen", "e-Golf", {"ZZZAU", "ZZZAE"}, "W", 2014, 2020, 1, true},
    {"SAL", "Land Rover", "Range Rover", {"GS2EF", "GA2EF"}, "A", 2013, 2021, 1, false},
    {"SAL", "Land Rover", "Range Rover Evoque", {"VA2BG", "VA2BE"}, "H", 2012, 2018, 1, false},
    {"SAL", "Land Rover", "Discovery", {"RR2RV", "RG2RV"}, "A", 2017, 2024, 1, false},
    {"SAL", "Land Rover", "Defender", {"EA7BU", "EB7BU"}, "S", 2020, 2024, 1, false},
    {"VF1", "Renault", "Clio", {"BR1B0", "BR1H0"}, "B", 2013, 2019, 3, false},
    {"VF1", "Renault", "Clio", {"RJA00", "RJA10"}, "B", 2019, 2024, 2, false},
    {"VF1", "Renault", "Megane", {"RFB00", "RFBA0"}, "D", 2016, 2023, 2, false},
    {"VF1", "Renault", "Zoe", {"AG000", "AGVY0"}, "F", 2013, 2024, 2, true},
    {"VF1", "Renault", "Captur", {"RJB00", "RJB10"}, "V", 2013, 2019, 1, false},
    {"YV1", "Volvo", "S60", {"FS40G", "FS69C"}, "2", 2011, 2018, 2, false},
    {"YV1", "Volvo", "S60", {"A22MK", "A22ML"}, "G", 2019, 2024, 1, false},
    {"YV1", "Volvo", "V60", {"FW10H", "FW40H"}, "2", 2011, 2018, 1, false},
    {"YV1", "Volvo", "V90", {"PW10M", "PW40M"}, "1", 2017, 2024, 1, false},
    {"ZFA", "Fiat", "500", {"31200", "31201"}, "J", 2010, 2024, 4, false},
    {"ZFA", "Fiat", "Panda", {"31900", "31902"}, "J", 2012, 2024, 3, false},
    {"ZFA", "Fiat", "Tipo", {"35600", "35700"}, "M", 2016, 2024, 2, false},
    {"ZFA", "Fiat", "500e", {"33200", "33201"}, "J", 2020, 2024, 1, true},
};

static const char *const wmis[] = {"1HG", "JHM", "1FA", "1G1", "2T1", "5YJ", "KM8",
                                   "WBA", "WVW", "SAL", "VF1", "YV1", "ZFA", NULL};

/* Position 10 for 2010-2024. */
static const char year_codes[] = "ABCDEFGHJKLMNPR";

const char *blok__demo_make(const struct blok_demo_vehicle *v) {
  return models[v->model].make;
}

const char *blok__demo_model(const struct blok_demo_vehicle *v) {
  return models[v->model].name;
}

void blok__demo_wmi(const struct blok_demo_vehicle *v, char wmi[4]) {
  memcpy(wmi, v->vin, 3);
  wmi[3] = 0;
}

const char *const *blok__demo_wmis(void) {
  return wmis;
}

/* --- the generator ------------------------------------------------------------------------ */

/* splitmix64 (Steele, Lea and Flood 2014): one 64-bit state per vehicle, so each vehicle's stream
 * is independent of the others and of their number. */
static uint64_t next64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Uniform enough below n (n at most 2^32; the bias is below 2^-32). */
static uint32_t below(uint64_t *s, uint32_t n) {
  return (uint32_t)(((next64(s) >> 32) * (uint64_t)n) >> 32);
}

/* True with probability per_mille / 1000. */
static bool chance(uint64_t *s, uint32_t per_mille) {
  return below(s, 1000) < per_mille;
}

/* Features a vehicle's history is built around, decided before its model. */
#define FEAT_ROLLBACK 0x01u
#define FEAT_EOL      0x02u
#define FEAT_ACCIDENT 0x04u
#define FEAT_FLOOD    0x08u
#define FEAT_LEMON    0x10u
#define FEAT_CLUSTER  0x20u

#define MONTH(y, m) ((uint32_t)(y)*12u + (uint32_t)(m)-1u)
#define END_MONTH   MONTH(BLOK_DEMO_END_YEAR, BLOK_DEMO_END_MONTH)

struct gen {
  struct blok_demo_plan *p;
  struct blok_demo_vehicle *v;
  const struct model *mo;
  uint64_t rng;
  unsigned feat;
  uint32_t m, delivery, end;   /* months */
  uint32_t true_km, rate_km;   /* distance really driven; per month this year */
  uint32_t shown_at, shown_km; /* the odometer shows shown_km + (true_km - shown_at) */
  uint32_t high_km;            /* the module's odometer_high_km, to count rollbacks */
  uint32_t next_service_km, service_interval_km, services;
  uint32_t next_inspection, next_reading, next_sale, lien_until;
  uint32_t accident_at, flood_at, cluster_at, rollback_sale, lemon_at;
  bool lien_open, done;
};

static uint32_t shown(const struct gen *g) {
  return g->shown_km + (g->true_km - g->shown_at);
}

static void add(struct gen *g, enum blok_demo_kind kind, enum blok_demo_signer by, uint8_t arg,
                uint8_t flags, uint32_t km, uint32_t km2) {
  BLOK_ASSERT(g->v->count < BLOK_DEMO_EVENTS_MAX);
  struct blok_demo_event *e = &g->p->events[g->v->first + g->v->count++];
  *e = (struct blok_demo_event){.kind = (uint8_t)kind,
                                .signer = (uint8_t)by,
                                .arg = arg,
                                .flags = flags,
                                .month = (uint16_t)g->m,
                                .km = km,
                                .km2 = km2};
}

static uint8_t doc(struct gen *g, uint32_t per_mille) {
  return chance(&g->rng, per_mille) ? BLOK_DEMO_F_DOCUMENT : 0;
}

/* An odometer value entering the record (odometer or inspection), judged as the module does. */
static void judge(struct gen *g, uint32_t km) {
  if (km < g->high_km) {
    g->v->rollbacks++;
    g->p->rollbacks++;
  } else {
    g->high_km = km;
  }
  g->v->odometer_last_km = km;
}

static void reading(struct gen *g, enum blok_demo_signer by) {
  uint32_t km = shown(g);
  add(g, BLOK_DEMO_ODOMETER, by, 0, 0, km, 0);
  judge(g, km);
}

static void inspection(struct gen *g, bool passed) {
  uint32_t km = shown(g);
  add(g, BLOK_DEMO_INSPECTION, BLOK_DEMO_BY_REGISTRY, 0,
      (uint8_t)(doc(g, 600) | (passed ? BLOK_DEMO_F_PASSED : 0)), km, 0);
  judge(g, km);
  g->p->inspections++;
}

static void brand(struct gen *g, enum blok_brand b, enum blok_demo_signer by) {
  uint8_t bit = (uint8_t)(1u << ((unsigned)b - 1));
  if (g->v->brands & bit) return; /* a brand is for good: never sent twice */
  g->v->brands |= bit;
  g->p->brands++;
  add(g, BLOK_DEMO_BRAND, by, (uint8_t)b, 0, 0, 0);
}

static void repair(struct gen *g, enum blok_demo_text text) {
  add(g, BLOK_DEMO_REPAIR, BLOK_DEMO_BY_SERVICE, (uint8_t)text, doc(g, 700), shown(g), 0);
}

static void lien_place(struct gen *g) {
  add(g, BLOK_DEMO_LIEN_PLACE, BLOK_DEMO_BY_LENDER, 0, 0, 0, 0);
  g->lien_open = true;
  g->lien_until = g->m + 24 + below(&g->rng, 49);
  g->p->liens++;
}

static void lien_release(struct gen *g) {
  /* Mostly the lender; now and then the registry clears a paid-off lien. */
  add(g, BLOK_DEMO_LIEN_RELEASE, chance(&g->rng, 150) ? BLOK_DEMO_BY_REGISTRY : BLOK_DEMO_BY_LENDER,
      0, 0, 0, 0);
  g->lien_open = false;
}

static void end_of_life(struct gen *g, enum blok_demo_signer by) {
  add(g, BLOK_DEMO_END_OF_LIFE, by, 0, 0, 0, 0);
  g->v->retired = true;
  g->p->retired++;
  g->done = true;
}

/* --- what can happen in a month ----------------------------------------------------------- */

static void accident(struct gen *g) {
  uint32_t r = below(&g->rng, 100);
  uint8_t sev = r < 45 ? 1 : r < 80 ? 2 : r < 95 ? 3 : 4;
  uint8_t flags = doc(g, 700);
  if ((sev == 2 && chance(&g->rng, 250)) || (sev >= 3 && chance(&g->rng, 800)))
    flags |= BLOK_DEMO_F_AIRBAG;
  if ((sev == 2 && chance(&g->rng, 100)) || (sev == 3 && chance(&g->rng, 700)) || sev == 4)
    flags |= BLOK_DEMO_F_STRUCTURAL;
  add(g, BLOK_DEMO_ACCIDENT, BLOK_DEMO_BY_INSURER, sev, flags, shown(g), 0);
  g->v->accidents++;
  g->p->accidents++;
  if (sev == 4) { /* total loss: the insurer brands it, a recycler takes it */
    brand(g, BLOK_BRAND_SALVAGE, BLOK_DEMO_BY_INSURER);
    end_of_life(g, BLOK_DEMO_BY_RECYCLER);
  } else if (sev == 3 && chance(&g->rng, 500)) { /* salvage, rebuilt, inspected */
    brand(g, BLOK_BRAND_SALVAGE, BLOK_DEMO_BY_INSURER);
    repair(g, BLOK_DEMO_TEXT_REPAIR_SEVERE);
    brand(g, BLOK_BRAND_REBUILT, BLOK_DEMO_BY_REGISTRY);
    inspection(g, true);
  } else {
    repair(g, sev == 1   ? BLOK_DEMO_TEXT_REPAIR_MINOR
              : sev == 2 ? BLOK_DEMO_TEXT_REPAIR_MODERATE
                         : BLOK_DEMO_TEXT_REPAIR_SEVERE);
  }
}

static void flood(struct gen *g) {
  brand(g, BLOK_BRAND_FLOOD, BLOK_DEMO_BY_INSURER);
  if (chance(&g->rng, 500)) {
    end_of_life(g, BLOK_DEMO_BY_RECYCLER);
  } else {
    repair(g, BLOK_DEMO_TEXT_REPAIR_FLOOD);
  }
}

/* A new instrument cluster: a new unit near zero, or a used one from a scrapped car. */
static void cluster(struct gen *g) {
  uint32_t old_km = shown(g);
  uint32_t new_km = chance(&g->rng, 500) ? below(&g->rng, 100) : 20000 + below(&g->rng, 100000);
  add(g, BLOK_DEMO_CLUSTER, BLOK_DEMO_BY_SERVICE, 0, doc(g, 500), old_km, new_km);
  g->shown_at = g->true_km;
  g->shown_km = new_km;
  g->high_km = new_km;
  g->v->odometer_last_km = new_km;
  g->v->cluster_replaced = true;
  g->p->clusters++;
}

static void service(struct gen *g) {
  g->services++;
  enum blok_demo_text t = g->mo->ev              ? BLOK_DEMO_TEXT_SERVICE_EV
                          : g->services % 4 == 0 ? BLOK_DEMO_TEXT_SERVICE_MAJOR
                                                 : BLOK_DEMO_TEXT_SERVICE;
  add(g, BLOK_DEMO_SERVICE, BLOK_DEMO_BY_SERVICE, (uint8_t)t, doc(g, 500), shown(g), 0);
  g->p->services++;
  /* Without a telematics key the service centre's reading is the odometer's record. */
  if (!g->v->has_key) reading(g, BLOK_DEMO_BY_SERVICE);
}

/* Before a sale: the lien paid off; then the offer (by the owner, or by the dealer with the owner's
 * consent), the buyer's acceptance, and often a new lien for the buyer's loan. A planned rollback
 * happens just before: the odometer is wound back and a reading records it. */
static void sale(struct gen *g) {
  if (g->m == g->rollback_sale) {
    uint32_t now = shown(g), back = now / 100 * (30 + below(&g->rng, 26));
    g->shown_km = now - back;
    g->shown_at = g->true_km;
    g->p->rollback_vehicles++;
    reading(g, BLOK_DEMO_BY_SERVICE);
  }
  if (g->lien_open) lien_release(g);
  bool dealer = chance(&g->rng, 100);
  add(g, BLOK_DEMO_OFFER, dealer ? BLOK_DEMO_BY_DEALER : BLOK_DEMO_BY_OWNER, 0,
      dealer ? BLOK_DEMO_F_DEALER : 0, 0, 0);
  add(g, BLOK_DEMO_ACCEPT, BLOK_DEMO_BY_BUYER, 0, 0, 0, 0);
  g->v->owners++;
  g->v->sales++;
  g->p->sales++;
  if (dealer) g->p->dealer_sales++;
  if (chance(&g->rng, 450)) lien_place(g);
  g->next_sale = g->m + 30 + below(&g->rng, 61);
}

static void lemon(struct gen *g) {
  uint32_t visit = (g->m - g->delivery) / 2; /* months 2, 4, 6: then the brand */
  if (visit <= 3) repair(g, BLOK_DEMO_TEXT_REPAIR_WARRANTY);
  if (visit == 3) brand(g, BLOK_BRAND_LEMON, BLOK_DEMO_BY_REGISTRY);
}

static void month(struct gen *g) {
  if ((g->m - g->delivery) % 12 == 0) g->rate_km = (g->rate_km / 100) * (90 + below(&g->rng, 21));
  g->true_km += g->rate_km;
  if ((g->feat & FEAT_LEMON) && g->m >= g->lemon_at && g->m <= g->lemon_at + 5 &&
      (g->m - g->delivery) % 2 == 0)
    lemon(g);
  if (g->m == g->accident_at) accident(g);
  if (!g->done && g->m == g->flood_at) flood(g);
  if (g->done) return;
  if (g->m == g->cluster_at) cluster(g);
  bool due = g->mo->ev ? (g->m - g->delivery) % 12 == 11 : g->true_km >= g->next_service_km;
  if (due) {
    service(g);
    g->next_service_km = g->true_km + g->service_interval_km;
  }
  if (g->m == g->next_inspection) {
    bool passed = chance(&g->rng, 920);
    inspection(g, passed);
    if (!passed) { /* fixed and back the same month, a few km later */
      repair(g, BLOK_DEMO_TEXT_REPAIR_INSPECTION);
      g->true_km += 30;
      inspection(g, true);
    }
    g->next_inspection += 24;
  }
  if (g->v->has_key && g->m == g->next_reading) {
    reading(g, BLOK_DEMO_BY_VEHICLE);
    g->next_reading += 12;
  }
  if (g->lien_open && g->m >= g->lien_until) lien_release(g);
  if (g->m == g->next_sale || g->m == g->rollback_sale) sale(g);
  if (g->feat & FEAT_EOL && g->m + 1 == g->end) {
    if (chance(&g->rng, 500)) brand(g, BLOK_BRAND_JUNK, BLOK_DEMO_BY_REGISTRY);
    end_of_life(g, chance(&g->rng, 800) ? BLOK_DEMO_BY_RECYCLER : BLOK_DEMO_BY_REGISTRY);
  }
}

/* --- one vehicle -------------------------------------------------------------------------- */

static unsigned features(uint64_t *rng) {
  unsigned f = 0;
  if (chance(rng, 20)) f |= FEAT_ROLLBACK;
  if (chance(rng, 8)) f |= FEAT_EOL;
  if (chance(rng, 50)) f |= FEAT_ACCIDENT;
  if (chance(rng, 5)) f |= FEAT_FLOOD;
  if (chance(rng, 3)) f |= FEAT_LEMON;
  if (chance(rng, 10)) f |= FEAT_CLUSTER;
  return f;
}

/* A model and year that suit the features: a rollback needs an older car without telematics (so
 * the wound-back odometer is what gets read), an end of life a car ten years old or more. */
static void pick_model(struct gen *g) {
  uint32_t total = 0;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(models); i++)
    total += models[i].weight;
  for (;;) {
    uint32_t r = below(&g->rng, total);
    size_t i = 0;
    while (r >= models[i].weight)
      r -= models[i++].weight;
    const struct model *mo = &models[i];
    uint16_t year = (uint16_t)(mo->from + below(&g->rng, (uint32_t)(mo->to - mo->from + 1)));
    if ((g->feat & FEAT_ROLLBACK) && (year > 2018 || mo->ev)) continue;
    if ((g->feat & FEAT_EOL) && year > 2014) continue;
    if ((g->feat & FEAT_CLUSTER) && year > 2020) continue;
    if ((g->feat & (FEAT_ACCIDENT | FEAT_FLOOD)) && year > 2022) continue;
    g->mo = mo;
    g->v->model = (uint16_t)i;
    g->v->model_year = year;
    return;
  }
}

static void make_vin(struct gen *g, size_t index) {
  const struct model *mo = g->mo;
  char *vin = g->v->vin;
  memcpy(vin, mo->wmi, 3);
  memcpy(vin + 3, mo->vds[below(&g->rng, 2)], 5);
  vin[8] = '0';
  vin[9] = year_codes[g->v->model_year - 2010];
  vin[10] = mo->plants[below(&g->rng, (uint32_t)strlen(mo->plants))];
  /* Serial numbers: distinct for every index below BLOK_DEMO_VEHICLES_MAX, irregular steps. */
  uint32_t serial = 100000u + (uint32_t)index * 8u + below(&g->rng, 8);
  for (int k = 16; k >= 11; k--, serial /= 10)
    vin[k] = (char)('0' + serial % 10);
  vin[17] = 0;
  char check;
  BLOK_ASSERT(blok_vin_check_digit(&check, vin, 17) == BLOK_OK);
  vin[8] = check;
  struct blok_vin parsed;
  BLOK_ASSERT(blok_vin_parse(&parsed, NULL, vin, 17) == BLOK_OK);
  BLOK_ASSERT(parsed.check == BLOK_VIN_CHECK_MATCHED && parsed.year_count == 2 &&
              parsed.years[1] == g->v->model_year);
  BLOK_ASSERT(parsed.region != BLOK_VIN_REGION_NORTH_AMERICA || parsed.year_preferred == 1);
}

static bool telematics(struct gen *g) {
  if (g->feat & FEAT_ROLLBACK) return false;
  if (g->mo->ev && strcmp(g->mo->make, "Tesla") == 0) return true;
  uint32_t y = g->v->model_year;
  return chance(&g->rng, y >= 2019 ? 850 : y >= 2015 ? 550 : 150);
}

/* The months of the history's turning points. */
static void schedule(struct gen *g) {
  uint32_t span = g->end - g->delivery;
  g->next_inspection = g->delivery + (chance(&g->rng, 500) ? 36 : 48);
  g->next_reading = g->delivery + 6 + below(&g->rng, 6);
  g->next_sale = g->delivery + 24 + below(&g->rng, 49);
  g->accident_at = g->flood_at = g->cluster_at = g->rollback_sale = g->lemon_at = UINT32_MAX;
  if (g->feat & FEAT_ACCIDENT && span > 8)
    g->accident_at = g->delivery + 3 + below(&g->rng, span - 6);
  if (g->feat & FEAT_FLOOD && span > 8) g->flood_at = g->delivery + 3 + below(&g->rng, span - 6);
  if (g->feat & FEAT_CLUSTER && span > 36)
    g->cluster_at = g->delivery + 24 + below(&g->rng, span - 30);
  if (g->feat & FEAT_LEMON) g->lemon_at = g->delivery + 2;
  if (g->feat & FEAT_EOL) g->end -= below(&g->rng, 24);
  if (g->feat & FEAT_ROLLBACK) {
    /* The last sale, in the history's final three years: earlier sales stop two years before.
     * pick_model made the car old enough (model year 2018 at the latest). */
    uint32_t earliest = g->delivery + 49, latest = g->end - 4;
    BLOK_ASSERT(latest >= earliest);
    uint32_t window = latest - earliest + 1;
    g->rollback_sale = latest - below(&g->rng, window < 30 ? window : 30);
  }
}

static void vehicle(struct blok_demo_plan *p, size_t index, unsigned feat) {
  struct gen g = {.p = p, .v = &p->vehicles[index], .feat = feat};
  g.rng = p->seed ^ (0x6a09e667f3bcc909u * (uint64_t)(index + 1));
  (void)next64(&g.rng);
  pick_model(&g);
  make_vin(&g, index);
  g.v->has_key = telematics(&g);
  g.delivery = MONTH(g.v->model_year - 1, 9) + below(&g.rng, 16);
  if (g.delivery >= END_MONTH - 1) g.delivery = END_MONTH - 2;
  g.end = END_MONTH;
  g.rate_km = (8000 + below(&g.rng, 16001)) / 12;
  g.service_interval_km = 10000 + below(&g.rng, 5001);
  g.next_service_km = g.service_interval_km;
  schedule(&g);
  g.m = g.delivery;
  add(&g, BLOK_DEMO_REGISTER, BLOK_DEMO_BY_MANUFACTURER, 0, 0, 0, 0);
  g.v->owners = 1;
  if (chance(&g.rng, 550)) lien_place(&g);
  for (g.m = g.delivery + 1; g.m < g.end && !g.done; g.m++) {
    if (g.v->count > BLOK_DEMO_EVENTS_MAX - 16) break; /* room for any one month */
    if (g.rollback_sale != UINT32_MAX && g.next_sale + 24 > g.rollback_sale)
      g.next_sale = UINT32_MAX;
    month(&g);
  }
  g.v->odometer_high_km = g.high_km;
}

enum blok_err blok__demo_plan_make(struct blok_demo_plan *p, uint64_t seed, size_t count) {
  BLOK_ASSERT(count >= 1 && count <= BLOK_DEMO_VEHICLES_MAX);
  memset(p, 0, sizeof *p);
  p->seed = seed;
  p->count = count;
  p->vehicles = calloc(count, sizeof *p->vehicles);
  p->events = calloc(count * BLOK_DEMO_EVENTS_MAX, sizeof *p->events);
  unsigned *feat = calloc(count, sizeof *feat);
  if (p->vehicles == NULL || p->events == NULL || feat == NULL) {
    free(feat);
    blok__demo_plan_release(p);
    return BLOK_ENOMEM;
  }
  unsigned seen = 0;
  for (size_t i = 0; i < count; i++) {
    uint64_t rng = seed ^ (0xbb67ae8584caa73bu * (uint64_t)(i + 1));
    feat[i] = features(&rng);
    seen |= feat[i];
  }
  /* However few the vehicles, the examples the summary points at exist: a feature no vehicle
   * drew goes to the last one that drew none (with three vehicles or more, one each). */
  const unsigned must[] = {FEAT_ROLLBACK, FEAT_EOL, FEAT_ACCIDENT};
  for (size_t k = 0; k < BLOK_ARRAY_LEN(must); k++) {
    if (seen & must[k]) continue;
    size_t i = count;
    while (i > 0 && feat[i - 1] != 0)
      i--;
    feat[i > 0 ? i - 1 : count - 1] |= must[k];
  }
  for (size_t i = 0; i < count; i++) {
    p->vehicles[i].first = (uint32_t)(i * BLOK_DEMO_EVENTS_MAX);
    vehicle(p, i, feat[i]);
    p->event_count += p->vehicles[i].count;
  }
  free(feat);
  return BLOK_OK;
}

void blok__demo_plan_release(struct blok_demo_plan *p) {
  free(p->vehicles);
  free(p->events);
  memset(p, 0, sizeof *p);
}

/* --- texts, documents and keys ------------------------------------------------------------ */

static const char *const texts[] = {
    [BLOK_DEMO_TEXT_NONE] = "",
    [BLOK_DEMO_TEXT_SERVICE] =
        "scheduled service: engine oil and filter, tyre rotation, brake check",
    [BLOK_DEMO_TEXT_SERVICE_MAJOR] =
        "major service: oil and filters, spark plugs, brake fluid, coolant, drive belt check",
    [BLOK_DEMO_TEXT_SERVICE_EV] =
        "annual service: cabin filter, brake fluid test, tyre rotation, battery health check",
    [BLOK_DEMO_TEXT_REPAIR_MINOR] = "collision repair: rear bumper cover and parking sensors",
    [BLOK_DEMO_TEXT_REPAIR_MODERATE] =
        "collision repair: front bumper, bonnet, radiator support and headlamps",
    [BLOK_DEMO_TEXT_REPAIR_SEVERE] =
        "structural repair: left B-pillar and sill, front airbags and seat belts replaced",
    [BLOK_DEMO_TEXT_REPAIR_INSPECTION] =
        "repair after a failed inspection: front brake discs and pads, headlamp aim",
    [BLOK_DEMO_TEXT_REPAIR_FLOOD] =
        "flood damage repair: carpets, seats, wiring harness and body control module",
    [BLOK_DEMO_TEXT_REPAIR_WARRANTY] =
        "warranty repair: transmission control fault, the same complaint as earlier visits",
};

void blok__demo_summary(char *out, size_t cap, const struct blok_demo_vehicle *v,
                        const struct blok_demo_event *e) {
  (void)v;
  const char *t = e->arg < BLOK_ARRAY_LEN(texts) ? texts[e->arg] : "";
  const char *colon = strchr(t, ':');
  int head = colon ? (int)(colon - t) : (int)strlen(t);
  unsigned km = e->km;
  snprintf(out, cap, "%04u-%02u %.*s at %u,%03u km%s", e->month / 12u, e->month % 12u + 1u, head, t,
           km / 1000u, km % 1000u, colon ? colon : "");
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* SHA-256(tag || u64 seed || u64 a || u64 b), the source of every derived key and hash. The keys
 * are no secrets: anyone with the seed derives them, which is what makes the demo repeatable; so
 * the seeds on the stack are not wiped. */
static void derive(uint8_t out[32], const char *tag, uint64_t seed, uint64_t a, uint64_t b) {
  uint8_t m[64 + 24];
  size_t n = strlen(tag);
  BLOK_ASSERT(n <= 64);
  memcpy(m, tag, n);
  put_u64(m + n, seed);
  put_u64(m + n + 8, a);
  put_u64(m + n + 16, b);
  blok_sha256(out, m, n + 24);
}

void blok__demo_document(uint8_t out[32], uint64_t seed, const struct blok_demo_vehicle *v,
                         uint32_t i) {
  uint64_t vin_hash = 0;
  for (size_t k = 0; k < 17; k++)
    vin_hash = vin_hash * 131u + (uint8_t)v->vin[k];
  derive(out, "blokauto-demo/v1/document", seed, vin_hash, i);
}

enum blok_err blok__demo_owner_key(struct blok_sign_keypair *kp, uint64_t seed, size_t i,
                                   uint32_t k) {
  uint8_t s[32];
  derive(s, "blokauto-demo/v1/owner", seed, i, k);
  return blok_sign_keypair_from_seed(kp, s);
}

enum blok_err blok__demo_vehicle_key(struct blok_sign_keypair *kp, uint64_t seed, size_t i) {
  uint8_t s[32];
  derive(s, "blokauto-demo/v1/vehicle", seed, i, 0);
  return blok_sign_keypair_from_seed(kp, s);
}

/* --- parts -------------------------------------------------------------------------------- */

/* Brightline Components (the devnet's supplier) makes every batch; the two lots are audited by
 * the devnet's auditor. Cells feed packs, chips feed body control modules (ECUs); the first
 * batch of brake pads is recalled. */
static const struct blok_demo_batch batches[BLOK_DEMO_BATCHES] = {
    [BLOK_DEMO_B_CHIPS] = {"MCU-2306-K",
                           "BLM-32F4-LQ",
                           "microcontroller",
                           "Brightline Components, Hsinchu fab 2",
                           "microcontrollers",
                           "MCU-",
                           8,
                           20230612,
                           {NULL}},
    [BLOK_DEMO_B_ECUS] = {"BCM-2307-03",
                          "BL-BCM-7",
                          "body_control_module",
                          "Brightline Components, Guadalajara",
                          "body control modules (ECUs)",
                          "ECU-",
                          7,
                          20230719,
                          {"MCU-2306-K", NULL}},
    [BLOK_DEMO_B_PADS_A] = {"PAD-2402-A",
                            "BLP-FR-220",
                            "brake_pad",
                            "Brightline Components, Monterrey friction plant",
                            "front brake pads",
                            "PADA-",
                            6,
                            20240205,
                            {NULL}},
    [BLOK_DEMO_B_PADS_B] = {"PAD-2402-B",
                            "BLP-FR-220",
                            "brake_pad",
                            "Brightline Components, Monterrey friction plant",
                            "front brake pads",
                            "PADB-",
                            6,
                            20240219,
                            {NULL}},
    [BLOK_DEMO_B_CELLS] = {"CELL-2309-A",
                           "BC-2170-50E",
                           "battery_cell",
                           "Brightline Components, Reno cell plant",
                           "battery cells",
                           "BC-",
                           8,
                           20230914,
                           {"LOT-CD-KOL-2307", "LOT-AU-GRN-2308", NULL}},
    [BLOK_DEMO_B_PACKS] = {"PACK-2310-2",
                           "HV-75-NMC",
                           "battery_pack",
                           "Brightline Components, Reno pack line",
                           "battery packs",
                           "PACK-",
                           6,
                           20231009,
                           {"CELL-2309-A", NULL}},
};

static const struct blok_demo_lot lots[BLOK_DEMO_LOTS] = {
    {"LOT-CD-KOL-2307", "cobalt hydroxide, 38% Co", "Kolwezi concession, Lualaba", "CD",
     "RMAP cobalt refiner audit, chain of custody"},
    {"LOT-AU-GRN-2308", "spodumene concentrate, 6% Li2O", "Greenbushes mine, Western Australia",
     "AU", "IRMA Standard for Responsible Mining"},
};

static const struct blok_demo_recall recalls[BLOK_DEMO_RECALLS] = {
    {"RC-2025-017",
     "friction material may separate from the backing plate of front brake pads of batch "
     "PAD-2402-A, lengthening stopping distances",
     "replace both front brake pad sets and inspect the discs",
     "front brake pads, batch PAD-2402-A"},
    {"RC-2025-021",
     "a flash memory defect in microcontrollers may reset the body control module while driving, "
     "switching off exterior lights",
     "reprogram the body control module with software 7.4.2", "microcontrollers inside ECUs"},
};

const struct blok_demo_batch *blok__demo_batch(enum blok_demo_batch_id b) {
  BLOK_ASSERT(b < BLOK_DEMO_BATCHES);
  return &batches[b];
}

const struct blok_demo_lot *blok__demo_lot(size_t i) {
  BLOK_ASSERT(i < BLOK_DEMO_LOTS);
  return &lots[i];
}

const struct blok_demo_recall *blok__demo_recall(size_t i) {
  BLOK_ASSERT(i < BLOK_DEMO_RECALLS);
  return &recalls[i];
}

void blok__demo_serial(char *out, size_t cap, enum blok_demo_batch_id b, uint32_t n) {
  snprintf(out, cap, "%s%0*u", batches[b].prefix, (int)batches[b].width, (unsigned)n);
}

void blok__demo_certificate(uint8_t out[32], uint64_t seed, size_t lot) {
  derive(out, "blokauto-demo/v1/certificate", seed, lot, 0);
}

bool blok__demo_is_ev(const struct blok_demo_vehicle *v) {
  return models[v->model].ev;
}

struct pgen {
  struct blok_demo_parts *pp;
  size_t cap;
};

static void padd(struct pgen *g, uint8_t phase, enum blok_demo_pkind kind, enum blok_demo_signer by,
                 unsigned arg, uint32_t car, uint32_t a, uint32_t b) {
  BLOK_ASSERT(g->pp->count < g->cap);
  g->pp->txs[g->pp->count++] = (struct blok_demo_ptx){.kind = (uint8_t)kind,
                                                      .signer = (uint8_t)by,
                                                      .phase = phase,
                                                      .arg = (uint8_t)arg,
                                                      .car = car,
                                                      .a = a,
                                                      .b = b};
  if (phase + 1u > g->pp->phases) g->pp->phases = phase + 1u;
}

static void batch_and_serials(struct pgen *g, uint8_t phase, enum blok_demo_batch_id b) {
  uint32_t n = g->pp->serials[b] > 0 ? g->pp->serials[b] : 1;
  g->pp->serials[b] = n;
  padd(g, phase, BLOK_DEMO_P_BATCH, BLOK_DEMO_BY_SUPPLIER, b, BLOK_DEMO_NO_CAR, 0, 0);
  padd(g, phase, BLOK_DEMO_P_SERIALS, BLOK_DEMO_BY_SUPPLIER, b, BLOK_DEMO_NO_CAR, n, 0);
}

/* Which vehicles get parts (the first active ones), and how many of each serial that needs. */
static void parts_count(struct blok_demo_parts *pp, const struct blok_demo_plan *p,
                        uint32_t *cars) {
  for (size_t i = 0; i < p->count && pp->vehicles < BLOK_DEMO_PARTS_VEHICLES_MAX; i++) {
    if (p->vehicles[i].retired) continue;
    size_t k = pp->vehicles++;
    cars[k] = (uint32_t)i;
    pp->serials[k % 5 < 2 ? BLOK_DEMO_B_PADS_A : BLOK_DEMO_B_PADS_B]++;
    if (blok__demo_is_ev(&p->vehicles[i])) pp->evs++;
  }
  pp->serials[BLOK_DEMO_B_CHIPS] = pp->serials[BLOK_DEMO_B_ECUS] = (uint32_t)pp->vehicles;
  pp->serials[BLOK_DEMO_B_PACKS] = (uint32_t)pp->evs;
  pp->serials[BLOK_DEMO_B_CELLS] = (uint32_t)pp->evs * BLOK_DEMO_CELLS_PER_PACK;
  /* A firmware defect in the first quarter of the chips (at least one). */
  pp->chips_recalled = (uint32_t)(pp->vehicles + 3) / 4;
  if (pp->chips_recalled == 0) pp->chips_recalled = 1;
}

/* Phase 2: each vehicle's ECU, its brake pads and (electric cars) its pack, installed by its
 * maker; phase 3: the remedy at a service centre for every other vehicle the pad recall reaches. */
static void parts_vehicles(struct pgen *g, const struct blok_demo_plan *p, const uint32_t *cars) {
  struct blok_demo_parts *pp = g->pp;
  uint32_t pads[2] = {0, 0}, packs = 0;
  for (size_t k = 0; k < pp->vehicles; k++) {
    uint32_t car = cars[k];
    unsigned which = k % 5 < 2 ? 0 : 1;
    padd(g, 2, BLOK_DEMO_P_INTO_VEHICLE, BLOK_DEMO_BY_MANUFACTURER, BLOK_DEMO_B_ECUS, car,
         (uint32_t)k + 1, 0);
    padd(g, 2, BLOK_DEMO_P_INTO_VEHICLE, BLOK_DEMO_BY_MANUFACTURER, BLOK_DEMO_B_PADS_A + which, car,
         ++pads[which], 0);
    if (blok__demo_is_ev(&p->vehicles[car])) {
      padd(g, 2, BLOK_DEMO_P_INTO_VEHICLE, BLOK_DEMO_BY_MANUFACTURER, BLOK_DEMO_B_PACKS, car,
           ++packs, 0);
    }
    if (which == 0) {
      pp->reached[0]++;
      bool remedy = pads[0] % 2 == 0; /* every other one: half remedied */
      if (remedy) {
        padd(g, 3, BLOK_DEMO_P_REMEDY, BLOK_DEMO_BY_SERVICE, 0, car, 0, 0);
        pp->remedied[0]++;
      } else if (k < pp->chips_recalled && pp->open_car == BLOK_DEMO_NO_CAR) {
        pp->open_car = car;
      }
    }
  }
  pp->reached[1] = pp->chips_recalled < pp->vehicles ? pp->chips_recalled : pp->vehicles;
  pp->remedies = pp->remedied[0];
}

static void parts_plan(struct pgen *g, const struct blok_demo_plan *p, const uint32_t *cars) {
  struct blok_demo_parts *pp = g->pp;
  /* Phase 0: the audits, and the batches that need no lot. */
  for (unsigned l = 0; l < BLOK_DEMO_LOTS; l++)
    padd(g, 0, BLOK_DEMO_P_ATTEST, BLOK_DEMO_BY_AUDITOR, l, BLOK_DEMO_NO_CAR, 0, 0);
  batch_and_serials(g, 0, BLOK_DEMO_B_CHIPS);
  batch_and_serials(g, 0, BLOK_DEMO_B_ECUS);
  batch_and_serials(g, 0, BLOK_DEMO_B_PADS_A);
  batch_and_serials(g, 0, BLOK_DEMO_B_PADS_B);
  /* Phase 1: cells from the attested lots, packs from the cells; chips into ECUs, cells into
   * packs; the two recalls. */
  batch_and_serials(g, 1, BLOK_DEMO_B_CELLS);
  batch_and_serials(g, 1, BLOK_DEMO_B_PACKS);
  for (uint32_t k = 1; k <= pp->vehicles; k++)
    padd(g, 1, BLOK_DEMO_P_INTO_PART, BLOK_DEMO_BY_SUPPLIER, BLOK_DEMO_B_CHIPS, BLOK_DEMO_NO_CAR, k,
         k);
  for (uint32_t k = 1; k <= pp->evs * BLOK_DEMO_CELLS_PER_PACK; k++)
    padd(g, 1, BLOK_DEMO_P_INTO_PART, BLOK_DEMO_BY_SUPPLIER, BLOK_DEMO_B_CELLS, BLOK_DEMO_NO_CAR, k,
         (k - 1) / BLOK_DEMO_CELLS_PER_PACK + 1);
  for (unsigned r = 0; r < BLOK_DEMO_RECALLS; r++)
    padd(g, 1, BLOK_DEMO_P_RECALL, BLOK_DEMO_BY_MANUFACTURER, r, BLOK_DEMO_NO_CAR, 0, 0);
  parts_vehicles(g, p, cars);
  /* Phase 3 also: ECU 1 turns up at a service centre in another vehicle, a copied serial. */
  if (pp->vehicles >= 2) {
    pp->clone_car = cars[0];
    pp->clone_seen_car = cars[pp->vehicles / 2];
    padd(g, 3, BLOK_DEMO_P_OBSERVE, BLOK_DEMO_BY_SERVICE, BLOK_DEMO_B_ECUS, pp->clone_seen_car, 1,
         0);
  }
  /* A chip into each ECU, the cells into each pack; ECU, pads and pack into the vehicles. */
  pp->installs = pp->vehicles * 3 + pp->evs * (BLOK_DEMO_CELLS_PER_PACK + 1);
}

/* Orders the transactions by phase, keeping each phase's in the order they were planned. */
static enum blok_err phase_sort(struct blok_demo_parts *pp) {
  struct blok_demo_ptx *sorted = calloc(pp->count ? pp->count : 1, sizeof *sorted);
  if (sorted == NULL) {
    blok__demo_parts_release(pp);
    return BLOK_ENOMEM;
  }
  size_t n = 0;
  for (size_t ph = 0; ph < pp->phases; ph++)
    for (size_t i = 0; i < pp->count; i++)
      if (pp->txs[i].phase == ph) sorted[n++] = pp->txs[i];
  BLOK_ASSERT(n == pp->count);
  free(pp->txs);
  pp->txs = sorted;
  return BLOK_OK;
}

enum blok_err blok__demo_parts_make(struct blok_demo_parts *pp, const struct blok_demo_plan *p) {
  memset(pp, 0, sizeof *pp);
  pp->open_car = pp->clone_car = pp->clone_seen_car = BLOK_DEMO_NO_CAR;
  uint32_t *cars = calloc(p->count, sizeof *cars);
  /* At most: 2 attests, 12 batch and serials, 2 recalls, 1 observe; per vehicle a chip, an ECU,
   * pads, a remedy, and a pack with its cells. */
  size_t cap = 32 + (size_t)BLOK_DEMO_PARTS_VEHICLES_MAX * (5 + BLOK_DEMO_CELLS_PER_PACK);
  struct pgen g = {.pp = pp, .cap = cap};
  pp->txs = calloc(cap, sizeof *pp->txs);
  if (cars == NULL || pp->txs == NULL) {
    free(cars);
    blok__demo_parts_release(pp);
    return BLOK_ENOMEM;
  }
  parts_count(pp, p, cars);
  parts_plan(&g, p, cars);
  free(cars);
  return phase_sort(pp);
}

void blok__demo_parts_release(struct blok_demo_parts *pp) {
  free(pp->txs);
  memset(pp, 0, sizeof *pp);
}
