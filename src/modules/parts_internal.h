/*
 * Inside the parts module: the decoded form of its payloads and the table that describes them
 * (parts_codec.c), the state keys and records both the apply side (parts.c) and the query side
 * (parts_query.c) read, and the index tables they share.
 */
#ifndef BLOK_PARTS_INTERNAL_H
#define BLOK_PARTS_INTERNAL_H

#include "blok/codec.h"
#include "blok/parts.h"

/* Limits of the payload fields (docs/PROTOCOL.md, "Parts"). */
#define BLOK__PARTS_ID_MAX       32 /* batch, part number, part type, lot, recall, location */
#define BLOK__PARTS_NAME_MAX     64 /* site, material, scheme, model */
#define BLOK__PARTS_TEXT_MAX     200
#define BLOK__PARTS_INPUTS_MAX   16
#define BLOK__PARTS_RANGES_MAX   64
#define BLOK__PARTS_SCOPES_MAX   16
#define BLOK__PARTS_WIDTH_MAX    18 /* digits of a serial's number: below 10^18 */
#define BLOK__PARTS_BUCKET       4096u
#define BLOK__PARTS_BUCKET_MAX   256 /* sub-ranges of one bucket */
#define BLOK__PARTS_QUANTITY_MAX 10000000u
#define BLOK__PARTS_KEY_MAX      (3 + 1 + BLOK_PARTS_SERIAL_MAX + 17) /* longest module key */

/* The kinds, in the order of the module's table. */
enum blok__pkind {
  BLOK__PK_BATCH,
  BLOK__PK_SERIALS,
  BLOK__PK_INSTALL,
  BLOK__PK_REMOVE,
  BLOK__PK_RECALL,
  BLOK__PK_REMEDY,
  BLOK__PK_HANDOFF_OFFER,
  BLOK__PK_HANDOFF_ACCEPT,
  BLOK__PK_SENSOR,
  BLOK__PK_LIMITS,
  BLOK__PK_READING,
  BLOK__PK_ATTEST,
  BLOK__PK_OBSERVE,
  BLOK__PK_COUNT
};

enum { BLOK__INTO_PART = 1, BLOK__INTO_VEHICLE = 2 };
enum { BLOK__SUBJECT_BATCH = 1, BLOK__SUBJECT_PART = 2 };
enum {
  BLOK__SCOPE_BATCH = 1,
  BLOK__SCOPE_PART_NUMBER = 2,
  BLOK__SCOPE_SERIALS = 3,
  BLOK__SCOPE_VINS = 4,
};

struct blok__ptext {
  const char *s; /* into the payload or the JSON document: not NUL-terminated */
  size_t len;
};

/* prefix || the number first .. first + count - 1 written in `width` digits (zero-padded);
 * width 0 is one serial with no number (count 1, first 0). */
struct blok__prange {
  struct blok__ptext prefix;
  uint8_t width;
  uint64_t first;
  uint32_t count;
};

struct blok__pscope {
  uint8_t type;
  struct blok__ptext id;     /* batch, part number */
  struct blok__prange range; /* serials */
  char vin_from[18], vin_to[18];
};

/* Every field any payload has; a kind uses the ones its table row names. */
struct blok__ppay {
  struct blok__ptext batch, part_number, part_type, site, serial, target, recall, reason, remedy,
      model, location, lot, material, country, scheme, id;
  uint32_t production_date, quantity, humidity_max, shock_max, humidity, shock;
  int32_t temp_min, temp_max, temp;
  uint16_t year_from, year_to;
  uint8_t into, subject;
  char vin[18];
  uint8_t key[32], to[32], certificate[32];
  size_t input_count, range_count, scope_count;
  struct blok__ptext inputs[BLOK__PARTS_INPUTS_MAX];
  struct blok__prange ranges[BLOK__PARTS_RANGES_MAX];
  struct blok__pscope scopes[BLOK__PARTS_SCOPES_MAX];
};

enum blok__pkind blok__pkind_of(const char *type);
const char *blok__pkind_name(enum blok__pkind k);

BLOK_WUR enum blok_err blok__ppay_decode(enum blok__pkind k, const uint8_t *data, size_t len,
                                         struct blok__ppay *p, struct blok_why *why);
BLOK_WUR enum blok_err blok__ppay_encode(enum blok__pkind k, struct blok_buf *out,
                                         const struct blok__ppay *p, struct blok_why *why);
BLOK_WUR enum blok_err blok__ppay_from_json(enum blok__pkind k, const json_t *j,
                                            struct blok_buf *out, struct blok_why *why);
json_t *blok__ppay_to_json(enum blok__pkind k, const uint8_t *data, size_t len);

/* A serial split into prefix and number: the number is its trailing run of digits (at most
 * BLOK__PARTS_WIDTH_MAX), width its length (0: none). false for a serial that is not an id. */
struct blok__psplit {
  size_t prefix_len;
  uint8_t width;
  uint64_t number;
};
bool blok__parts_split(const char *s, size_t len, struct blok__psplit *out);
/* Writes range r's serial number n (first + i) into out (at most 32 + 18 + 1 bytes). */
size_t blok__parts_serial(char *out, size_t cap, const struct blok__ptext *prefix, uint8_t width,
                          uint64_t number);
bool blok__parts_id_ok(const char *s, size_t len, size_t max);

/* --- state (module "parts") ---------------------------------------------------------------- */

/* "b/" batch, "s/" bucket, "p/" part, "r/" recall, "m/" remedy, "l/" lot, "t/" limits,
 * "k/" sensor. Keys are the prefix then the id's bytes (ids hold no NUL). */
size_t blok__parts_key(uint8_t *out, size_t cap, char tag, const char *id, size_t len);

struct blok__batch {
  char id[33], part_number[33], part_type[33], site[65], maker[65];
  uint32_t production_date, quantity;
  uint64_t serials, height;
  uint8_t maker_key[32], holder[32];
  char location[33];
  bool has_offer;
  uint8_t offer_to[32];
  size_t input_count;
  char inputs[BLOK__PARTS_INPUTS_MAX][33];
};

struct blok__part {
  char batch[33];
  uint8_t loc; /* 0 loose, BLOK__INTO_PART, BLOK__INTO_VEHICLE */
  char where[49];
  uint8_t flags; /* BLOK_PARTS_FLAG_* */
  uint8_t below; /* how deep parts have nested under it (0: none); never lowered */
  bool has_holder;
  uint8_t holder[32];
  char location[33];
  bool has_offer;
  uint8_t offer_to[32];
};

BLOK_WUR enum blok_err blok__batch_encode(struct blok_buf *b, const struct blok__batch *r);
BLOK_WUR enum blok_err blok__batch_decode(const uint8_t *v, size_t n, struct blok__batch *r);
BLOK_WUR enum blok_err blok__part_encode(struct blok_buf *b, const struct blok__part *r);
BLOK_WUR enum blok_err blok__part_decode(const uint8_t *v, size_t n, struct blok__part *r);

/* "V/" vin and "C/" serial: the parts installed directly in a vehicle or a part, sorted by
 * serial, each with its batch, and the count of parts under it at every depth. */
struct blok__pentry {
  char serial[BLOK_PARTS_SERIAL_MAX + 1];
  char batch[BLOK__PARTS_ID_MAX + 1];
};
struct blok__installed {
  uint32_t total; /* parts under it, all depths (the entries and everything in them) */
  size_t count;
  struct blok__pentry e[BLOK_PARTS_INSTALLED_MAX];
};
BLOK_WUR enum blok_err blok__installed_encode(struct blok_buf *b, const struct blok__installed *r);
BLOK_WUR enum blok_err blok__installed_decode(const uint8_t *v, size_t n,
                                              struct blok__installed *r);

/* "rb/" batch, "rp/" part number: the recalls naming it, sorted. "rs/" u8 width || prefix: the
 * serial ranges recalls name, (first, last, recall) sorted. "rv/" wmi: the VIN ranges recalls
 * name, (from, to, recall) sorted; a VIN range stays within one WMI. */
struct blok__rentry {
  uint64_t first, last;  /* rs/ */
  char from[18], to[18]; /* rv/ */
  char recall[BLOK__PARTS_ID_MAX + 1];
};
enum blok__rlist_kind { BLOK__RL_IDS, BLOK__RL_SERIALS, BLOK__RL_VINS };
struct blok__rlist {
  size_t count;
  struct blok__rentry e[BLOK_PARTS_RECALL_LIST_MAX];
};
BLOK_WUR enum blok_err blok__rlist_encode(struct blok_buf *b, enum blok__rlist_kind k,
                                          const struct blok__rlist *r);
BLOK_WUR enum blok_err blok__rlist_decode(const uint8_t *v, size_t n, enum blok__rlist_kind k,
                                          struct blok__rlist *r);
/* Orders entries of one kind (ids; ranges by first, last, id; vins by from, to, id). */
int blok__rentry_cmp(enum blok__rlist_kind k, const struct blok__rentry *a,
                     const struct blok__rentry *b);

/* A key of a tag of one or more characters: tag || "/" || id. */
size_t blok__parts_tkey(uint8_t *out, size_t cap, const char *tag, const void *id, size_t len);
/* "rs/" || u8 width || prefix. */
size_t blok__parts_rs_key(uint8_t *out, size_t cap, uint8_t width, const char *prefix, size_t len);

/* --- index tables (written at commit) ------------------------------------------------------ */

enum blok__ptable {
  BLOK__PT_EVENTS,   /* subject u8 || u8 len || id || u64 height || u32 position -> event */
  BLOK__PT_LOC,      /* serial -> u8 loc || where (current place of an installed part) */
  BLOK__PT_BYBATCH,  /* u8 len || batch || serial -> "" (parts ever installed or observed) */
  BLOK__PT_VPARTS,   /* vin || serial -> u8 1 installed, 0 removed */
  BLOK__PT_CHILDREN, /* u8 len || parent serial || serial -> u8 1 installed, 0 removed */
  BLOK__PT_BYPN,     /* u8 len || part number || batch -> "" */
  BLOK__PT_OUTPUTS,  /* u8 len || input || batch -> "" */
  BLOK__PT_RECALLS,  /* recall id -> "" */
  BLOK__PT_VEVENTS,  /* the vehicle module's history index, walked for VIN ranges */
  BLOK__PT_COUNT
};
extern unsigned blok__parts_tables[BLOK__PT_COUNT];
extern bool blok__parts_tables_open;

/* u8 len || id: a key part that sorts every id's entries together. */
size_t blok__parts_lkey(uint8_t *out, const char *id, size_t len);

#endif
