/*
 * The vehicle module end to end (blok/vehicle.h; docs/PROTOCOL.md, "Vehicles"): a real ledger
 * in a temporary folder whose genesis holds one member of each role the module knows, blocks
 * built with blok_exec_begin / blok_exec_tx / blok_exec_finish / blok_ledger_commit, and every
 * kind applied and refused. Refusals are of two sorts and the tests tell them apart: a module
 * refusal is in the block with its code and sentence (`refused`), an admission refusal keeps
 * the transaction out of the block (`denied`). The history index is checked against the record:
 * the chain recomputed from the index gives the record's head, and paging walks 2,500 events
 * both ways.
 */
#include <unistd.h>

#include "test_util.h"

#include "blok/anchor.h"
#include "blok/consortium.h"
#include "blok/hex.h"
#include "blok/ledger.h"
#include "blok/sha256.h"
#include "blok/vehicle.h"
#include "blok/vin.h"
#include "blok/banned.h"

#define CHAIN "blokauto-test"

enum who {
  VALIDATOR,
  MAKER,    /* Acme Motors, manufacturer, wmi 1HG and WVW */
  MAKER2,   /* Other Motors, manufacturer, wmi 2HG */
  DEALER,   /* Main Street Dealer */
  SERVICE,  /* Quick Lube Service */
  INSURER,  /* Safe Insurance */
  REGISTRY, /* State DMV */
  LENDER,   /* First Coast Auto Finance */
  LENDER2,  /* Second Bank */
  RECYCLER, /* Green Recycling */
  OWNER1,   /* keys of no member */
  OWNER2,
  CAR,
  STRANGER,
  WHO_COUNT
};

static const struct {
  const char *name, *role, *wmi;
} members[] = {
    [MAKER] = {"Acme Motors", "manufacturer", "1HG"},
    [MAKER2] = {"Other Motors", "manufacturer", "2HG"},
    [DEALER] = {"Main Street Dealer", "dealer", NULL},
    [SERVICE] = {"Quick Lube Service", "service", NULL},
    [INSURER] = {"Safe Insurance", "insurer", NULL},
    [REGISTRY] = {"State DMV", "registry", NULL},
    [LENDER] = {"First Coast Auto Finance", "lender", NULL},
    [LENDER2] = {"Second Bank", "lender", NULL},
    [RECYCLER] = {"Green Recycling", "recycler", NULL},
};

struct world {
  char dir[64];
  struct blok_sign_keypair k[WHO_COUNT];
  char hex[WHO_COUNT][65];
  struct blok_registry reg;
  struct blok_genesis g;
  struct blok_store *store;
  struct blok_ledger *l;
  struct blok_exec *x;
  uint64_t time_ms;
  struct blok_buf raw, pl;
};

/* --- the world ---------------------------------------------------------------------------- */

static json_t *genesis_doc(struct world *w) {
  json_t *list = json_array();
  for (int i = MAKER; i <= RECYCLER; i++) {
    json_t *m = json_pack("{s:s, s:[s], s:[s]}", "name", members[i].name, "roles", members[i].role,
                          "keys", w->hex[i]);
    assert_non_null(m);
    if (i == MAKER) json_object_set_new(m, "wmi", json_pack("[s, s]", "1HG", "WVW"));
    if (i == MAKER2) json_object_set_new(m, "wmi", json_pack("[s]", "2HG"));
    json_array_append_new(list, m);
  }
  json_t *doc =
      json_pack("{s:s, s:I, s:[{s:s, s:s}], s:{s:o}}", "chain_id", CHAIN, "genesis_time_ms",
                (json_int_t)1700000000000, "validators", "name", "validator-0", "public_key",
                w->hex[VALIDATOR], "consortium", "members", list);
  assert_non_null(doc);
  return doc;
}

static void world_open(struct world *w) {
  memset(w, 0, sizeof *w);
  snprintf(w->dir, sizeof w->dir, "/tmp/blok-vehicle-XXXXXX");
  assert_non_null(mkdtemp(w->dir));
  for (int i = 0; i < WHO_COUNT; i++) {
    uint8_t seed[32];
    memset(seed, 0x40 + i, sizeof seed);
    assert_int_equal(blok_sign_keypair_from_seed(&w->k[i], seed), BLOK_OK);
    blok_hex_encode(w->hex[i], sizeof w->hex[i], w->k[i].pk, 32);
  }
  blok_registry_init(&w->reg);
  assert_int_equal(blok_registry_add(&w->reg, &blok_consortium_module), BLOK_OK);
  assert_int_equal(blok_registry_add(&w->reg, &blok_anchor_module), BLOK_OK);
  assert_int_equal(blok_registry_add(&w->reg, &blok_vehicle_module), BLOK_OK);
  w->reg.authorize = blok_consortium_authorize;
  struct blok_why why = {{0}};
  json_t *doc = genesis_doc(w);
  assert_int_equal(blok_genesis_parse(&w->g, doc, &w->reg, &why), BLOK_OK);
  json_decref(doc);
  struct blok_store_opts o = {.dir = w->dir};
  assert_int_equal(blok_store_open(&w->store, &o), BLOK_OK);
  enum blok_err rc = blok_ledger_open(&w->l, w->store, &w->reg, &w->g, &why);
  if (rc != BLOK_OK) fail_msg("ledger open: %s (%s)", blok_err_name(rc), why.msg);
  w->time_ms = w->g.time_ms;
  blok_buf_init(&w->raw, BLOK_TX_ENCODED_MAX);
  blok_buf_init(&w->pl, BLOK_TX_PAYLOAD_MAX);
}

static void world_close(struct world *w) {
  BLOK_ASSERT(w->x == NULL);
  blok_ledger_close(w->l);
  blok_store_close(w->store);
  blok_genesis_release(&w->g);
  blok_buf_release(&w->raw);
  blok_buf_release(&w->pl);
  char p[128];
  snprintf(p, sizeof p, "%s/data.mdb", w->dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", w->dir);
  unlink(p);
  rmdir(w->dir);
}

static void begin(struct world *w) {
  w->time_ms += 1000;
  assert_int_equal(blok_exec_begin(w->l, w->time_ms, w->k[VALIDATOR].pk, 1, &w->x), BLOK_OK);
}

static void commit(struct world *w) {
  struct blok_header h;
  static struct blok_qc qc;
  assert_int_equal(blok_exec_finish(w->x, &h), BLOK_OK);
  memset(&qc, 0, sizeof qc);
  qc.vote.height = h.height;
  qc.vote.round = h.round;
  assert_int_equal(blok_header_hash(&h, qc.vote.block_hash), BLOK_OK);
  qc.validator_count = 1;
  qc.signers[0] = 1;
  qc.sig_count = 1;
  assert_int_equal(blok_vote_sign(qc.sigs[0], CHAIN, &qc.vote, &w->k[VALIDATOR]), BLOK_OK);
  assert_int_equal(blok_ledger_commit(w->l, w->x, &qc), BLOK_OK);
  blok_exec_free(w->x);
  w->x = NULL;
}

/* --- sending ------------------------------------------------------------------------------ */

static const struct blok_tx_kind *kind(struct world *w, const char *type) {
  const struct blok_module *m;
  const struct blok_tx_kind *k = blok_registry_kind(&w->reg, BLOK_VEHICLE_MODULE, type, &m);
  if (k == NULL) fail_msg("no kind vehicle/%s", type);
  return k;
}

/* Signs a vehicle transaction with the sender's next nonce and offers it to the block. */
static enum blok_err send_raw(struct world *w, enum who from, const char *type,
                              const uint8_t *payload, size_t len, struct blok_tx_result *res,
                              struct blok_why *why) {
  struct blok_tx tx;
  memset(&tx, 0, sizeof tx);
  tx.version = BLOK_TX_VERSION;
  snprintf(tx.chain_id, sizeof tx.chain_id, "%s", CHAIN);
  snprintf(tx.module, sizeof tx.module, "%s", BLOK_VEHICLE_MODULE);
  snprintf(tx.type, sizeof tx.type, "%s", type);
  assert_int_equal(blok_exec_next_nonce(w->x, w->k[from].pk, &tx.nonce), BLOK_OK);
  tx.expiry_height = 1000000;
  tx.payload = payload;
  tx.payload_len = len;
  blok_buf_clear(&w->raw);
  assert_int_equal(blok_tx_sign(&tx, &w->k[from], &w->raw), BLOK_OK);
  memset(res, 0, sizeof *res);
  memset(why, 0, sizeof *why);
  return blok_exec_tx(w->x, &tx, true, res, why);
}

/* The payload from its JSON form (which must be accepted); p is consumed. */
static void payload(struct world *w, const char *type, json_t *p) {
  struct blok_why why = {{0}};
  assert_non_null(p);
  blok_buf_clear(&w->pl);
  enum blok_err rc = blok_kind_from_json(kind(w, type), p, &w->pl, &why);
  if (rc != BLOK_OK) fail_msg("vehicle/%s from_json: %s (%s)", type, blok_err_name(rc), why.msg);
  json_decref(p);
}

static enum blok_err send(struct world *w, enum who from, const char *type, json_t *p,
                          struct blok_tx_result *res, struct blok_why *why) {
  payload(w, type, p);
  return send_raw(w, from, type, w->pl.data, w->pl.len, res, why);
}

static void ok(struct world *w, enum who from, const char *type, json_t *p) {
  struct blok_tx_result res;
  struct blok_why why;
  enum blok_err rc = send(w, from, type, p, &res, &why);
  if (rc != BLOK_OK) fail_msg("vehicle/%s not admitted: %s (%s)", type, blok_err_name(rc), why.msg);
  if (res.code != BLOK_OK)
    fail_msg("vehicle/%s refused: %s (%s)", type, blok_err_name(res.code), res.msg);
}

/* In the block, refused by the module with code and a sentence holding text. */
static void refused(struct world *w, enum who from, const char *type, json_t *p, enum blok_err code,
                    const char *text) {
  struct blok_tx_result res;
  struct blok_why why;
  enum blok_err rc = send(w, from, type, p, &res, &why);
  if (rc != BLOK_OK) fail_msg("vehicle/%s not admitted: %s (%s)", type, blok_err_name(rc), why.msg);
  if (res.code != code || strstr(res.msg, text) == NULL)
    fail_msg("vehicle/%s: want %s (\"%s\"), got %s (\"%s\")", type, blok_err_name(code), text,
             blok_err_name(res.code), res.msg);
}

/* Kept out of the block at admission with code and a reason holding text. */
static void denied(struct world *w, enum who from, const char *type, json_t *p, enum blok_err code,
                   const char *text) {
  struct blok_tx_result res;
  struct blok_why why;
  size_t before = blok_exec_tx_count(w->x);
  enum blok_err rc = send(w, from, type, p, &res, &why);
  if (rc != code || strstr(why.msg, text) == NULL)
    fail_msg("vehicle/%s: want admission %s (\"%s\"), got %s (\"%s\")", type, blok_err_name(code),
             text, blok_err_name(rc), why.msg);
  assert_int_equal(blok_exec_tx_count(w->x), before);
}

static void get_record(struct world *w, const char *vin, struct blok_vehicle_record *r) {
  uint8_t k[19];
  const uint8_t *v;
  size_t n;
  blok_vehicle_state_key(k, vin);
  assert_non_null(w->x);
  assert_int_equal(blok_exec_get(w->x, BLOK_VEHICLE_MODULE, k, sizeof k, &v, &n), BLOK_OK);
  assert_int_equal(blok_vehicle_record_decode(v, n, r), BLOK_OK);
}

/* A North American VIN with a right check digit: WMI, then a fixed VDS, then serial. */
static void make_vin(char out[18], const char *wmi, unsigned serial) {
  char digit;
  /* WMI, "CM826", the check digit (position 9, index 8), "3A", six digits of serial. */
  snprintf(out, 18, "%.3sCM82603A%06u", wmi, serial % 1000000);
  assert_int_equal(blok_vin_check_digit(&digit, out, 17), BLOK_OK);
  out[8] = digit;
}

/* --- payloads ----------------------------------------------------------------------------- */

static json_t *p_register(struct world *w, const char *vin, enum who owner, bool with_key) {
  json_t *p = json_pack("{s:s, s:i, s:s, s:s, s:s}", "vin", vin, "model_year", 2003, "make",
                        "Honda", "model", "Accord EX", "owner", w->hex[owner]);
  if (with_key) json_object_set_new(p, "vehicle_key", json_string(w->hex[CAR]));
  return p;
}

static json_t *p_vin(const char *vin) {
  return json_pack("{s:s}", "vin", vin);
}

static json_t *p_km(const char *vin, json_int_t km) {
  return json_pack("{s:s, s:I}", "vin", vin, "km", km);
}

static json_t *p_offer(struct world *w, const char *vin, enum who to, json_int_t expiry) {
  return json_pack("{s:s, s:s, s:I}", "vin", vin, "new_owner", w->hex[to], "expiry_height", expiry);
}

static json_t *p_consent(struct world *w, const char *vin, enum who signer, enum who to,
                         uint64_t expiry, uint64_t signed_expiry) {
  uint8_t sig[64];
  char hex[129];
  assert_int_equal(
      blok_vehicle_consent_sign(sig, &w->k[signer], CHAIN, vin, w->k[to].pk, signed_expiry),
      BLOK_OK);
  blok_hex_encode(hex, sizeof hex, sig, 64);
  json_t *p = p_offer(w, vin, to, (json_int_t)expiry);
  json_object_set_new(p, "consent", json_string(hex));
  return p;
}

static json_t *p_str(const char *vin, const char *field, const char *value) {
  return json_pack("{s:s, s:s}", "vin", vin, field, value);
}

static json_t *p_summary(const char *vin, const char *summary) {
  return json_pack("{s:s, s:s, s:s}", "vin", vin, "summary", summary, "document",
                   "1111111111111111111111111111111111111111111111111111111111111111");
}

static json_t *p_accident(const char *vin) {
  return json_pack("{s:s, s:s, s:b, s:b}", "vin", vin, "severity", "severe", "airbag_deployed", 1,
                   "structural_damage", 0);
}

static json_t *p_inspection(const char *vin, json_int_t km) {
  return json_pack("{s:s, s:b, s:I}", "vin", vin, "passed", 1, "km", km);
}

static json_t *p_cluster(const char *vin, json_int_t old_km, json_int_t new_km) {
  return json_pack("{s:s, s:I, s:I}", "vin", vin, "old_km", old_km, "new_km", new_km);
}

static json_t *p_end(const char *vin) {
  return p_str(vin, "certificate",
               "2222222222222222222222222222222222222222222222222222222222222222");
}

/* --- codecs ------------------------------------------------------------------------------- */

/* JSON -> payload -> JSON gives the (normalised) input back, for every kind. */
static void test_json_round_trips(void **state) {
  (void)state;
  static struct world w;
  world_open(&w);
  const char *h = w.hex[OWNER1];
  const char *doc = "abababababababababababababababababababababababababababababababab";
  char sig[129];
  memset(sig, 'c', 128);
  sig[128] = '\0';
  const char *vin = "1HGCM82633A004352";
  json_t *cases[] = {
      json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "vin", vin, "model_year", 2003, "make", "Honda",
                "model", "Accord", "owner", h, "vehicle_key", w.hex[CAR]),
      json_pack("{s:s, s:i, s:s, s:s, s:s}", "vin", vin, "model_year", 2003, "make", "Hondä",
                "model", "Accord", "owner", h),
      json_pack("{s:s, s:s}", "vin", vin, "vehicle_key", h),
      json_pack("{s:s}", "vin", vin),
      json_pack("{s:s, s:s, s:I}", "vin", vin, "new_owner", h, "expiry_height", (json_int_t)99),
      json_pack("{s:s, s:s, s:s, s:s}", "vin", vin, "new_owner", h, "expiry_height",
                "18446744073709551615", "consent", sig),
      json_pack("{s:s}", "vin", vin),
      json_pack("{s:s, s:s}", "vin", vin, "action", "release"),
      json_pack("{s:s, s:s}", "vin", vin, "brand", "lemon"),
      json_pack("{s:s, s:I}", "vin", vin, "km", (json_int_t)BLOK_VEHICLE_KM_MAX),
      json_pack("{s:s, s:I, s:I, s:s}", "vin", vin, "old_km", (json_int_t)5, "new_km",
                (json_int_t)0, "document", doc),
      json_pack("{s:s, s:s}", "vin", vin, "summary", "oil and filters"),
      json_pack("{s:s, s:s, s:s}", "vin", vin, "summary", "windscreen", "document", doc),
      json_pack("{s:s, s:s, s:b, s:b}", "vin", vin, "severity", "total_loss", "airbag_deployed", 1,
                "structural_damage", 1),
      json_pack("{s:s, s:b, s:I, s:s}", "vin", vin, "passed", 0, "km", (json_int_t)0, "document",
                doc),
      json_pack("{s:s, s:s}", "vin", vin, "certificate", doc),
  };
  const char *types[] = {"register",       "register",       "rotate_key",      "rotate_key",
                         "transfer_offer", "transfer_offer", "transfer_accept", "lien",
                         "brand",          "odometer",       "cluster_replace", "service",
                         "repair",         "accident",       "inspection",      "end_of_life"};
  _Static_assert(BLOK_ARRAY_LEN(cases) == BLOK_ARRAY_LEN(types), "one type per case");
  for (size_t i = 0; i < BLOK_ARRAY_LEN(cases); i++) {
    const struct blok_tx_kind *k = kind(&w, types[i]);
    struct blok_why why = {{0}};
    assert_non_null(cases[i]);
    blok_buf_clear(&w.pl);
    if (blok_kind_from_json(k, cases[i], &w.pl, &why) != BLOK_OK)
      fail_msg("%s: %s", types[i], why.msg);
    assert_int_equal(blok_kind_check(k, w.pl.data, w.pl.len, &why), BLOK_OK);
    json_t *back = blok_kind_to_json(k, w.pl.data, w.pl.len);
    assert_non_null(back);
    if (!json_equal(back, cases[i])) {
      char *a = json_dumps(cases[i], JSON_SORT_KEYS), *b = json_dumps(back, JSON_SORT_KEYS);
      fail_msg("%s: %s came back as %s", types[i], a, b);
    }
    char vin_out[18];
    assert_int_equal(blok_vehicle_payload_vin(w.pl.data, w.pl.len, vin_out), BLOK_OK);
    assert_string_equal(vin_out, vin);
    json_decref(back);
    json_decref(cases[i]);
  }
  /* Lower case is normalised. */
  payload(&w, "odometer", p_km("1hgcm82633a004352", 7));
  json_t *back = blok_kind_to_json(kind(&w, "odometer"), w.pl.data, w.pl.len);
  assert_string_equal(json_string_value(json_object_get(back, "vin")), vin);
  json_decref(back);
  world_close(&w);
}

static void from_json_refused(struct world *w, const char *type, json_t *p, enum blok_err code,
                              const char *text) {
  struct blok_why why = {{0}};
  assert_non_null(p);
  blok_buf_clear(&w->pl);
  enum blok_err rc = blok_kind_from_json(kind(w, type), p, &w->pl, &why);
  if (rc != code || strstr(why.msg, text) == NULL)
    fail_msg("%s: want %s (\"%s\"), got %s (\"%s\")", type, blok_err_name(code), text,
             blok_err_name(rc), why.msg);
  json_decref(p);
}

static void test_json_refusals(void **state) {
  (void)state;
  static struct world w;
  world_open(&w);
  const char *vin = "1HGCM82633A004352";
  from_json_refused(&w, "odometer", json_pack("{s:s, s:i, s:i}", "vin", vin, "km", 1, "miles", 2),
                    BLOK_EFORMAT, "unknown field miles");
  from_json_refused(&w, "odometer", json_pack("{s:s, s:s}", "vin", vin, "km", "ten"), BLOK_EFORMAT,
                    "payload.km: a non-negative integer");
  from_json_refused(&w, "odometer", json_pack("{s:s, s:i}", "vin", vin, "km", -1), BLOK_EFORMAT,
                    "payload.km");
  from_json_refused(&w, "odometer", json_pack("{s:s}", "vin", vin), BLOK_EFORMAT,
                    "payload.km is required");
  from_json_refused(&w, "odometer", json_pack("{s:i}", "km", 1), BLOK_EFORMAT,
                    "payload.vin is required");
  from_json_refused(&w, "odometer", json_pack("{s:i, s:i}", "vin", 5, "km", 1), BLOK_EFORMAT,
                    "payload.vin: a string");
  from_json_refused(&w, "odometer", json_pack("{s:s, s:I}", "vin", vin, "km", (json_int_t)10000001),
                    BLOK_ERANGE, "above the limit of 10000000 km");
  from_json_refused(&w, "odometer", p_km("1HGCM82633A00435", 1), BLOK_EVIN,
                    "wrong length: expected 17 characters, found 16");
  from_json_refused(&w, "odometer", p_km("1HGCM82633A0O4352", 1), BLOK_EVIN,
                    "invalid character 'O' at position 13");
  from_json_refused(&w, "odometer", p_km("1HGCM82643A004352", 1), BLOK_EVIN,
                    "wrong check digit at position 9: expected '3', found '4'");
  from_json_refused(&w, "brand", p_str(vin, "brand", "stolen"), BLOK_EINVAL,
                    "payload.brand: one of salvage, flood, rebuilt, lemon, junk");
  from_json_refused(&w, "lien", p_str(vin, "action", "PLACE"), BLOK_EINVAL, "place, release");
  from_json_refused(&w, "accident",
                    json_pack("{s:s, s:s, s:i, s:b}", "vin", vin, "severity", "minor",
                              "airbag_deployed", 1, "structural_damage", 0),
                    BLOK_EFORMAT, "payload.airbag_deployed: true or false");
  from_json_refused(&w, "service", p_str(vin, "summary", ""), BLOK_ETOOLONG, "payload.summary");
  from_json_refused(&w, "service", p_str(vin, "summary", "line\nbreak"), BLOK_EUTF8,
                    "control characters");
  char longtext[202];
  memset(longtext, 'a', 201);
  longtext[201] = '\0';
  from_json_refused(&w, "service", p_str(vin, "summary", longtext), BLOK_ETOOLONG,
                    "1 to 200 bytes");
  from_json_refused(&w, "service",
                    json_pack("{s:s, s:s, s:n}", "vin", vin, "summary", "x", "document"),
                    BLOK_EFORMAT, "payload.document: leave the field out");
  from_json_refused(&w, "service",
                    json_pack("{s:s, s:s, s:s}", "vin", vin, "summary", "x", "document", "abcd"),
                    BLOK_EHEX, "payload.document: 64 hex digits");
  from_json_refused(&w, "register",
                    json_pack("{s:s, s:i, s:s, s:s, s:s}", "vin", vin, "model_year", 1975, "make",
                              "Honda", "model", "Civic", "owner", w.hex[OWNER1]),
                    BLOK_ERANGE, "payload.model_year: 1975 is not a model year in 1980..2100");
  /* The identity point is a small-order key: refused as an owner. */
  from_json_refused(&w, "register",
                    json_pack("{s:s, s:i, s:s, s:s, s:s}", "vin", vin, "model_year", 2003, "make",
                              "Honda", "model", "Civic", "owner",
                              "0100000000000000000000000000000000000000000000000000000000000000"),
                    BLOK_EBADKEY, "payload.owner: not a valid ed25519 public key");
  from_json_refused(&w, "transfer_offer",
                    json_pack("{s:s, s:s, s:i, s:s}", "vin", vin, "new_owner", w.hex[OWNER1],
                              "expiry_height", 5, "consent", "00"),
                    BLOK_EHEX, "payload.consent: 128 hex digits");
  from_json_refused(&w, "transfer_accept", json_pack("[]"), BLOK_EFORMAT, "an object");
  world_close(&w);
}

/* The binary form: the canonical layout, and the strict decoder's refusals. */
static void test_payload_binary(void **state) {
  (void)state;
  static struct world w;
  world_open(&w);
  const struct blok_tx_kind *odo = kind(&w, "odometer");
  struct blok_why why = {{0}};
  uint8_t b[64];
  /* docs/PROTOCOL.md's worked example: odometer 1HGCM82633A004352 at 123,456 km. */
  size_t n = test_unhex(b, sizeof b,
                        "11000000"
                        "314847434d383236333341303034333532"
                        "40e2010000000000");
  payload(&w, "odometer", p_km("1HGCM82633A004352", 123456));
  assert_int_equal(w.pl.len, n);
  assert_memory_equal(w.pl.data, b, n);
  assert_int_equal(blok_kind_check(odo, b, n, &why), BLOK_OK);
  for (size_t i = 0; i < n; i++) {
    why.msg[0] = '\0';
    assert_int_not_equal(blok_kind_check(odo, b, i, &why), BLOK_OK);
    assert_null(blok_kind_to_json(odo, b, i));
  }
  b[n] = 0;
  why.msg[0] = '\0';
  assert_int_equal(blok_kind_check(odo, b, n + 1, &why), BLOK_ETRAILING);
  /* Lower case is refused in the binary form: a VIN has one encoding. */
  b[4 + 1] = 'h';
  why.msg[0] = '\0';
  assert_int_equal(blok_kind_check(odo, b, n, &why), BLOK_EVIN);
  assert_non_null(strstr(why.msg, "upper case"));
  b[4 + 1] = 'H';
  /* Wrong North American check digit. */
  b[4 + 8] = '4';
  why.msg[0] = '\0';
  assert_int_equal(blok_kind_check(odo, b, n, &why), BLOK_EVIN);
  assert_non_null(strstr(why.msg, "check digit"));
  b[4 + 8] = '3';
  /* Above the km limit. */
  uint8_t big[8] = {0x81, 0x96, 0x98, 0, 0, 0, 0, 0}; /* 10,000,001 */
  memcpy(b + 21, big, 8);
  why.msg[0] = '\0';
  assert_int_equal(blok_kind_check(odo, b, n, &why), BLOK_ERANGE);
  /* An enumeration out of range, a bool that is neither 0 nor 1. */
  payload(&w, "brand", p_str("1HGCM82633A004352", "brand", "junk"));
  w.pl.data[21] = 6;
  why.msg[0] = '\0';
  assert_int_equal(blok_kind_check(kind(&w, "brand"), w.pl.data, w.pl.len, &why), BLOK_ERANGE);
  payload(&w, "inspection", p_inspection("1HGCM82633A004352", 5));
  w.pl.data[21] = 2;
  why.msg[0] = '\0';
  assert_int_equal(blok_kind_check(kind(&w, "inspection"), w.pl.data, w.pl.len, &why),
                   BLOK_EFORMAT);
  /* A European VIN with a check digit that does not match is valid (not verified). */
  payload(&w, "odometer", p_km("WVWZZZ1JZXW000001", 1));
  /* Chain step: SHA-256 of head || tx id || u64 height || u64 time, little-endian. */
  uint8_t head[32], id[32], want[32], m[80];
  memset(head, 0xaa, 32);
  memset(id, 0xbb, 32);
  memcpy(m, head, 32);
  memcpy(m + 32, id, 32);
  test_unhex(m + 64, 16,
             "0201000000000000"
             "e86be5cf8b010000");
  blok_sha256(want, m, sizeof m);
  blok_vehicle_chain_next(head, id, 258, 1700000001000);
  assert_memory_equal(head, want, 32);
  /* docs/PROTOCOL.md's worked example, computed independently with Python's hashlib. */
  test_unhex(want, 32, "6a0be8e84b3431713229154c65d309562c5bec4bdfdb9784e6019716699301ff");
  assert_memory_equal(head, want, 32);
  uint8_t key[19];
  blok_vehicle_state_key(key, "1HGCM82633A004352");
  assert_memory_equal(key, "v/1HGCM82633A004352", 19);
  world_close(&w);
}

static void sample_record(struct blok_vehicle_record *r) {
  memset(r, 0, sizeof *r);
  r->version = 1;
  memcpy(r->vin, "1HGCM82633A004352", 18);
  r->status = BLOK_VEHICLE_ACTIVE;
  r->model_year = 2003;
  memcpy(r->make, "Honda", 6);
  memcpy(r->model, "Accord", 7);
  memset(r->owner, 1, 32);
  r->has_vehicle_key = true;
  memset(r->vehicle_key, 2, 32);
  r->lien_open = true;
  memcpy(r->lien_holder, "First Coast Auto Finance", 25);
  r->brands = 1 | 4;
  r->odometer_high_km = 5000;
  r->odometer_last_km = 4000;
  r->rollbacks = 1;
  r->owners = 2;
  r->accidents = 3;
  r->has_offer = true;
  memset(r->offer_to, 3, 32);
  r->offer_expiry_height = 77;
  r->registered_height = 4;
  r->event_count = 9;
  memset(r->chain_head, 5, 32);
}

static void test_record_codec(void **state) {
  (void)state;
  struct blok_vehicle_record r, back;
  struct blok_buf b;
  blok_buf_init(&b, 1024);
  sample_record(&r);
  assert_int_equal(blok_vehicle_record_encode(&b, &r), BLOK_OK);
  assert_int_equal(blok_vehicle_record_decode(b.data, b.len, &back), BLOK_OK);
  assert_memory_equal(&r, &back, sizeof r);
  for (size_t i = 0; i < b.len; i++)
    assert_int_not_equal(blok_vehicle_record_decode(b.data, i, &back), BLOK_OK);
  assert_int_equal(blok_buf_append(&b, "", 1), BLOK_OK);
  assert_int_equal(blok_vehicle_record_decode(b.data, b.len, &back), BLOK_ETRAILING);
  /* Every opt field absent: the smallest record. */
  r.has_vehicle_key = r.lien_open = r.has_offer = false;
  memset(r.vehicle_key, 0, 32);
  memset(r.lien_holder, 0, sizeof r.lien_holder);
  memset(r.offer_to, 0, 32);
  r.offer_expiry_height = 0;
  blok_buf_clear(&b);
  assert_int_equal(blok_vehicle_record_encode(&b, &r), BLOK_OK);
  assert_int_equal(b.len, 1 + 21 + 1 + 2 + 9 + 10 + 32 + 1 + 1 + 1 + 16 + 12 + 1 + 24 + 32);
  assert_int_equal(blok_vehicle_record_decode(b.data, b.len, &back), BLOK_OK);
  assert_memory_equal(&r, &back, sizeof r);
  /* The decoder refuses what the encoder would not write. */
  struct {
    size_t at;
    uint8_t byte;
    enum blok_err want;
  } bad[] = {
      {0, 2, BLOK_EFORMAT},  /* version */
      {13, '4', BLOK_EVIN},  /* the VIN's check digit */
      {6, 'h', BLOK_EVIN},   /* lower case */
      {22, 3, BLOK_EFORMAT}, /* status */
      {23, 0, BLOK_EFORMAT}, /* model year 1792 */
  };
  for (size_t i = 0; i < BLOK_ARRAY_LEN(bad); i++) {
    uint8_t copy[512];
    memcpy(copy, b.data, b.len);
    copy[bad[i].at] = bad[i].byte;
    assert_int_equal(blok_vehicle_record_decode(copy, b.len, &back), bad[i].want);
  }
  /* The encoder refuses a record the decoder would refuse. */
  struct blok_vehicle_record x = r;
  x.brands = 0x20;
  assert_int_equal(blok_vehicle_record_encode(&b, &x), BLOK_EINVAL);
  x = r;
  x.status = BLOK_VEHICLE_RETIRED; /* retired with no retirement height */
  assert_int_equal(blok_vehicle_record_encode(&b, &x), BLOK_EINVAL);
  x = r;
  x.make[0] = '\0';
  assert_int_equal(blok_vehicle_record_encode(&b, &x), BLOK_EINVAL);
  /* JSON. */
  sample_record(&r);
  json_t *j = blok_vehicle_record_to_json(&r);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "active");
  assert_string_equal(json_string_value(json_object_get(j, "lien_holder")),
                      "First Coast Auto Finance");
  json_t *brands = json_object_get(j, "brands");
  assert_int_equal(json_array_size(brands), 2);
  assert_string_equal(json_string_value(json_array_get(brands, 0)), "salvage");
  assert_string_equal(json_string_value(json_array_get(brands, 1)), "rebuilt");
  assert_int_equal(json_integer_value(json_object_get(j, "offer_expiry_height")), 77);
  assert_int_equal(json_integer_value(json_object_get(j, "event_count")), 9);
  json_decref(j);
  blok_buf_release(&b);
}

/* --- the life of a vehicle ---------------------------------------------------------------- */

/* Block 1: registration and odometer readings, rollbacks and a new cluster. */
static void life_readings(struct world *w, const char *vin) {
  struct blok_vehicle_record r;
  begin(w);
  ok(w, MAKER, "register", p_register(w, vin, OWNER1, true));
  refused(w, MAKER, "register", p_register(w, vin, OWNER1, true), BLOK_EEXIST,
          "is already registered (at height 1)");
  ok(w, CAR, "odometer", p_km(vin, 1000));
  ok(w, SERVICE, "odometer", p_km(vin, 5000));
  ok(w, CAR, "odometer", p_km(vin, 4000)); /* a rollback: kept, flagged */
  get_record(w, vin, &r);
  assert_int_equal(r.odometer_high_km, 5000);
  assert_int_equal(r.odometer_last_km, 4000);
  assert_int_equal(r.rollbacks, 1);
  ok(w, REGISTRY, "inspection", p_inspection(vin, 3000)); /* judged as a reading */
  ok(w, SERVICE, "cluster_replace", p_cluster(vin, 4100, 0));
  get_record(w, vin, &r);
  assert_int_equal(r.rollbacks, 2);
  assert_int_equal(r.odometer_high_km, 0);
  assert_int_equal(r.odometer_last_km, 0);
  ok(w, CAR, "odometer", p_km(vin, 100)); /* judged from the new cluster: no rollback */
  get_record(w, vin, &r);
  assert_int_equal(r.rollbacks, 2);
  assert_int_equal(r.odometer_high_km, 100);
  assert_int_equal(r.event_count, 7);
  commit(w);
}

/* Block 2: service history, brands and liens. */
static void life_title(struct world *w, const char *vin) {
  struct blok_vehicle_record r;
  begin(w);
  ok(w, SERVICE, "service", p_summary(vin, "oil and filters"));
  ok(w, INSURER, "repair", p_summary(vin, "windscreen"));
  ok(w, SERVICE, "repair", p_summary(vin, "door"));
  ok(w, INSURER, "accident", p_accident(vin));
  ok(w, INSURER, "brand", p_str(vin, "brand", "salvage"));
  refused(w, REGISTRY, "brand", p_str(vin, "brand", "salvage"), BLOK_EEXIST,
          "already carries the salvage brand");
  ok(w, REGISTRY, "brand", p_str(vin, "brand", "flood"));
  ok(w, LENDER, "lien", p_str(vin, "action", "place"));
  refused(w, LENDER2, "lien", p_str(vin, "action", "place"), BLOK_EEXIST,
          "a lien held by First Coast Auto Finance is already open");
  /* The owner is no member: its offer is judged in full at admission. */
  denied(w, OWNER1, "transfer_offer", p_offer(w, vin, OWNER2, 100), BLOK_EREFUSED,
         "a lien held by First Coast Auto Finance is open on vin " /* ... */);
  refused(w, LENDER2, "lien", p_str(vin, "action", "release"), BLOK_ENOTPERMITTED,
          "is held by First Coast Auto Finance; only First Coast Auto Finance or a registry");
  ok(w, LENDER, "lien", p_str(vin, "action", "release"));
  refused(w, LENDER, "lien", p_str(vin, "action", "release"), BLOK_EREFUSED, "no lien is open");
  ok(w, LENDER2, "lien", p_str(vin, "action", "place"));
  ok(w, REGISTRY, "lien", p_str(vin, "action", "release")); /* a registry releases any lien */
  get_record(w, vin, &r);
  assert_int_equal(r.brands, 1 | 2);
  assert_int_equal(r.accidents, 1);
  assert_false(r.lien_open);
  commit(w);
}

/* Blocks 3-5: an owner's offer, its expiry, acceptance, then a dealer's offer with consent. */
static void life_transfers(struct world *w, const char *vin) {
  struct blok_vehicle_record r;
  begin(w); /* height 3 */
  ok(w, LENDER, "lien", p_str(vin, "action", "place"));
  denied(w, OWNER1, "transfer_offer", p_offer(w, vin, OWNER2, 100), BLOK_EREFUSED,
         "a lien held by First Coast Auto Finance is open on vin");
  ok(w, LENDER, "lien", p_str(vin, "action", "release"));
  denied(w, OWNER1, "transfer_offer", p_offer(w, vin, OWNER1, 100), BLOK_EINVAL,
         "already the owner");
  denied(w, OWNER1, "transfer_offer", p_offer(w, vin, OWNER2, 2), BLOK_EEXPIRED,
         "expiry height 2 has passed");
  denied(w, STRANGER, "transfer_offer", p_offer(w, vin, OWNER2, 100), BLOK_ENOTPERMITTED,
         "only the owner of vin");
  denied(w, DEALER, "transfer_offer", p_offer(w, vin, OWNER2, 100), BLOK_ENOTPERMITTED,
         "only the owner of vin");
  denied(w, OWNER2, "transfer_accept", p_vin(vin), BLOK_ENOTPERMITTED,
         "has no pending transfer offer");
  ok(w, OWNER1, "transfer_offer", p_offer(w, vin, OWNER2, 4));
  denied(w, STRANGER, "transfer_accept", p_vin(vin), BLOK_ENOTPERMITTED,
         "only the key the transfer offer of vin");
  denied(w, DEALER, "transfer_accept", p_vin(vin), BLOK_ENOTPERMITTED,
         "only the key the transfer offer of vin");
  commit(w);
  begin(w); /* height 4: the offer's last height, left to pass */
  commit(w);
  begin(w); /* height 5 */
  denied(w, OWNER2, "transfer_accept", p_vin(vin), BLOK_EEXPIRED, "expired at height 4");
  ok(w, OWNER1, "transfer_offer", p_offer(w, vin, OWNER2, 100));
  ok(w, OWNER2, "transfer_accept", p_vin(vin));
  get_record(w, vin, &r);
  assert_memory_equal(r.owner, w->k[OWNER2].pk, 32);
  assert_int_equal(r.owners, 2);
  assert_false(r.has_offer);
  /* A dealer offers for the owner with the owner's consent; nothing else will do. */
  denied(w, DEALER, "transfer_offer", p_consent(w, vin, OWNER1, OWNER1, 100, 100),
         BLOK_ENOTPERMITTED, "the consent is not the signature of vin");
  denied(w, DEALER, "transfer_offer", p_consent(w, vin, OWNER2, OWNER1, 100, 101),
         BLOK_ENOTPERMITTED, "the consent is not the signature");
  denied(w, SERVICE, "transfer_offer", p_consent(w, vin, OWNER2, OWNER1, 100, 100),
         BLOK_ENOTPERMITTED, "sent by a dealer member");
  denied(w, OWNER2, "transfer_offer", p_consent(w, vin, OWNER2, OWNER1, 100, 100),
         BLOK_ENOTPERMITTED, "sent by a dealer member");
  ok(w, DEALER, "transfer_offer", p_consent(w, vin, OWNER2, OWNER1, 100, 100));
  get_record(w, vin, &r);
  assert_true(r.has_offer);
  assert_memory_equal(r.offer_to, w->k[OWNER1].pk, 32);
  ok(w, OWNER1, "transfer_accept", p_vin(vin));
  get_record(w, vin, &r);
  assert_memory_equal(r.owner, w->k[OWNER1].pk, 32);
  assert_int_equal(r.owners, 3);
  /* The vehicle's key, cleared and set again by the manufacturer owning the WMI. */
  ok(w, MAKER, "rotate_key", p_vin(vin));
  denied(w, CAR, "odometer", p_km(vin, 200), BLOK_ENOTPERMITTED, "only the vehicle's own key");
  ok(w, MAKER, "rotate_key", p_str(vin, "vehicle_key", w->hex[CAR]));
  ok(w, CAR, "odometer", p_km(vin, 200));
  denied(w, MAKER2, "rotate_key", p_vin(vin), BLOK_ENOTPERMITTED,
         "member Other Motors does not own wmi 1HG");
  commit(w);
}

/* Block 6: end of life; then nothing, from anyone, is recorded. */
static void life_end(struct world *w, const char *vin) {
  struct blok_vehicle_record r;
  begin(w);
  ok(w, OWNER1, "transfer_offer", p_offer(w, vin, OWNER2, 100));
  ok(w, RECYCLER, "end_of_life", p_end(vin));
  get_record(w, vin, &r);
  assert_int_equal(r.status, BLOK_VEHICLE_RETIRED);
  assert_int_equal(r.retired_height, 6);
  assert_false(r.has_offer);
  const char *msg = "was retired at height 6; nothing more can be recorded on it";
  refused(w, MAKER, "rotate_key", p_vin(vin), BLOK_EREFUSED, msg);
  refused(w, LENDER, "lien", p_str(vin, "action", "place"), BLOK_EREFUSED, msg);
  refused(w, INSURER, "brand", p_str(vin, "brand", "junk"), BLOK_EREFUSED, msg);
  refused(w, SERVICE, "odometer", p_km(vin, 300), BLOK_EREFUSED, msg);
  refused(w, SERVICE, "cluster_replace", p_cluster(vin, 300, 0), BLOK_EREFUSED, msg);
  refused(w, SERVICE, "service", p_summary(vin, "x"), BLOK_EREFUSED, msg);
  refused(w, INSURER, "repair", p_summary(vin, "x"), BLOK_EREFUSED, msg);
  refused(w, REGISTRY, "accident", p_accident(vin), BLOK_EREFUSED, msg);
  refused(w, REGISTRY, "inspection", p_inspection(vin, 300), BLOK_EREFUSED, msg);
  refused(w, REGISTRY, "end_of_life", p_end(vin), BLOK_EREFUSED, msg);
  refused(w, DEALER, "transfer_offer", p_consent(w, vin, OWNER1, OWNER2, 100, 100), BLOK_EREFUSED,
          msg);
  refused(w, MAKER, "register", p_register(w, vin, OWNER2, false), BLOK_EEXIST,
          "retired at height 6; a retired vin is never registered again");
  /* Keys of no member are refused at admission, with the same sentence. */
  denied(w, CAR, "odometer", p_km(vin, 300), BLOK_EREFUSED, msg);
  denied(w, OWNER1, "transfer_offer", p_offer(w, vin, OWNER2, 100), BLOK_EREFUSED, msg);
  denied(w, OWNER2, "transfer_accept", p_vin(vin), BLOK_EREFUSED, msg);
  get_record(w, vin, &r);
  assert_int_equal(r.status, BLOK_VEHICLE_RETIRED);
  commit(w);
}

static void test_life(void **state) {
  (void)state;
  static struct world w;
  world_open(&w);
  const char *vin = "1HGCM82633A004352";
  life_readings(&w, vin);
  life_title(&w, vin);
  life_transfers(&w, vin);
  life_end(&w, vin);
  /* The rollback events keep their flag and the highest before them. */
  struct blok_txn *t;
  static struct blok_vehicle_event ev[64];
  size_t count;
  uint64_t next;
  assert_int_equal(blok_store_read_begin(w.store, &t), BLOK_OK);
  assert_int_equal(blok_vehicle_history(t, vin, 0, 64, false, ev, &count, &next), BLOK_OK);
  blok_store_read_end(t);
  assert_int_equal(next, 0);
  assert_int_equal(count, 29);
  assert_false(ev[2].rollback); /* 5000 after 1000 */
  assert_int_equal(ev[2].previous_high_km, 1000);
  assert_true(ev[3].rollback); /* 4000 below 5000 */
  assert_int_equal(ev[3].previous_high_km, 5000);
  assert_true(ev[4].rollback); /* the inspection's 3000 */
  assert_int_equal(ev[4].previous_high_km, 5000);
  assert_false(ev[6].rollback); /* 100 after the new cluster */
  assert_int_equal(ev[6].previous_high_km, 0);
  assert_string_equal(ev[0].signer_name, "Acme Motors");
  assert_string_equal(ev[0].signer_role, "manufacturer");
  assert_string_equal(ev[1].signer_name, "");
  assert_string_equal(ev[1].signer_role, "vehicle");
  assert_string_equal(ev[2].signer_name, "Quick Lube Service");
  assert_string_equal(ev[2].signer_role, "service");
  assert_string_equal(ev[20].signer_role, "owner"); /* the owner's offer */
  assert_string_equal(ev[21].signer_name, "");
  assert_string_equal(ev[21].signer_role, "owner"); /* the accept by the new owner */
  assert_string_equal(ev[22].signer_name, "Main Street Dealer");
  assert_string_equal(ev[22].signer_role, "dealer");
  world_close(&w);
}

/* --- refusals ----------------------------------------------------------------------------- */

static void test_refusals(void **state) {
  (void)state;
  static struct world w;
  world_open(&w);
  char vin[18], other[18], bad[18];
  make_vin(vin, "1HG", 1);
  make_vin(other, "2HG", 2);
  memcpy(bad, vin, 18);
  bad[8] = bad[8] == '0' ? '1' : '0';
  begin(&w);
  /* A wrong North American check digit, a bad length: refused by the stateless check. */
  struct blok_tx_result res;
  struct blok_why why;
  uint8_t raw[64];
  size_t n = 0;
  memcpy(raw, "\x11\0\0\0", 4);
  n += 4;
  memcpy(raw + n, bad, 17);
  n += 17;
  memset(raw + n, 0, 8);
  n += 8;
  assert_int_equal(send_raw(&w, SERVICE, "odometer", raw, n, &res, &why), BLOK_EVIN);
  assert_non_null(strstr(why.msg, "wrong check digit at position 9"));
  raw[0] = 16;
  assert_int_not_equal(send_raw(&w, SERVICE, "odometer", raw, n - 1, &res, &why), BLOK_OK);
  /* Registration: the WMI's manufacturer only. */
  denied(&w, MAKER, "register", p_register(&w, other, OWNER1, false), BLOK_ENOTPERMITTED,
         "member Acme Motors does not own wmi 2HG, so it may not register vin");
  denied(&w, DEALER, "register", p_register(&w, vin, OWNER1, false), BLOK_ENOTPERMITTED,
         "member Main Street Dealer is no manufacturer");
  denied(&w, STRANGER, "register", p_register(&w, vin, OWNER1, false), BLOK_ENOTPERMITTED,
         "sender key belongs to no member");
  ok(&w, MAKER2, "register", p_register(&w, other, OWNER1, false));
  /* Not registered: a member's transaction is refused in the block, a stranger's at the door. */
  refused(&w, SERVICE, "odometer", p_km(vin, 1), BLOK_ENOTFOUND, "is not registered");
  refused(&w, LENDER, "lien", p_str(vin, "action", "place"), BLOK_ENOTFOUND, "is not registered");
  denied(&w, CAR, "odometer", p_km(vin, 1), BLOK_ENOTFOUND, "is not registered");
  denied(&w, OWNER1, "transfer_offer", p_offer(&w, vin, OWNER2, 100), BLOK_ENOTFOUND,
         "is not registered");
  denied(&w, OWNER1, "transfer_accept", p_vin(vin), BLOK_ENOTFOUND, "is not registered");
  /* European VIN: its check digit is not verified, and it registers. */
  ok(&w, MAKER, "register", p_register(&w, "WVWZZZ1JZXW000001", OWNER1, true));
  ok(&w, MAKER, "register", p_register(&w, vin, OWNER1, true));
  /* Roles: each kind from a member without the role, and from a key of no member. */
  struct {
    const char *type;
    json_t *p;
    enum who from;
    const char *text;
  } wrong[] = {
      {"rotate_key", p_vin(vin), SERVICE, "member Quick Lube Service is no manufacturer"},
      {"rotate_key", p_vin(vin), OWNER1, "sender key belongs to no member"},
      {"lien", p_str(vin, "action", "place"), INSURER,
       "member Safe Insurance has no role that may send vehicle/lien (lender or registry)"},
      {"brand", p_str(vin, "brand", "flood"), DEALER, "(insurer or registry)"},
      {"odometer", p_km(vin, 5), INSURER, "only the vehicle's own key"},
      {"odometer", p_km(vin, 5), STRANGER, "only the vehicle's own key"},
      {"cluster_replace", p_cluster(vin, 5, 0), REGISTRY, "(service)"},
      {"service", p_summary(vin, "x"), INSURER, "(service)"},
      {"repair", p_summary(vin, "x"), REGISTRY, "(service or insurer)"},
      {"accident", p_accident(vin), DEALER, "(insurer, service or registry)"},
      {"inspection", p_inspection(vin, 5), INSURER, "(service or registry)"},
      {"end_of_life", p_end(vin), SERVICE, "(recycler or registry)"},
      {"lien", p_str(vin, "action", "place"), STRANGER,
       "sender key belongs to no member; vehicle/lien is sent by a lender or registry member"},
      {"brand", p_str(vin, "brand", "flood"), OWNER1, "sender key belongs to no member"},
      {"service", p_summary(vin, "x"), CAR, "sender key belongs to no member"},
      {"end_of_life", p_end(vin), OWNER1, "sender key belongs to no member"},
  };
  for (size_t i = 0; i < BLOK_ARRAY_LEN(wrong); i++)
    denied(&w, wrong[i].from, wrong[i].type, wrong[i].p, BLOK_ENOTPERMITTED, wrong[i].text);
  /* Only the module's refusals of members are in the block: keys of no member never get a
   * transaction in only to fail there. */
  assert_int_equal(blok_exec_tx_count(w.x), 5);
  commit(&w);
  world_close(&w);
}

/* --- history ------------------------------------------------------------------------------ */

#define HISTORY_EVENTS 2500

static void read_history(struct world *w, const char *vin, uint64_t cursor, size_t limit, bool desc,
                         struct blok_vehicle_event *out, size_t *count, uint64_t *next) {
  struct blok_txn *t;
  assert_int_equal(blok_store_read_begin(w->store, &t), BLOK_OK);
  enum blok_err rc = blok_vehicle_history(t, vin, cursor, limit, desc, out, count, next);
  blok_store_read_end(t);
  assert_int_equal(rc, BLOK_OK);
}

/* The whole history by pages of `page`; returns the count, checks n runs 1.. or ..1. */
static size_t walk_all(struct world *w, const char *vin, size_t page, bool desc,
                       struct blok_vehicle_event *all) {
  size_t total = 0, count;
  uint64_t cursor = 0, next;
  do {
    read_history(w, vin, cursor, page, desc, all + total, &count, &next);
    total += count;
    assert_true(count == page || next == 0);
    cursor = next;
  } while (next != 0);
  return total;
}

static void fill_history(struct world *w, const char *vin, const char *neighbour) {
  size_t sent = 0;
  begin(w);
  ok(w, MAKER, "register", p_register(w, vin, OWNER1, true));
  ok(w, MAKER, "register", p_register(w, neighbour, OWNER2, false));
  sent = 1;
  while (sent < HISTORY_EVENTS) {
    if (blok_exec_tx_count(w->x) >= 500) {
      commit(w);
      begin(w);
    }
    enum who from = sent % 3 == 0 ? SERVICE : CAR;
    ok(w, from, "odometer", p_km(vin, (json_int_t)(sent * 10)));
    if (sent % 250 == 0) ok(w, SERVICE, "odometer", p_km(neighbour, (json_int_t)sent));
    sent++;
  }
  commit(w);
}

static void test_history(void **state) {
  (void)state;
  static struct world w;
  static struct blok_vehicle_event asc[HISTORY_EVENTS + 1], desc[HISTORY_EVENTS + 1];
  char vin[18], neighbour[18];
  world_open(&w);
  make_vin(vin, "1HG", 500);
  make_vin(neighbour, "1HG", 501);
  fill_history(&w, vin, neighbour);

  /* Every page size walks the same events, in order, both ways. */
  assert_int_equal(walk_all(&w, vin, 100, false, asc), HISTORY_EVENTS);
  for (size_t i = 0; i < HISTORY_EVENTS; i++)
    assert_int_equal(asc[i].n, i + 1);
  assert_int_equal(walk_all(&w, vin, 333, true, desc), HISTORY_EVENTS);
  for (size_t i = 0; i < HISTORY_EVENTS; i++)
    assert_memory_equal(&desc[i], &asc[HISTORY_EVENTS - 1 - i], sizeof desc[i]);
  assert_int_equal(walk_all(&w, vin, BLOK_VEHICLE_HISTORY_PAGE_MAX, false, desc), HISTORY_EVENTS);
  assert_int_equal(walk_all(&w, vin, 1, true, desc), HISTORY_EVENTS);

  /* The chain over the index's tx ids, heights and times is the record's. */
  begin(&w);
  struct blok_vehicle_record r;
  get_record(&w, vin, &r);
  commit(&w);
  uint8_t head[32] = {0};
  for (size_t i = 0; i < HISTORY_EVENTS; i++) {
    blok_vehicle_chain_next(head, asc[i].tx_id, asc[i].height, asc[i].time_ms);
    if (i % 97 == 0 || i + 1 == HISTORY_EVENTS) {
      /* ... and each tx id is where the index says. */
      struct blok_tx_location loc;
      assert_int_equal(blok_ledger_tx(w.l, asc[i].tx_id, &loc), BLOK_OK);
      assert_int_equal(loc.height, asc[i].height);
      assert_int_equal(loc.position, asc[i].position);
      assert_int_equal(loc.result.code, BLOK_OK);
    }
  }
  assert_int_equal(r.event_count, HISTORY_EVENTS);
  assert_memory_equal(head, r.chain_head, 32);
  assert_string_equal(asc[1].signer_role, "vehicle");
  assert_string_equal(asc[3].signer_role, "service");
  assert_memory_equal(asc[1].signer, w.k[CAR].pk, 32);
  assert_int_equal(asc[0].position, 0);
  assert_int_equal(asc[1].position, 2); /* after both registrations */

  /* Cursors in the middle, the ends, the neighbour's own history. */
  size_t count;
  uint64_t next;
  read_history(&w, vin, 1234, 10, false, asc, &count, &next);
  assert_int_equal(count, 10);
  assert_int_equal(asc[0].n, 1235);
  assert_int_equal(next, 1244);
  read_history(&w, vin, 1234, 10, true, asc, &count, &next);
  assert_int_equal(asc[0].n, 1233);
  assert_int_equal(asc[9].n, 1224);
  assert_int_equal(next, 1224);
  read_history(&w, vin, 2495, 10, false, asc, &count, &next);
  assert_int_equal(count, 5);
  assert_int_equal(next, 0);
  read_history(&w, vin, 3, 10, true, asc, &count, &next);
  assert_int_equal(count, 2);
  assert_int_equal(asc[1].n, 1);
  assert_int_equal(next, 0);
  read_history(&w, vin, 2500, 10, false, asc, &count, &next);
  assert_int_equal(count, 0);
  read_history(&w, neighbour, 0, 100, false, asc, &count, &next);
  assert_int_equal(count, 1 + (HISTORY_EVENTS - 1) / 250);
  assert_int_equal(next, 0);
  read_history(&w, "1hgcm82633a004352", 0, 10, false, asc, &count, &next);
  assert_int_equal(count, 0); /* never registered; lower case is accepted */

  /* Limits. */
  struct blok_txn *t;
  assert_int_equal(blok_store_read_begin(w.store, &t), BLOK_OK);
  assert_int_equal(blok_vehicle_history(t, vin, 0, 0, false, asc, &count, &next), BLOK_EINVAL);
  assert_int_equal(
      blok_vehicle_history(t, vin, 0, BLOK_VEHICLE_HISTORY_PAGE_MAX + 1, false, asc, &count, &next),
      BLOK_EINVAL);
  assert_int_equal(blok_vehicle_history(t, "1HGCM82643A004352", 0, 5, false, asc, &count, &next),
                   BLOK_EVIN);
  blok_store_read_end(t);
  world_close(&w);
}

/* --- state queries ------------------------------------------------------------------------ */

static void test_state_query(void **state) {
  (void)state;
  static struct world w;
  world_open(&w);
  const char *vin = "1HGCM82633A004352";
  begin(&w);
  ok(&w, MAKER, "register", p_register(&w, vin, OWNER1, false));
  commit(&w);
  const struct blok_module *m = blok_registry_module(&w.reg, BLOK_VEHICLE_MODULE);
  struct blok_buf key, val;
  struct blok_why why = {{0}};
  blok_buf_init(&key, BLOK_STATE_KEY_MAX);
  blok_buf_init(&val, BLOK_STATE_VALUE_MAX);
  assert_int_equal(m->state_key("v/1hgcm82633a004352", &key, &why), BLOK_OK);
  assert_int_equal(key.len, 19);
  assert_memory_equal(key.data, "v/1HGCM82633A004352", 19);
  static struct blok_smt_proof proof;
  struct blok_header h;
  bool found;
  assert_int_equal(
      blok_ledger_state(w.l, BLOK_VEHICLE_MODULE, key.data, key.len, &found, &val, &proof, &h),
      BLOK_OK);
  assert_true(found);
  json_t *j = m->state_to_json(key.data, key.len, val.data, val.len);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "vin")), vin);
  assert_string_equal(json_string_value(json_object_get(j, "owner")), w.hex[OWNER1]);
  assert_true(json_is_null(json_object_get(j, "vehicle_key")));
  assert_int_equal(json_integer_value(json_object_get(j, "event_count")), 1);
  json_decref(j);
  blok_buf_clear(&key);
  assert_int_equal(m->state_key("v/1HGCM82643A004352", &key, &why), BLOK_EVIN);
  assert_non_null(strstr(why.msg, "check digit"));
  why.msg[0] = '\0';
  assert_int_equal(m->state_key("1HGCM82633A004352", &key, &why), BLOK_EINVAL);
  blok_buf_release(&key);
  blok_buf_release(&val);
  world_close(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_round_trips),
      cmocka_unit_test(test_json_refusals),
      cmocka_unit_test(test_payload_binary),
      cmocka_unit_test(test_record_codec),
      cmocka_unit_test(test_life),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_history),
      cmocka_unit_test(test_state_query),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
