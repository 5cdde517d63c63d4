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

static enum blok_err write_genesis(const char *dir, const char *keys, struct blok_why *why) {
  char hex[65], path[4096];
  BLOK_TRY(new_key(keys, "validator", hex, why));
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  json_t *members = json_array();
  for (size_t i = 0; i < BLOK_ARRAY_LEN(demos); i++) {
    char mhex[65];
    enum blok_err rc = new_key(keys, demos[i].key, mhex, why);
    if (rc != BLOK_OK) {
      json_decref(members);
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
  json_t *g = json_pack("{s:s, s:I, s:[{s:s, s:s}], s:{s:o}}", "chain_id", BLOK_DEVNET_CHAIN_ID,
                        "genesis_time_ms", (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                        "validators", "name", "validator-0", "public_key", hex, "consortium",
                        "members", members);
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

enum blok_err blok_devnet_prepare(const char *dir, const char *http, bool *created,
                                  char *config_path, size_t config_path_cap, struct blok_why *why) {
  char keys[4096];
  BLOK_TRY(path_join(config_path, config_path_cap, dir, "node.json"));
  BLOK_TRY(path_join(keys, sizeof keys, dir, "keys"));
  *created = access(config_path, F_OK) != 0;
  if (!*created) return BLOK_OK;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return blok_refuse(why, BLOK_EIO, "%s: %s", dir, strerror(errno));
  if (mkdir(keys, 0700) != 0)
    return blok_refuse(why, BLOK_EIO, "%s: %s (a half-made devnet? remove the folder)", keys,
                       strerror(errno));
  BLOK_TRY(write_genesis(dir, keys, why));
  return write_config(config_path, http, why); /* last: its presence marks a complete folder */
}
