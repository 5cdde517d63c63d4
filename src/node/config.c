/*
 * The node's config file (docs/NODE.md): JSON, strict (unknown fields refused by name), with
 * paths relative to the file's folder.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blok/hex.h"
#include "blok/jsonfile.h"
#include "blok/log.h"
#include "blok/node.h"
#include "blok/banned.h"

static const char *const known[] = {"data_dir",
                                    "genesis",
                                    "validator_key",
                                    "web_dir",
                                    "http",
                                    "empty_block_interval_ms",
                                    "block_txs_max",
                                    "block_bytes_max",
                                    "mempool",
                                    "log_level",
                                    "unsynced_for_bench",
                                    "p2p",
                                    "peers",
                                    "round_timeout_ms",
                                    "observer_key",
                                    "observers"};

/* dir/rel, or rel itself when absolute. */
static enum blok_err resolve(char *out, size_t cap, const char *dir, const char *rel,
                             const char *field, struct blok_why *why) {
  int n = rel[0] == '/' ? snprintf(out, cap, "%s", rel) : snprintf(out, cap, "%s/%s", dir, rel);
  if (n < 0 || (size_t)n >= cap || rel[0] == '\0')
    return blok_refuse(why, BLOK_ETOOLONG, "%s: empty or too long a path", field);
  return BLOK_OK;
}

static enum blok_err path_field(const json_t *doc, const char *field, bool required, char *out,
                                size_t cap, const char *dir, struct blok_why *why) {
  const json_t *v = json_object_get(doc, field);
  if (v == NULL && !required) return BLOK_OK;
  if (!json_is_string(v)) return blok_refuse(why, BLOK_EFORMAT, "%s: a path is required", field);
  return resolve(out, cap, dir, json_string_value(v), field, why);
}

static enum blok_err uint_field(const json_t *doc, const char *field, uint64_t min, uint64_t max,
                                uint64_t *out, struct blok_why *why) {
  const json_t *v = json_object_get(doc, field);
  if (v == NULL) return BLOK_OK;
  if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
      (uint64_t)json_integer_value(v) > max)
    return blok_refuse(why, BLOK_ERANGE, "%s: an integer from %llu to %llu is required", field,
                       (unsigned long long)min, (unsigned long long)max);
  *out = (uint64_t)json_integer_value(v);
  return BLOK_OK;
}

/* "HOST:PORT" with an IPv4 address into host and port. */
static enum blok_err parse_hostport(const char *field, const json_t *v, char *host, size_t cap,
                                    uint16_t *port_out, struct blok_why *why) {
  const char *s = json_string_value(v);
  const char *colon = s ? strrchr(s, ':') : NULL;
  if (colon == NULL || (size_t)(colon - s) >= cap)
    return blok_refuse(why, BLOK_EFORMAT, "%s: HOST:PORT is required, e.g. 127.0.0.1:8080", field);
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  struct in_addr a;
  if (inet_pton(AF_INET, host, &a) != 1)
    return blok_refuse(why, BLOK_EFORMAT, "%s: %s is not an IPv4 address", field, host);
  char *end;
  errno = 0;
  unsigned long port = strtoul(colon + 1, &end, 10);
  if (errno || *end || end == colon + 1 || port > 65535)
    return blok_refuse(why, BLOK_EFORMAT, "%s: the port must be 0..65535", field);
  *port_out = (uint16_t)port;
  return BLOK_OK;
}

static enum blok_err parse_http(struct blok_node_config *c, const json_t *v, struct blok_why *why) {
  return parse_hostport("http", v, c->http_host, sizeof c->http_host, &c->http_port, why);
}

/* "peers": [{"public_key": hex, "address": "HOST:PORT"}], at most BLOK_NODE_PEERS_MAX. */
static enum blok_err parse_peers(struct blok_node_config *c, const json_t *peers,
                                 struct blok_why *why) {
  if (peers == NULL) return BLOK_OK;
  if (!json_is_array(peers) || json_array_size(peers) > BLOK_NODE_PEERS_MAX)
    return blok_refuse(why, BLOK_EFORMAT, "peers: an array of at most %d peers is required",
                       BLOK_NODE_PEERS_MAX);
  size_t i;
  json_t *p;
  json_array_foreach(peers, i, p) {
    const char *key;
    json_t *v;
    if (!json_is_object(p)) return blok_refuse(why, BLOK_EFORMAT, "peers[%zu]: an object", i);
    json_object_foreach(p, key, v) {
      if (strcmp(key, "public_key") && strcmp(key, "address"))
        return blok_refuse(why, BLOK_EFORMAT, "peers[%zu]: unknown field %s", i, key);
    }
    const char *hex = json_string_value(json_object_get(p, "public_key"));
    if (hex == NULL || blok_hex_decode_exact(c->peers[i].pk, 32, hex, strlen(hex)) != BLOK_OK)
      return blok_refuse(why, BLOK_EFORMAT, "peers[%zu].public_key: 64 hex digits", i);
    char field[48];
    snprintf(field, sizeof field, "peers[%zu].address", i);
    BLOK_TRY(parse_hostport(field, json_object_get(p, "address"), c->peers[i].host,
                            sizeof c->peers[i].host, &c->peers[i].port, why));
  }
  c->peer_count = json_array_size(peers);
  return BLOK_OK;
}

/* "observers": [hex public key], at most BLOK_NODE_OBSERVERS_MAX. */
static enum blok_err parse_observers(struct blok_node_config *c, const json_t *obs,
                                     struct blok_why *why) {
  if (obs == NULL) return BLOK_OK;
  if (!json_is_array(obs) || json_array_size(obs) > BLOK_NODE_OBSERVERS_MAX)
    return blok_refuse(why, BLOK_EFORMAT,
                       "observers: an array of at most %d public keys (hex) is required",
                       BLOK_NODE_OBSERVERS_MAX);
  size_t i;
  json_t *o;
  json_array_foreach(obs, i, o) {
    const char *hex = json_string_value(o);
    if (hex == NULL || blok_hex_decode_exact(c->observers[i], 32, hex, strlen(hex)) != BLOK_OK)
      return blok_refuse(why, BLOK_EFORMAT, "observers[%zu]: 64 hex digits", i);
  }
  c->observer_count = json_array_size(obs);
  return BLOK_OK;
}

static enum blok_err parse_mempool(struct blok_node_config *c, const json_t *m,
                                   struct blok_why *why) {
  if (m == NULL) return BLOK_OK;
  const char *key;
  json_t *v;
  if (!json_is_object(m)) return blok_refuse(why, BLOK_EFORMAT, "mempool: an object is required");
  json_object_foreach((json_t *)(uintptr_t)m, key, v) {
    if (strcmp(key, "count_max") && strcmp(key, "bytes_max") && strcmp(key, "workers") &&
        strcmp(key, "nonce_window"))
      return blok_refuse(why, BLOK_EFORMAT, "mempool: unknown field %s", key);
  }
  uint64_t count = 0, bytes = 0, workers = 0, window = 0;
  BLOK_TRY(uint_field(m, "count_max", 1, 10000000, &count, why));
  BLOK_TRY(uint_field(m, "bytes_max", 1 << 20, (uint64_t)16 << 30, &bytes, why));
  BLOK_TRY(uint_field(m, "workers", 0, 256, &workers, why));
  BLOK_TRY(uint_field(m, "nonce_window", 1, 1 << 20, &window, why));
  c->mempool.count_max = (size_t)count;
  c->mempool.bytes_max = (size_t)bytes;
  c->mempool.workers = (size_t)workers;
  c->mempool.nonce_window = window;
  return BLOK_OK;
}

static enum blok_err parse(struct blok_node_config *c, const json_t *doc, const char *dir,
                           struct blok_why *why) {
  const char *key;
  json_t *v;
  if (!json_is_object(doc)) return blok_refuse(why, BLOK_EFORMAT, "config: an object is required");
  json_object_foreach((json_t *)(uintptr_t)doc, key, v) {
    bool ok = false;
    for (size_t i = 0; i < BLOK_ARRAY_LEN(known); i++)
      ok |= strcmp(key, known[i]) == 0;
    if (!ok) return blok_refuse(why, BLOK_EFORMAT, "config: unknown field %s", key);
  }
  BLOK_TRY(path_field(doc, "data_dir", true, c->data_dir, sizeof c->data_dir, dir, why));
  BLOK_TRY(path_field(doc, "genesis", true, c->genesis_path, sizeof c->genesis_path, dir, why));
  bool has_vkey = json_object_get(doc, "validator_key") != NULL;
  if (has_vkey == (json_object_get(doc, "observer_key") != NULL))
    return blok_refuse(why, BLOK_EFORMAT,
                       "validator_key (a validator) or observer_key (an observer) is required, "
                       "not both");
  c->observer = !has_vkey;
  BLOK_TRY(path_field(doc, has_vkey ? "validator_key" : "observer_key", true, c->key_path,
                      sizeof c->key_path, dir, why));
  BLOK_TRY(path_field(doc, "web_dir", false, c->web_dir, sizeof c->web_dir, dir, why));
  if (json_object_get(doc, "http")) BLOK_TRY(parse_http(c, json_object_get(doc, "http"), why));
  uint64_t empty = c->empty_block_interval_ms, txs = c->block_txs_max, bytes = c->block_bytes_max;
  BLOK_TRY(uint_field(doc, "empty_block_interval_ms", 10, 3600000, &empty, why));
  BLOK_TRY(uint_field(doc, "block_txs_max", 1, BLOK_BLOCK_TXS_MAX, &txs, why));
  BLOK_TRY(uint_field(doc, "block_bytes_max", 1 << 16, BLOK_BLOCK_BYTES_MAX / 2, &bytes, why));
  c->empty_block_interval_ms = empty;
  c->block_txs_max = (size_t)txs;
  c->block_bytes_max = (size_t)bytes;
  BLOK_TRY(parse_mempool(c, json_object_get(doc, "mempool"), why));
  if (json_object_get(doc, "p2p")) {
    BLOK_TRY(parse_hostport("p2p", json_object_get(doc, "p2p"), c->p2p_host, sizeof c->p2p_host,
                            &c->p2p_port, why));
    c->has_p2p = true;
  }
  BLOK_TRY(parse_peers(c, json_object_get(doc, "peers"), why));
  BLOK_TRY(parse_observers(c, json_object_get(doc, "observers"), why));
  if (c->observer && c->peer_count == 0)
    return blok_refuse(why, BLOK_EINVAL, "an observer needs peers: the validators it follows");
  if (c->observer && c->observer_count > 0)
    return blok_refuse(why, BLOK_EINVAL, "observers: only a validator admits observers");
  /* Without one, rounds time out after two empty-block intervals: an idle leader proposes its
   * empty block in time (docs/NODE.md). */
  c->round_timeout_ms =
      empty * 2 < BLOK_NODE_ROUND_TIMEOUT_MAX ? empty * 2 : BLOK_NODE_ROUND_TIMEOUT_MAX;
  BLOK_TRY(uint_field(doc, "round_timeout_ms", 100, BLOK_NODE_ROUND_TIMEOUT_MAX,
                      &c->round_timeout_ms, why));
  const json_t *lv = json_object_get(doc, "log_level");
  if (lv && (!json_is_string(lv) || blok_log_level_parse(json_string_value(lv)) < 0))
    return blok_refuse(why, BLOK_EFORMAT, "log_level: debug, info, warn or error");
  if (lv) c->log_level = blok_log_level_parse(json_string_value(lv));
  const json_t *ub = json_object_get(doc, "unsynced_for_bench");
  if (ub && !json_is_boolean(ub))
    return blok_refuse(why, BLOK_EFORMAT, "unsynced_for_bench: true or false");
  c->unsynced_for_bench = json_is_true(ub);
  return BLOK_OK;
}

enum blok_err blok_node_config_load(struct blok_node_config *c, const char *path,
                                    struct blok_why *why) {
  memset(c, 0, sizeof *c);
  memcpy(c->http_host, "127.0.0.1", 10);
  c->http_port = 8080;
  c->empty_block_interval_ms = 2000;
  c->block_txs_max = 5000;
  c->block_bytes_max = (size_t)8 << 20;
  c->log_level = BLOK_LOG_INFO;
  json_t *doc;
  BLOK_TRY(
      blok_json_load_file(path, BLOK_NODE_CONFIG_BYTES_MAX, JSON_REJECT_DUPLICATES, &doc, why));
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    memcpy(dir, ".", 2);
  } else if ((size_t)(slash - path) < sizeof dir) {
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    if (dir[0] == '\0') memcpy(dir, "/", 2);
  } else {
    json_decref(doc);
    return blok_refuse(why, BLOK_ETOOLONG, "config path too long");
  }
  enum blok_err rc = parse(c, doc, dir, why);
  json_decref(doc);
  return rc;
}
