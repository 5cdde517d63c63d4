/*
 * The devnet folder (blok/devnet.h). The demo members are plausible but fictional companies,
 * one per role, except manufacturers: three, one per region, stand in for the real makers whose
 * WMIs they hold, so that the demo data (`devnet --demo`, src/node/demo.c) registers VINs that
 * decode to real makes (Honda, Ford, Tesla, BMW ...). Northwind Motors also keeps 5NW, a WMI of
 * its own for hand-made examples.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blok/devnet.h"
#include "blok/hex.h"
#include "blok/keyfile.h"
#include "blok/banned.h"

struct demo {
  const char *key, *role, *name; /* key: the key file's name, keys/<key>.key */
  const char *const *wmi;        /* NULL-terminated, or NULL */
};

static const char *const wmi_north_america[] = {"5NW", "1HG", "1FA", "1G1", "2T1", "5YJ", NULL};
static const char *const wmi_europe[] = {"WBA", "WVW", "SAL", "VF1", "YV1", "ZFA", NULL};
static const char *const wmi_asia[] = {"JHM", "KM8", NULL};

static const struct demo demos[] = {
    {"manufacturer", "manufacturer", "Northwind Motors", wmi_north_america},
    {"manufacturer-europe", "manufacturer", "Rhine Valley Automotive", wmi_europe},
    {"manufacturer-asia", "manufacturer", "Pacific Crest Motor Works", wmi_asia},
    {"supplier", "supplier", "Brightline Components", NULL},
    {"dealer", "dealer", "Harbor City Auto Sales", NULL},
    {"service", "service", "QuickLane Service Center", NULL},
    {"insurer", "insurer", "Evergreen Mutual Insurance", NULL},
    {"registry", "registry", "State Motor Vehicle Registry", NULL},
    {"lender", "lender", "First Coast Auto Finance", NULL},
    {"fleet", "fleet", "Metro Ride Fleet", NULL},
    {"energy", "energy", "GridFlow Charging", NULL},
    {"recycler", "recycler", "Circle Auto Recycling", NULL},
    {"auditor", "auditor", "Ethical Sourcing Audit Ltd", NULL},
};

static enum blok_err path_join(char *out, size_t cap, const char *a, const char *b) {
  int n = snprintf(out, cap, "%s/%s", a, b);
  return n > 0 && (size_t)n < cap ? BLOK_OK : BLOK_ETOOLONG;
}

/* Writes a new key file dir/keys/<name>.key and gives its public key in hex. */
static enum blok_err new_key(const char *keys, const char *name, char hex[65],
                             struct blok_why *why) {
  char path[4096], file[128];
  snprintf(file, sizeof file, "%s.key", name);
  BLOK_TRY(path_join(path, sizeof path, keys, file));
  struct blok_sign_keypair kp;
  BLOK_TRY(blok_sign_keypair_generate(&kp));
  enum blok_err rc = blok_keyfile_write(path, &kp);
  blok_hex_encode(hex, 65, kp.pk, 32);
  blok_sign_keypair_clear(&kp);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "%s: %s", path, blok_strerror(rc));
  return BLOK_OK;
}

static enum blok_err write_json(const char *path, json_t *doc, struct blok_why *why) {
  int rc = json_dump_file(doc, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (rc != 0) return blok_refuse(why, BLOK_EIO, "%s: cannot write", path);
  return BLOK_OK;
}

/* The genesis with n validators: keys/validator.key when n is 1, else keys/validator-K.key;
 * their public keys in hex go to vhex. */
static enum blok_err write_genesis(const char *dir, const char *keys, size_t n, char (*vhex)[65],
                                   struct blok_why *why) {
  char path[4096];
  json_t *validators = json_array();
  for (size_t k = 0; k < n; k++) {
    char file[32], name[32];
    snprintf(file, sizeof file, n == 1 ? "validator" : "validator-%zu", k);
    snprintf(name, sizeof name, "validator-%zu", k);
    enum blok_err rc = new_key(keys, file, vhex[k], why);
    if (rc != BLOK_OK) {
      json_decref(validators);
      return rc;
    }
    json_array_append_new(validators, json_pack("{s:s, s:s}", "name", name, "public_key", vhex[k]));
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  json_t *members = json_array();
  for (size_t i = 0; i < BLOK_ARRAY_LEN(demos); i++) {
    char mhex[65];
    enum blok_err rc = new_key(keys, demos[i].key, mhex, why);
    if (rc != BLOK_OK) {
      json_decref(members);
      json_decref(validators);
      return rc;
    }
    json_t *m = json_pack("{s:s, s:[s], s:[s]}", "name", demos[i].name, "roles", demos[i].role,
                          "keys", mhex);
    if (demos[i].wmi) {
      json_t *w = json_array();
      for (const char *const *p = demos[i].wmi; *p; p++)
        json_array_append_new(w, json_string(*p));
      json_object_set_new(m, "wmi", w);
    }
    json_array_append_new(members, m);
  }
  json_t *g = json_pack("{s:s, s:I, s:o, s:{s:o}}", "chain_id", BLOK_DEVNET_CHAIN_ID,
                        "genesis_time_ms", (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                        "validators", validators, "consortium", "members", members);
  enum blok_err rc = path_join(path, sizeof path, dir, "genesis.json");
  if (rc == BLOK_OK) rc = write_json(path, g, why);
  json_decref(g);
  return rc;
}

static enum blok_err write_config(const char *config, const char *http, struct blok_why *why) {
  json_t *c =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "data_dir", ".", "genesis", "genesis.json",
                "validator_key", "keys/validator.key", "web_dir", BLOK_WEB_DIR, "http", http,
                "empty_block_interval_ms", (json_int_t)2000, "log_level", "info");
  enum blok_err rc = write_json(config, c, why);
  json_decref(c);
  return rc;
}

/* A new devnet's folder and its keys folder (mode 0700); a keys folder already there means a
 * devnet that was not finished. */
static enum blok_err make_dirs(const char *dir, const char *keys, struct blok_why *why) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return blok_refuse(why, BLOK_EIO, "%s: %s", dir, strerror(errno));
  if (mkdir(keys, 0700) != 0)
    return blok_refuse(why, BLOK_EIO, "%s: %s (a half-made devnet? remove the folder)", keys,
                       strerror(errno));
  return BLOK_OK;
}

enum blok_err blok_devnet_prepare(const char *dir, const char *http, bool *created,
                                  char *config_path, size_t config_path_cap, struct blok_why *why) {
  char keys[4096];
  BLOK_TRY(path_join(config_path, config_path_cap, dir, "node.json"));
  BLOK_TRY(path_join(keys, sizeof keys, dir, "keys"));
  *created = access(config_path, F_OK) != 0;
  if (!*created) return BLOK_OK;
  BLOK_TRY(make_dirs(dir, keys, why));
  char vhex[1][65];
  BLOK_TRY(write_genesis(dir, keys, 1, vhex, why));
  return write_config(config_path, http, why); /* last: its presence marks a complete folder */
}

/* "HOST:PORT" split; the port as a number. */
static enum blok_err split_hostport(const char *s, char *host, size_t cap, unsigned *port) {
  const char *colon = strrchr(s, ':');
  if (colon == NULL || (size_t)(colon - s) >= cap) return BLOK_EFORMAT;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  char *end;
  unsigned long p = strtoul(colon + 1, &end, 10);
  if (*end || end == colon + 1 || p > 65535) return BLOK_EFORMAT;
  *port = (unsigned)p;
  return BLOK_OK;
}

/* The folder's node: dir/sub/node.json holding c. */
static enum blok_err write_node(const char *dir, const char *sub, json_t *c, struct blok_why *why) {
  char ndir[4096], path[4096];
  enum blok_err rc = path_join(ndir, sizeof ndir, dir, sub);
  if (rc == BLOK_OK && mkdir(ndir, 0700) != 0)
    rc = blok_refuse(why, BLOK_EIO, "%s: %s", ndir, strerror(errno));
  if (rc == BLOK_OK) rc = path_join(path, sizeof path, ndir, "node.json");
  if (rc == BLOK_OK) rc = write_json(path, c, why);
  json_decref(c);
  return rc;
}

/* The validators every node but `self` talks to (self >= n: all of them). */
static json_t *peer_list(const struct blok_devnet_validators *o, char (*vhex)[65], size_t self) {
  json_t *peers = json_array();
  for (size_t j = 0; j < o->validators; j++) {
    char addr[32];
    if (j == self) continue;
    snprintf(addr, sizeof addr, "127.0.0.1:%u", o->p2p_port + (unsigned)j);
    json_array_append_new(peers, json_pack("{s:s, s:s}", "public_key", vhex[j], "address", addr));
  }
  return peers;
}

static enum blok_err write_configs(const char *dir, const struct blok_devnet_validators *o,
                                   const char *host, unsigned http_port, char (*vhex)[65],
                                   char (*ohex)[65], struct blok_why *why) {
  size_t n = o->validators;
  enum blok_err rc = BLOK_OK;
  for (size_t k = 0; rc == BLOK_OK && k < o->observers; k++) {
    char sub[32], key[64], http_k[96];
    snprintf(sub, sizeof sub, "o%zu", k);
    snprintf(key, sizeof key, "../keys/observer-%zu.key", k);
    snprintf(http_k, sizeof http_k, "%s:%u", host, http_port ? http_port + (unsigned)(n + k) : 0);
    rc = write_node(dir, sub,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "data_dir", ".", "genesis",
                              "../genesis.json", "observer_key", key, "web_dir", BLOK_WEB_DIR,
                              "http", http_k, "peers", peer_list(o, vhex, n), "log_level", "info"),
                    why);
  }
  /* Validator 0's config last: its presence marks a complete folder. */
  for (size_t k = n; rc == BLOK_OK && k-- > 0;) {
    char sub[32], key[64], http_k[96], p2p_k[32];
    snprintf(sub, sizeof sub, "v%zu", k);
    snprintf(key, sizeof key, "../keys/validator-%zu.key", k);
    snprintf(http_k, sizeof http_k, "%s:%u", host, http_port ? http_port + (unsigned)k : 0);
    snprintf(p2p_k, sizeof p2p_k, "127.0.0.1:%u", o->p2p_port + (unsigned)k);
    json_t *obs = json_array();
    for (size_t j = 0; j < o->observers; j++)
      json_array_append_new(obs, json_string(ohex[j]));
    rc = write_node(dir, sub,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:s}", "data_dir", ".",
                              "genesis", "../genesis.json", "validator_key", key, "web_dir",
                              BLOK_WEB_DIR, "http", http_k, "p2p", p2p_k, "peers",
                              peer_list(o, vhex, k), "observers", obs, "round_timeout_ms",
                              (json_int_t)1000, "log_level", "info"),
                    why);
  }
  return rc;
}

enum blok_err blok_devnet_prepare_validators(const char *dir,
                                             const struct blok_devnet_validators *o, bool *created,
                                             struct blok_why *why) {
  char keys[4096], marker[4096], host[64];
  unsigned http_port;
  size_t n = o->validators, ports = o->validators + o->observers;
  if (n < 2 || n > BLOK_DEVNET_VALIDATORS_MAX)
    return blok_refuse(why, BLOK_ERANGE, "--validators: 2 to %d", BLOK_DEVNET_VALIDATORS_MAX);
  if (o->observers > BLOK_DEVNET_OBSERVERS_MAX)
    return blok_refuse(why, BLOK_ERANGE, "--observers: 0 to %d", BLOK_DEVNET_OBSERVERS_MAX);
  if (split_hostport(o->http, host, sizeof host, &http_port) != BLOK_OK ||
      http_port + ports > 65536 || o->p2p_port == 0 || o->p2p_port + n > 65536)
    return blok_refuse(why, BLOK_EFORMAT, "--http HOST:PORT and --p2p-port: room for %zu ports",
                       ports);
  BLOK_TRY(path_join(keys, sizeof keys, dir, "keys"));
  BLOK_TRY(path_join(marker, sizeof marker, dir, "v0/node.json"));
  *created = access(marker, F_OK) != 0;
  if (!*created) return BLOK_OK;
  BLOK_TRY(make_dirs(dir, keys, why));
  char(*vhex)[65] = calloc(n, 65);
  char(*ohex)[65] = calloc(o->observers + 1, 65);
  enum blok_err rc = vhex && ohex ? write_genesis(dir, keys, n, vhex, why) : BLOK_ENOMEM;
  for (size_t k = 0; rc == BLOK_OK && k < o->observers; k++) {
    char name[32];
    snprintf(name, sizeof name, "observer-%zu", k);
    rc = new_key(keys, name, ohex[k], why);
  }
  if (rc == BLOK_OK) rc = write_configs(dir, o, host, http_port, vhex, ohex, why);
  free(vhex);
  free(ohex);
  return rc;
}
