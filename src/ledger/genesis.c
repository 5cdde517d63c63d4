/*
 * The genesis document (docs/PROTOCOL.md, "Genesis"): the chain id, the start time, the
 * validators, and one section per module. It is what every node and every offline verifier
 * starts from, so it is parsed strictly: any field it does not know is refused by name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blok/hex.h"
#include "blok/jsonfile.h"
#include "blok/ledger.h"
#include "blok/banned.h"

static enum blok_err parse_validators(struct blok_genesis *g, const json_t *arr,
                                      struct blok_why *why) {
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return blok_refuse(why, BLOK_EFORMAT, "validators: a non-empty array is required");
  if (json_array_size(arr) > BLOK_VALIDATORS_MAX)
    return blok_refuse(why, BLOK_ETOOLONG, "validators: at most %d", BLOK_VALIDATORS_MAX);
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *name = json_string_value(json_object_get(v, "name"));
    const char *pk = json_string_value(json_object_get(v, "public_key"));
    if (!json_is_object(v) || json_object_size(v) != 2 || name == NULL || pk == NULL)
      return blok_refuse(why, BLOK_EFORMAT,
                         "validators[%zu]: exactly the fields name and public_key", i);
    if (strlen(name) == 0 || strlen(name) > BLOK_NAME_MAX)
      return blok_refuse(why, BLOK_EFORMAT, "validators[%zu].name: 1..%d bytes", i, BLOK_NAME_MAX);
    if (blok_hex_decode_exact(g->validators[i], 32, pk, strlen(pk)) != BLOK_OK ||
        blok_sign_check_pk(g->validators[i]) != BLOK_OK)
      return blok_refuse(why, BLOK_EBADKEY, "validators[%zu].public_key: not a valid key", i);
    for (size_t j = 0; j < i; j++)
      if (memcmp(g->validators[j], g->validators[i], 32) == 0)
        return blok_refuse(why, BLOK_EFORMAT, "validators[%zu]: key listed twice", i);
    memcpy(g->validator_names[i], name, strlen(name) + 1);
  }
  g->validator_count = json_array_size(arr);
  return BLOK_OK;
}

enum blok_err blok_genesis_parse(struct blok_genesis *g, const json_t *doc,
                                 const struct blok_registry *reg, struct blok_why *why) {
  memset(g, 0, sizeof *g);
  if (!json_is_object(doc)) return blok_refuse(why, BLOK_EFORMAT, "genesis: not a json object");
  const char *key;
  json_t *val;
  json_object_foreach((json_t *)(uintptr_t)doc, key, val) {
    if (strcmp(key, "chain_id") != 0 && strcmp(key, "genesis_time_ms") != 0 &&
        strcmp(key, "validators") != 0 && blok_registry_module(reg, key) == NULL)
      return blok_refuse(why, BLOK_EFORMAT, "genesis: unknown field %s", key);
  }
  const char *cid = json_string_value(json_object_get(doc, "chain_id"));
  if (cid == NULL || !blok_sign_chain_id_valid(cid))
    return blok_refuse(why, BLOK_EBADTAG, "chain_id: 1..64 bytes of [a-z0-9._-] required");
  memcpy(g->chain_id, cid, strlen(cid) + 1);
  json_t *t = json_object_get(doc, "genesis_time_ms");
  if (!json_is_integer(t) || json_integer_value(t) <= 0)
    return blok_refuse(why, BLOK_EFORMAT, "genesis_time_ms: a positive integer is required");
  g->time_ms = (uint64_t)json_integer_value(t);
  BLOK_TRY(parse_validators(g, json_object_get(doc, "validators"), why));
  g->doc = json_deep_copy(doc);
  return g->doc ? BLOK_OK : BLOK_ENOMEM;
}

enum blok_err blok_genesis_load(struct blok_genesis *g, const char *path,
                                const struct blok_registry *reg, struct blok_why *why) {
  json_t *doc;
  BLOK_TRY(blok_json_load_file(path, BLOK_GENESIS_BYTES_MAX, JSON_REJECT_DUPLICATES, &doc, why));
  enum blok_err rc = blok_genesis_parse(g, doc, reg, why);
  json_decref(doc);
  return rc;
}

void blok_genesis_release(struct blok_genesis *g) {
  json_decref(g->doc);
  g->doc = NULL;
}
