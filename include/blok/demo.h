/*
 * Demo data for a development network (`blokauto devnet --demo`, docs/NODE.md "Demo data").
 *
 * The loader fills a new chain through the node's real HTTP API with transactions signed by the
 * devnet's members and by the owners' and vehicles' own keys: vehicles with valid VINs under real
 * manufacturers' WMIs, and years of plausible history (services, inspections, odometer readings,
 * accidents, brands, liens, sales, a few odometer rollbacks, cluster replacements and retired
 * VINs), then parts: an audited cobalt lot feeding battery cells, chips inside ECUs inside
 * vehicles, brake pads, a brake-pad recall half remedied and one cloned serial. Everything it sends
 * follows from the seed: the same seed gives the same VINs, the same keys and the same vehicle
 * records (heights and times aside, which are the chain's own).
 *
 * It runs on its own thread beside the node (blok_node_run blocks): it waits for the API to
 * answer, keeps every sender inside the mempool's nonce window, submits a vehicle's next
 * transaction only once the ones it depends on are committed, and stops at the first refusal,
 * saying which transaction and why. It never stops the node.
 */
#ifndef BLOK_DEMO_H
#define BLOK_DEMO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "blok/module.h"

#define BLOK_DEMO_SEED_DEFAULT     42
#define BLOK_DEMO_VEHICLES_DEFAULT 1000
#define BLOK_DEMO_VEHICLES_MAX     100000

struct blok_demo_opts {
  const char *node_url;     /* "http://127.0.0.1:8080", no trailing slash */
  const char *genesis_path; /* the chain's genesis: which member owns which WMI */
  const char *keys_dir;     /* key files (*.key) of the members the demo signs for */
  uint64_t seed;
  size_t vehicles; /* 1 .. BLOK_DEMO_VEHICLES_MAX */
  /* Optional: a file written before anything is sent, one line per vehicle with what its record
   * should say once loaded (tab-separated, with a header line). NULL for none. */
  const char *vehicles_path;
  FILE *out; /* progress and the closing summary; refusals go to stderr */
  bool tty;  /* out is a terminal: one progress line rewritten in place */
};

struct blok_demo;

/* Starts the loader thread. It copies what it needs from o. BLOK_EINVAL for a vehicle count out of
 * range, BLOK_ENOMEM, or BLOK_EIO when the thread cannot start (with a reason in why). */
BLOK_WUR enum blok_err blok_demo_start(struct blok_demo **out, const struct blok_demo_opts *o,
                                       struct blok_why *why);

/* Asks the loader to stop if it still runs, waits for it and frees it. Returns its outcome:
 * BLOK_OK when every transaction was committed and applied, otherwise the error it stopped on
 * (BLOK_EUNAVAIL when it was stopped before it finished). */
enum blok_err blok_demo_finish(struct blok_demo *d);

/* Runs the loader in the calling thread until it finishes or *stop becomes true (checked between
 * requests). The same outcome as blok_demo_finish. */
BLOK_WUR enum blok_err blok_demo_run(const struct blok_demo_opts *o, const atomic_bool *stop);

#endif
