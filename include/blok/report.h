/*
 * The verifiable history report of a vehicle (docs/PROTOCOL.md, "Vehicles", "Report bundle").
 *
 * A report bundle is a JSON document holding a vehicle's state record with its state-tree proof
 * against a certified block header, and every event of the vehicle as its signed transaction.
 * Anyone who holds the chain's genesis document checks it offline: the certificate makes the
 * header authentic, the proof makes the record authentic, and the record's hash chain over the
 * events (event_count, chain_head) makes the list of events complete: nothing left out, nothing
 * added, nothing reordered. The bundle's `summary`, the part a person reads, is recomputed from
 * the record and the events and must be equal, so what it shows is what was proven.
 *
 * The bundle also carries the parts module's state values that a vehicle's open recalls are
 * computed from (blok_parts_vehicle_recalls: its parts tree, the recalls listed for its parts
 * and its VIN, their records and remedies), each with its state-tree proof of inclusion or
 * non-inclusion against the same state root, in the order the walk reads them: the verifier
 * walks again over exactly those values, so the open recalls in the summary are complete as of
 * the block too.
 *
 * Building reads everything from one LMDB read transaction, so the record, its proof, the
 * header and the events all describe the same block even while blocks are being committed.
 * Verifying reads no clock, no network and no file: the same bundle and genesis always give the
 * same answer.
 */
#ifndef BLOK_REPORT_H
#define BLOK_REPORT_H

#include <jansson.h>

#include "blok/ledger.h"
#include "blok/parts.h"
#include "blok/vehicle.h"
#include "blok/vin.h"

#define BLOK_REPORT_FORMAT "blokauto-report/v2"
/* The most events a report holds; a vehicle with more cannot be reported (BLOK_ETOOLONG). */
#define BLOK_REPORT_EVENTS_MAX 100000
/* The most state values with proofs a report's "recalls" holds: every value the open-recall
 * walk can read for a vehicle of BLOK_PARTS_VEHICLE_PARTS_MAX parts and BLOK_PARTS_RECALLS_MAX
 * listed recalls (1 + 512 trees, 2 x 512 batches, 512 part numbers, 512 prefixes, 1 WMI,
 * 2 x 256 recalls) fits. */
#define BLOK_REPORT_STATE_MAX 4096
/* The longest bundle text built, downloaded or verified. */
#define BLOK_REPORT_BYTES_MAX ((size_t)64 << 20)
/* Room for a verification failure's sentence, with the NUL. */
#define BLOK_REPORT_WHY_MAX 256

/* The checks of a verification, in the order they run (docs/PROTOCOL.md, "Report bundle"). */
enum blok_report_check {
  BLOK_REPORT_CHECK_NONE = 0, /* every check passed */
  BLOK_REPORT_CHECK_FORMAT,   /* JSON, fields, types, lowercase hex */
  BLOK_REPORT_CHECK_HEADER,   /* the header, its chain, hash, height and time */
  BLOK_REPORT_CHECK_CERTIFICATE,
  BLOK_REPORT_CHECK_RECORD,  /* the record and its state-tree proof */
  BLOK_REPORT_CHECK_EVENTS,  /* each transaction: decodes, this VIN, signature */
  BLOK_REPORT_CHECK_CHAIN,   /* the hash chain over the events: complete and in order */
  BLOK_REPORT_CHECK_RECALLS, /* the state values of the open-recall walk and their proofs */
  BLOK_REPORT_CHECK_SUMMARY,
};

/* "format", "header", "certificate", "record", "events", "chain", "recalls", "summary";
 * "none". */
const char *blok_report_check_name(enum blok_report_check c);

/* What a verification found. */
struct blok_report_result {
  enum blok_report_check failed; /* BLOK_REPORT_CHECK_NONE when verified */
  enum blok_err err;             /* BLOK_OK when verified */
  char why[BLOK_REPORT_WHY_MAX]; /* lowercase sentence, no full stop; empty when verified */
  /* When verified: the vehicle, and the block the report is complete as of. */
  char vin[BLOK_VIN_LEN + 1];
  uint64_t height, time_ms;
  uint64_t event_count;
  size_t open_recalls; /* how many the summary lists */
};

/* One event as the summary sees it: the block it is in and its decoded transaction (whose
 * pointers stay the caller's). */
struct blok_report_event {
  uint64_t height, time_ms;
  struct blok_tx tx;
};

/*
 * The bundle of a vehicle as of the committed head, all read from one read transaction.
 * vin is 17 characters (normalised upper case). BLOK_EVIN for an invalid VIN, BLOK_ENOTFOUND
 * when it was never registered, BLOK_ETOOLONG when the vehicle has more than
 * BLOK_REPORT_EVENTS_MAX events or the bundle would pass BLOK_REPORT_BYTES_MAX, BLOK_EUNAVAIL
 * when the head has no certificate, BLOK_ESTORE when the history index disagrees with the
 * record or the parts state disagrees with itself; each with a sentence in why. *out is a new
 * JSON object on success, NULL otherwise. BLOK_ETOOLONG too when the vehicle's parts or
 * listed recalls pass the walk's bounds.
 */
BLOK_WUR enum blok_err blok_report_build(struct blok_ledger *l, const char vin[BLOK_VIN_LEN],
                                         json_t **out, struct blok_why *why);

/*
 * Verifies a parsed bundle against a genesis, running the eight checks in order and stopping
 * at the first that fails: BLOK_OK and res filled in, or the failing check's error with
 * res->failed and res->why saying which and why (BLOK_EFORMAT, BLOK_EHEX, BLOK_EBADTAG,
 * BLOK_EBADSIG, BLOK_EBADPROOF, BLOK_ETOOLONG, BLOK_ENOMEM ...).
 */
BLOK_WUR enum blok_err blok_report_verify(const json_t *bundle, const struct blok_genesis *g,
                                          struct blok_report_result *res);

/*
 * As blok_report_verify on the bundle's text (at most BLOK_REPORT_BYTES_MAX bytes): exactly one
 * JSON object, starting at the first byte, with nothing after it but one optional newline, and
 * no key given twice. Anything else fails the format check.
 */
BLOK_WUR enum blok_err blok_report_verify_text(const char *text, size_t len,
                                               const struct blok_genesis *g,
                                               struct blok_report_result *res);

/*
 * The summary of a vehicle (docs/PROTOCOL.md, "Report bundle"): from its record, its events in
 * order (each transaction already decoded and checked), its open recalls (as
 * blok_parts_vehicle_recalls gives them) and the genesis members, who give the signers' names.
 * Deterministic. BLOK_EFORMAT when an event's payload has no JSON form, BLOK_ENOMEM.
 */
BLOK_WUR enum blok_err blok_report_summary(const struct blok_genesis *g,
                                           const struct blok_vehicle_record *r,
                                           const struct blok_report_event *events, size_t n,
                                           const struct blok_parts_open_recall *recalls,
                                           size_t recall_count, json_t **out);

/* Room blok_report_time writes, with the NUL. */
#define BLOK_REPORT_TIME_MAX 64
/* A block time as UTC ISO 8601 to the second: "2026-11-21T13:00:00Z". */
void blok_report_time(char out[BLOK_REPORT_TIME_MAX], uint64_t time_ms);

#endif
