/*
 * Recall reach at scale: how long blok_parts_recall_reach takes to walk the whole reach of a
 * recall of one batch of 100,000 parts installed across 100,000 vehicles, against the issue's
 * bound of 1 s; and how long registering 1,000,000 serials takes.
 *
 * The store is built in-process the way a node builds it: a ledger with the vehicle and parts
 * modules, 100,000 vehicles registered through the vehicle module's register kind, a batch of
 * 100,000 chips with its serials in one range, each chip installed in its own vehicle, in blocks
 * of 5,000 transactions. Commits are unsynced (MDB_NOSYNC) to keep the setup short; the timed
 * reads do not write. Then the recall is issued and its reach read page by page (1,000 vehicles
 * a page, every page its own read transaction, as the API reads it), and counted in one walk.
 * The answer is checked (every vehicle once, each with its one-part path) so a fast wrong answer
 * cannot pass for a measurement. Last, a batch of 1,000,000 serials is registered in ten
 * transactions of 100,000 and timed, apply and commit. Output is key=value lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blok/anchor.h"
#include "blok/consortium.h"
#include "blok/hex.h"
#include "blok/ledger.h"
#include "blok/parts.h"
#include "blok/vehicle.h"
#include "blok/vin.h"
#include "blok/banned.h"

#define CHAIN       "blokauto-bench"
#define VEHICLES    100000
#define BLOCK_TXS   5000
#define PAGE        1000
#define BOUND_S     1.0
#define BIG_SERIALS 1000000

static char g_dir[64];

static void die(const char *what, enum blok_err rc) {
  fprintf(stderr, "bench_recall: %s: %s\n", what, blok_strerror(rc));
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct bench {
  struct blok_sign_keypair validator, maker, supplier, owner;
  struct blok_registry reg;
  struct blok_genesis g;
  struct blok_store *store;
  struct blok_ledger *l;
  struct blok_exec *x;
  size_t in_block;
  uint64_t time_ms, maker_nonce, supplier_nonce;
  struct blok_buf pl, raw;
};

static void keypair(struct blok_sign_keypair *kp, uint8_t b) {
  uint8_t seed[32];
  memset(seed, b, sizeof seed);
  if (blok_sign_keypair_from_seed(kp, seed) != BLOK_OK) die("key", BLOK_ECRYPTO);
}

static void open_ledger(struct bench *b) {
  char v[65], m[65], s[65];
  struct blok_why why = {{0}};
  keypair(&b->validator, 1);
  keypair(&b->maker, 2);
  keypair(&b->supplier, 3);
  keypair(&b->owner, 4);
  blok_hex_encode(v, sizeof v, b->validator.pk, 32);
  blok_hex_encode(m, sizeof m, b->maker.pk, 32);
  blok_hex_encode(s, sizeof s, b->supplier.pk, 32);
  blok_registry_init(&b->reg);
  if (blok_registry_add(&b->reg, &blok_consortium_module) != BLOK_OK ||
      blok_registry_add(&b->reg, &blok_anchor_module) != BLOK_OK ||
      blok_registry_add(&b->reg, &blok_vehicle_module) != BLOK_OK ||
      blok_registry_add(&b->reg, &blok_parts_module) != BLOK_OK)
    die("registry", BLOK_EINVAL);
  b->reg.authorize = blok_consortium_authorize;
  json_t *doc = json_pack(
      "{s:s, s:I, s:[{s:s, s:s}], s:{s:[{s:s, s:[s], s:[s], s:[s]}, {s:s, s:[s], s:[s]}]}}",
      "chain_id", CHAIN, "genesis_time_ms", (json_int_t)1700000000000, "validators", "name",
      "validator-0", "public_key", v, "consortium", "members", "name", "Acme Motors", "roles",
      "manufacturer", "keys", m, "wmi", "1HG", "name", "Chip Foundry", "roles", "supplier", "keys",
      s);
  enum blok_err rc = blok_genesis_parse(&b->g, doc, &b->reg, &why);
  json_decref(doc);
  if (rc != BLOK_OK) die(why.msg, rc);
  struct blok_store_opts o = {.dir = g_dir, .unsynced_for_bench = true};
  if ((rc = blok_store_open(&b->store, &o)) != BLOK_OK) die("store", rc);
  if ((rc = blok_ledger_open(&b->l, b->store, &b->reg, &b->g, &why)) != BLOK_OK) die(why.msg, rc);
  b->time_ms = b->g.time_ms;
  b->maker_nonce = b->supplier_nonce = 1;
  blok_buf_init(&b->pl, BLOK_TX_PAYLOAD_MAX);
  blok_buf_init(&b->raw, BLOK_TX_ENCODED_MAX);
}

static void commit(struct bench *b) {
  static struct blok_qc qc;
  struct blok_header h;
  enum blok_err rc = blok_exec_finish(b->x, &h);
  if (rc != BLOK_OK) die("finish", rc);
  memset(&qc, 0, sizeof qc);
  qc.vote.height = h.height;
  qc.vote.round = h.round;
  if (blok_header_hash(&h, qc.vote.block_hash) != BLOK_OK) die("hash", BLOK_EINVAL);
  qc.validator_count = 1;
  qc.signers[0] = 1;
  qc.sig_count = 1;
  if ((rc = blok_vote_sign(qc.sigs[0], CHAIN, &qc.vote, &b->validator)) != BLOK_OK) die("vote", rc);
  if ((rc = blok_ledger_commit(b->l, b->x, &qc)) != BLOK_OK) die("commit", rc);
  blok_exec_free(b->x);
  b->x = NULL;
  b->in_block = 0;
}

/* Applies one transaction (module/type) from kp with payload JSON p (consumed), in the open
 * block, committing it when it is full. */
static void apply_tx(struct bench *b, const struct blok_sign_keypair *kp, uint64_t *nonce,
                     const char *module, const char *type, json_t *p) {
  struct blok_why why = {{0}};
  const struct blok_module *m;
  const struct blok_tx_kind *k = blok_registry_kind(&b->reg, module, type, &m);
  if (b->x == NULL) {
    b->time_ms += 1000;
    enum blok_err rc = blok_exec_begin(b->l, b->time_ms, b->validator.pk, 1, &b->x);
    if (rc != BLOK_OK) die("begin", rc);
  }
  blok_buf_clear(&b->pl);
  blok_buf_clear(&b->raw);
  if (k == NULL || p == NULL || blok_kind_from_json(k, p, &b->pl, &why) != BLOK_OK)
    die(why.msg, BLOK_EINVAL);
  json_decref(p);
  struct blok_tx tx;
  memset(&tx, 0, sizeof tx);
  tx.version = BLOK_TX_VERSION;
  snprintf(tx.chain_id, sizeof tx.chain_id, "%s", CHAIN);
  snprintf(tx.module, sizeof tx.module, "%s", module);
  snprintf(tx.type, sizeof tx.type, "%s", type);
  tx.nonce = (*nonce)++;
  tx.expiry_height = UINT64_MAX;
  tx.payload = b->pl.data;
  tx.payload_len = b->pl.len;
  enum blok_err rc = blok_tx_sign(&tx, kp, &b->raw);
  if (rc != BLOK_OK) die("sign", rc);
  struct blok_tx_result res;
  rc = blok_exec_tx(b->x, &tx, true, &res, &why);
  if (rc != BLOK_OK) die(why.msg, rc);
  if (res.code != BLOK_OK) die(res.msg, (enum blok_err)res.code);
  if (++b->in_block == BLOCK_TXS) commit(b);
}

static void make_vin(char out[18], unsigned serial) {
  char digit;
  snprintf(out, 18, "1HGCM82603A%06u", serial % 1000000);
  if (blok_vin_check_digit(&digit, out, 17) != BLOK_OK) die("vin", BLOK_EVIN);
  out[8] = digit;
}

static json_t *batch_json(const char *id, json_int_t qty) {
  return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "batch", id, "part_number", "PN-77",
                   "part_type", "mcu", "site", "Fab 3", "production_date", 20250301, "quantity",
                   qty);
}

static json_t *range_json(const char *batch, const char *prefix, json_int_t first,
                          json_int_t count) {
  return json_pack("{s:s, s:[{s:s, s:i, s:I, s:I}]}", "batch", batch, "ranges", "prefix", prefix,
                   "width", 7, "first", first, "count", count);
}

static void build(struct bench *b) {
  char owner[65], vin[18], serial[16];
  blok_hex_encode(owner, sizeof owner, b->owner.pk, 32);
  uint64_t t0 = now_ns();
  for (unsigned i = 0; i < VEHICLES; i++) {
    make_vin(vin, i);
    apply_tx(b, &b->maker, &b->maker_nonce, BLOK_VEHICLE_MODULE, "register",
             json_pack("{s:s, s:i, s:s, s:s, s:s}", "vin", vin, "model_year", 2024, "make", "Acme",
                       "model", "Roadster", "owner", owner));
  }
  apply_tx(b, &b->supplier, &b->supplier_nonce, BLOK_PARTS_MODULE, "batch",
           batch_json("CHIP-B", VEHICLES));
  apply_tx(b, &b->supplier, &b->supplier_nonce, BLOK_PARTS_MODULE, "serials",
           range_json("CHIP-B", "CH-", 0, VEHICLES));
  for (unsigned i = 0; i < VEHICLES; i++) {
    make_vin(vin, i);
    snprintf(serial, sizeof serial, "CH-%07u", i);
    apply_tx(b, &b->maker, &b->maker_nonce, BLOK_PARTS_MODULE, "install",
             json_pack("{s:s, s:s, s:s}", "serial", serial, "into", "vehicle", "target", vin));
  }
  apply_tx(b, &b->maker, &b->maker_nonce, BLOK_PARTS_MODULE, "recall",
           json_pack("{s:s, s:s, s:s, s:[{s:s}]}", "recall", "R-CHIP", "reason", "cracked die",
                     "remedy", "replace the chip", "scopes", "batch", "CHIP-B"));
  if (b->x) commit(b);
  printf("setup: vehicles=%d parts=%d block_txs=%d synced_commits=no seconds=%.2f\n", VEHICLES,
         VEHICLES, BLOCK_TXS, (double)(now_ns() - t0) / 1e9);
}

/* The whole reach, a read transaction a page; checks every vehicle comes once. */
static double reach_seconds(struct bench *b, int check) {
  static struct blok_parts_reach out[PAGE];
  static unsigned char seen[VEHICLES];
  struct blok_parts_cursor c = {0};
  size_t total = 0, pages = 0;
  memset(seen, 0, sizeof seen);
  uint64_t t0 = now_ns();
  do {
    struct blok_txn *t;
    size_t n;
    enum blok_err rc = blok_store_read_begin(b->store, &t);
    if (rc == BLOK_OK) rc = blok_parts_recall_reach(t, "R-CHIP", &c, PAGE, out, &n);
    blok_store_read_end(t);
    if (rc != BLOK_OK) die("reach", rc);
    for (size_t i = 0; check && i < n; i++) {
      unsigned v = (unsigned)strtoul(out[i].vin + 11, NULL, 10);
      if (v >= VEHICLES || seen[v]++ || out[i].path.depth != 1 || out[i].remedied)
        die("reach gave a wrong vehicle", BLOK_EINVAL);
    }
    total += n;
    pages++;
  } while (c.len > 0);
  double s = (double)(now_ns() - t0) / 1e9;
  if (total != VEHICLES) die("reach is not every vehicle", BLOK_EINVAL);
  if (check) printf("reach: vehicles=%zu pages=%zu page=%d\n", total, pages, PAGE);
  return s;
}

static void bench_reach(struct bench *b) {
  (void)reach_seconds(b, 1); /* warm and checked */
  double best = 1e9;
  for (int r = 0; r < 3; r++) {
    double s = reach_seconds(b, 0);
    if (s < best) best = s;
  }
  struct blok_txn *t;
  uint64_t reached, remedied;
  if (blok_store_read_begin(b->store, &t) != BLOK_OK) die("read", BLOK_ESTORE);
  uint64_t t0 = now_ns();
  enum blok_err rc = blok_parts_recall_counts(t, "R-CHIP", &reached, &remedied);
  double cs = (double)(now_ns() - t0) / 1e9;
  blok_store_read_end(t);
  if (rc != BLOK_OK || reached != VEHICLES) die("counts", rc);
  printf("recall_reach: vehicles=%d seconds=%.3f bound_seconds=%.1f %s\n", VEHICLES, best, BOUND_S,
         best < BOUND_S ? "PASS" : "FAIL");
  printf("recall_counts: reached=%llu remedied=%llu seconds=%.3f\n", (unsigned long long)reached,
         (unsigned long long)remedied, cs);
}

static void bench_serials(struct bench *b) {
  uint64_t t0 = now_ns();
  apply_tx(b, &b->supplier, &b->supplier_nonce, BLOK_PARTS_MODULE, "batch",
           batch_json("BIG", BIG_SERIALS));
  for (unsigned i = 0; i < BIG_SERIALS / BLOK_PARTS_SERIALS_TX; i++)
    apply_tx(
        b, &b->supplier, &b->supplier_nonce, BLOK_PARTS_MODULE, "serials",
        range_json("BIG", "BIG-", (json_int_t)i * BLOK_PARTS_SERIALS_TX, BLOK_PARTS_SERIALS_TX));
  commit(b);
  printf("register_serials: serials=%d transactions=%u seconds=%.3f\n", BIG_SERIALS,
         BIG_SERIALS / BLOK_PARTS_SERIALS_TX, (double)(now_ns() - t0) / 1e9);
}

static void cleanup(void) {
  char p[128];
  snprintf(p, sizeof p, "%s/data.mdb", g_dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", g_dir);
  unlink(p);
  rmdir(g_dir);
}

int main(void) {
  static struct bench b;
  snprintf(g_dir, sizeof g_dir, "/tmp/blok-bench-recall-XXXXXX");
  if (mkdtemp(g_dir) == NULL) die("mkdtemp", BLOK_EIO);
  open_ledger(&b);
  build(&b);
  bench_reach(&b);
  bench_serials(&b);
  blok_ledger_close(b.l);
  blok_store_close(b.store);
  blok_genesis_release(&b.g);
  blok_buf_release(&b.pl);
  blok_buf_release(&b.raw);
  cleanup();
  return 0;
}
