/*
 * A development network in one folder (`blokauto devnet`): on first start it writes a genesis
 * with one validator and one demo member per consortium role, their keys (mode 0600) and a node
 * config; later starts find them and continue the chain.
 */
#ifndef BLOK_DEVNET_H
#define BLOK_DEVNET_H

#include <stdbool.h>
#include <stddef.h>

#include "blok/module.h"

#define BLOK_DEVNET_CHAIN_ID "blokauto-devnet"

/* Creates dir (mode 0700) with keys/, genesis.json and node.json unless node.json exists.
 * http is HOST:PORT for a new config. *created says whether it was new. config_path receives
 * dir/node.json. */
BLOK_WUR enum blok_err blok_devnet_prepare(const char *dir, const char *http, bool *created,
                                           char *config_path, size_t config_path_cap,
                                           struct blok_why *why);

#define BLOK_DEVNET_VALIDATORS_MAX 16
#define BLOK_DEVNET_OBSERVERS_MAX  4

struct blok_devnet_validators {
  size_t validators; /* 2 .. BLOK_DEVNET_VALIDATORS_MAX */
  size_t observers;  /* 0 .. BLOK_DEVNET_OBSERVERS_MAX */
  const char *http;  /* HOST:PORT of validator 0's API; the others follow */
  unsigned p2p_port; /* validator 0's network port; the others follow */
};

/* A devnet of several validators in dir, unless dir/v0/node.json exists: keys/ with
 * validator-K.key, observer-K.key and the members' keys; genesis.json listing the validators;
 * vK/node.json for each validator (data in vK, API on HOST:PORT+K, validators' network on
 * 127.0.0.1:p2p_port+K, the others as peers, the observers admitted) and oK/node.json for each
 * observer (API on HOST:PORT+validators+K, following the validators). *created says whether it
 * was new. */
BLOK_WUR enum blok_err blok_devnet_prepare_validators(const char *dir,
                                                      const struct blok_devnet_validators *o,
                                                      bool *created, struct blok_why *why);

#endif
