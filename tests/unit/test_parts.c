/*
 * The parts module end to end (blok/parts.h; docs/PROTOCOL.md, "Parts"): a real ledger in a
 * temporary folder with a manufacturer, two suppliers, a service centre, an auditor and a
 * registry; batches and serial ranges registered, parts installed into parts and vehicles and
 * removed, recalls issued and their reach walked page by page, remedies recorded, custody
 * handed off and condition readings judged against limits, origin attested, clones and parts
 * that are not genuine reported; the parts trees and recall lists kept in state, their limits,
 * and a vehicle's open recalls walked from state alone (blok_parts_vehicle_recalls), each with
 * its path of parts. Refusals in the block (`refused`) and at admission (`denied`)
 * are told apart as in test_vehicle.c.
 */
#include <stdlib.h>
#include <unistd.h>

#include "test_util.h"

#include "blok/anchor.h"
#include "blok/consortium.h"
#include "blok/hex.h"
#include "blok/ledger.h"
#include "blok/parts.h"
#include "blok/vehicle.h"
#include "blok/vin.h"
#include "blok/banned.h"

#define CHAIN "blokauto-test"

enum who {
  VALIDATOR,
  MAKER,     /* Acme Motors, manufacturer, wmi 1HG */
  SUPPLIER,  /* Chip Foundry, supplier */
  SUPPLIER2, /* Ecu Works, supplier */
  SERVICE,   /* Quick Lube Service */
  AUDITOR,   /* Mine Audit */
  REGISTRY,  /* State DMV */
  OWNER1,    /* keys of no member */
  SENSOR,
  STRANGER,
  WHO_COUNT
};

static const struct {
  const char *name, *role;
} members[] = {
    [MAKER] = {"Acme Motors", "manufacturer"}, [SUPPLIER] = {"Chip Foundry", "supplier"},
    [SUPPLIER2] = {"Ecu Works", "supplier"},   [SERVICE] = {"Quick Lube Service", "service"},
    [AUDITOR] = {"Mine Audit", "auditor"},     [REGISTRY] = {"State DMV", "registry"},
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
  for (int i = MAKER; i <= REGISTRY; i++) {
    json_t *m = json_pack("{s:s, s:[s], s:[s]}", "name", members[i].name, "roles", members[i].role,
                          "keys", w->hex[i]);
    assert_non_null(m);
    if (i == MAKER) json_object_set_new(m, "wmi", json_pack("[s]", "1HG"));
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
  snprintf(w->dir, sizeof w->dir, "/tmp/blok-parts-XXXXXX");
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
  assert_int_equal(blok_registry_add(&w->reg, &blok_parts_module), BLOK_OK);
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

/* "register" is a vehicle kind; every other name here is a parts kind. */
static const char *module_of(const char *type) {
  return strcmp(type, "register") == 0 ? BLOK_VEHICLE_MODULE : BLOK_PARTS_MODULE;
}

static const struct blok_tx_kind *kind(struct world *w, const char *type) {
  const struct blok_module *m;
  const struct blok_tx_kind *k = blok_registry_kind(&w->reg, module_of(type), type, &m);
  if (k == NULL) fail_msg("no kind %s", type);
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
  snprintf(tx.module, sizeof tx.module, "%s", module_of(type));
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
  if (rc != BLOK_OK) fail_msg("%s from_json: %s (%s)", type, blok_err_name(rc), why.msg);
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
  if (rc != BLOK_OK) fail_msg("%s not admitted: %s (%s)", type, blok_err_name(rc), why.msg);
  if (res.code != BLOK_OK) fail_msg("%s refused: %s (%s)", type, blok_err_name(res.code), res.msg);
}

/* In the block, refused by the module with code and a sentence holding text. */
static void refused(struct world *w, enum who from, const char *type, json_t *p, enum blok_err code,
                    const char *text) {
  struct blok_tx_result res;
  struct blok_why why;
  enum blok_err rc = send(w, from, type, p, &res, &why);
  if (rc != BLOK_OK) fail_msg("%s not admitted: %s (%s)", type, blok_err_name(rc), why.msg);
  if (res.code != code || strstr(res.msg, text) == NULL)
    fail_msg("%s: want %s (\"%s\"), got %s (\"%s\")", type, blok_err_name(code), text,
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
    fail_msg("%s: want admission %s (\"%s\"), got %s (\"%s\")", type, blok_err_name(code), text,
             blok_err_name(rc), why.msg);
  assert_int_equal(blok_exec_tx_count(w->x), before);
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

static json_t *p_register(struct world *w, const char *vin, int year) {
  return json_pack("{s:s, s:i, s:s, s:s, s:s}", "vin", vin, "model_year", year, "make", "Acme",
                   "model", "Roadster", "owner", w->hex[OWNER1]);
}

static json_t *p_batch(const char *id, const char *pn, const char *type, json_int_t qty,
                       json_t *inputs) {
  json_t *p =
      json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "batch", id, "part_number", pn, "part_type", type,
                "site", "Fab 3, Dresden", "production_date", 20250301, "quantity", qty);
  if (inputs) json_object_set_new(p, "inputs", inputs);
  return p;
}

static json_t *p_range(const char *batch, const char *prefix, int width, json_int_t first,
                       json_int_t count) {
  return json_pack("{s:s, s:[{s:s, s:i, s:I, s:I}]}", "batch", batch, "ranges", "prefix", prefix,
                   "width", width, "first", first, "count", count);
}

static json_t *p_install(const char *serial, const char *into, const char *target) {
  return json_pack("{s:s, s:s, s:s}", "serial", serial, "into", into, "target", target);
}

static json_t *p_serial(const char *serial) {
  return json_pack("{s:s}", "serial", serial);
}

static json_t *p_recall(const char *id, json_t *scopes) {
  return json_pack("{s:s, s:s, s:s, s:o}", "recall", id, "reason", "solder joints crack", "remedy",
                   "replace the ecu", "scopes", scopes);
}

/* --- reading back ------------------------------------------------------------------------- */

static struct blok_txn *rtxn(struct world *w) {
  struct blok_txn *t;
  assert_int_equal(blok_store_read_begin(w->store, &t), BLOK_OK);
  return t;
}

/* The whole reach, page by page: the VINs in order, joined with spaces; paths go in paths. */
static size_t reach_all(struct world *w, const char *recall, size_t limit, char *vins, size_t cap,
                        char *paths, size_t pcap) {
  static struct blok_parts_reach out[BLOK_PARTS_PAGE_MAX];
  struct blok_parts_cursor c = {0};
  struct blok_txn *t = rtxn(w);
  size_t total = 0, used = 0, pused = 0;
  vins[0] = '\0';
  if (paths) paths[0] = '\0';
  do {
    size_t n;
    assert_int_equal(blok_parts_recall_reach(t, recall, &c, limit, out, &n), BLOK_OK);
    assert_true(n <= limit);
    for (size_t i = 0; i < n; i++) {
      used += (size_t)snprintf(vins + used, cap - used, "%s%s", total ? " " : "", out[i].vin);
      for (size_t d = 0; paths && d < out[i].path.depth; d++)
        pused += (size_t)snprintf(paths + pused, pcap - pused, "%s%s", out[i].path.path[d],
                                  d + 1 < out[i].path.depth ? ">" : ";");
      total++;
    }
  } while (c.len > 0);
  blok_store_read_end(t);
  return total;
}

static size_t open_recalls(struct world *w, const char *vin, char (*ids)[33]) {
  size_t n;
  struct blok_txn *t = rtxn(w);
  assert_int_equal(blok_parts_open_recalls(t, vin, ids, 8, &n), BLOK_OK);
  blok_store_read_end(t);
  return n;
}

/* --- codecs ------------------------------------------------------------------------------- */

static void test_json_round_trips(void **state) {
  (void)state;
  static struct world w;
  world_open(&w);
  json_t *cases[][2] = {
      {json_string("batch"), p_batch("CHIP-1", "PN-77", "mcu", 100, json_pack("[s]", "LOT-1"))},
      {json_string("serials"), p_range("CHIP-1", "C", 6, 1, 100)},
      {json_string("install"), p_install("C000001", "vehicle", "1HGCM82633A004352")},
      {json_string("recall"),
       json_pack("{s:s, s:s, s:s, s:[{s:s}, {s:{s:s, s:s}}], s:s, s:i, s:i}", "recall", "R-1",
                 "reason", "r", "remedy", "m", "scopes", "batch", "CHIP-1", "vins", "from",
                 "1HGCM82633A004352", "to", "1HGCM82633A004352", "model", "Roadster", "year_from",
                 2020, "year_to", 2024)},
      {json_string("reading"), json_pack("{s:s, s:s, s:i, s:i, s:i}", "subject", "batch", "id",
                                         "CHIP-1", "temp", -55, "humidity", 400, "shock", 1200)},
  };
  for (size_t i = 0; i < BLOK_ARRAY_LEN(cases); i++) {
    const char *type = json_string_value(cases[i][0]);
    json_t *want = json_deep_copy(cases[i][1]);
    payload(&w, type, cases[i][1]);
    json_t *back = blok_kind_to_json(kind(&w, type), w.pl.data, w.pl.len);
    if (json_object_get(want, "inputs") == NULL && strcmp(type, "batch") == 0)
      json_object_set_new(want, "inputs", json_array());
    if (!json_equal(want, back)) {
      char *a = json_dumps(want, JSON_SORT_KEYS), *b = json_dumps(back, JSON_SORT_KEYS);
      fail_msg("%s: %s != %s", type, a, b);
    }
    json_decref(want);
    json_decref(back);
    json_decref(cases[i][0]);
  }
  world_close(&w);
}

/* Stateless refusals: a person can read what to change. */
static void test_json_refusals(void **state) {
  (void)state;
  static struct world w;
  world_open(&w);
  struct {
    const char *type;
    json_t *p;
    enum blok_err code;
    const char *text;
  } cases[] = {
      {"serials", p_range("B", "C1", 4, 0, 10), BLOK_EFORMAT, "must not end in a digit"},
      {"serials", p_range("B", "C", 4, 9995, 10), BLOK_ERANGE, "does not fit in 4 digits"},
      {"serials", p_range("B", "C", 9, 0, 100001), BLOK_ERANGE, "count: 1..100000"},
      {"serials", p_range("B", "C", 19, 0, 1), BLOK_ERANGE, "at most 18"},
      {"batch", p_batch("B 1", "PN", "t", 1, NULL), BLOK_EFORMAT, "payload.batch"},
      {"batch", p_batch("B", "PN", "t", 0, NULL), BLOK_ERANGE, "payload.quantity"},
      {"batch", p_batch("B", "PN", "t", 5, json_pack("[s]", "B")), BLOK_EINVAL, "consume itself"},
      {"install", p_install("C1", "vehicle", "1HGCM82633A004353"), BLOK_EVIN, "check digit"},
      {"install", p_install("C1", "part", "C1"), BLOK_EINVAL, "in itself"},
      {"install", p_install("C1", "shelf", "C2"), BLOK_EINVAL, "one of part, vehicle"},
      {"remove", json_pack("{s:s, s:i}", "serial", "C1", "extra", 1), BLOK_EFORMAT,
       "unknown field extra"},
      {"recall", p_recall("R", json_array()), BLOK_EINVAL, "at least one scope"},
      {"recall",
       p_recall("R", json_pack("[{s:{s:s, s:s}}]", "vins", "from", "1HGCM82633A004352", "to",
                               "2HGCM82603A004352")),
       BLOK_ERANGE, "a vin range stays within one wmi"},
      {"reading",
       json_pack("{s:s, s:s, s:i, s:i, s:i}", "subject", "batch", "id", "B", "temp", 5000,
                 "humidity", 1, "shock", 1),
       BLOK_ERANGE, "payload.temp"},
  };
  for (size_t i = 0; i < BLOK_ARRAY_LEN(cases); i++) {
    struct blok_why why = {{0}};
    blok_buf_clear(&w.pl);
    enum blok_err rc = blok_kind_from_json(kind(&w, cases[i].type), cases[i].p, &w.pl, &why);
    if (rc != cases[i].code || strstr(why.msg, cases[i].text) == NULL)
      fail_msg("case %zu (%s): want %s (\"%s\"), got %s (\"%s\")", i, cases[i].type,
               blok_err_name(cases[i].code), cases[i].text, blok_err_name(rc), why.msg);
    json_decref(cases[i].p);
  }
  /* The binary form: a range of 10 serials "C0007".."C0016" of batch "B". */
  static const uint8_t want[] = {0x01, 0, 0, 0, 'B', 1, 0, 0, 0, 1,  0, 0, 0, 'C',
                                 4,    7, 0, 0, 0,   0, 0, 0, 0, 10, 0, 0, 0};
  payload(&w, "serials", p_range("B", "C", 4, 7, 10));
  assert_int_equal(w.pl.len, sizeof want);
  assert_memory_equal(w.pl.data, want, sizeof want);
  world_close(&w);
}

/* --- batches, serials, installs, recalls -------------------------------------------------- */

static void setup_vehicles(struct world *w, char vins[][18], unsigned n, int year) {
  for (unsigned i = 0; i < n; i++) {
    make_vin(vins[i], "1HG", 100 + i);
    ok(w, MAKER, "register", p_register(w, vins[i], year));
  }
}

static void test_batches_and_serials(void **state) {
  (void)state;
  static struct world w;
  world_open(&w);
  begin(&w);
  ok(&w, AUDITOR, "attest",
     json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "lot", "LOT-SI-1", "material", "silicon", "site",
               "Quarry 9", "country", "NO", "scheme", "IRMA", "certificate",
               "3333333333333333333333333333333333333333333333333333333333333333"));
  ok(&w, SUPPLIER, "batch", p_batch("CHIP-1", "PN-77", "mcu", 20000, json_pack("[s]", "LOT-SI-1")));
  refused(&w, SUPPLIER, "batch", p_batch("CHIP-1", "PN-77", "mcu", 5, NULL), BLOK_EEXIST,
          "batch CHIP-1 is already registered");
  refused(&w, SUPPLIER, "batch", p_batch("CHIP-2", "PN-77", "mcu", 5, json_pack("[s]", "NOPE")),
          BLOK_ENOTFOUND, "input NOPE is neither a registered batch nor an attested lot");
  denied(&w, SERVICE, "batch", p_batch("CHIP-3", "PN-77", "mcu", 5, NULL), BLOK_ENOTPERMITTED,
         "no role");
  /* 10,000 serials in one transaction, then more across a bucket edge. */
  ok(&w, SUPPLIER, "serials", p_range("CHIP-1", "CF-", 8, 0, 10000));
  refused(&w, SUPPLIER, "serials", p_range("CHIP-1", "CF-", 8, 9999, 2), BLOK_EEXIST,
          "serial CF-00009999 is already registered, in batch CHIP-1");
  refused(&w, SUPPLIER2, "serials", p_range("CHIP-1", "X", 3, 0, 2), BLOK_ENOTPERMITTED,
          "only Chip Foundry may register");
  refused(&w, SUPPLIER, "serials", p_range("CHIP-1", "CF-", 8, 10000, 10001), BLOK_ERANGE,
          "quantity of 20000 and 10000 serials");
  ok(&w, SUPPLIER, "serials",
     json_pack("{s:s, s:[{s:s}, {s:s}]}", "batch", "CHIP-1", "ranges", "serial", "SPECIAL-A",
               "serial", "ODD7"));
  ok(&w, SUPPLIER2, "batch", p_batch("ECU-1", "ECU-9", "ecu", 10, json_pack("[s]", "CHIP-1")));
  ok(&w, SUPPLIER2, "batch", p_batch("ECU-2", "ECU-9", "ecu", 10, NULL));
  commit(&w);

  struct blok_txn *t = rtxn(&w);
  char batch[33];
  assert_int_equal(blok_parts_serial_batch(t, "CF-00004096", batch), BLOK_OK);
  assert_string_equal(batch, "CHIP-1");
  assert_int_equal(blok_parts_serial_batch(t, "ODD7", batch), BLOK_OK);
  assert_int_equal(blok_parts_serial_batch(t, "SPECIAL-A", batch), BLOK_OK);
  assert_int_equal(blok_parts_serial_batch(t, "CF-00010000", batch), BLOK_ENOTFOUND);
  assert_int_equal(blok_parts_serial_batch(t, "CF-0000001", batch), BLOK_ENOTFOUND); /* width */
  struct blok_parts_sourcing s;
  assert_int_equal(blok_parts_sourcing(t, "ECU-1", &s), BLOK_OK);
  assert_true(s.complete);
  assert_int_equal(s.batches, 2);
  assert_int_equal(s.attested, 1);
  assert_int_equal(blok_parts_sourcing(t, "ECU-2", &s), BLOK_OK);
  assert_false(s.complete);
  assert_string_equal(s.first_missing, "ECU-2");
  blok_store_read_end(t);
  world_close(&w);
}

/* Registers the chip and ECU batches with a few serials each. */
static void setup_parts(struct world *w) {
  ok(w, SUPPLIER, "batch", p_batch("CHIP-1", "PN-77", "mcu", 1000, NULL));
  ok(w, SUPPLIER, "serials", p_range("CHIP-1", "C", 4, 0, 100));
  ok(w, SUPPLIER2, "batch", p_batch("ECU-1", "ECU-9", "ecu", 1000, json_pack("[s]", "CHIP-1")));
  ok(w, SUPPLIER2, "serials", p_range("ECU-1", "E", 4, 0, 100));
}

static json_int_t jint(const json_t *j, const char *a, const char *b) {
  return json_integer_value(json_object_get(json_object_get(j, a), b));
}

/* The JSON documents of the API, on the state test_install_and_recall leaves. */
static void json_queries(struct blok_txn *t, const char *vin1) {
  json_t *j;
  assert_int_equal(blok_parts_recall_json(t, "R-CHIP", NULL, 10, &j), BLOK_OK);
  assert_int_equal(jint(j, "counts", "reached"), 1);
  assert_int_equal(jint(j, "counts", "remedied"), 1);
  json_t *v = json_array_get(json_object_get(j, "vehicles"), 0);
  assert_string_equal(json_string_value(json_object_get(v, "vin")), vin1);
  assert_string_equal(json_string_value(json_object_get(v, "remedy")), "done");
  assert_true(json_is_null(json_object_get(j, "next_cursor")));
  json_decref(j);
  assert_int_equal(blok_parts_recall_json(t, "R-CHIP", "zz", 10, &j), BLOK_EINVAL);
  assert_int_equal(blok_parts_recall_json(t, "R-NONE", NULL, 10, &j), BLOK_ENOTFOUND);
  assert_int_equal(blok_parts_batch_json(t, "CHIP-1", &j), BLOK_OK);
  json_t *out = json_object_get(j, "outputs");
  assert_string_equal(json_string_value(json_array_get(out, 0)), "ECU-1");
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "sourcing"), "status")),
                      "incomplete");
  json_decref(j);
  assert_int_equal(blok_parts_vehicle_json(t, vin1, NULL, 10, &j), BLOK_OK);
  assert_int_equal(json_array_size(json_object_get(j, "open_recalls")), 0);
  assert_int_equal(json_array_size(json_object_get(j, "parts")), 1);
  json_decref(j);
  assert_int_equal(blok_parts_part_json(t, "C0001", &j), BLOK_OK);
  assert_string_equal(json_string_value(json_object_get(j, "batch")), "CHIP-1");
  assert_true(json_is_null(json_object_get(json_object_get(j, "where"), "vin")));
  json_decref(j);
  assert_int_equal(blok_parts_part_json(t, "NOPE1", &j), BLOK_ENOTFOUND);
  assert_int_equal(blok_parts_history_json(t, "C0001", NULL, 2, &j), BLOK_OK);
  assert_int_equal(json_array_size(json_object_get(j, "events")), 2);
  assert_true(json_is_string(json_object_get(j, "next_cursor")));
  json_decref(j);
}

static void test_install_and_recall(void **state) {
  (void)state;
  static struct world w;
  char vins[3][18], got[256], paths[512], ids[8][33];
  world_open(&w);
  begin(&w);
  setup_vehicles(&w, vins, 3, 2022);
  setup_parts(&w);
  ok(&w, SUPPLIER2, "install", p_install("C0001", "part", "E0001"));
  ok(&w, MAKER, "install", p_install("E0001", "vehicle", vins[0]));
  ok(&w, MAKER, "install", p_install("C0002", "vehicle", vins[1]));
  refused(&w, SERVICE, "install", p_install("C0001", "vehicle", vins[2]), BLOK_EREFUSED,
          "part C0001 is installed in part E0001; a part is in one place at a time");
  refused(&w, SERVICE, "install", p_install("E0001", "part", "C0001"), BLOK_EREFUSED,
          "is installed in vehicle");
  refused(&w, SERVICE, "install", p_install("C9999", "vehicle", vins[2]), BLOK_ENOTFOUND,
          "serial C9999 was never registered");
  ok(&w, SUPPLIER2, "install", p_install("E0002", "part", "E0003"));
  refused(&w, SUPPLIER2, "install", p_install("E0003", "part", "E0002"), BLOK_EREFUSED,
          "would make a loop");
  denied(&w, AUDITOR, "install", p_install("C0003", "vehicle", vins[2]), BLOK_ENOTPERMITTED,
         "no role");
  /* Nesting: a chain of 8 parts, built from the bottom up, is the deepest allowed. */
  for (int i = 10; i < 17; i++) {
    char a[8], b[8];
    snprintf(a, sizeof a, "E%04d", i);
    snprintf(b, sizeof b, "E%04d", i + 1);
    ok(&w, SUPPLIER2, "install", p_install(a, "part", b));
  }
  refused(&w, SUPPLIER2, "install", p_install("E0017", "part", "E0018"), BLOK_ERANGE,
          "parts nest at most 8 deep");
  refused(&w, SUPPLIER2, "install", p_install("E0019", "part", "E0010"), BLOK_ERANGE,
          "parts nest at most 8 deep");
  ok(&w, MAKER, "install", p_install("E0017", "vehicle", vins[2]));
  ok(&w, MAKER, "recall", p_recall("R-CHIP", json_pack("[{s:s}]", "batch", "CHIP-1")));
  refused(&w, MAKER, "recall", p_recall("R-CHIP", json_pack("[{s:s}]", "batch", "CHIP-1")),
          BLOK_EEXIST, "already issued");
  commit(&w);

  /* The chip inside the ECU inside vehicle 0, and the chip straight in vehicle 1. */
  assert_int_equal(reach_all(&w, "R-CHIP", 10, got, sizeof got, paths, sizeof paths), 2);
  char want[256];
  snprintf(want, sizeof want, "%s %s", vins[0], vins[1]);
  assert_string_equal(got, want);
  assert_string_equal(paths, "C0001>E0001;C0002;");
  assert_int_equal(open_recalls(&w, vins[0], ids), 1);
  assert_string_equal(ids[0], "R-CHIP");
  assert_int_equal(open_recalls(&w, vins[2], ids), 0);

  struct blok_txn *t = rtxn(&w);
  struct blok_parts_path bom[8];
  struct blok_parts_cursor c = {0};
  size_t n;
  assert_int_equal(blok_parts_bom(t, vins[0], &c, 8, bom, &n), BLOK_OK);
  assert_int_equal(n, 2);
  assert_string_equal(bom[0].path[0], "E0001");
  assert_string_equal(bom[1].path[0], "C0001");
  assert_string_equal(bom[1].path[1], "E0001");
  assert_int_equal(c.len, 0);
  struct blok_parts_path where;
  assert_int_equal(blok_parts_where(t, "C0001", &where), BLOK_OK);
  assert_string_equal(where.vin, vins[0]);
  assert_int_equal(where.depth, 2);
  uint64_t reached, remedied;
  assert_int_equal(blok_parts_recall_counts(t, "R-CHIP", &reached, &remedied), BLOK_OK);
  assert_int_equal(reached, 2);
  assert_int_equal(remedied, 0);
  blok_store_read_end(t);

  /* A remedy closes the recall for that vehicle; removing the ECU takes vehicle 0 out. */
  begin(&w);
  ok(&w, SERVICE, "remedy", json_pack("{s:s, s:s}", "recall", "R-CHIP", "vin", vins[1]));
  refused(&w, SERVICE, "remedy", json_pack("{s:s, s:s}", "recall", "R-CHIP", "vin", vins[1]),
          BLOK_EEXIST, "already recorded");
  refused(&w, SERVICE, "remedy", json_pack("{s:s, s:s}", "recall", "R-NONE", "vin", vins[1]),
          BLOK_ENOTFOUND, "never issued");
  ok(&w, SERVICE, "remove", p_serial("E0001"));
  refused(&w, SERVICE, "remove", p_serial("E0001"), BLOK_EREFUSED, "not installed");
  commit(&w);
  assert_int_equal(open_recalls(&w, vins[1], ids), 0);
  assert_int_equal(reach_all(&w, "R-CHIP", 10, got, sizeof got, NULL, 0), 1);
  assert_string_equal(got, vins[1]);
  t = rtxn(&w);
  assert_int_equal(blok_parts_recall_counts(t, "R-CHIP", &reached, &remedied), BLOK_OK);
  assert_int_equal(reached, 1);
  assert_int_equal(remedied, 1);
  /* The chip's history: installed, then its batch's registration and serials. */
  struct blok_parts_event ev[8];
  c.len = 0;
  assert_int_equal(blok_parts_history(t, "C0001", &c, 8, ev, &n), BLOK_OK);
  assert_int_equal(n, 3);
  assert_string_equal(ev[0].kind, "install");
  assert_string_equal(ev[1].kind, "batch");
  assert_string_equal(ev[2].kind, "serials");
  assert_int_equal(c.len, 0);
  /* One event a page, the same three. */
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(blok_parts_history(t, "C0001", &c, 1, ev, &n), BLOK_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].kind, i == 0 ? "install" : i == 1 ? "batch" : "serials");
  }
  if (c.len > 0) {
    assert_int_equal(blok_parts_history(t, "C0001", &c, 1, ev, &n), BLOK_OK);
    assert_int_equal(n, 0);
  }
  assert_int_equal(c.len, 0);
  json_queries(t, vins[1]);
  blok_store_read_end(t);
  world_close(&w);
}

/* Reach over every scope kind, paged in small pages, against the list computed by hand. */
static void test_reach_paging(void **state) {
  (void)state;
  static struct world w;
  static char vins[40][18];
  char got[40 * 18 + 1], want[40 * 18 + 1];
  world_open(&w);
  begin(&w);
  setup_vehicles(&w, vins, 30, 2020);
  setup_parts(&w);
  for (int i = 0; i < 30; i++) {
    char s[8];
    snprintf(s, sizeof s, "C%04d", 10 + i);
    ok(&w, MAKER, "install", p_install(s, "vehicle", vins[i]));
  }
  /* A serial that sorts inside the range C0015..C0019 without being one of it. */
  ok(&w, SUPPLIER, "batch", p_batch("ODD-1", "PN-ODD", "mcu", 5, NULL));
  ok(&w, SUPPLIER, "serials",
     json_pack("{s:s, s:[{s:s}]}", "batch", "ODD-1", "ranges", "serial", "C00150X"));
  ok(&w, MAKER, "install", p_install("C00150X", "vehicle", vins[0]));
  ok(&w, MAKER, "recall", p_recall("R-PN", json_pack("[{s:s}]", "part_number", "PN-77")));
  ok(&w, MAKER, "recall",
     p_recall("R-SER", json_pack("[{s:{s:s, s:i, s:i, s:i}}]", "serials", "prefix", "C", "width", 4,
                                 "first", 15, "count", 5)));
  /* VINs sort by their characters, not by the order they were made in. */
  static char sorted[30][18];
  memcpy(sorted, vins, sizeof sorted);
  qsort(sorted, 30, sizeof sorted[0], (int (*)(const void *, const void *))strcmp);
  ok(&w, MAKER, "recall",
     p_recall("R-VIN", json_pack("[{s:{s:s, s:s}}]", "vins", "from", sorted[3], "to", sorted[6])));
  json_t *r = p_recall("R-YEAR", json_pack("[{s:s}]", "batch", "CHIP-1"));
  json_object_set_new(r, "year_from", json_integer(2021));
  ok(&w, MAKER, "recall", r);
  commit(&w);
  size_t used = 0;
  for (int i = 0; i < 30; i++)
    used += (size_t)snprintf(want + used, sizeof want - used, "%s%s", i ? " " : "", vins[i]);
  for (size_t limit = 1; limit <= 8; limit += 7) {
    assert_int_equal(reach_all(&w, "R-PN", limit, got, sizeof got, NULL, 0), 30);
    assert_string_equal(got, want);
  }
  assert_int_equal(reach_all(&w, "R-SER", 2, got, sizeof got, NULL, 0), 5);
  snprintf(want, sizeof want, "%s %s %s %s %s", vins[5], vins[6], vins[7], vins[8], vins[9]);
  assert_string_equal(got, want);
  assert_int_equal(reach_all(&w, "R-VIN", 3, got, sizeof got, NULL, 0), 4);
  snprintf(want, sizeof want, "%s %s %s %s", sorted[3], sorted[4], sorted[5], sorted[6]);
  assert_string_equal(got, want);
  assert_int_equal(reach_all(&w, "R-YEAR", 5, got, sizeof got, NULL, 0), 0);
  char ids[8][33];
  /* Vehicle 5 holds chip C0015: the part number and serial recalls reach it, the VIN range
   * when its VIN sorts inside, the model-year one never. */
  assert_int_equal(open_recalls(&w, vins[5], ids),
                   2 + (strcmp(vins[5], sorted[3]) >= 0 && strcmp(vins[5], sorted[6]) <= 0));
  assert_string_equal(ids[0], "R-PN");
  assert_string_equal(ids[1], "R-SER");
  world_close(&w);
}

/* --- the parts trees and recall lists in state ------------------------------------------- */

/* A parts state value at the head: its bytes in out (at most cap), or 0 when absent. */
static size_t state_value(struct world *w, const char *key, size_t key_len, uint8_t *out,
                          size_t cap) {
  uint8_t tk[32];
  const uint8_t *v;
  size_t n = 0;
  struct blok_txn *t = rtxn(w);
  assert_int_equal(blok_state_key(tk, BLOK_PARTS_MODULE, key, key_len), BLOK_OK);
  enum blok_err rc = blok_state_get(t, tk, &v, &n);
  if (rc == BLOK_ENOTFOUND)
    n = 0;
  else
    assert_int_equal(rc, BLOK_OK);
  assert_true(n <= cap);
  if (n) memcpy(out, v, n);
  blok_store_read_end(t);
  return n;
}

/* The total of a "V/" or "C/" record (its first u32), or -1 when there is none. */
static long tree_total(struct world *w, char tag, const char *id) {
  char key[64];
  uint8_t v[8192];
  int kl = snprintf(key, sizeof key, "%c/%s", tag, id);
  size_t n = state_value(w, key, (size_t)kl, v, sizeof v);
  if (n == 0) return -1;
  assert_true(n >= 8);
  return (long)((uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24);
}

static enum blok_err tget(void *ctx, const uint8_t *key, size_t key_len, bool *found,
                          const uint8_t **val, size_t *val_len, struct blok_why *why) {
  uint8_t tk[32];
  (void)why;
  assert_int_equal(blok_state_key(tk, BLOK_PARTS_MODULE, key, key_len), BLOK_OK);
  enum blok_err rc = blok_state_get(ctx, tk, val, val_len);
  *found = rc == BLOK_OK;
  return rc == BLOK_ENOTFOUND ? BLOK_OK : rc;
}

/* The open recalls of a vehicle from state, each "id:path" with the path joined by ">",
 * joined with spaces. */
static size_t walk(struct world *w, const char *vin, int year, char *out, size_t cap) {
  static struct blok_parts_open_recall o[BLOK_PARTS_RECALLS_MAX];
  struct blok_txn *t = rtxn(w);
  struct blok_parts_state st = {.ctx = t, .get = tget};
  struct blok_why why = {{0}};
  size_t n, used = 0;
  enum blok_err rc = blok_parts_vehicle_recalls(&st, vin, "Roadster", (uint16_t)year, o,
                                                BLOK_PARTS_RECALLS_MAX, &n, &why);
  blok_store_read_end(t);
  if (rc != BLOK_OK) fail_msg("walk %s: %s (%s)", vin, blok_err_name(rc), why.msg);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    used += (size_t)snprintf(out + used, cap - used, "%s%s:", i ? " " : "", o[i].recall);
    for (size_t d = 0; d < o[i].depth; d++)
      used += (size_t)snprintf(out + used, cap - used, "%s%s", d ? ">" : "", o[i].path[d]);
  }
  return n;
}

static void test_tree_and_open_recalls(void **state) {
  (void)state;
  static struct world w;
  char vins[4][18], got[512], want[512];
  world_open(&w);
  begin(&w);
  setup_vehicles(&w, vins, 4, 2022);
  setup_parts(&w);
  ok(&w, SUPPLIER, "batch", p_batch("MANY-1", "PN-M", "mcu", 1000, NULL));
  ok(&w, SUPPLIER, "serials", p_range("MANY-1", "M", 4, 0, 600));
  /* A chip in an ECU in vehicle 0; an ECU alone in vehicle 1; vehicle 2 has no parts. */
  ok(&w, SUPPLIER2, "install", p_install("C0001", "part", "E0001"));
  ok(&w, MAKER, "install", p_install("E0001", "vehicle", vins[0]));
  ok(&w, MAKER, "install", p_install("E0002", "vehicle", vins[1]));
  ok(&w, MAKER, "recall", p_recall("R-CHIP", json_pack("[{s:s}]", "batch", "CHIP-1")));
  ok(&w, MAKER, "recall", p_recall("R-ECU", json_pack("[{s:s}]", "part_number", "ECU-9")));
  ok(&w, MAKER, "recall",
     p_recall("R-SER", json_pack("[{s:{s:s, s:i, s:i, s:i}}]", "serials", "prefix", "C", "width", 4,
                                 "first", 0, "count", 2)));
  ok(&w, MAKER, "recall",
     p_recall("R-VIN", json_pack("[{s:{s:s, s:s}}]", "vins", "from", vins[2], "to", vins[2])));
  json_t *r = p_recall("R-OLD", json_pack("[{s:s}]", "batch", "CHIP-1"));
  json_object_set_new(r, "year_to", json_integer(2021));
  ok(&w, MAKER, "recall", r);
  commit(&w);
  assert_int_equal(tree_total(&w, 'V', vins[0]), 2);
  assert_int_equal(tree_total(&w, 'C', "E0001"), 1);
  assert_int_equal(tree_total(&w, 'C', "C0001"), -1);
  assert_int_equal(tree_total(&w, 'V', vins[2]), -1);
  /* The chip is reached by its batch and its serial, inside the ECU: path from the vehicle. */
  assert_int_equal(walk(&w, vins[0], 2022, got, sizeof got), 3);
  assert_string_equal(got, "R-CHIP:E0001>C0001 R-ECU:E0001 R-SER:E0001>C0001");
  assert_int_equal(walk(&w, vins[1], 2022, got, sizeof got), 1);
  assert_string_equal(got, "R-ECU:E0002");
  assert_int_equal(walk(&w, vins[2], 2022, got, sizeof got), 1);
  assert_string_equal(got, "R-VIN:");
  assert_int_equal(walk(&w, vins[3], 2022, got, sizeof got), 0);
  /* The model-year filter: R-OLD reaches a 2021 vehicle with the chip. */
  assert_int_equal(walk(&w, vins[0], 2021, got, sizeof got), 4);

  /* A remedied recall is no longer open; a removed part takes its recalls away. */
  begin(&w);
  ok(&w, SERVICE, "remedy", json_pack("{s:s, s:s}", "recall", "R-CHIP", "vin", vins[0]));
  ok(&w, SERVICE, "remove", p_serial("E0002"));
  commit(&w);
  assert_int_equal(walk(&w, vins[0], 2022, got, sizeof got), 2);
  assert_string_equal(got, "R-ECU:E0001 R-SER:E0001>C0001");
  assert_int_equal(walk(&w, vins[1], 2022, got, sizeof got), 0);
  assert_int_equal(tree_total(&w, 'V', vins[1]), -1);
  begin(&w);
  ok(&w, SUPPLIER2, "remove", p_serial("C0001"));
  commit(&w);
  assert_int_equal(tree_total(&w, 'V', vins[0]), 1);
  assert_int_equal(tree_total(&w, 'C', "E0001"), -1);
  assert_int_equal(walk(&w, vins[0], 2022, got, sizeof got), 1);

  /* Limits: 64 parts straight in one part, 512 in one vehicle, however deep. */
  begin(&w);
  for (int e = 20; e < 28; e++) {
    char s[8];
    snprintf(s, sizeof s, "E%04d", e);
    ok(&w, MAKER, "install", p_install(s, "vehicle", vins[3]));
  }
  int m = 0;
  for (int e = 20; e < 27; e++)
    for (int i = 0; i < 64; i++, m++) {
      char s[8], t[8];
      snprintf(s, sizeof s, "M%04d", m);
      snprintf(t, sizeof t, "E%04d", e);
      ok(&w, SUPPLIER2, "install", p_install(s, "part", t));
    }
  refused(&w, SUPPLIER2, "install", p_install("M0500", "part", "E0020"), BLOK_EFULL,
          "part E0020 holds 64 parts directly");
  for (int i = 0; i < 56; i++, m++) {
    char s[8];
    snprintf(s, sizeof s, "M%04d", m);
    ok(&w, SUPPLIER2, "install", p_install(s, "part", "E0027"));
  }
  snprintf(want, sizeof want, "vehicle %s would hold 513 parts", vins[3]);
  refused(&w, SUPPLIER2, "install", p_install("M0599", "part", "E0027"), BLOK_EFULL, want);
  commit(&w);
  assert_int_equal(tree_total(&w, 'V', vins[3]), 512);
  assert_int_equal(tree_total(&w, 'C', "E0027"), 56);
  assert_int_equal(walk(&w, vins[3], 2022, got, sizeof got), 1); /* R-ECU:E0020 */
  assert_string_equal(got, "R-ECU:E0020");
  begin(&w);
  ok(&w, SERVICE, "remove", p_serial("E0027"));
  commit(&w);
  assert_int_equal(tree_total(&w, 'V', vins[3]), 512 - 57);
  assert_int_equal(tree_total(&w, 'C', "E0027"), 56);

  /* A batch is named by at most 256 recall scopes. */
  begin(&w);
  for (int i = 0; i < BLOK_PARTS_RECALL_LIST_MAX - 2; i++) {
    char id[16];
    snprintf(id, sizeof id, "RB-%03d", i);
    ok(&w, MAKER, "recall", p_recall(id, json_pack("[{s:s}]", "batch", "CHIP-1")));
  }
  refused(&w, MAKER, "recall", p_recall("RB-FULL", json_pack("[{s:s}]", "batch", "CHIP-1")),
          BLOK_EFULL, "batch CHIP-1 is named by 256 recall scopes already");
  commit(&w);
  world_close(&w);
}

/* --- custody, conditions, reports from the field ------------------------------------------ */

static json_t *p_offer(struct world *w, const char *subject, const char *id, enum who to) {
  return json_pack("{s:s, s:s, s:s, s:s}", "subject", subject, "id", id, "to", w->hex[to],
                   "location", "DE-DRS-DOCK4");
}

static json_t *p_accept(const char *subject, const char *id) {
  return json_pack("{s:s, s:s, s:s}", "subject", subject, "id", id, "location", "US-OH-PLANT2");
}

static json_t *p_reading(const char *id, int temp) {
  return json_pack("{s:s, s:s, s:i, s:i, s:i}", "subject", "batch", "id", id, "temp", temp,
                   "humidity", 300, "shock", 500);
}

static void test_custody_and_reports(void **state) {
  (void)state;
  static struct world w;
  char vins[2][18];
  world_open(&w);
  begin(&w);
  setup_vehicles(&w, vins, 2, 2023);
  setup_parts(&w);
  ok(&w, SUPPLIER, "limits",
     json_pack("{s:s, s:i, s:i, s:i, s:i}", "part_type", "mcu", "temp_min", -200, "temp_max", 600,
               "humidity_max", 800, "shock_max", 5000));
  refused(&w, SUPPLIER2, "handoff_offer", p_offer(&w, "batch", "CHIP-1", MAKER), BLOK_ENOTPERMITTED,
          "only its holder may hand it off");
  ok(&w, SUPPLIER, "handoff_offer", p_offer(&w, "batch", "CHIP-1", SUPPLIER2));
  refused(&w, MAKER, "handoff_accept", p_accept("batch", "CHIP-1"), BLOK_ENOTPERMITTED,
          "no handoff of CHIP-1 is offered to this key");
  ok(&w, SUPPLIER2, "handoff_accept", p_accept("batch", "CHIP-1"));
  ok(&w, SUPPLIER2, "sensor", json_pack("{s:s}", "key", w.hex[SENSOR]));
  ok(&w, SUPPLIER2, "reading", p_reading("CHIP-1", 250));
  ok(&w, SENSOR, "reading", p_reading("CHIP-1", 900)); /* too hot: kept and flagged */
  refused(&w, SUPPLIER, "reading", p_reading("CHIP-1", 100), BLOK_ENOTPERMITTED, "its holder");
  denied(&w, STRANGER, "reading", p_reading("CHIP-1", 100), BLOK_ENOTPERMITTED,
         "no registered sensor");
  /* Reports: the same serial in a second vehicle is a clone; an unknown serial not genuine. */
  ok(&w, MAKER, "install", p_install("C0005", "vehicle", vins[0]));
  ok(&w, SERVICE, "observe", json_pack("{s:s, s:s}", "serial", "C0005", "vin", vins[1]));
  ok(&w, SERVICE, "observe", json_pack("{s:s, s:s}", "serial", "FAKE-X", "vin", vins[1]));
  commit(&w);

  struct blok_txn *t = rtxn(&w);
  struct blok_parts_event ev[16];
  struct blok_parts_cursor c = {0};
  size_t n;
  assert_int_equal(blok_parts_history(t, "C0050", &c, 16, ev, &n), BLOK_OK);
  /* batch, serials, offer, accept, two readings: the batch's custody is its loose parts'. */
  assert_int_equal(n, 6);
  assert_string_equal(ev[2].kind, "handoff_offer");
  assert_string_equal(ev[3].kind, "handoff_accept");
  assert_int_equal(ev[4].flags, 0);
  assert_int_equal(ev[5].flags, BLOK_PARTS_FLAG_OUT_OF_LIMIT);
  assert_non_null(strstr(ev[5].detail, "90.0 C"));
  assert_non_null(strstr(ev[5].detail, "outside the limits"));
  c.len = 0;
  assert_int_equal(blok_parts_history(t, "C0005", &c, 16, ev, &n), BLOK_OK);
  assert_string_equal(ev[1].kind, "observe");
  assert_int_equal(ev[1].flags, BLOK_PARTS_FLAG_CLONE);
  assert_non_null(strstr(ev[1].detail, vins[0]));
  blok_store_read_end(t);
  world_close(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_round_trips),      cmocka_unit_test(test_json_refusals),
      cmocka_unit_test(test_batches_and_serials),   cmocka_unit_test(test_install_and_recall),
      cmocka_unit_test(test_reach_paging),          cmocka_unit_test(test_custody_and_reports),
      cmocka_unit_test(test_tree_and_open_recalls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
