/*
 * The verifiable history report (blok/report.h) end to end: a chain built with the vehicle
 * module, a vehicle with sixteen events (registration, readings by the vehicle and a service
 * centre, a transfer, a lien placed and released, an accident, a brand, a rollback, a repair,
 * an inspection, a key rotation, a cluster replacement), its report built and verified, and the
 * ways a report can be wrong: every single byte of a small bundle's text changed (two or three
 * ways per byte), a random sample of a big bundle's bytes (201 events), an event removed, two
 * swapped, each part tampered with (each failing the check that covers it), and another chain's
 * genesis. A retired vehicle's report verifies and says so. A vehicle with parts (a chip inside
 * an ECU) and recalls lists its open ones with their paths, not the remedied one nor one of
 * other model years, and a bundle with a recall's record, a part's parts or a remedy's proof
 * changed fails the recalls check.
 */
#include <unistd.h>

#include "test_util.h"

#include "blok/consortium.h"
#include "blok/hex.h"
#include "blok/ledger.h"
#include "blok/parts.h"
#include "blok/report.h"
#include "blok/vehicle.h"
#include "blok/vin.h"
#include "blok/banned.h"

#define CHAIN "blokauto-test"
#define VIN_A "1HGCM82633A004352"

enum who {
  VALIDATOR,
  MAKER,
  DEALER,
  SERVICE,
  INSURER,
  REGISTRY,
  LENDER,
  RECYCLER,
  OWNER1,
  OWNER2,
  VKEY1,
  VKEY2,
  WHO_COUNT
};

struct world {
  char dir[64];
  struct blok_sign_keypair k[WHO_COUNT];
  struct blok_registry reg;
  struct blok_genesis g;
  struct blok_store *store;
  struct blok_ledger *l;
  uint64_t time_ms;
  char vin_b[18], vin_c[18], vin_d[18]; /* retired; small; big */
  char vin_e[18];                       /* parts and recalls */
};

static struct world W; /* one chain for every test: building it is the slow part */

static json_t *hexj(const uint8_t *b, size_t n) {
  char h[129];
  blok_hex_encode(h, sizeof h, b, n);
  return json_string(h);
}

static json_t *member(const char *name, const char *role, const struct blok_sign_keypair *kp) {
  return json_pack("{s:s, s:[s], s:[o]}", "name", name, "roles", role, "keys", hexj(kp->pk, 32));
}

static json_t *genesis_doc(const char *chain, const struct blok_sign_keypair *validator) {
  json_t *members = json_array();
  json_t *maker = member("Acme Motors", "manufacturer", &W.k[MAKER]);
  json_object_set_new(maker, "wmi", json_pack("[s]", "1HG"));
  json_array_append_new(members, maker);
  json_array_append_new(members, member("Main Street Dealer", "dealer", &W.k[DEALER]));
  json_array_append_new(members, member("Quick Service", "service", &W.k[SERVICE]));
  json_array_append_new(members, member("Safe Insurance", "insurer", &W.k[INSURER]));
  json_array_append_new(members, member("State Registry", "registry", &W.k[REGISTRY]));
  json_array_append_new(members, member("Coast Finance", "lender", &W.k[LENDER]));
  json_array_append_new(members, member("Green Recycling", "recycler", &W.k[RECYCLER]));
  return json_pack("{s:s, s:I, s:[{s:s, s:o}], s:{s:o}}", "chain_id", chain, "genesis_time_ms",
                   (json_int_t)1700000000000, "validators", "name", "validator-0", "public_key",
                   hexj(validator->pk, 32), "consortium", "members", members);
}

static void parse_genesis(struct blok_genesis *g, const char *chain,
                          const struct blok_sign_keypair *validator) {
  struct blok_why why = {{0}};
  json_t *doc = genesis_doc(chain, validator);
  enum blok_err rc = blok_genesis_parse(g, doc, &W.reg, &why);
  if (rc != BLOK_OK) fail_msg("genesis: %s (%s)", blok_err_name(rc), why.msg);
  json_decref(doc);
}

/* A VIN of WMI 1HG with its check digit put right. */
static void make_vin(char out[18], const char *base) {
  char d;
  memcpy(out, base, 18);
  assert_int_equal(blok_vin_check_digit(&d, out, 17), BLOK_OK);
  out[8] = d;
}

/* --- building the chain ------------------------------------------------------------------ */

static struct blok_exec *block_begin(void) {
  struct blok_exec *x;
  W.time_ms += 1000;
  assert_int_equal(blok_exec_begin(W.l, W.time_ms, W.k[VALIDATOR].pk, 1, &x), BLOK_OK);
  return x;
}

static void block_commit(struct blok_exec *x) {
  struct blok_header h;
  struct blok_qc qc;
  assert_int_equal(blok_exec_finish(x, &h), BLOK_OK);
  memset(&qc, 0, sizeof qc);
  qc.vote.epoch = h.epoch;
  qc.vote.round = h.round;
  qc.vote.height = h.height;
  assert_int_equal(blok_header_hash(&h, qc.vote.block_hash), BLOK_OK);
  qc.validator_count = 1;
  qc.signers[0] = 1;
  qc.sig_count = 1;
  assert_int_equal(blok_vote_sign(qc.sigs[0], CHAIN, &qc.vote, &W.k[VALIDATOR]), BLOK_OK);
  assert_int_equal(blok_ledger_commit(W.l, x, &qc), BLOK_OK);
  blok_exec_free(x);
}

/* Signs and executes one transaction of a module; it must be applied. payload is taken. */
static void mtx(struct blok_exec *x, const char *module, enum who sender, const char *type,
                json_t *payload) {
  const struct blok_tx_kind *kind = blok_registry_kind(&W.reg, module, type, NULL);
  struct blok_buf pl, raw;
  struct blok_why why = {{0}};
  struct blok_tx tx;
  struct blok_tx_result res;
  assert_non_null(kind);
  assert_non_null(payload);
  blok_buf_init(&pl, BLOK_TX_PAYLOAD_MAX);
  blok_buf_init(&raw, BLOK_TX_ENCODED_MAX);
  enum blok_err rc = blok_kind_from_json(kind, payload, &pl, &why);
  if (rc != BLOK_OK) fail_msg("%s payload: %s", type, why.msg);
  json_decref(payload);
  memset(&tx, 0, sizeof tx);
  tx.version = BLOK_TX_VERSION;
  snprintf(tx.chain_id, sizeof tx.chain_id, "%s", CHAIN);
  snprintf(tx.module, sizeof tx.module, "%s", module);
  snprintf(tx.type, sizeof tx.type, "%s", type);
  assert_int_equal(blok_exec_next_nonce(x, W.k[sender].pk, &tx.nonce), BLOK_OK);
  tx.expiry_height = 100000;
  tx.payload = pl.data;
  tx.payload_len = pl.len;
  assert_int_equal(blok_tx_sign(&tx, &W.k[sender], &raw), BLOK_OK);
  rc = blok_exec_tx(x, &tx, false, &res, &why);
  if (rc != BLOK_OK || res.code != BLOK_OK)
    fail_msg("%s: %s / %s (%s %s)", type, blok_err_name(rc), blok_err_name(res.code), why.msg,
             res.msg);
  blok_buf_release(&pl);
  blok_buf_release(&raw);
}

static void vtx(struct blok_exec *x, enum who sender, const char *type, json_t *payload) {
  mtx(x, "vehicle", sender, type, payload);
}

static void ptx(struct blok_exec *x, enum who sender, const char *type, json_t *payload) {
  mtx(x, BLOK_PARTS_MODULE, sender, type, payload);
}

static json_t *reg_payload(const char *vin, enum who owner, enum who vkey) {
  return json_pack("{s:s, s:i, s:s, s:s, s:o, s:o}", "vin", vin, "model_year", 2021, "make", "Acme",
                   "model", "Falcon \"GT\"", "owner", hexj(W.k[owner].pk, 32), "vehicle_key",
                   hexj(W.k[vkey].pk, 32));
}

static json_t *km(const char *vin, json_int_t v) {
  return json_pack("{s:s, s:I}", "vin", vin, "km", v);
}

/* Vehicle A: sixteen events of every kind but end of life. */
static void build_vehicle_a(void) {
  struct blok_exec *x = block_begin();
  vtx(x, MAKER, "register", reg_payload(VIN_A, OWNER1, VKEY1));
  block_commit(x);
  x = block_begin();
  vtx(x, VKEY1, "odometer", km(VIN_A, 1000));
  vtx(x, SERVICE, "service",
      json_pack("{s:s, s:s}", "vin", VIN_A, "summary", "oil change, R\xc3\xa9vision 1"));
  block_commit(x);
  x = block_begin();
  vtx(x, SERVICE, "odometer", km(VIN_A, 5000));
  vtx(x, OWNER1, "transfer_offer",
      json_pack("{s:s, s:o, s:I}", "vin", VIN_A, "new_owner", hexj(W.k[OWNER2].pk, 32),
                "expiry_height", (json_int_t)50));
  block_commit(x);
  x = block_begin();
  vtx(x, OWNER2, "transfer_accept", json_pack("{s:s}", "vin", VIN_A));
  block_commit(x);
  x = block_begin();
  vtx(x, LENDER, "lien", json_pack("{s:s, s:s}", "vin", VIN_A, "action", "place"));
  vtx(x, INSURER, "accident",
      json_pack("{s:s, s:s, s:b, s:b, s:s}", "vin", VIN_A, "severity", "severe", "airbag_deployed",
                1, "structural_damage", 0, "document",
                "1111111111111111111111111111111111111111111111111111111111111111"));
  block_commit(x);
  x = block_begin();
  vtx(x, INSURER, "brand", json_pack("{s:s, s:s}", "vin", VIN_A, "brand", "salvage"));
  vtx(x, VKEY1, "odometer", km(VIN_A, 3000));
  block_commit(x);
  x = block_begin();
  vtx(x, SERVICE, "repair", json_pack("{s:s, s:s}", "vin", VIN_A, "summary", "front bumper"));
  vtx(x, REGISTRY, "inspection",
      json_pack("{s:s, s:b, s:I}", "vin", VIN_A, "passed", 1, "km", (json_int_t)6000));
  block_commit(x);
  x = block_begin();
  vtx(x, LENDER, "lien", json_pack("{s:s, s:s}", "vin", VIN_A, "action", "release"));
  vtx(x, MAKER, "rotate_key",
      json_pack("{s:s, s:o}", "vin", VIN_A, "vehicle_key", hexj(W.k[VKEY2].pk, 32)));
  vtx(x, SERVICE, "cluster_replace",
      json_pack("{s:s, s:I, s:I}", "vin", VIN_A, "old_km", (json_int_t)6000, "new_km",
                (json_int_t)100));
  block_commit(x);
  x = block_begin();
  vtx(x, VKEY2, "odometer", km(VIN_A, 200));
  block_commit(x);
}

/* B: retired. C: three events (the small bundle). D: 200 readings (the big one). */
static void build_others(void) {
  struct blok_exec *x = block_begin();
  vtx(x, MAKER, "register", reg_payload(W.vin_b, OWNER1, VKEY1));
  vtx(x, MAKER, "register", reg_payload(W.vin_c, OWNER2, VKEY2));
  vtx(x, MAKER, "register", reg_payload(W.vin_d, OWNER2, VKEY2));
  block_commit(x);
  x = block_begin();
  vtx(x, SERVICE, "odometer", km(W.vin_b, 90000));
  vtx(x, RECYCLER, "end_of_life",
      json_pack("{s:s, s:s}", "vin", W.vin_b, "certificate",
                "2222222222222222222222222222222222222222222222222222222222222222"));
  vtx(x, VKEY2, "odometer", km(W.vin_c, 10));
  vtx(x, SERVICE, "service", json_pack("{s:s, s:s}", "vin", W.vin_c, "summary", "tyres"));
  block_commit(x);
  for (int b = 0; b < 4; b++) {
    x = block_begin();
    for (int i = 0; i < 50; i++)
      vtx(x, SERVICE, "odometer", km(W.vin_d, 100 * (b * 50 + i + 1)));
    block_commit(x);
  }
}

static json_t *recall(const char *id, json_t *scope) {
  return json_pack("{s:s, s:s, s:s, s:[o]}", "recall", id, "reason", "solder joints crack",
                   "remedy", "replace the unit", "scopes", scope);
}

static json_t *install(const char *serial, const char *into, const char *target) {
  return json_pack("{s:s, s:s, s:s}", "serial", serial, "into", into, "target", target);
}

/* E: a chip inside an ECU inside the vehicle, and brake pads; a recall of the chips' batch
 * (open), of the ECUs' part number (remedied), of an older model year (not this one) and of a
 * VIN range from C to E (open, no part). */
static void build_parts(void) {
  struct blok_exec *x = block_begin();
  vtx(x, MAKER, "register", reg_payload(W.vin_e, OWNER1, VKEY1));
  ptx(x, MAKER, "batch",
      json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "batch", "CHIP-1", "part_number", "PN-77",
                "part_type", "mcu", "site", "Fab 3", "production_date", 20240101, "quantity", 10));
  ptx(x, MAKER, "batch",
      json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "batch", "ECU-1", "part_number", "ECU-9",
                "part_type", "ecu", "site", "Plant 2", "production_date", 20240201, "quantity",
                10));
  ptx(x, MAKER, "serials",
      json_pack("{s:s, s:[{s:s, s:i, s:i, s:i}]}", "batch", "CHIP-1", "ranges", "prefix", "CH-",
                "width", 4, "first", 1, "count", 5));
  ptx(x, MAKER, "serials",
      json_pack("{s:s, s:[{s:s, s:i, s:i, s:i}, {s:s}]}", "batch", "ECU-1", "ranges", "prefix",
                "EC-", "width", 4, "first", 1, "count", 5, "serial", "PADS"));
  ptx(x, MAKER, "install", install("CH-0001", "part", "EC-0001"));
  ptx(x, MAKER, "install", install("EC-0001", "vehicle", W.vin_e));
  ptx(x, MAKER, "install", install("PADS", "vehicle", W.vin_e));
  block_commit(x);
  x = block_begin();
  ptx(x, MAKER, "recall", recall("R-CHIP", json_pack("{s:s}", "batch", "CHIP-1")));
  ptx(x, MAKER, "recall", recall("R-ECU", json_pack("{s:s}", "part_number", "ECU-9")));
  json_t *old = recall("R-OLD", json_pack("{s:s}", "batch", "CHIP-1"));
  json_object_set_new(old, "year_to", json_integer(2020));
  ptx(x, MAKER, "recall", old);
  ptx(x, MAKER, "recall",
      recall("R-VIN", json_pack("{s:{s:s, s:s}}", "vins", "from", W.vin_c, "to", W.vin_e)));
  block_commit(x);
  x = block_begin();
  ptx(x, SERVICE, "remedy", json_pack("{s:s, s:s}", "recall", "R-ECU", "vin", W.vin_e));
  block_commit(x);
}

static int setup_world(void **state) {
  (void)state;
  memset(&W, 0, sizeof W);
  snprintf(W.dir, sizeof W.dir, "/tmp/blok-report-XXXXXX");
  assert_non_null(mkdtemp(W.dir));
  for (int i = 0; i < WHO_COUNT; i++) {
    uint8_t seed[32];
    memset(seed, i + 1, sizeof seed);
    assert_int_equal(blok_sign_keypair_from_seed(&W.k[i], seed), BLOK_OK);
  }
  make_vin(W.vin_b, "1HGCM82600A000001");
  make_vin(W.vin_c, "1HGCM82600A000002");
  make_vin(W.vin_d, "1HGCM82600A000003");
  make_vin(W.vin_e, "1HGCM82600A000004");
  blok_registry_init(&W.reg);
  assert_int_equal(blok_registry_add(&W.reg, &blok_consortium_module), BLOK_OK);
  assert_int_equal(blok_registry_add(&W.reg, &blok_vehicle_module), BLOK_OK);
  assert_int_equal(blok_registry_add(&W.reg, &blok_parts_module), BLOK_OK);
  W.reg.authorize = blok_consortium_authorize;
  parse_genesis(&W.g, CHAIN, &W.k[VALIDATOR]);
  W.time_ms = W.g.time_ms;
  struct blok_store_opts o = {.dir = W.dir};
  struct blok_why why = {{0}};
  assert_int_equal(blok_store_open(&W.store, &o), BLOK_OK);
  assert_int_equal(blok_ledger_open(&W.l, W.store, &W.reg, &W.g, &why), BLOK_OK);
  build_vehicle_a();
  build_others();
  build_parts();
  return 0;
}

static int teardown_world(void **state) {
  (void)state;
  char p[128];
  blok_ledger_close(W.l);
  blok_store_close(W.store);
  blok_genesis_release(&W.g);
  snprintf(p, sizeof p, "%s/data.mdb", W.dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", W.dir);
  unlink(p);
  rmdir(W.dir);
  return 0;
}

/* --- helpers ----------------------------------------------------------------------------- */

static json_t *build(const char *vin) {
  json_t *b = NULL;
  struct blok_why why = {{0}};
  enum blok_err rc = blok_report_build(W.l, vin, &b, &why);
  if (rc != BLOK_OK) fail_msg("build %s: %s (%s)", vin, blok_err_name(rc), why.msg);
  return b;
}

/* The bundle's text as the API sends it: compact JSON and a newline. */
static char *text_of(const json_t *b, size_t *len) {
  char *s = json_dumps(b, JSON_COMPACT);
  assert_non_null(s);
  size_t n = strlen(s);
  char *t = realloc(s, n + 2);
  assert_non_null(t);
  t[n] = '\n';
  t[n + 1] = '\0';
  *len = n + 1;
  return t;
}

/* Verifies b (through its text) and expects the check named to fail, or none. */
static void expect(const json_t *b, const struct blok_genesis *g, enum blok_report_check check) {
  size_t len;
  char *t = text_of(b, &len);
  struct blok_report_result res;
  enum blok_err rc = blok_report_verify_text(t, len, g, &res);
  if (res.failed != check)
    fail_msg("expected %s, got %s (%s: %s)", blok_report_check_name(check),
             blok_report_check_name(res.failed), blok_err_name(rc), res.why);
  assert_true((rc == BLOK_OK) == (check == BLOK_REPORT_CHECK_NONE));
  assert_true(check == BLOK_REPORT_CHECK_NONE || res.why[0] != '\0');
  free(t);
}

static json_t *summary_event(const json_t *b, size_t i) {
  return json_array_get(json_object_get(json_object_get(b, "summary"), "events"), i);
}

static const char *jtext(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  assert_non_null(s);
  return s;
}

/* --- tests ------------------------------------------------------------------------------- */

static void test_build_and_verify(void **state) {
  (void)state;
  json_t *b = build(VIN_A);
  size_t len;
  char *t = text_of(b, &len);
  struct blok_report_result res;
  assert_int_equal(blok_report_verify_text(t, len, &W.g, &res), BLOK_OK);
  assert_int_equal(res.failed, BLOK_REPORT_CHECK_NONE);
  assert_string_equal(res.vin, VIN_A);
  struct blok_header head;
  blok_ledger_head(W.l, &head, NULL);
  assert_int_equal(res.height, head.height);
  assert_int_equal(res.time_ms, head.timestamp_ms);
  assert_int_equal(res.event_count, 16);
  /* Without the final newline it is the same bundle. */
  assert_int_equal(blok_report_verify_text(t, len - 1, &W.g, &res), BLOK_OK);
  free(t);

  const json_t *s = json_object_get(b, "summary");
  assert_string_equal(jtext(s, "status"), "active");
  assert_string_equal(jtext(s, "make"), "Acme");
  assert_int_equal(json_integer_value(json_object_get(s, "owners")), 2);
  assert_int_equal(json_integer_value(json_object_get(s, "accidents")), 1);
  assert_int_equal(json_integer_value(json_object_get(s, "rollbacks")), 1);
  assert_int_equal(json_integer_value(json_object_get(s, "odometer_km")), 200);
  assert_int_equal(json_integer_value(json_object_get(s, "event_count")), 16);
  assert_string_equal(json_string_value(json_array_get(json_object_get(s, "brands"), 0)),
                      "salvage");
  assert_false(json_is_true(json_object_get(json_object_get(s, "lien"), "open")));
  assert_int_equal(json_array_size(json_object_get(s, "events")), 16);
  /* The lines: who signed, and what the replay makes of it. */
  assert_string_equal(jtext(summary_event(b, 0), "signer"), "Acme Motors");
  assert_string_equal(jtext(summary_event(b, 0), "role"), "manufacturer");
  assert_string_equal(jtext(summary_event(b, 0), "time"), "2023-11-14T22:13:21Z");
  assert_string_equal(jtext(summary_event(b, 1), "signer"), "vehicle");
  assert_string_equal(jtext(summary_event(b, 1), "text"), "odometer 1000 km");
  assert_string_equal(jtext(summary_event(b, 4), "signer"), "owner");
  assert_string_equal(jtext(summary_event(b, 5), "signer"), "owner");
  assert_string_equal(jtext(summary_event(b, 5), "kind"), "transfer_accept");
  assert_string_equal(jtext(summary_event(b, 6), "text"), "lien placed by Coast Finance");
  assert_non_null(strstr(jtext(summary_event(b, 9), "text"), "rollback"));
  assert_string_equal(jtext(summary_event(b, 9), "signer"), "vehicle");
  assert_string_equal(jtext(summary_event(b, 12), "text"), "lien released");
  /* After the rotation the old vehicle key is no longer "vehicle"; the new one is. */
  assert_string_equal(jtext(summary_event(b, 15), "signer"), "vehicle");
  assert_null(strstr(jtext(summary_event(b, 15), "text"), "rollback"));
  json_decref(b);
}

static void test_retired(void **state) {
  (void)state;
  json_t *b = build(W.vin_b);
  expect(b, &W.g, BLOK_REPORT_CHECK_NONE);
  const json_t *s = json_object_get(b, "summary");
  assert_string_equal(jtext(s, "status"), "retired");
  assert_non_null(strstr(jtext(summary_event(b, 2), "text"), "end of life"));
  assert_string_equal(jtext(summary_event(b, 2), "role"), "recycler");
  json_decref(b);
}

static void test_build_refusals(void **state) {
  (void)state;
  json_t *b = NULL;
  struct blok_why why = {{0}};
  char vin[18];
  make_vin(vin, "1HGCM82600A999999");
  assert_int_equal(blok_report_build(W.l, vin, &b, &why), BLOK_ENOTFOUND);
  assert_non_null(strstr(why.msg, "not registered"));
  assert_null(b);
  assert_int_equal(blok_report_build(W.l, "1HGCM82633A004353", &b, &why), BLOK_EVIN);
  assert_int_equal(blok_report_build(W.l, "1hgcm82633a004352", &b, &why), BLOK_EVIN);
}

/* Each part, changed so it still parses, fails the check that covers it. */
static void tamper_hex(json_t *o, const char *field, size_t at) {
  char *s = strdup(jtext(o, field));
  assert_true(at < strlen(s));
  s[at] = s[at] == '0' ? '1' : '0';
  json_object_set_new(o, field, json_string(s));
  free(s);
}

static void test_each_check(void **state) {
  (void)state;
  json_t *orig = build(VIN_A), *b;
#define FRESH() (json_decref(b), b = json_deep_copy(orig))
  b = json_deep_copy(orig);
  json_object_set_new(b, "colour", json_string("red"));
  expect(b, &W.g, BLOK_REPORT_CHECK_FORMAT);
  FRESH();
  json_object_del(b, "proof");
  expect(b, &W.g, BLOK_REPORT_CHECK_FORMAT);
  FRESH();
  json_object_set_new(b, "format", json_string("blokauto-report/v1"));
  expect(b, &W.g, BLOK_REPORT_CHECK_FORMAT);
  FRESH();
  json_object_del(b, "recalls");
  expect(b, &W.g, BLOK_REPORT_CHECK_FORMAT);
  FRESH();
  json_object_set_new(json_array_get(json_object_get(b, "recalls"), 0), "value", json_integer(0));
  expect(b, &W.g, BLOK_REPORT_CHECK_FORMAT);
  FRESH();
  { /* upper-case hex decodes to the same bytes, and is still refused */
    char *s = strdup(jtext(b, "record"));
    for (char *p = s; *p; p++)
      if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 'a' + 'A');
    json_object_set_new(b, "record", json_string(s));
    free(s);
  }
  expect(b, &W.g, BLOK_REPORT_CHECK_FORMAT);
  FRESH();
  json_object_set_new(json_object_get(b, "block"), "height", json_real(17.0));
  expect(b, &W.g, BLOK_REPORT_CHECK_FORMAT);
  FRESH();
  tamper_hex(json_object_get(b, "block"), "header", 300);
  expect(b, &W.g, BLOK_REPORT_CHECK_HEADER);
  FRESH();
  tamper_hex(json_object_get(b, "block"), "hash", 0);
  expect(b, &W.g, BLOK_REPORT_CHECK_HEADER);
  FRESH();
  json_object_set_new(json_object_get(b, "block"), "height", json_integer(1));
  expect(b, &W.g, BLOK_REPORT_CHECK_HEADER);
  FRESH();
  tamper_hex(json_object_get(b, "block"), "qc", 200);
  expect(b, &W.g, BLOK_REPORT_CHECK_CERTIFICATE);
  FRESH();
  tamper_hex(b, "record", 100);
  expect(b, &W.g, BLOK_REPORT_CHECK_RECORD);
  FRESH();
  tamper_hex(b, "proof", 10);
  expect(b, &W.g, BLOK_REPORT_CHECK_RECORD);
  FRESH();
  { /* the last hex digit of a transaction is in its signature */
    json_t *e = json_array_get(json_object_get(b, "events"), 3);
    tamper_hex(e, "tx", strlen(jtext(e, "tx")) - 1);
  }
  expect(b, &W.g, BLOK_REPORT_CHECK_EVENTS);
  FRESH();
  json_object_set_new(json_array_get(json_object_get(b, "events"), 2), "tx", json_string(""));
  expect(b, &W.g, BLOK_REPORT_CHECK_EVENTS);
  FRESH();
  json_object_set_new(b, "record", json_string(""));
  expect(b, &W.g, BLOK_REPORT_CHECK_RECORD);
  FRESH();
  { /* another vehicle's event, validly signed */
    json_t *other = build(W.vin_c);
    json_array_set(json_object_get(b, "events"), 1,
                   json_array_get(json_object_get(other, "events"), 1));
    json_decref(other);
  }
  expect(b, &W.g, BLOK_REPORT_CHECK_EVENTS);
  FRESH();
  json_array_remove(json_object_get(b, "events"), 7);
  expect(b, &W.g, BLOK_REPORT_CHECK_CHAIN);
  FRESH();
  json_array_remove(json_object_get(b, "events"), 15); /* the latest */
  expect(b, &W.g, BLOK_REPORT_CHECK_CHAIN);
  FRESH();
  { /* two events of the same block, swapped */
    json_t *ev = json_object_get(b, "events");
    json_t *one = json_incref(json_array_get(ev, 1));
    json_array_set(ev, 1, json_array_get(ev, 2));
    json_array_set_new(ev, 2, one);
  }
  expect(b, &W.g, BLOK_REPORT_CHECK_CHAIN);
  FRESH();
  json_object_set_new(json_array_get(json_object_get(b, "events"), 4), "height", json_integer(4));
  expect(b, &W.g, BLOK_REPORT_CHECK_CHAIN);
  FRESH();
  json_array_clear(json_object_get(b, "recalls"));
  expect(b, &W.g, BLOK_REPORT_CHECK_RECALLS);
  FRESH();
  tamper_hex(json_array_get(json_object_get(b, "recalls"), 0), "proof", 10);
  expect(b, &W.g, BLOK_REPORT_CHECK_RECALLS);
  FRESH();
  json_object_set_new(json_object_get(b, "summary"), "owners", json_integer(1));
  expect(b, &W.g, BLOK_REPORT_CHECK_SUMMARY);
  FRESH();
  json_object_set_new(json_object_get(b, "summary"), "note", json_string("like new"));
  expect(b, &W.g, BLOK_REPORT_CHECK_SUMMARY);
  FRESH();
  json_object_set_new(summary_event(b, 6), "text", json_string("nothing happened"));
  expect(b, &W.g, BLOK_REPORT_CHECK_SUMMARY);
  FRESH();
  json_array_remove(json_object_get(json_object_get(b, "summary"), "events"), 8);
  expect(b, &W.g, BLOK_REPORT_CHECK_SUMMARY);
  FRESH();
  expect(b, &W.g, BLOK_REPORT_CHECK_NONE); /* the copy itself is fine */
#undef FRESH
  json_decref(b);
  json_decref(orig);
}

/* The index in "recalls" of the value under a module key ("m/R-ECU/" vin ...). */
static size_t state_at(const json_t *b, const char *key) {
  char hex[2 * 64 + 1];
  const json_t *list = json_object_get(b, "recalls"), *e;
  size_t i;
  blok_hex_encode(hex, sizeof hex, (const uint8_t *)key, strlen(key));
  json_array_foreach(list, i, e) if (strcmp(jtext(e, "key"), hex) == 0) return i;
  fail_msg("no state value %s in the bundle", key);
  return 0;
}

static json_t *state_entry(json_t *b, const char *key) {
  return json_array_get(json_object_get(b, "recalls"), state_at(b, key));
}

/* Verifies b, expecting the recalls check to fail with a reason holding text. */
static void expect_recalls(const json_t *b, const char *text) {
  size_t len;
  char *t = text_of(b, &len);
  struct blok_report_result res;
  assert_int_not_equal(blok_report_verify_text(t, len, &W.g, &res), BLOK_OK);
  if (res.failed != BLOK_REPORT_CHECK_RECALLS || strstr(res.why, text) == NULL)
    fail_msg("expected recalls (\"%s\"), got %s (%s)", text, blok_report_check_name(res.failed),
             res.why);
  free(t);
}

static void test_open_recalls(void **state) {
  (void)state;
  json_t *orig = build(W.vin_e), *b;
  size_t len;
  char *t = text_of(orig, &len), key[64];
  struct blok_report_result res;
  assert_int_equal(blok_report_verify_text(t, len, &W.g, &res), BLOK_OK);
  free(t);
  assert_int_equal(res.open_recalls, 2);
  /* The chip's batch recall, with its path from the vehicle; the VIN range one with none. The
   * remedied ECU recall and the older model years' are not there. */
  const json_t *open = json_object_get(json_object_get(orig, "summary"), "open_recalls");
  assert_int_equal(json_array_size(open), 2);
  const json_t *chip = json_array_get(open, 0), *vin = json_array_get(open, 1);
  assert_string_equal(jtext(chip, "recall"), "R-CHIP");
  assert_string_equal(jtext(chip, "reason"), "solder joints crack");
  assert_string_equal(jtext(chip, "remedy"), "replace the unit");
  const json_t *path = json_object_get(chip, "path");
  assert_int_equal(json_array_size(path), 2);
  assert_string_equal(json_string_value(json_array_get(path, 0)), "EC-0001");
  assert_string_equal(json_string_value(json_array_get(path, 1)), "CH-0001");
  assert_string_equal(jtext(vin, "recall"), "R-VIN");
  assert_int_equal(json_array_size(json_object_get(vin, "path")), 0);
  /* The small bundle (vehicle C) holds the VIN range recall. */
  json_t *c = build(W.vin_c);
  assert_int_equal(json_array_size(json_object_get(json_object_get(c, "summary"), "open_recalls")),
                   1);
  json_decref(c);

#define FRESH() (json_decref(b), b = json_deep_copy(orig))
  b = json_deep_copy(orig);
  /* A recall's record left out. */
  json_array_remove(json_object_get(b, "recalls"), state_at(b, "r/R-CHIP"));
  expect_recalls(b, "not the value the walk reads there, state r/R-CHIP");
  FRESH();
  /* A part left out: the ECU's own parts. */
  json_array_remove(json_object_get(b, "recalls"), state_at(b, "C/EC-0001"));
  expect_recalls(b, "state C/EC-0001");
  FRESH();
  /* The vehicle's parts said to be none, or absent, under the same proof. */
  snprintf(key, sizeof key, "V/%s", W.vin_e);
  json_object_set_new(state_entry(b, key), "value", json_string("0000000000000000"));
  expect_recalls(b, "the proof does not show state V/");
  FRESH();
  json_object_set_new(state_entry(b, key), "value", json_null());
  expect_recalls(b, "absent");
  FRESH();
  /* The remedy of R-ECU said to be absent, with the proof of another value's absence. */
  snprintf(key, sizeof key, "m/R-ECU/%s", W.vin_e);
  {
    char other[64];
    snprintf(other, sizeof other, "m/R-CHIP/%s", W.vin_e);
    json_t *e = state_entry(b, key);
    json_object_set_new(e, "value", json_null());
    json_object_set(e, "proof", json_object_get(state_entry(b, other), "proof"));
  }
  expect_recalls(b, "the proof does not show state m/R-ECU/");
  FRESH();
  /* Two values swapped; one added at the end. */
  {
    json_t *list = json_object_get(b, "recalls");
    json_t *one = json_incref(json_array_get(list, 1));
    json_array_set(list, 1, json_array_get(list, 2));
    json_array_set_new(list, 2, one);
  }
  expect_recalls(b, "recalls[1] is not the value the walk reads there");
  FRESH();
  json_array_append(json_object_get(b, "recalls"),
                    json_array_get(json_object_get(b, "recalls"), 0));
  expect_recalls(b, "the walk reads");
  FRESH();
  /* The summary without an open recall, or with a path changed. */
  json_array_remove(json_object_get(json_object_get(b, "summary"), "open_recalls"), 0);
  expect(b, &W.g, BLOK_REPORT_CHECK_SUMMARY);
  FRESH();
  json_array_remove(
      json_object_get(
          json_array_get(json_object_get(json_object_get(b, "summary"), "open_recalls"), 0),
          "path"),
      0);
  expect(b, &W.g, BLOK_REPORT_CHECK_SUMMARY);
  FRESH();
  expect(b, &W.g, BLOK_REPORT_CHECK_NONE);
#undef FRESH
  json_decref(b);
  json_decref(orig);
}

static void test_other_genesis(void **state) {
  (void)state;
  json_t *b = build(VIN_A);
  struct blok_genesis other;
  uint8_t seed[32];
  struct blok_sign_keypair v2;
  memset(seed, 0x77, sizeof seed);
  assert_int_equal(blok_sign_keypair_from_seed(&v2, seed), BLOK_OK);
  /* Same chain id, another validator: the certificate is not theirs. */
  parse_genesis(&other, CHAIN, &v2);
  expect(b, &other, BLOK_REPORT_CHECK_CERTIFICATE);
  blok_genesis_release(&other);
  /* Another chain id. */
  parse_genesis(&other, "other-chain", &W.k[VALIDATOR]);
  expect(b, &other, BLOK_REPORT_CHECK_HEADER);
  blok_genesis_release(&other);
  json_decref(b);
}

/* The three changes tried at each byte: flip its lowest bit; another character of the same
 * kind, so the text often still parses (a digit for a digit, a hex letter for a hex letter, a
 * letter for a letter, a space for anything else); and upper case for a lower-case letter. */
static int changes(char c, char out[3]) {
  int n = 0;
  out[n++] = (char)(c ^ 0x01);
  if (c >= '0' && c <= '9')
    out[n++] = c == '9' ? '0' : (char)(c + 1);
  else if (c >= 'a' && c <= 'z')
    out[n++] = c == 'f' ? 'a' : c == 'z' ? 'g' : (char)(c + 1);
  else if (c >= 'A' && c <= 'Z')
    out[n++] = c == 'Z' ? 'A' : (char)(c + 1);
  else
    out[n++] = c == ' ' ? '\t' : ' ';
  if (c >= 'a' && c <= 'z') out[n++] = (char)(c - 'a' + 'A');
  return n;
}

/* Tries every change at position i; returns how many were tried. */
static size_t flip_at(char *t, size_t len, size_t i) {
  char orig = t[i], ch[3];
  int n = changes(orig, ch);
  struct blok_report_result res;
  for (int k = 0; k < n; k++) {
    if (ch[k] == orig) continue;
    t[i] = ch[k];
    if (blok_report_verify_text(t, len, &W.g, &res) == BLOK_OK)
      fail_msg("byte %zu changed from 0x%02x to 0x%02x still verifies: ...%.40s...", i,
               (unsigned)(unsigned char)orig, (unsigned)(unsigned char)ch[k],
               t + (i > 20 ? i - 20 : 0));
    assert_int_not_equal(res.failed, BLOK_REPORT_CHECK_NONE);
  }
  t[i] = orig;
  return (size_t)n;
}

static void test_flip_every_byte(void **state) {
  (void)state;
  json_t *b = build(W.vin_c);
  size_t len, tried = 0;
  char *t = text_of(b, &len);
  struct blok_report_result res;
  assert_int_equal(blok_report_verify_text(t, len, &W.g, &res), BLOK_OK);
  for (size_t i = 0; i < len; i++)
    tried += flip_at(t, len, i);
  print_message("small bundle: %zu bytes, every one changed (%zu changes), none verifies\n", len,
                tried);
  assert_int_equal(blok_report_verify_text(t, len, &W.g, &res), BLOK_OK);
  free(t);
  json_decref(b);
}

static void test_flip_big_sample(void **state) {
  (void)state;
  json_t *b = build(W.vin_d);
  size_t len, tried = 0;
  char *t = text_of(b, &len);
  struct blok_report_result res;
  assert_int_equal(blok_report_verify_text(t, len, &W.g, &res), BLOK_OK);
  assert_int_equal(res.event_count, 201);
  /* A fixed-seed generator, so a failure replays. */
  uint64_t x = 0x9e3779b97f4a7c15u;
  const size_t samples = 200;
  for (size_t s = 0; s < samples; s++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    tried += flip_at(t, len, (size_t)(x % len));
  }
  /* And the ends, where the text's own rules (one object, one newline) matter most. */
  tried += flip_at(t, len, 0) + flip_at(t, len, len - 2) + flip_at(t, len, len - 1);
  print_message("big bundle: %zu bytes, %zu positions sampled (%zu changes), none verifies\n", len,
                samples + 3, tried);
  free(t);
  json_decref(b);
}

static void test_text_rules(void **state) {
  (void)state;
  json_t *b = build(W.vin_c);
  size_t len;
  char *t = text_of(b, &len);
  struct blok_report_result res;
  char *u = malloc(len + 32);
  assert_non_null(u);
  /* Leading space, a second newline, trailing garbage, a truncated text: format. */
  u[0] = ' ';
  memcpy(u + 1, t, len);
  assert_int_not_equal(blok_report_verify_text(u, len + 1, &W.g, &res), BLOK_OK);
  assert_int_equal(res.failed, BLOK_REPORT_CHECK_FORMAT);
  memcpy(u, t, len);
  u[len] = '\n';
  assert_int_not_equal(blok_report_verify_text(u, len + 1, &W.g, &res), BLOK_OK);
  u[len] = '{';
  assert_int_not_equal(blok_report_verify_text(u, len + 1, &W.g, &res), BLOK_OK);
  for (size_t cut = 0; cut < len - 1; cut += 97) {
    assert_int_not_equal(blok_report_verify_text(t, cut, &W.g, &res), BLOK_OK);
    assert_int_equal(res.failed, BLOK_REPORT_CHECK_FORMAT);
  }
  /* A key given twice. */
  int n = snprintf(u, len + 32, "{\"format\":\"x\",%s", t + 1);
  assert_true(n > 0);
  assert_int_not_equal(blok_report_verify_text(u, (size_t)n, &W.g, &res), BLOK_OK);
  assert_int_equal(res.failed, BLOK_REPORT_CHECK_FORMAT);
  assert_int_equal(blok_report_verify_text(t, BLOK_REPORT_BYTES_MAX + 1, &W.g, &res),
                   BLOK_ETOOLONG);
  free(u);
  free(t);
  json_decref(b);
}

static void test_time(void **state) {
  (void)state;
  char s[BLOK_REPORT_TIME_MAX];
  blok_report_time(s, 0);
  assert_string_equal(s, "1970-01-01T00:00:00Z");
  blok_report_time(s, 951782400999); /* a leap day */
  assert_string_equal(s, "2000-02-29T00:00:00Z");
  blok_report_time(s, 1795266000000);
  assert_string_equal(s, "2026-11-21T13:00:00Z");
  blok_report_time(s, UINT64_MAX);
  assert_string_equal(s, "584556019-04-03T14:25:51Z");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_build_and_verify),
      cmocka_unit_test(test_retired),
      cmocka_unit_test(test_build_refusals),
      cmocka_unit_test(test_each_check),
      cmocka_unit_test(test_open_recalls),
      cmocka_unit_test(test_other_genesis),
      cmocka_unit_test(test_text_rules),
      cmocka_unit_test(test_flip_every_byte),
      cmocka_unit_test(test_flip_big_sample),
  };
  return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
