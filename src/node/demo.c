/*
 * The demo loader (blok/demo.h): sends the plan of demo_plan.c to a node through its HTTP API, as
 * any client would, and watches the chain until every transaction is committed and applied.
 *
 * Ordering. The events of one vehicle depend on each other (a registration before anything else,
 * an offer before its acceptance, readings in order, or a rollback would appear where none was
 * meant), so a vehicle has at most one run of transactions in flight: its next events that share a
 * signer, which their nonces keep in order. The next run goes out once the block holding the last
 * one is seen. Vehicles do not depend on each other, so a thousand of them are in flight at once.
 *
 * Pacing. The mempool takes nonces up to 256 past a sender's committed one; the loader tracks each
 * member's nonces itself (from GET /v1/nonce at the start) and keeps at most PACE in flight per
 * member. Owners' and vehicles' keys send a handful each.
 *
 * Parts. The parts transactions (demo_plan.c) go out in phases: a phase's are sent once every
 * earlier phase's are committed (each phase depends only on earlier ones, or on the same signer's
 * earlier transactions, which its nonces order), and the installs into vehicles wait for every
 * vehicle to be loaded. The first phases (audits, batches) go out beside the vehicles.
 *
 * Watching. Committed blocks are read one by one (GET /v1/blocks/{h}); their transaction ids mark
 * the loader's transactions committed. A module's refusal leaves its transaction in the block, so
 * after each block the node's counter of failed transactions (GET /metrics) is read, and the first
 * failure found among the latest committed transactions is reported. A transaction refused before
 * a block (bad signature, not permitted ...) never shows up: when nothing commits for a while the
 * loader asks the node about its transactions still in flight (GET /v1/tx/{id}).
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo_internal.h"
#include "blok/codec.h"
#include "blok/demo.h"
#include "blok/hex.h"
#include "blok/jsonfile.h"
#include "blok/keyfile.h"
#include "blok/ledger.h"
#include "blok/modules.h"
#include "blok/notify.h"
#include "blok/parts.h"
#include "blok/vehicle.h"
#include "blok/banned.h"

#define PACE             224   /* a member's transactions in flight (the node's window is 256) */
#define RUN_MAX          32    /* a vehicle's same-signer events sent together */
#define BATCH_MAX        1000  /* transactions per POST /v1/txs */
#define INFLIGHT_MAX     16384 /* transactions submitted and not yet seen in a block */
#define MAP_CAP          32768 /* a power of two, twice INFLIGHT_MAX */
#define RECENT_MAX       16384 /* committed transactions remembered to explain a failure */
#define EXPIRY_BLOCKS    1000  /* transaction and offer expiry: the head seen + this */
#define MEMBERS_MAX      32
#define KEY_FILES_MAX    64
#define STALL_ASK_MS     3000  /* nothing committed this long: ask about the ones in flight */
#define STALL_ASK_MAX    256   /* transactions asked about per stall check */
#define STALL_GIVE_UP_MS 30000 /* nothing committed this long: give up */
#define START_WAIT_MS    60000 /* for the API to answer at all */
#define RECONNECT_MS     5000  /* a refused connection is tried again for this long */
#define RESPONSE_MAX     ((size_t)64 << 20)
#define BODY_MAX         ((size_t)16 << 20)

_Static_assert(MAP_CAP >= 2 * INFLIGHT_MAX && (MAP_CAP & (MAP_CAP - 1)) == 0, "map size");

static const char *const role_names[BLOK_DEMO_MEMBER_ROLES] = {
    "manufacturer", "service",  "insurer",  "registry", "lender",
    "dealer",       "recycler", "supplier", "auditor"};

struct member {
  char name[BLOK_NAME_MAX + 1];
  bool roles[BLOK_DEMO_MEMBER_ROLES];
  char wmi[64][4];
  size_t wmi_count;
  uint8_t pk[32]; /* its first key in the genesis */
  bool has_key;   /* the key file is in keys_dir */
  struct blok_sign_keypair kp;
  uint64_t next_nonce, committed_next;
};

/* The loader's view of one vehicle of the plan. */
struct car {
  uint32_t next;     /* its next event to send */
  uint32_t inflight; /* sent, not yet seen in a block */
  uint32_t owner_no; /* 0 for the first owner, k after the k-th sale */
  uint64_t owner_nonce, buyer_nonce, vehicle_nonce; /* the last nonce each key used */
  uint16_t maker;                                   /* the member owning its WMI */
};

#define NO_MEMBER 0xffffu

struct pending {
  uint8_t id[32];
  uint32_t car, event;
  uint64_t nonce;
  uint16_t member; /* or NO_MEMBER */
  bool used;
};

struct loader {
  const struct blok_demo_opts *o;
  const atomic_bool *stop;
  struct blok_demo_plan plan;
  struct blok_demo_parts parts;
  size_t parts_next, parts_inflight, parts_committed; /* parts.txs sent; in flight; committed */
  struct car *cars;
  struct member members[MEMBERS_MAX];
  size_t member_count;
  /* The member signing for a role; for manufacturer, the one issuing recalls (a vehicle's own
   * events are signed by the member owning its WMI). */
  uint16_t by_role[BLOK_DEMO_MEMBER_ROLES];
  struct blok_registry reg;
  char chain_id[BLOK_SIGN_CHAIN_ID_MAX + 1];
  uint64_t head, next_block;
  CURL *curl;
  struct curl_slist *hdr;
  struct blok_buf resp, body, payload, raw;
  char *hex;
  size_t batch_count;
  uint32_t batch_car[BATCH_MAX], batch_event[BATCH_MAX];
  struct pending *map;
  size_t inflight;
  struct pending *recent; /* a ring of the latest committed */
  size_t recent_next, recent_count;
  size_t done, first_open, committed, blocks;
  uint64_t start_ms, progress_ms, asked_ms, printed_ms;
  unsigned printed_tenths;
  bool progressed; /* something committed since the last scheduling pass */
};

/* --- small helpers ------------------------------------------------------------------------ */

static bool stopping(const struct loader *L) {
  return L->stop && atomic_load(L->stop);
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static double seconds(const struct loader *L) {
  return (double)(blok_monotonic_ms() - L->start_ms) / 1000.0;
}

/* Prints "demo: stopped: ..." to stderr and returns err; says nothing when the loader was told to
 * stop (the node is going down, and a failed request is no news). */
__attribute__((format(printf, 3, 4))) static enum blok_err
stopped(struct loader *L, enum blok_err err, const char *fmt, ...) {
  if (stopping(L)) return BLOK_EUNAVAIL;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (L->o->tty) fputc('\n', L->o->out);
  fflush(L->o->out);
  fprintf(stderr, "demo: stopped: %s (the node keeps running)\n", msg);
  return err;
}

static const struct blok_demo_vehicle *vehicle_of(const struct loader *L, uint32_t car) {
  return &L->plan.vehicles[car];
}

static const struct blok_demo_event *event_of(const struct loader *L, uint32_t car,
                                              uint32_t event) {
  return &L->plan.events[L->plan.vehicles[car].first + event];
}

static const char *const kind_types[] = {
    [BLOK_DEMO_REGISTER] = "register",
    [BLOK_DEMO_ODOMETER] = "odometer",
    [BLOK_DEMO_SERVICE] = "service",
    [BLOK_DEMO_REPAIR] = "repair",
    [BLOK_DEMO_INSPECTION] = "inspection",
    [BLOK_DEMO_ACCIDENT] = "accident",
    [BLOK_DEMO_BRAND] = "brand",
    [BLOK_DEMO_LIEN_PLACE] = "lien",
    [BLOK_DEMO_LIEN_RELEASE] = "lien",
    [BLOK_DEMO_OFFER] = "transfer_offer",
    [BLOK_DEMO_ACCEPT] = "transfer_accept",
    [BLOK_DEMO_CLUSTER] = "cluster_replace",
    [BLOK_DEMO_END_OF_LIFE] = "end_of_life",
};

static const char *const part_types[] = {
    [BLOK_DEMO_P_ATTEST] = "attest",        [BLOK_DEMO_P_BATCH] = "batch",
    [BLOK_DEMO_P_SERIALS] = "serials",      [BLOK_DEMO_P_INTO_PART] = "install",
    [BLOK_DEMO_P_INTO_VEHICLE] = "install", [BLOK_DEMO_P_RECALL] = "recall",
    [BLOK_DEMO_P_REMEDY] = "remedy",        [BLOK_DEMO_P_OBSERVE] = "observe",
};

/* The member signing parts transaction t. */
static uint16_t parts_member(const struct loader *L, const struct blok_demo_ptx *t) {
  if (t->signer == BLOK_DEMO_BY_MANUFACTURER && t->car != BLOK_DEMO_NO_CAR)
    return L->cars[t->car].maker;
  return L->by_role[t->signer];
}

/* "parts/install (parts transaction 12 of 345, phase 2, signed by ...)" for messages. */
static void describe_part(char *out, size_t cap, const struct loader *L, uint32_t i) {
  const struct blok_demo_ptx *t = &L->parts.txs[i];
  snprintf(out, cap, "parts/%s (parts transaction %" PRIu32 " of %zu, phase %u, signed by %s)",
           part_types[t->kind], i + 1, L->parts.count, (unsigned)t->phase,
           L->members[parts_member(L, t)].name);
}

/* "vehicle/odometer on VIN (event 7 of 31, signed by the vehicle's key)" for messages. */
static void describe(char *out, size_t cap, const struct loader *L, uint32_t car, uint32_t event) {
  if (car == BLOK_DEMO_NO_CAR) {
    describe_part(out, cap, L, event);
    return;
  }
  const struct blok_demo_vehicle *v = vehicle_of(L, car);
  const struct blok_demo_event *e = event_of(L, car, event);
  const char *by = e->signer == BLOK_DEMO_BY_OWNER     ? "the owner's key"
                   : e->signer == BLOK_DEMO_BY_BUYER   ? "the buyer's key"
                   : e->signer == BLOK_DEMO_BY_VEHICLE ? "the vehicle's key"
                   : e->signer == BLOK_DEMO_BY_MANUFACTURER
                       ? L->members[L->cars[car].maker].name
                       : L->members[L->by_role[e->signer]].name;
  snprintf(out, cap, "vehicle/%s on %s (event %" PRIu32 " of %" PRIu32 ", signed by %s)",
           kind_types[e->kind], v->vin, event + 1, v->count, by);
}

/* --- HTTP --------------------------------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t n, void *ctx) {
  return blok_buf_append(ctx, p, size * n) == BLOK_OK ? size * n : 0;
}

/* GET (body NULL) or POST path; the answer in L->resp, NUL-terminated. BLOK_EIO when the node
 * cannot be reached. */
static enum blok_err http(struct loader *L, const char *path, const char *body, size_t body_len,
                          long *status) {
  char url[512];
  int n = snprintf(url, sizeof url, "%s%s", L->o->node_url, path);
  if (n < 0 || (size_t)n >= sizeof url) return BLOK_ETOOLONG;
  blok_buf_clear(&L->resp);
  curl_easy_setopt(L->curl, CURLOPT_URL, url);
  if (body) {
    curl_easy_setopt(L->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(L->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  } else {
    curl_easy_setopt(L->curl, CURLOPT_HTTPGET, 1L);
  }
  /* A refused connection sent nothing, so it is safe to try again: the node may be starting, or
   * stopping (then the loader is told to stop, and does so quietly). */
  uint64_t t0 = blok_monotonic_ms();
  CURLcode rc;
  while ((rc = curl_easy_perform(L->curl)) == CURLE_COULDNT_CONNECT) {
    if (stopping(L)) return BLOK_EUNAVAIL;
    if (blok_monotonic_ms() - t0 > RECONNECT_MS) return BLOK_EIO;
    sleep_ms(50);
    blok_buf_clear(&L->resp);
  }
  if (rc != CURLE_OK) return stopping(L) ? BLOK_EUNAVAIL : BLOK_EIO;
  curl_easy_getinfo(L->curl, CURLINFO_RESPONSE_CODE, status);
  char nul = 0;
  return blok_buf_append(&L->resp, &nul, 1);
}

/* GET path as JSON: *out is the parsed answer (the caller frees it) and *status its code. */
static enum blok_err get_json(struct loader *L, const char *path, long *status, json_t **out) {
  BLOK_TRY(http(L, path, NULL, 0, status));
  *out = json_loadb((const char *)L->resp.data, L->resp.len - 1, 0, NULL);
  return *out ? BLOK_OK : BLOK_EFORMAT;
}

static enum blok_err http_open(struct loader *L) {
  L->curl = curl_easy_init();
  L->hdr = curl_slist_append(NULL, "Content-Type: application/json");
  if (L->curl == NULL || L->hdr == NULL) return BLOK_ENOMEM;
  curl_easy_setopt(L->curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(L->curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(L->curl, CURLOPT_WRITEDATA, &L->resp);
  curl_easy_setopt(L->curl, CURLOPT_HTTPHEADER, L->hdr);
  curl_easy_setopt(L->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(L->curl, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(L->curl, CURLOPT_NOSIGNAL, 1L);
  return BLOK_OK;
}

/* --- members and their keys --------------------------------------------------------------- */

static enum blok_err member_from_json(struct member *m, const json_t *j) {
  const char *name = json_string_value(json_object_get(j, "name"));
  const char *key = json_string_value(json_array_get(json_object_get(j, "keys"), 0));
  if (!name || strlen(name) > BLOK_NAME_MAX || !key ||
      blok_hex_decode_exact(m->pk, 32, key, strlen(key)) != BLOK_OK)
    return BLOK_EFORMAT;
  snprintf(m->name, sizeof m->name, "%s", name);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(j, "roles"), i, v) {
    for (size_t r = 0; r < BLOK_DEMO_MEMBER_ROLES; r++)
      if (json_string_value(v) && strcmp(json_string_value(v), role_names[r]) == 0)
        m->roles[r] = true;
  }
  json_array_foreach(json_object_get(j, "wmi"), i, v) {
    const char *w = json_string_value(v);
    if (w && strlen(w) == 3 && m->wmi_count < BLOK_ARRAY_LEN(m->wmi))
      memcpy(m->wmi[m->wmi_count++], w, 4);
  }
  return BLOK_OK;
}

static enum blok_err read_genesis(struct loader *L) {
  struct blok_why why = {{0}};
  json_t *g;
  if (blok_json_load_file(L->o->genesis_path, BLOK_GENESIS_BYTES_MAX, 0, &g, &why) != BLOK_OK)
    return stopped(L, BLOK_EIO, "%s", why.msg);
  size_t i;
  json_t *m;
  enum blok_err rc = BLOK_OK;
  json_array_foreach(json_object_get(json_object_get(g, "consortium"), "members"), i, m) {
    if (L->member_count == MEMBERS_MAX) break;
    if (member_from_json(&L->members[L->member_count], m) == BLOK_OK) L->member_count++;
  }
  json_decref(g);
  if (L->member_count == 0) rc = stopped(L, BLOK_EFORMAT, "%s: no members", L->o->genesis_path);
  return rc;
}

/* Reads every key file in keys_dir and gives each member whose key it is its key pair. */
static enum blok_err read_keys(struct loader *L) {
  DIR *d = opendir(L->o->keys_dir);
  if (d == NULL) return stopped(L, BLOK_EIO, "%s: %s", L->o->keys_dir, strerror(errno));
  struct dirent *e;
  size_t files = 0;
  while ((e = readdir(d)) != NULL && files < KEY_FILES_MAX) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".key") != 0) continue;
    char path[PATH_MAX];
    struct blok_sign_keypair kp;
    if (snprintf(path, sizeof path, "%s/%s", L->o->keys_dir, e->d_name) >= (int)sizeof path ||
        blok_keyfile_read(&kp, path) != BLOK_OK)
      continue;
    files++;
    for (size_t i = 0; i < L->member_count; i++) {
      if (!L->members[i].has_key && memcmp(L->members[i].pk, kp.pk, 32) == 0) {
        L->members[i].kp = kp;
        L->members[i].has_key = true;
      }
    }
    blok_sign_keypair_clear(&kp);
  }
  closedir(d);
  return BLOK_OK;
}

static uint16_t member_for_wmi(const struct loader *L, const char *wmi) {
  for (size_t i = 0; i < L->member_count; i++)
    for (size_t k = 0; k < L->members[i].wmi_count; k++)
      if (L->members[i].has_key && strcmp(L->members[i].wmi[k], wmi) == 0) return (uint16_t)i;
  return NO_MEMBER;
}

/* Which member signs for each role and each WMI of the plan; refused when a key is missing. */
static enum blok_err assign_members(struct loader *L) {
  for (size_t r = 0; r < BLOK_DEMO_MEMBER_ROLES; r++) {
    L->by_role[r] = NO_MEMBER;
    for (size_t i = 0; i < L->member_count && L->by_role[r] == NO_MEMBER; i++)
      if (L->members[i].roles[r] && L->members[i].has_key) L->by_role[r] = (uint16_t)i;
    if (L->by_role[r] == NO_MEMBER)
      return stopped(L, BLOK_ENOTFOUND, "no key in %s belongs to a member with the role %s",
                     L->o->keys_dir, role_names[r]);
  }
  for (const char *const *w = blok__demo_wmis(); *w; w++)
    if (member_for_wmi(L, *w) == NO_MEMBER)
      return stopped(L, BLOK_ENOTFOUND, "no key in %s belongs to the manufacturer owning WMI %s",
                     L->o->keys_dir, *w);
  for (size_t i = 0; i < L->plan.count; i++) {
    char wmi[4];
    blok__demo_wmi(&L->plan.vehicles[i], wmi);
    L->cars[i].maker = member_for_wmi(L, wmi);
  }
  return BLOK_OK;
}

/* Every kind the plan uses must be in this build's registry. */
static enum blok_err check_kinds(struct loader *L) {
  for (size_t k = 0; k < BLOK_ARRAY_LEN(kind_types); k++)
    if (blok_registry_kind(&L->reg, BLOK_VEHICLE_MODULE, kind_types[k], NULL) == NULL)
      return stopped(L, BLOK_EUNKNOWNKIND, "this build has no transaction kind %s/%s",
                     BLOK_VEHICLE_MODULE, kind_types[k]);
  for (size_t k = 0; k < BLOK_ARRAY_LEN(part_types); k++)
    if (blok_registry_kind(&L->reg, BLOK_PARTS_MODULE, part_types[k], NULL) == NULL)
      return stopped(L, BLOK_EUNKNOWNKIND, "this build has no transaction kind %s/%s",
                     BLOK_PARTS_MODULE, part_types[k]);
  return BLOK_OK;
}

/* --- starting ----------------------------------------------------------------------------- */

static enum blok_err wait_for_node(struct loader *L) {
  uint64_t t0 = blok_monotonic_ms();
  for (;;) {
    if (stopping(L)) return BLOK_EUNAVAIL;
    long status = 0;
    json_t *j = NULL;
    if (get_json(L, "/v1/status", &status, &j) == BLOK_OK && status == 200) {
      const char *cid = json_string_value(json_object_get(j, "chain_id"));
      json_t *h = json_object_get(j, "height");
      bool ok = cid && strlen(cid) < sizeof L->chain_id && json_is_integer(h);
      if (ok) {
        snprintf(L->chain_id, sizeof L->chain_id, "%s", cid);
        L->head = (uint64_t)json_integer_value(h);
        L->next_block = L->head + 1;
      }
      json_decref(j);
      return ok ? BLOK_OK : stopped(L, BLOK_EFORMAT, "GET /v1/status: unexpected answer");
    }
    json_decref(j);
    if (blok_monotonic_ms() - t0 > START_WAIT_MS)
      return stopped(L, BLOK_ETIMEOUT, "%s did not answer GET /v1/status within %d s",
                     L->o->node_url, START_WAIT_MS / 1000);
    sleep_ms(50);
  }
}

static enum blok_err fetch_nonces(struct loader *L) {
  for (size_t i = 0; i < L->member_count; i++) {
    struct member *m = &L->members[i];
    if (!m->has_key) continue;
    char path[128], pk[65];
    long status = 0;
    json_t *j = NULL;
    blok_hex_encode(pk, sizeof pk, m->kp.pk, 32);
    snprintf(path, sizeof path, "/v1/nonce/%s", pk);
    enum blok_err rc = get_json(L, path, &status, &j);
    json_t *n = json_object_get(j, "next_nonce");
    if (rc == BLOK_OK && status == 200 && json_is_integer(n)) {
      m->next_nonce = m->committed_next = (uint64_t)json_integer_value(n);
    } else {
      rc = stopped(L, BLOK_EIO, "GET %s: status %ld", path, status);
    }
    json_decref(j);
    BLOK_TRY(rc);
  }
  return BLOK_OK;
}

/* --- transactions in flight --------------------------------------------------------------- */

static size_t home(const uint8_t id[32]) {
  uint64_t h;
  memcpy(&h, id, sizeof h);
  return (size_t)h & (MAP_CAP - 1);
}

static void map_put(struct loader *L, const struct pending *p) {
  size_t i = home(p->id);
  while (L->map[i].used)
    i = (i + 1) & (MAP_CAP - 1);
  L->map[i] = *p;
  L->map[i].used = true;
  L->inflight++;
}

static size_t map_find(const struct loader *L, const uint8_t id[32]) {
  for (size_t i = home(id); L->map[i].used; i = (i + 1) & (MAP_CAP - 1))
    if (memcmp(L->map[i].id, id, 32) == 0) return i;
  return SIZE_MAX;
}

/* Linear probing's deletion by backward shift: no tombstones, so lookups stay short. */
static void map_del(struct loader *L, size_t i) {
  L->map[i].used = false;
  L->inflight--;
  for (size_t j = (i + 1) & (MAP_CAP - 1); L->map[j].used; j = (j + 1) & (MAP_CAP - 1)) {
    size_t k = home(L->map[j].id);
    bool stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
    if (stays) continue;
    L->map[i] = L->map[j];
    L->map[j].used = false;
    i = j;
  }
}

/* --- building a transaction --------------------------------------------------------------- */

static void set_hex(json_t *j, const char *key, const uint8_t *data, size_t n) {
  char hex[129];
  blok_hex_encode(hex, sizeof hex, data, n);
  json_object_set_new(j, key, json_string(hex));
}

static enum blok_err offer_json(struct loader *L, json_t *j, uint32_t ci,
                                const struct blok_demo_event *e) {
  struct car *c = &L->cars[ci];
  struct blok_sign_keypair owner, buyer;
  BLOK_TRY(blok__demo_owner_key(&owner, L->plan.seed, ci, c->owner_no));
  BLOK_TRY(blok__demo_owner_key(&buyer, L->plan.seed, ci, c->owner_no + 1));
  uint64_t expiry = L->head + EXPIRY_BLOCKS;
  set_hex(j, "new_owner", buyer.pk, 32);
  json_object_set_new(j, "expiry_height", json_integer((json_int_t)expiry));
  enum blok_err rc = BLOK_OK;
  if (e->flags & BLOK_DEMO_F_DEALER) {
    uint8_t sig[64];
    rc = blok_vehicle_consent_sign(sig, &owner, L->chain_id, vehicle_of(L, ci)->vin, buyer.pk,
                                   expiry);
    if (rc == BLOK_OK) set_hex(j, "consent", sig, 64);
  }
  blok_sign_keypair_clear(&owner);
  blok_sign_keypair_clear(&buyer);
  return rc;
}

static const char *const severities[] = {"", "minor", "moderate", "severe", "total_loss"};
static const char *const brands[] = {"", "salvage", "flood", "rebuilt", "lemon", "junk"};

/* The event's payload in its documented JSON form (docs/PROTOCOL.md, "Vehicles"). */
static enum blok_err payload_json(struct loader *L, uint32_t ci, uint32_t ei, json_t **out) {
  const struct blok_demo_vehicle *v = vehicle_of(L, ci);
  const struct blok_demo_event *e = event_of(L, ci, ei);
  json_t *j = json_pack("{s:s}", "vin", v->vin);
  enum blok_err rc = BLOK_OK;
  char text[256];
  switch ((enum blok_demo_kind)e->kind) {
    case BLOK_DEMO_REGISTER: {
      struct blok_sign_keypair kp;
      rc = blok__demo_owner_key(&kp, L->plan.seed, ci, 0);
      json_object_set_new(j, "model_year", json_integer(v->model_year));
      json_object_set_new(j, "make", json_string(blok__demo_make(v)));
      json_object_set_new(j, "model", json_string(blok__demo_model(v)));
      set_hex(j, "owner", kp.pk, 32);
      if (rc == BLOK_OK && v->has_key) rc = blok__demo_vehicle_key(&kp, L->plan.seed, ci);
      if (rc == BLOK_OK && v->has_key) set_hex(j, "vehicle_key", kp.pk, 32);
      blok_sign_keypair_clear(&kp);
      break;
    }
    case BLOK_DEMO_ODOMETER:
      json_object_set_new(j, "km", json_integer(e->km));
      break;
    case BLOK_DEMO_SERVICE:
    case BLOK_DEMO_REPAIR:
      blok__demo_summary(text, sizeof text, v, e);
      json_object_set_new(j, "summary", json_string(text));
      break;
    case BLOK_DEMO_INSPECTION:
      json_object_set_new(j, "passed", json_boolean(e->flags & BLOK_DEMO_F_PASSED));
      json_object_set_new(j, "km", json_integer(e->km));
      break;
    case BLOK_DEMO_ACCIDENT:
      json_object_set_new(j, "severity", json_string(severities[e->arg]));
      json_object_set_new(j, "airbag_deployed", json_boolean(e->flags & BLOK_DEMO_F_AIRBAG));
      json_object_set_new(j, "structural_damage", json_boolean(e->flags & BLOK_DEMO_F_STRUCTURAL));
      break;
    case BLOK_DEMO_BRAND:
      json_object_set_new(j, "brand", json_string(brands[e->arg]));
      break;
    case BLOK_DEMO_LIEN_PLACE:
    case BLOK_DEMO_LIEN_RELEASE:
      json_object_set_new(j, "action",
                          json_string(e->kind == BLOK_DEMO_LIEN_PLACE ? "place" : "release"));
      break;
    case BLOK_DEMO_OFFER:
      rc = offer_json(L, j, ci, e);
      break;
    case BLOK_DEMO_ACCEPT:
      break;
    case BLOK_DEMO_CLUSTER:
      json_object_set_new(j, "old_km", json_integer(e->km));
      json_object_set_new(j, "new_km", json_integer(e->km2));
      break;
    case BLOK_DEMO_END_OF_LIFE: {
      uint8_t cert[32];
      blok__demo_document(cert, L->plan.seed, v, ei);
      set_hex(j, "certificate", cert, 32);
      break;
    }
  }
  if (e->flags & BLOK_DEMO_F_DOCUMENT) {
    uint8_t d[32];
    blok__demo_document(d, L->plan.seed, v, ei);
    set_hex(j, "document", d, 32);
  }
  *out = j;
  return rc;
}

/* The key that signs event e of car ci, and the nonce it takes. Member nonces are counted in the
 * member, the vehicle's own keys' in the car. */
static enum blok_err signer_of(struct loader *L, uint32_t ci, const struct blok_demo_event *e,
                               struct blok_sign_keypair *kp, uint64_t *nonce, uint16_t *member) {
  struct car *c = &L->cars[ci];
  *member = NO_MEMBER;
  switch ((enum blok_demo_signer)e->signer) {
    case BLOK_DEMO_BY_OWNER:
      *nonce = ++c->owner_nonce;
      return blok__demo_owner_key(kp, L->plan.seed, ci, c->owner_no);
    case BLOK_DEMO_BY_BUYER:
      *nonce = ++c->buyer_nonce;
      return blok__demo_owner_key(kp, L->plan.seed, ci, c->owner_no + 1);
    case BLOK_DEMO_BY_VEHICLE:
      *nonce = ++c->vehicle_nonce;
      return blok__demo_vehicle_key(kp, L->plan.seed, ci);
    default:
      *member = e->signer == BLOK_DEMO_BY_MANUFACTURER ? c->maker : L->by_role[e->signer];
      *kp = L->members[*member].kp;
      *nonce = L->members[*member].next_nonce++;
      return BLOK_OK;
  }
}

/* The payload of pj (taken: freed here) in L->payload, through the kind's from_json as any client
 * of the API would; a refusal stops the demo, naming what p is. */
static enum blok_err encode_payload(struct loader *L, const char *module, const char *type,
                                    json_t *pj, const struct pending *p) {
  struct blok_why why = {{0}};
  const struct blok_tx_kind *kind = blok_registry_kind(&L->reg, module, type, NULL);
  blok_buf_clear(&L->payload);
  enum blok_err rc = pj ? blok_kind_from_json(kind, pj, &L->payload, &why) : BLOK_ENOMEM;
  json_decref(pj);
  if (rc != BLOK_OK) {
    char what[256];
    describe(what, sizeof what, L, p->car, p->event);
    return stopped(L, rc, "%s: its payload: %s", what, why.msg[0] ? why.msg : blok_strerror(rc));
  }
  return BLOK_OK;
}

/* Signs the payload in L->payload as module/type with kp (cleared here) and p's nonce, and
 * appends it to the batch being built. */
static enum blok_err sign_append(struct loader *L, const char *module, const char *type,
                                 struct blok_sign_keypair *kp, struct pending *p) {
  struct blok_tx tx = {.version = BLOK_TX_VERSION,
                       .expiry_height = L->head + EXPIRY_BLOCKS,
                       .nonce = p->nonce,
                       .payload = L->payload.data,
                       .payload_len = L->payload.len};
  snprintf(tx.chain_id, sizeof tx.chain_id, "%s", L->chain_id);
  snprintf(tx.module, sizeof tx.module, "%s", module);
  snprintf(tx.type, sizeof tx.type, "%s", type);
  blok_buf_clear(&L->raw);
  enum blok_err rc = blok_tx_sign(&tx, kp, &L->raw);
  blok_sign_keypair_clear(kp);
  BLOK_TRY(rc);
  memcpy(p->id, tx.id, 32);
  map_put(L, p);
  blok_hex_encode(L->hex, BLOK_HEX_LEN(BLOK_TX_ENCODED_MAX), L->raw.data, L->raw.len);
  BLOK_TRY(blok_buf_append(&L->body, L->batch_count ? ",{\"hex\":\"" : "[{\"hex\":\"", 9));
  BLOK_TRY(blok_buf_append(&L->body, L->hex, 2 * L->raw.len));
  BLOK_TRY(blok_buf_append(&L->body, "\"}", 2));
  L->batch_car[L->batch_count] = p->car;
  L->batch_event[L->batch_count++] = p->event;
  return BLOK_OK;
}

/* Signs event ei of car ci and appends it to the batch being built. */
static enum blok_err add_tx(struct loader *L, uint32_t ci, uint32_t ei) {
  const struct blok_demo_event *e = event_of(L, ci, ei);
  json_t *pj = NULL;
  struct pending p = {.car = ci, .event = ei};
  enum blok_err rc = payload_json(L, ci, ei, &pj);
  if (rc != BLOK_OK) {
    json_decref(pj);
    return stopped(L, rc, "vehicle %s: %s", vehicle_of(L, ci)->vin, blok_strerror(rc));
  }
  BLOK_TRY(encode_payload(L, BLOK_VEHICLE_MODULE, kind_types[e->kind], pj, &p));
  struct blok_sign_keypair kp;
  BLOK_TRY(signer_of(L, ci, e, &kp, &p.nonce, &p.member));
  BLOK_TRY(sign_append(L, BLOK_VEHICLE_MODULE, kind_types[e->kind], &kp, &p));
  if (e->kind == BLOK_DEMO_ACCEPT) { /* the buyer now owns it, with the nonce it used */
    L->cars[ci].owner_no++;
    L->cars[ci].owner_nonce = L->cars[ci].buyer_nonce;
    L->cars[ci].buyer_nonce = 0;
  }
  return BLOK_OK;
}

/* --- sending ------------------------------------------------------------------------------ */

/* Checks the answer of POST /v1/txs: every item must be pending. */
static enum blok_err check_batch(struct loader *L, long status) {
  json_t *j = json_loadb((const char *)L->resp.data, L->resp.len - 1, 0, NULL);
  json_t *results = json_object_get(j, "results");
  enum blok_err rc = BLOK_OK;
  if (status != 200 || json_array_size(results) != L->batch_count) {
    rc = stopped(L, BLOK_EFORMAT, "POST /v1/txs: status %ld: %.300s", status,
                 (const char *)L->resp.data);
  }
  for (size_t i = 0; rc == BLOK_OK && i < L->batch_count; i++) {
    json_t *err = json_object_get(json_array_get(results, i), "error");
    if (err == NULL) continue;
    char what[256];
    describe(what, sizeof what, L, L->batch_car[i], L->batch_event[i]);
    rc = stopped(L, BLOK_EREFUSED, "%s was refused by the API: %s: %s", what,
                 json_string_value(json_object_get(err, "code")),
                 json_string_value(json_object_get(err, "message")));
  }
  json_decref(j);
  return rc;
}

static enum blok_err flush(struct loader *L) {
  if (L->batch_count == 0) return BLOK_OK;
  BLOK_TRY(blok_buf_append(&L->body, "]", 1));
  long status = 0;
  enum blok_err rc = http(L, "/v1/txs", (const char *)L->body.data, L->body.len, &status);
  if (rc != BLOK_OK) return stopped(L, rc, "POST %s/v1/txs: %s", L->o->node_url, blok_strerror(rc));
  rc = check_batch(L, status);
  L->batch_count = 0;
  blok_buf_clear(&L->body);
  return rc;
}

/* Whether the signer of e can take one more nonce now. */
static bool has_room(const struct loader *L, uint32_t ci, const struct blok_demo_event *e) {
  if (e->signer >= BLOK_DEMO_BY_OWNER) return true;
  uint16_t m = e->signer == BLOK_DEMO_BY_MANUFACTURER ? L->cars[ci].maker : L->by_role[e->signer];
  return L->members[m].next_nonce - L->members[m].committed_next < PACE;
}

/* Sends car ci's next run: its next events with the same signer, as many as the pacing allows. */
static enum blok_err send_run(struct loader *L, uint32_t ci) {
  struct car *c = &L->cars[ci];
  const struct blok_demo_vehicle *v = vehicle_of(L, ci);
  uint8_t signer = event_of(L, ci, c->next)->signer;
  for (size_t n = 0; n < RUN_MAX && c->next < v->count; n++) {
    const struct blok_demo_event *e = event_of(L, ci, c->next);
    if (e->signer != signer || !has_room(L, ci, e)) break;
    BLOK_TRY(add_tx(L, ci, c->next));
    c->next++;
    c->inflight++;
    if (L->batch_count == BATCH_MAX) BLOK_TRY(flush(L));
  }
  return BLOK_OK;
}

static enum blok_err schedule(struct loader *L) {
  while (L->first_open < L->plan.count &&
         L->cars[L->first_open].next == vehicle_of(L, (uint32_t)L->first_open)->count &&
         L->cars[L->first_open].inflight == 0)
    L->first_open++;
  for (size_t i = L->first_open; i < L->plan.count; i++) {
    const struct car *c = &L->cars[i];
    if (c->inflight > 0 || c->next == vehicle_of(L, (uint32_t)i)->count) continue;
    if (L->inflight + RUN_MAX > INFLIGHT_MAX) break;
    BLOK_TRY(send_run(L, (uint32_t)i));
  }
  return flush(L);
}

/* --- parts ------------------------------------------------------------------------------- */

static json_t *ids_json(const char *const *ids) {
  json_t *a = json_array();
  for (; *ids; ids++)
    json_array_append_new(a, json_string(*ids));
  return a;
}

static json_t *batch_json(const struct blok_demo_parts *pp, enum blok_demo_batch_id b) {
  const struct blok_demo_batch *d = blok__demo_batch(b);
  /* The quantity made: the serials registered, rounded up to a production lot of 1,000. */
  uint32_t quantity = (pp->serials[b] + 999u) / 1000u * 1000u;
  return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "batch", d->id, "part_number",
                   d->part_number, "part_type", d->part_type, "site", d->site, "production_date",
                   (json_int_t)d->production_date, "quantity", (json_int_t)quantity, "inputs",
                   ids_json(d->inputs));
}

static json_t *recall_json(const struct loader *L, size_t r) {
  const struct blok_demo_recall *d = blok__demo_recall(r);
  const struct blok_demo_batch *chips = blok__demo_batch(BLOK_DEMO_B_CHIPS);
  json_t *scope = r == 0 ? json_pack("{s:s}", "batch", blok__demo_batch(BLOK_DEMO_B_PADS_A)->id)
                         : json_pack("{s:{s:s, s:i, s:i, s:I}}", "serials", "prefix", chips->prefix,
                                     "width", (int)chips->width, "first", 1, "count",
                                     (json_int_t)L->parts.chips_recalled);
  return json_pack("{s:s, s:s, s:s, s:[o]}", "recall", d->id, "reason", d->reason, "remedy",
                   d->remedy, "scopes", scope);
}

/* Parts transaction i in its documented JSON form (docs/PROTOCOL.md, "Parts"). */
static json_t *part_json(const struct loader *L, uint32_t i) {
  const struct blok_demo_ptx *t = &L->parts.txs[i];
  char serial[BLOK_PARTS_SERIAL_MAX + 1], target[BLOK_PARTS_SERIAL_MAX + 1], hex[65];
  blok__demo_serial(serial, sizeof serial, t->arg, t->a);
  const char *vin = t->car != BLOK_DEMO_NO_CAR ? vehicle_of(L, t->car)->vin : "";
  switch ((enum blok_demo_pkind)t->kind) {
    case BLOK_DEMO_P_ATTEST: {
      const struct blok_demo_lot *l = blok__demo_lot(t->arg);
      uint8_t cert[32];
      blok__demo_certificate(cert, L->plan.seed, t->arg);
      blok_hex_encode(hex, sizeof hex, cert, 32);
      return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "lot", l->id, "material", l->material,
                       "site", l->site, "country", l->country, "scheme", l->scheme, "certificate",
                       hex);
    }
    case BLOK_DEMO_P_BATCH:
      return batch_json(&L->parts, t->arg);
    case BLOK_DEMO_P_SERIALS: {
      const struct blok_demo_batch *d = blok__demo_batch(t->arg);
      return json_pack("{s:s, s:[{s:s, s:i, s:i, s:I}]}", "batch", d->id, "ranges", "prefix",
                       d->prefix, "width", (int)d->width, "first", 1, "count", (json_int_t)t->a);
    }
    case BLOK_DEMO_P_INTO_PART:
      blok__demo_serial(target, sizeof target,
                        t->arg == BLOK_DEMO_B_CHIPS ? BLOK_DEMO_B_ECUS : BLOK_DEMO_B_PACKS, t->b);
      return json_pack("{s:s, s:s, s:s}", "serial", serial, "into", "part", "target", target);
    case BLOK_DEMO_P_INTO_VEHICLE:
      return json_pack("{s:s, s:s, s:s}", "serial", serial, "into", "vehicle", "target", vin);
    case BLOK_DEMO_P_RECALL:
      return recall_json(L, t->arg);
    case BLOK_DEMO_P_REMEDY:
      return json_pack("{s:s, s:s}", "recall", blok__demo_recall(t->arg)->id, "vin", vin);
    case BLOK_DEMO_P_OBSERVE:
      return json_pack("{s:s, s:s}", "serial", serial, "vin", vin);
  }
  return NULL;
}

/* Signs parts transaction i and appends it to the batch being built. */
static enum blok_err add_part(struct loader *L, uint32_t i) {
  const struct blok_demo_ptx *t = &L->parts.txs[i];
  struct pending p = {.car = BLOK_DEMO_NO_CAR, .event = i, .member = parts_member(L, t)};
  BLOK_TRY(encode_payload(L, BLOK_PARTS_MODULE, part_types[t->kind], part_json(L, i), &p));
  struct member *m = &L->members[p.member];
  struct blok_sign_keypair kp = m->kp;
  p.nonce = m->next_nonce++;
  BLOK_TRY(sign_append(L, BLOK_PARTS_MODULE, part_types[t->kind], &kp, &p));
  L->parts_inflight++;
  return BLOK_OK;
}

/* Sends the next parts transactions: those of the phase under way, or of the next one once every
 * earlier one is committed, as many as the members' pacing allows. */
static enum blok_err schedule_parts(struct loader *L) {
  const struct blok_demo_parts *pp = &L->parts;
  while (L->parts_next < pp->count && L->inflight + 1 <= INFLIGHT_MAX) {
    const struct blok_demo_ptx *t = &pp->txs[L->parts_next];
    bool new_phase = L->parts_next > 0 && t->phase != pp->txs[L->parts_next - 1].phase;
    if (new_phase && L->parts_inflight > 0) break;
    if (t->phase >= 2 && L->done < L->plan.count) break; /* installs: into vehicles all loaded */
    const struct member *m = &L->members[parts_member(L, t)];
    if (m->next_nonce - m->committed_next >= PACE) break;
    BLOK_TRY(add_part(L, (uint32_t)L->parts_next));
    L->parts_next++;
    if (L->batch_count == BATCH_MAX) BLOK_TRY(flush(L));
  }
  return flush(L);
}

/* --- watching the chain ------------------------------------------------------------------- */

static void committed(struct loader *L, const uint8_t id[32]) {
  size_t i = map_find(L, id);
  if (i == SIZE_MAX) return; /* not ours */
  struct pending p = L->map[i];
  map_del(L, i);
  if (p.member != NO_MEMBER && p.nonce + 1 > L->members[p.member].committed_next)
    L->members[p.member].committed_next = p.nonce + 1;
  L->recent[L->recent_next] = p;
  L->recent_next = (L->recent_next + 1) % RECENT_MAX;
  if (L->recent_count < RECENT_MAX) L->recent_count++;
  L->committed++;
  L->progressed = true;
  if (p.car == BLOK_DEMO_NO_CAR) {
    L->parts_inflight--;
    L->parts_committed++;
    return;
  }
  struct car *c = &L->cars[p.car];
  c->inflight--;
  if (c->inflight == 0 && c->next == vehicle_of(L, p.car)->count) L->done++;
}

/* Reads the blocks after the last one seen; *found says whether there was one. */
static enum blok_err read_blocks(struct loader *L, bool *found) {
  *found = false;
  for (;;) {
    char path[64];
    long status = 0;
    json_t *j = NULL;
    snprintf(path, sizeof path, "/v1/blocks/%" PRIu64, L->next_block);
    enum blok_err rc = get_json(L, path, &status, &j);
    if (rc == BLOK_EIO)
      return stopped(L, rc, "GET %s%s: the node does not answer", L->o->node_url, path);
    if (rc != BLOK_OK || status != 200) {
      json_decref(j);
      return status == 404 ? BLOK_OK : stopped(L, BLOK_EFORMAT, "GET %s: status %ld", path, status);
    }
    size_t k;
    json_t *id;
    json_array_foreach(json_object_get(j, "txs"), k, id) {
      uint8_t raw[32];
      const char *hex = json_string_value(id);
      if (hex && blok_hex_decode_exact(raw, 32, hex, strlen(hex)) == BLOK_OK) committed(L, raw);
    }
    json_decref(j);
    L->head = L->next_block++;
    L->blocks++;
    *found = true;
  }
}

/* The value of a metric in the node's /metrics text, or -1. */
static int64_t metric(const char *text, const char *name) {
  size_t n = strlen(name);
  for (const char *p = text; p != NULL;) {
    if (strncmp(p, name, n) == 0 && p[n] == ' ') return strtoll(p + n + 1, NULL, 10);
    p = strchr(p, '\n');
    if (p) p++;
  }
  return -1;
}

/* Looks through the latest committed transactions, newest first, for the one a module refused. */
static enum blok_err explain_failure(struct loader *L) {
  for (size_t k = 0; k < L->recent_count; k++) {
    if (stopping(L)) return BLOK_EUNAVAIL;
    const struct pending *p = &L->recent[(L->recent_next + RECENT_MAX - 1 - k) % RECENT_MAX];
    char path[128], hex[65], what[256];
    long status = 0;
    json_t *j = NULL;
    blok_hex_encode(hex, sizeof hex, p->id, 32);
    snprintf(path, sizeof path, "/v1/tx/%s", hex);
    if (get_json(L, path, &status, &j) != BLOK_OK) continue;
    json_t *res = json_object_get(j, "result");
    const char *code = json_string_value(json_object_get(res, "code"));
    if (code && strcmp(code, "BLOK_OK") != 0) {
      describe(what, sizeof what, L, p->car, p->event);
      enum blok_err rc =
          stopped(L, BLOK_EREFUSED, "%s (tx %s) was refused by its module: %s: %s", what, hex, code,
                  json_string_value(json_object_get(res, "message")));
      json_decref(j);
      return rc;
    }
    json_decref(j);
  }
  return stopped(L, BLOK_EREFUSED,
                 "the node counts a failed transaction; see its log (event=block failed=...)");
}

/* A module's refusal leaves the transaction in its block: the node's count of them must stay 0.
 * With min_height, waits until the node's metrics cover that block. */
static enum blok_err check_failures(struct loader *L, uint64_t min_height) {
  for (int tries = 0;; tries++) {
    long status = 0;
    BLOK_TRY(http(L, "/metrics", NULL, 0, &status));
    const char *text = (const char *)L->resp.data;
    int64_t failed = metric(text, "blok_txs_failed_total");
    int64_t height = metric(text, "blok_height");
    if (status != 200 || failed < 0)
      return stopped(L, BLOK_EFORMAT, "GET /metrics: status %ld", status);
    if (failed > 0) return explain_failure(L);
    if (height >= (int64_t)min_height || tries == 100) return BLOK_OK;
    sleep_ms(10);
  }
}

/* Whether p is the first transaction of its vehicle's run not yet committed: the one a refusal
 * would have stopped, while the rest of the run waits behind it. */
static bool run_head(const struct loader *L, const struct pending *p) {
  if (p->car == BLOK_DEMO_NO_CAR) return true; /* a phase's parts transactions: ask about each */
  const struct car *c = &L->cars[p->car];
  return p->event == c->next - c->inflight;
}

/* Asks the node about p: stops the demo with the reason when the node refused it. */
static enum blok_err ask(struct loader *L, const struct pending *p) {
  char path[128], hex[65], what[256];
  long status = 0;
  json_t *j = NULL;
  blok_hex_encode(hex, sizeof hex, p->id, 32);
  snprintf(path, sizeof path, "/v1/tx/%s", hex);
  if (get_json(L, path, &status, &j) != BLOK_OK) return BLOK_OK; /* the stall goes on */
  const char *st = json_string_value(json_object_get(j, "status"));
  enum blok_err rc = BLOK_OK;
  if (st && strcmp(st, "refused") == 0) {
    json_t *res = json_object_get(j, "result");
    describe(what, sizeof what, L, p->car, p->event);
    rc = stopped(L, BLOK_EREFUSED, "%s (tx %s) was refused by the node: %s: %s", what, hex,
                 json_string_value(json_object_get(res, "code")),
                 json_string_value(json_object_get(res, "message")));
  }
  json_decref(j);
  return rc;
}

/* Nothing of ours committed for a while: a transaction may have been refused on its way to a block
 * (the mempool remembers why), leaving the ones after it waiting. Ask about the first of each
 * vehicle's run, every STALL_ASK_MS, and give up after STALL_GIVE_UP_MS. */
static enum blok_err check_stall(struct loader *L) {
  uint64_t now = blok_monotonic_ms();
  if (L->inflight == 0 || now - L->progress_ms < STALL_ASK_MS || now - L->asked_ms < STALL_ASK_MS)
    return BLOK_OK;
  L->asked_ms = now;
  size_t asked = 0;
  for (size_t i = 0; i < MAP_CAP && asked < STALL_ASK_MAX; i++) {
    if (!L->map[i].used || !run_head(L, &L->map[i])) continue;
    if (stopping(L)) return BLOK_EUNAVAIL;
    asked++;
    BLOK_TRY(ask(L, &L->map[i]));
  }
  if (now - L->progress_ms >= STALL_GIVE_UP_MS)
    return stopped(L, BLOK_ETIMEOUT, "the node committed none of the demo's transactions for %d s",
                   STALL_GIVE_UP_MS / 1000);
  return BLOK_OK;
}

/* --- progress and summary ----------------------------------------------------------------- */

static void progress(struct loader *L, bool last) {
  uint64_t now = blok_monotonic_ms();
  size_t all = L->plan.count + L->parts.count;
  unsigned tenths = (unsigned)((L->done + L->parts_committed) * 10 / all);
  /* A terminal gets the line rewritten ten times a second and once at the end; anything else a
   * line each tenth of the vehicles. */
  bool due = L->o->tty ? last || now - L->printed_ms >= 100 : tenths > L->printed_tenths;
  if (!due) return;
  fprintf(L->o->out, "%sdemo: %zu/%zu vehicles, %zu transactions, parts %zu/%zu, %.1f s%s",
          L->o->tty ? "\r" : "", L->done, L->plan.count, L->committed, L->parts_committed,
          L->parts.count, seconds(L), L->o->tty ? "   " : "\n");
  if (L->o->tty && last) fputc('\n', L->o->out);
  fflush(L->o->out);
  L->printed_ms = now;
  L->printed_tenths = tenths;
}

static void example(const struct loader *L, const char *label, const char *what, int64_t pick) {
  if (pick < 0) return;
  const struct blok_demo_vehicle *v = vehicle_of(L, (uint32_t)pick);
  fprintf(L->o->out, "demo: %s: %s (%u %s %s, %s)\n", label, v->vin, (unsigned)v->model_year,
          blok__demo_make(v), blok__demo_model(v), what);
  const char *url = L->o->node_url;
  fprintf(L->o->out, "demo:   curl -s %s/v1/vehicles/%s\n", url, v->vin);
  fprintf(L->o->out, "demo:   curl -s '%s/v1/vehicles/%s/history?limit=100'\n", url, v->vin);
  fprintf(L->o->out,
          "demo:   blokauto report %s --out %s.json --node %s && blokauto verify %s.json "
          "--genesis %s\n",
          v->vin, v->vin, url, v->vin, L->o->genesis_path);
}

/* The parts examples: sourcing, the two recalls and their reach, the cloned serial. */
static void parts_summary(const struct loader *L) {
  const struct blok_demo_parts *pp = &L->parts;
  const char *url = L->o->node_url;
  const struct blok_demo_batch *cells = blok__demo_batch(BLOK_DEMO_B_CELLS);
  char serial[BLOK_PARTS_SERIAL_MAX + 1];
  uint32_t serials = 0;
  for (size_t b = 0; b < BLOK_DEMO_BATCHES; b++)
    serials += pp->serials[b];
  fprintf(L->o->out,
          "demo: parts: %d attested lots, %d batches, %" PRIu32 " serials, %zu installs in %zu "
          "vehicles (chips in ECUs, cells in battery packs in %zu electric cars, brake pads), "
          "%d recalls, %zu remedies\n",
          BLOK_DEMO_LOTS, BLOK_DEMO_BATCHES, serials, pp->installs, pp->vehicles, pp->evs,
          BLOK_DEMO_RECALLS, pp->remedies);
  blok__demo_serial(serial, sizeof serial, BLOK_DEMO_B_CELLS, 1);
  fprintf(L->o->out, "demo: sourcing: battery cell %s (batch %s) from attested lots %s, %s\n",
          serial, cells->id, cells->inputs[0], cells->inputs[1]);
  fprintf(L->o->out, "demo:   blokauto parts batch %s --node %s\n", cells->id, url);
  fprintf(L->o->out, "demo:   curl -s %s/v1/batches/%s\n", url,
          blok__demo_batch(BLOK_DEMO_B_PACKS)->id);
  for (size_t r = 0; r < BLOK_DEMO_RECALLS; r++) {
    const char *id = blok__demo_recall(r)->id;
    fprintf(L->o->out, "demo: recall %s (%s): reaches %zu vehicles, %zu remedied, %zu open\n", id,
            blok__demo_recall(r)->what, pp->reached[r], pp->remedied[r],
            pp->reached[r] - pp->remedied[r]);
    fprintf(L->o->out, "demo:   blokauto parts recall %s --node %s\n", id, url);
    fprintf(L->o->out, "demo:   curl -s '%s/v1/recalls/%s?limit=100'\n", url, id);
  }
  if (pp->open_car != BLOK_DEMO_NO_CAR) {
    const char *vin = vehicle_of(L, pp->open_car)->vin;
    fprintf(L->o->out, "demo: open recalls: %s (both recalls, no remedy yet)\n", vin);
    fprintf(L->o->out, "demo:   curl -s %s/v1/vehicles/%s/parts\n", url, vin);
    fprintf(L->o->out, "demo:   blokauto parts vehicle %s --node %s\n", vin, url);
  }
  if (pp->clone_car != BLOK_DEMO_NO_CAR) {
    blok__demo_serial(serial, sizeof serial, BLOK_DEMO_B_ECUS, 1);
    fprintf(L->o->out, "demo: cloned serial: %s (installed in %s, reported in %s)\n", serial,
            vehicle_of(L, pp->clone_car)->vin, vehicle_of(L, pp->clone_seen_car)->vin);
    fprintf(L->o->out, "demo:   blokauto parts part %s --node %s\n", serial, url);
    fprintf(L->o->out, "demo:   curl -s %s/v1/parts/%s/history\n", url, serial);
  }
}

static void summary(const struct loader *L) {
  const struct blok_demo_plan *p = &L->plan;
  int64_t rollback = -1, retired = -1, accident = -1;
  for (size_t i = 0; i < p->count; i++) {
    const struct blok_demo_vehicle *v = &p->vehicles[i];
    if (rollback < 0 && v->rollbacks > 0) rollback = (int64_t)i;
    if (retired < 0 && v->retired) retired = (int64_t)i;
    if (accident < 0 && v->accidents > 0 && !v->retired) accident = (int64_t)i;
  }
  fprintf(L->o->out,
          "demo: %zu sales (%zu offered by the dealer with the owner's consent), %zu liens, %zu "
          "accidents, %zu brands, %zu services, %zu inspections, %zu odometer readings below the "
          "highest on %zu vehicles, %zu cluster replacements, %zu retired\n",
          p->sales, p->dealer_sales, p->liens, p->accidents, p->brands, p->services, p->inspections,
          p->rollbacks, p->rollback_vehicles, p->clusters, p->retired);
  char what[64];
  if (rollback >= 0) {
    snprintf(what, sizeof what, "%u readings below the highest", p->vehicles[rollback].rollbacks);
    example(L, "odometer rollback", what, rollback);
  }
  example(L, "retired", "end of life recorded", retired);
  if (accident >= 0) {
    snprintf(what, sizeof what, "%u accident%s", p->vehicles[accident].accidents,
             p->vehicles[accident].accidents == 1 ? "" : "s");
    example(L, "accident", what, accident);
  }
  parts_summary(L);
  if (L->o->vehicles_path)
    fprintf(L->o->out, "demo: every vehicle, with what its record says: %s\n", L->o->vehicles_path);
  fprintf(L->o->out,
          "demo: done: %zu vehicles, %zu transactions in %zu blocks, %.1f s (seed %" PRIu64 ")\n",
          p->count, L->committed, L->blocks, seconds(L), p->seed);
  fflush(L->o->out);
}

/* --- the list of vehicles ----------------------------------------------------------------- */

static void brand_list(char *out, size_t cap, uint8_t bits) {
  size_t used = 0;
  out[0] = 0;
  for (unsigned b = 1; b < BLOK_ARRAY_LEN(brands); b++) {
    if (!(bits & (1u << (b - 1)))) continue;
    int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "", brands[b]);
    if (w > 0 && (size_t)w < cap - used) used += (size_t)w;
  }
  if (used == 0) snprintf(out, cap, "-");
}

/* One line per vehicle, with what its record should say once every event is applied. */
static enum blok_err write_vehicles(struct loader *L) {
  const char *path = L->o->vehicles_path;
  if (path == NULL) return BLOK_OK;
  FILE *f = fopen(path, "w");
  if (f == NULL) return stopped(L, BLOK_EIO, "%s: %s", path, strerror(errno));
  fprintf(f, "vin\tmodel_year\tmake\tmodel\tvehicle_key\tstatus\towners\taccidents\trollbacks\t"
             "brands\todometer_high_km\todometer_last_km\tevent_count\n");
  for (size_t i = 0; i < L->plan.count; i++) {
    const struct blok_demo_vehicle *v = &L->plan.vehicles[i];
    char b[64];
    brand_list(b, sizeof b, v->brands);
    fprintf(f, "%s\t%u\t%s\t%s\t%s\t%s\t%u\t%u\t%u\t%s\t%u\t%u\t%u\n", v->vin,
            (unsigned)v->model_year, blok__demo_make(v), blok__demo_model(v),
            v->has_key ? "yes" : "no", v->retired ? "retired" : "active", v->owners, v->accidents,
            v->rollbacks, b, v->odometer_high_km, v->odometer_last_km, v->count);
  }
  if (fclose(f) != 0) return stopped(L, BLOK_EIO, "%s: %s", path, strerror(errno));
  return BLOK_OK;
}

/* --- the loader --------------------------------------------------------------------------- */

static enum blok_err loop(struct loader *L) {
  L->progress_ms = blok_monotonic_ms();
  L->progressed = true;
  while (L->done < L->plan.count || L->parts_committed < L->parts.count) {
    if (stopping(L)) return BLOK_EUNAVAIL;
    if (L->progressed) {
      L->progressed = false;
      BLOK_TRY(schedule(L));
      BLOK_TRY(schedule_parts(L));
    }
    bool found;
    size_t before = L->committed;
    BLOK_TRY(read_blocks(L, &found));
    if (found) BLOK_TRY(check_failures(L, 0));
    if (L->committed != before) L->progress_ms = blok_monotonic_ms();
    if (!found) {
      BLOK_TRY(check_stall(L));
      sleep_ms(2);
    }
    progress(L, false);
  }
  BLOK_TRY(check_failures(L, L->head));
  progress(L, true);
  return BLOK_OK;
}

static enum blok_err setup(struct loader *L) {
  blok_modules_default(&L->reg);
  blok_buf_init(&L->resp, RESPONSE_MAX);
  blok_buf_init(&L->body, BODY_MAX);
  blok_buf_init(&L->payload, BLOK_TX_PAYLOAD_MAX);
  blok_buf_init(&L->raw, BLOK_TX_ENCODED_MAX);
  L->hex = malloc(BLOK_HEX_LEN(BLOK_TX_ENCODED_MAX));
  L->map = calloc(MAP_CAP, sizeof *L->map);
  L->recent = calloc(RECENT_MAX, sizeof *L->recent);
  L->cars = calloc(L->o->vehicles, sizeof *L->cars);
  if (!L->hex || !L->map || !L->recent || !L->cars) return BLOK_ENOMEM;
  BLOK_TRY(check_kinds(L));
  BLOK_TRY(blok__demo_plan_make(&L->plan, L->o->seed, L->o->vehicles));
  BLOK_TRY(blok__demo_parts_make(&L->parts, &L->plan));
  BLOK_TRY(write_vehicles(L));
  BLOK_TRY(read_genesis(L));
  BLOK_TRY(read_keys(L));
  BLOK_TRY(assign_members(L));
  BLOK_TRY(http_open(L));
  BLOK_TRY(wait_for_node(L));
  return fetch_nonces(L);
}

static void teardown(struct loader *L) {
  for (size_t i = 0; i < L->member_count; i++)
    blok_sign_keypair_clear(&L->members[i].kp);
  if (L->curl) curl_easy_cleanup(L->curl);
  curl_slist_free_all(L->hdr);
  blok_buf_release(&L->resp);
  blok_buf_release(&L->body);
  blok_buf_release(&L->payload);
  blok_buf_release(&L->raw);
  free(L->hex);
  free(L->map);
  free(L->recent);
  free(L->cars);
  blok__demo_plan_release(&L->plan);
  blok__demo_parts_release(&L->parts);
}

enum blok_err blok_demo_run(const struct blok_demo_opts *o, const atomic_bool *stop) {
  if (o->vehicles < 1 || o->vehicles > BLOK_DEMO_VEHICLES_MAX) return BLOK_EINVAL;
  struct loader *L = calloc(1, sizeof *L);
  if (L == NULL) return BLOK_ENOMEM;
  L->o = o;
  L->stop = stop;
  L->start_ms = blok_monotonic_ms();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  enum blok_err rc = setup(L);
  if (rc == BLOK_ENOMEM) rc = stopped(L, rc, "out of memory");
  if (rc == BLOK_OK) {
    fprintf(o->out,
            "demo: loading %zu vehicles (seed %" PRIu64 ") and %zu parts transactions into %s\n",
            o->vehicles, o->seed, L->parts.count, o->node_url);
    fflush(o->out);
    L->start_ms = blok_monotonic_ms();
    rc = loop(L);
    if (rc == BLOK_OK) summary(L);
  }
  if (rc == BLOK_EUNAVAIL && stopping(L)) {
    fprintf(o->out, "%sdemo: stopped with the node after %zu of %zu vehicles\n", o->tty ? "\n" : "",
            L->done, o->vehicles);
    fflush(o->out);
  }
  teardown(L);
  free(L);
  curl_global_cleanup();
  return rc;
}

/* --- the thread --------------------------------------------------------------------------- */

struct blok_demo {
  pthread_t thread;
  struct blok_demo_opts o;
  char node_url[256], genesis_path[PATH_MAX], keys_dir[PATH_MAX], vehicles_path[PATH_MAX];
  atomic_bool stop;
  enum blok_err rc;
};

static void *demo_main(void *arg) {
  struct blok_demo *d = arg;
  d->rc = blok_demo_run(&d->o, &d->stop);
  return NULL;
}

enum blok_err blok_demo_start(struct blok_demo **out, const struct blok_demo_opts *o,
                              struct blok_why *why) {
  if (o->vehicles < 1 || o->vehicles > BLOK_DEMO_VEHICLES_MAX)
    return blok_refuse(why, BLOK_EINVAL, "demo vehicles: 1 to %d", BLOK_DEMO_VEHICLES_MAX);
  struct blok_demo *d = calloc(1, sizeof *d);
  if (d == NULL) return blok_refuse(why, BLOK_ENOMEM, "demo: out of memory");
  if (snprintf(d->node_url, sizeof d->node_url, "%s", o->node_url) >= (int)sizeof d->node_url ||
      snprintf(d->genesis_path, sizeof d->genesis_path, "%s", o->genesis_path) >= PATH_MAX ||
      snprintf(d->keys_dir, sizeof d->keys_dir, "%s", o->keys_dir) >= PATH_MAX ||
      snprintf(d->vehicles_path, sizeof d->vehicles_path, "%s",
               o->vehicles_path ? o->vehicles_path : "") >= PATH_MAX) {
    free(d);
    return blok_refuse(why, BLOK_ETOOLONG, "demo: a path or URL is too long");
  }
  d->o = *o;
  d->o.node_url = d->node_url;
  d->o.genesis_path = d->genesis_path;
  d->o.keys_dir = d->keys_dir;
  d->o.vehicles_path = o->vehicles_path ? d->vehicles_path : NULL;
  atomic_init(&d->stop, false);
  int e = pthread_create(&d->thread, NULL, demo_main, d);
  if (e != 0) {
    free(d);
    return blok_refuse(why, BLOK_EIO, "demo: cannot start its thread: %s", strerror(e));
  }
  *out = d;
  return BLOK_OK;
}

enum blok_err blok_demo_finish(struct blok_demo *d) {
  atomic_store(&d->stop, true);
  pthread_join(d->thread, NULL);
  enum blok_err rc = d->rc;
  free(d);
  return rc;
}
