/*
 * The parts module: provenance, custody and recalls of parts (docs/PROTOCOL.md, "Parts";
 * DESIGN.md capability 4). A batch is registered with its inputs (the batches and attested
 * raw-material lots it consumed), its serials in ranges, then its parts are installed into
 * other parts or vehicles and removed again. A recall names batches, part numbers, serial
 * ranges or VIN ranges; its reach is every vehicle that holds an affected part, however deep,
 * computed from the indexes written at commit, a bounded page at a time.
 */
#ifndef BLOK_PARTS_H
#define BLOK_PARTS_H

#include <stdbool.h>

#include "blok/module.h"

#define BLOK_PARTS_MODULE     "parts"
#define BLOK_PARTS_SERIAL_MAX 48 /* bytes of a serial */
#define BLOK_PARTS_DEPTH_MAX  8  /* parts nested inside each other, the vehicle not counted */
#define BLOK_PARTS_PAGE_MAX   1000
#define BLOK_PARTS_SERIALS_TX 100000u /* serials one transaction may register */
#define BLOK_PARTS_CURSOR_MAX (1 + 1 + 32 + BLOK_PARTS_SERIAL_MAX + 17)
#define BLOK_PARTS_SCAN_MAX   100000u /* index entries one page may read */
/* Open recalls of one vehicle, and the recalls its parts and VIN are listed under. */
#define BLOK_PARTS_RECALLS_MAX       256
#define BLOK_PARTS_INSTALLED_MAX     64  /* parts installed directly in one vehicle or part */
#define BLOK_PARTS_VEHICLE_PARTS_MAX 512 /* parts in one vehicle, at every depth */
#define BLOK_PARTS_RECALL_LIST_MAX   256 /* recalls naming one batch, part number, prefix, WMI */

/* Flags of a part (and of the events that set them). */
#define BLOK_PARTS_FLAG_CLONE        1u /* the serial was reported in two vehicles */
#define BLOK_PARTS_FLAG_NOT_GENUINE  2u /* unregistered serial, or a maker that is no supplier */
#define BLOK_PARTS_FLAG_OUT_OF_LIMIT 4u /* a condition reading outside the part type's limits */

extern const struct blok_module blok_parts_module;

/* A resume point for a paged walk: opaque bytes, empty to start. */
struct blok_parts_cursor {
  size_t len;
  uint8_t bytes[BLOK_PARTS_CURSOR_MAX];
};

/* One entry of a part's or a batch's history (custody, readings, installs, flags). */
struct blok_parts_event {
  uint64_t height, time_ms;
  uint32_t position;
  uint8_t tx_id[32];
  uint8_t signer[32];
  char kind[33];
  char detail[201];
  uint8_t flags;
};

/* Where a part is: the chain of parts above it, then the vehicle (vin empty when it is in
 * none). path[0] is the part itself. */
struct blok_parts_path {
  size_t depth; /* entries of path */
  char path[BLOK_PARTS_DEPTH_MAX + 1][BLOK_PARTS_SERIAL_MAX + 1];
  char vin[18];
};

/* One vehicle a recall reaches, with the path of parts that puts it there (empty for a VIN
 * range scope), its current owner and whether the recall's remedy is recorded for it. */
struct blok_parts_reach {
  char vin[18];
  struct blok_parts_path path;
  uint8_t owner[32];
  bool remedied;
  uint64_t remedy_height;
};

/* A page of a serial's history, then its batch's (custody of a batch is its parts' custody
 * until they are installed), oldest first. */
BLOK_WUR enum blok_err blok_parts_history(struct blok_txn *t, const char *serial,
                                          struct blok_parts_cursor *cursor, size_t limit,
                                          struct blok_parts_event *out, size_t *count);
/* The batch a serial was registered in (batch: 33 bytes). BLOK_ENOTFOUND when never. */
BLOK_WUR enum blok_err blok_parts_serial_batch(struct blok_txn *t, const char *serial,
                                               char batch[33]);
/* Where a registered part is now. BLOK_ENOTFOUND for a serial never registered. */
BLOK_WUR enum blok_err blok_parts_where(struct blok_txn *t, const char *serial,
                                        struct blok_parts_path *out);
/* A page of the parts installed in a vehicle, each with the path from it up to the vehicle
 * (parts inside parts included, depth first). */
BLOK_WUR enum blok_err blok_parts_bom(struct blok_txn *t, const char vin[17],
                                      struct blok_parts_cursor *cursor, size_t limit,
                                      struct blok_parts_path *out, size_t *count);
/* A page of a recall's reach: up to limit vehicles; the cursor is empty when none is left. A
 * page reads at most BLOK_PARTS_SCAN_MAX index entries, so a page may come back short (even
 * empty) with a cursor to go on. */
BLOK_WUR enum blok_err blok_parts_recall_reach(struct blok_txn *t, const char *recall_id,
                                               struct blok_parts_cursor *cursor, size_t limit,
                                               struct blok_parts_reach *out, size_t *count);
/* The whole reach counted, in one walk and constant memory: paths to vehicles (a vehicle with
 * two affected parts counts twice) and how many of them have the remedy recorded. */
BLOK_WUR enum blok_err blok_parts_recall_counts(struct blok_txn *t, const char *recall_id,
                                                uint64_t *reached, uint64_t *remedied);
/* The recalls that reach a vehicle and have no remedy recorded for it, by id in order (at most
 * max, BLOK_PARTS_RECALLS_MAX), computed from state by blok_parts_vehicle_recalls. */
BLOK_WUR enum blok_err blok_parts_open_recalls(struct blok_txn *t, const char vin[17],
                                               char (*ids)[33], size_t max, size_t *count);

/* --- a vehicle's open recalls from state alone (parts_recalls.c) ------------------------- */

/* Reads one state value of the parts module by its module key: *found, and when found the
 * value, which stays valid until the walk ends. An error ends the walk; a reader that fails
 * says why in the walk's why first (blok_refuse keeps the first sentence). */
struct blok_parts_state {
  void *ctx;
  enum blok_err (*get)(void *ctx, const uint8_t *key, size_t key_len, bool *found,
                       const uint8_t **val, size_t *val_len, struct blok_why *why);
};

/* An open recall of a vehicle, with the path of parts that puts it there, from the part
 * installed in the vehicle down to the recalled part (depth 0: only a VIN range names it). */
struct blok_parts_open_recall {
  char recall[33];
  char reason[201], remedy[201];
  size_t depth;
  char path[BLOK_PARTS_DEPTH_MAX][BLOK_PARTS_SERIAL_MAX + 1];
};

/*
 * The open recalls of a vehicle (its VIN, model and model year from its record), in recall id
 * order, from the state the reader gives: the parts tree from "V/" and "C/", each part's batch
 * and part number, the recalls listed under them ("rb/", "rp/", "rs/") and under the VIN's WMI
 * ("rv/"), each listed recall's record, and its remedy record for the vehicle. The values are
 * read in one fixed order (docs/PROTOCOL.md, "Parts", "Open recalls of a vehicle"), the same
 * for every reader, so a report carries exactly those values with their proofs and a verifier
 * reads them back in that order. BLOK_ETOOLONG when the vehicle holds more than
 * BLOK_PARTS_VEHICLE_PARTS_MAX parts or more than BLOK_PARTS_RECALLS_MAX recalls are listed for
 * it; BLOK_ESTORE when the values disagree with each other (a record missing that another
 * names, a count that is not the tree's); the reader's errors as they come. out holds max
 * (at most BLOK_PARTS_RECALLS_MAX) entries.
 */
BLOK_WUR enum blok_err blok_parts_vehicle_recalls(const struct blok_parts_state *s,
                                                  const char vin[17], const char *model,
                                                  uint16_t model_year,
                                                  struct blok_parts_open_recall *out, size_t max,
                                                  size_t *count, struct blok_why *why);

/* Sourcing status of a batch: every input, transitively, is an attested lot or a batch whose
 * inputs are. attested counts the lots found, missing the inputs that are neither. */
struct blok_parts_sourcing {
  bool complete;
  uint32_t batches, attested, missing;
  char first_missing[33];
};
BLOK_WUR enum blok_err blok_parts_sourcing(struct blok_txn *t, const char *batch,
                                           struct blok_parts_sourcing *out);

/* --- JSON for the API and the command line (parts_json.c) ------------------------------- */

/* A cursor from its hex text (NULL or empty: the start). BLOK_EINVAL when it is not one. */
BLOK_WUR enum blok_err blok_parts_cursor_parse(struct blok_parts_cursor *c, const char *hex);
/* The documents of docs/API.md, "Parts"; limit 1..BLOK_PARTS_PAGE_MAX. */
BLOK_WUR enum blok_err blok_parts_part_json(struct blok_txn *t, const char *serial, json_t **out);
BLOK_WUR enum blok_err blok_parts_history_json(struct blok_txn *t, const char *serial,
                                               const char *cursor, size_t limit, json_t **out);
BLOK_WUR enum blok_err blok_parts_batch_json(struct blok_txn *t, const char *id, json_t **out);
BLOK_WUR enum blok_err blok_parts_recall_json(struct blok_txn *t, const char *id,
                                              const char *cursor, size_t limit, json_t **out);
BLOK_WUR enum blok_err blok_parts_vehicle_json(struct blok_txn *t, const char vin[17],
                                               const char *cursor, size_t limit, json_t **out);

#endif
