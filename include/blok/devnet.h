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

/* A devnet of n validators (2..16) in dir, unless dir/v0/node.json exists: keys/ with
 * validator-K.key and the members' keys, genesis.json listing the n validators, and vK/node.json
 * for each (data in vK, API on HOST:PORT+K of http, validators' network on
 * 127.0.0.1:p2p_port+K, the others as peers). *created says whether it was new. */
BLOK_WUR enum blok_err blok_devnet_prepare_validators(const char *dir, size_t n, const char *http,
                                                      unsigned p2p_port, bool *created,
                                                      struct blok_why *why);

#endif
