/*
 * The module interface (DESIGN.md, "Architecture"): a capability is a module that declares
 * its transaction kinds and its state, and the ledger core knows no module by name. A kind
 * gives a stateless check of its payload, its JSON form for the API and the command line, and
 * a deterministic apply that reads and writes state through the execution context.
 *
 * Determinism rules for apply (they are consensus rules): read nothing but the context (no
 * clock, no randomness, no files, no floats), iterate only in defined orders, and make every
 * decision from the transaction and the state. A refusal is an error code and a sentence in
 * `why`; the transaction is then recorded as failed and none of its writes are kept.
 */
#ifndef BLOK_MODULE_H
#define BLOK_MODULE_H

#include <jansson.h>

#include "blok/store.h"
#include "blok/tx.h"

#define BLOK_WHY_MAX         200
#define BLOK_NAME_MAX        64 /* member and validator names */
#define BLOK_STATE_KEY_MAX   256
#define BLOK_STATE_VALUE_MAX 65536
#define BLOK_MODULES_MAX     16
#define BLOK_KINDS_MAX       32

/* A refusal's reason, for a person: lowercase, no full stop ("vin is retired"). */
struct blok_why {
  char msg[BLOK_WHY_MAX];
};
void blok_why_set(struct blok_why *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets why (when it is still empty) and returns err: `return blok_refuse(why, BLOK_EREFUSED,
 * "vin %s is retired", vin);` */
enum blok_err blok_refuse(struct blok_why *why, enum blok_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct blok_exec;   /* one block's execution; see blok/ledger.h */
struct blok_member; /* a consortium member; see blok/consortium.h */

struct blok_tx_kind {
  const char *type;
  /* Roles allowed to send it (NULL-terminated), or NULL for any member. The consortium
   * module's authorizer enforces it. */
  const char *const *roles;
  /* The module's own number for the kind (its index in a module's tables), so one function can
   * serve all of a module's kinds: the three hooks below receive their kind. */
  unsigned tag;
  /* Decodes the payload fully and checks its limits, without state. */
  enum blok_err (*check)(const struct blok_tx_kind *kind, const uint8_t *payload, size_t len,
                         struct blok_why *why);
  /* The payload from its JSON form (API, CLI); unknown fields refused with their name. */
  enum blok_err (*from_json)(const struct blok_tx_kind *kind, const json_t *j, struct blok_buf *out,
                             struct blok_why *why);
  /* The JSON form of a payload that passed check. */
  json_t *(*to_json)(const struct blok_tx_kind *kind, const uint8_t *payload, size_t len);
  /* Applies a transaction whose payload passed check. */
  enum blok_err (*apply)(struct blok_exec *x, const struct blok_tx *tx, struct blok_why *why);
  /* Optional: decides who may send it, in place of `roles`. The consortium's authorizer calls
   * it with the sender's member record, or NULL when the sender is no member (a vehicle owner's
   * or a vehicle's own key). BLOK_ENOTPERMITTED with a reason when the sender may not. */
  enum blok_err (*authorize)(struct blok_exec *x, const struct blok_tx *tx,
                             const struct blok_member *m, struct blok_why *why);
};

struct blok_module {
  const char *name;
  const struct blok_tx_kind *kinds;
  size_t kind_count;
  /* Optional: opens the module's index tables at start-up. */
  enum blok_err (*open)(struct blok_store *s);
  /* Optional: writes the module's initial state from its part of the genesis document. */
  enum blok_err (*genesis)(struct blok_exec *x, const json_t *genesis, struct blok_why *why);
  /* Optional: the key bytes named by text in a URL (GET /v1/state/{module}/{key}). */
  enum blok_err (*state_key)(const char *text, struct blok_buf *out, struct blok_why *why);
  /* Optional: the JSON form of one of the module's state values. */
  json_t *(*state_to_json)(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len);
};

/* Calling a kind's hooks: blok_kind_check(kind, payload, len, why) is kind->check(kind, ...). */
static inline enum blok_err blok_kind_check(const struct blok_tx_kind *kind, const uint8_t *payload,
                                            size_t len, struct blok_why *why) {
  return kind->check(kind, payload, len, why);
}
static inline enum blok_err blok_kind_from_json(const struct blok_tx_kind *kind, const json_t *j,
                                                struct blok_buf *out, struct blok_why *why) {
  return kind->from_json(kind, j, out, why);
}
static inline json_t *blok_kind_to_json(const struct blok_tx_kind *kind, const uint8_t *payload,
                                        size_t len) {
  return kind->to_json(kind, payload, len);
}

/* Decides whether a transaction's sender may send its kind (the consortium module provides
 * it). BLOK_ENOTPERMITTED with a reason when not. */
typedef enum blok_err (*blok_authorize_fn)(struct blok_exec *x, const struct blok_tx *tx,
                                           const struct blok_tx_kind *kind, struct blok_why *why);

struct blok_registry {
  const struct blok_module *modules[BLOK_MODULES_MAX];
  size_t count;
  blok_authorize_fn authorize;
};

void blok_registry_init(struct blok_registry *r);
/* BLOK_EFULL past BLOK_MODULES_MAX, BLOK_EEXIST for a name already there. */
BLOK_WUR enum blok_err blok_registry_add(struct blok_registry *r, const struct blok_module *m);
const struct blok_module *blok_registry_module(const struct blok_registry *r, const char *name);
/* The kind for module/type, or NULL (and *module NULL when the module is unknown). */
const struct blok_tx_kind *blok_registry_kind(const struct blok_registry *r, const char *module,
                                              const char *type, const struct blok_module **mod);

/* State access for apply and genesis. Keys are 1..256 bytes, values at most 64 KiB. A key
 * lives in the state tree under SHA-256(text<32>(module) || bytes<256>(key)). */
BLOK_WUR enum blok_err blok_exec_get(struct blok_exec *x, const char *module, const void *key,
                                     size_t key_len, const uint8_t **val, size_t *val_len);
BLOK_WUR enum blok_err blok_exec_put(struct blok_exec *x, const char *module, const void *key,
                                     size_t key_len, const void *val, size_t val_len);
BLOK_WUR enum blok_err blok_exec_del(struct blok_exec *x, const char *module, const void *key,
                                     size_t key_len);
/* An index entry (not in the state tree) written with the block if the transaction succeeds:
 * table from blok_store_table, key at most 511 bytes (LMDB's limit). */
BLOK_WUR enum blok_err blok_exec_index_put(struct blok_exec *x, unsigned table, const void *key,
                                           size_t key_len, const void *val, size_t val_len);
uint64_t blok_exec_height(const struct blok_exec *x);
/* The position the transaction being applied will have in its block. */
uint32_t blok_exec_tx_position(const struct blok_exec *x);
uint64_t blok_exec_time_ms(const struct blok_exec *x);
/* The tree key of a module's key. */
BLOK_WUR enum blok_err blok_state_key(uint8_t out[32], const char *module, const void *key,
                                      size_t key_len);

#endif
