/*
 * History paging: how long blok_vehicle_history takes to read one page of a vehicle's events,
 * against the bound of 1 ms a page.
 *
 * The store is built here, in-process, the way a node builds it: a ledger with the vehicle
 * module, one vehicle registered and then given odometer readings until it has 10,000 events,
 * in blocks of 500 transactions, each block committed in its own synced LMDB transaction. Then
 * pages of 50 and 100 events are read at the start, the middle and the end of the history,
 * ascending and descending, many times each. Every page read is checked (its count and its
 * first event's number), so a fast wrong answer cannot pass for a measurement.
 *
 * Two times are printed per case: the call alone, inside an open read transaction, and the
 * call with its read transaction begun and ended around it (what an API request pays). The
 * store is in the page cache after it is built, as it is on a node that serves queries; a
 * cold read from disk is not measured. Output is one key=value line per case.
 *
 * Last, the whole route: the real HTTP API is started over the same ledger on a loopback port
 * and GET /v1/vehicles/{vin}/history?limit=100 is requested (keep-alive, one client) at the
 * start, middle and end of the history. The time is the client's, from sending the request to
 * the last byte of the JSON page, so it bounds the server time from above.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blok/anchor.h"
#include "blok/api.h"
#include "blok/consortium.h"
#include "blok/hex.h"
#include "blok/ledger.h"
#include "blok/vehicle.h"
#include "blok/banned.h"

#define CHAIN       "blokauto-bench"
#define EVENTS      10000
#define BLOCK_TXS   500
#define REPS        3000 /* timed reads per case */
#define WARMUP      200
#define BOUND_US    1000.0
#define VIN         "1HGCM82633A004352"
#define PAGE_LIMITS 2

static char g_dir[64];

static void die(const char *what, enum blok_err rc) {
  fprintf(stderr, "bench_history: %s: %s\n", what, blok_strerror(rc));
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct bench {
  struct blok_sign_keypair validator, maker, car;
  struct blok_registry reg;
  struct blok_genesis g;
  struct blok_store *store;
  struct blok_ledger *l;
  uint64_t time_ms;
  uint64_t car_nonce, maker_nonce;
  struct blok_buf pl, raw;
};

static void keypair(struct blok_sign_keypair *kp, uint8_t b) {
  uint8_t seed[32];
  memset(seed, b, sizeof seed);
  if (blok_sign_keypair_from_seed(kp, seed) != BLOK_OK) die("key", BLOK_ECRYPTO);
}

static void open_ledger(struct bench *b) {
  char v[65], m[65];
  struct blok_why why = {{0}};
  keypair(&b->validator, 1);
  keypair(&b->maker, 2);
  keypair(&b->car, 3);
  blok_hex_encode(v, sizeof v, b->validator.pk, 32);
  blok_hex_encode(m, sizeof m, b->maker.pk, 32);
  blok_registry_init(&b->reg);
  if (blok_registry_add(&b->reg, &blok_consortium_module) != BLOK_OK ||
      blok_registry_add(&b->reg, &blok_anchor_module) != BLOK_OK ||
      blok_registry_add(&b->reg, &blok_vehicle_module) != BLOK_OK)
    die("registry", BLOK_EINVAL);
  b->reg.authorize = blok_consortium_authorize;
  json_t *doc =
      json_pack("{s:s, s:I, s:[{s:s, s:s}], s:{s:[{s:s, s:[s], s:[s], s:[s]}]}}", "chain_id", CHAIN,
                "genesis_time_ms", (json_int_t)1700000000000, "validators", "name", "validator-0",
                "public_key", v, "consortium", "members", "name", "Acme Motors", "roles",
                "manufacturer", "keys", m, "wmi", "1HG");
  enum blok_err rc = blok_genesis_parse(&b->g, doc, &b->reg, &why);
  json_decref(doc);
  if (rc != BLOK_OK) die(why.msg, rc);
  struct blok_store_opts o = {.dir = g_dir}; /* synced commits, as a node makes them */
  if ((rc = blok_store_open(&b->store, &o)) != BLOK_OK) die("store", rc);
  if ((rc = blok_ledger_open(&b->l, b->store, &b->reg, &b->g, &why)) != BLOK_OK) die(why.msg, rc);
  b->time_ms = b->g.time_ms;
  b->car_nonce = b->maker_nonce = 1;
  blok_buf_init(&b->pl, BLOK_TX_PAYLOAD_MAX);
  blok_buf_init(&b->raw, BLOK_TX_ENCODED_MAX);
}

/* Applies one vehicle transaction from kp with payload JSON p (consumed). */
static void apply_tx(struct bench *b, struct blok_exec *x, const struct blok_sign_keypair *kp,
                     uint64_t *nonce, const char *type, json_t *p) {
  struct blok_buf *pl = &b->pl, *raw = &b->raw;
  struct blok_why why = {{0}};
  const struct blok_module *m;
  const struct blok_tx_kind *k = blok_registry_kind(&b->reg, BLOK_VEHICLE_MODULE, type, &m);
  blok_buf_clear(pl);
  blok_buf_clear(raw);
  if (k == NULL || p == NULL || blok_kind_from_json(k, p, pl, &why) != BLOK_OK)
    die("payload", BLOK_EINVAL);
  json_decref(p);
  struct blok_tx tx;
  memset(&tx, 0, sizeof tx);
  tx.version = BLOK_TX_VERSION;
  snprintf(tx.chain_id, sizeof tx.chain_id, "%s", CHAIN);
  snprintf(tx.module, sizeof tx.module, "%s", BLOK_VEHICLE_MODULE);
  snprintf(tx.type, sizeof tx.type, "%s", type);
  tx.nonce = (*nonce)++;
  tx.expiry_height = UINT64_MAX;
  tx.payload = pl->data;
  tx.payload_len = pl->len;
  enum blok_err rc = blok_tx_sign(&tx, kp, raw);
  if (rc != BLOK_OK) die("sign", rc);
  struct blok_tx_result res;
  rc = blok_exec_tx(x, &tx, true, &res, &why);
  if (rc != BLOK_OK) die(why.msg, rc);
  if (res.code != BLOK_OK) die(res.msg, (enum blok_err)res.code);
}

static void commit(struct bench *b, struct blok_exec *x) {
  static struct blok_qc qc;
  struct blok_header h;
  enum blok_err rc = blok_exec_finish(x, &h);
  if (rc != BLOK_OK) die("finish", rc);
  memset(&qc, 0, sizeof qc);
  qc.vote.height = h.height;
  qc.vote.round = h.round;
  if (blok_header_hash(&h, qc.vote.block_hash) != BLOK_OK) die("hash", BLOK_EINVAL);
  qc.validator_count = 1;
  qc.signers[0] = 1;
  qc.sig_count = 1;
  if ((rc = blok_vote_sign(qc.sigs[0], CHAIN, &qc.vote, &b->validator)) != BLOK_OK) die("vote", rc);
  if ((rc = blok_ledger_commit(b->l, x, &qc)) != BLOK_OK) die("commit", rc);
  blok_exec_free(x);
}

/* One vehicle with EVENTS events: the registration, then odometer readings by its own key. */
static void build(struct bench *b) {
  char car[65];
  blok_hex_encode(car, sizeof car, b->car.pk, 32);
  size_t events = 0, blocks = 0;
  uint64_t t0 = now_ns();
  while (events < EVENTS) {
    struct blok_exec *x;
    b->time_ms += 1000;
    enum blok_err rc = blok_exec_begin(b->l, b->time_ms, b->validator.pk, 1, &x);
    if (rc != BLOK_OK) die("begin", rc);
    for (size_t i = 0; i < BLOCK_TXS && events < EVENTS; i++, events++) {
      if (events == 0)
        apply_tx(b, x, &b->maker, &b->maker_nonce, "register",
                 json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "vin", VIN, "model_year", 2003, "make",
                           "Honda", "model", "Accord", "owner", car, "vehicle_key", car));
      else
        apply_tx(b, x, &b->car, &b->car_nonce, "odometer",
                 json_pack("{s:s, s:I}", "vin", VIN, "km", (json_int_t)(events * 7)));
    }
    commit(b, x);
    blocks++;
  }
  printf("setup: events=%d blocks=%zu block_txs=%d synced_commits=yes seconds=%.2f\n", EVENTS,
         blocks, BLOCK_TXS, (double)(now_ns() - t0) / 1e9);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

struct page_case {
  const char *at; /* where in the history */
  bool descending;
  uint64_t cursor; /* for the page size */
  uint64_t first;  /* the n the page must start with */
};

/* The cursor and first event of a page of size p at the start, middle or end. */
static struct page_case page_case(int which, bool desc, uint64_t p) {
  const uint64_t mid = EVENTS / 2;
  struct page_case c = {.descending = desc};
  if (which == 0) {
    c.at = "start";
    c.cursor = desc ? p + 1 : 0;
    c.first = desc ? p : 1;
  } else if (which == 1) {
    c.at = "middle";
    c.cursor = desc ? mid + p + 1 : mid;
    c.first = desc ? mid + p : mid + 1;
  } else {
    c.at = "end";
    c.cursor = desc ? 0 : EVENTS - p;
    c.first = desc ? EVENTS : EVENTS - p + 1;
  }
  return c;
}

static void read_page(struct blok_txn *t, const struct page_case *c, size_t limit,
                      struct blok_vehicle_event *out) {
  size_t count;
  uint64_t next;
  enum blok_err rc =
      blok_vehicle_history(t, VIN, c->cursor, limit, c->descending, out, &count, &next);
  if (rc != BLOK_OK) die("history", rc);
  if (count != limit || out[0].n != c->first) {
    fprintf(stderr, "bench_history: page at %s gave %zu events from %llu, not %zu from %llu\n",
            c->at, count, (unsigned long long)out[0].n, limit, (unsigned long long)c->first);
    exit(1);
  }
}

static double pct_us(const uint64_t *sorted, size_t n, double q) {
  size_t i = (size_t)(q * (double)(n - 1) + 0.5);
  return (double)sorted[i] / 1000.0;
}

/* Times REPS reads of one page: the call alone, and the call with its read transaction. */
static void measure(struct bench *b, const struct page_case *c, size_t limit) {
  static struct blok_vehicle_event out[BLOK_VEHICLE_HISTORY_PAGE_MAX];
  static uint64_t call_ns[REPS], txn_ns[REPS];
  for (int r = -WARMUP; r < REPS; r++) {
    struct blok_txn *t;
    uint64_t a = now_ns();
    enum blok_err rc = blok_store_read_begin(b->store, &t);
    if (rc != BLOK_OK) die("read", rc);
    uint64_t c0 = now_ns();
    read_page(t, c, limit, out);
    uint64_t c1 = now_ns();
    blok_store_read_end(t);
    uint64_t z = now_ns();
    if (r >= 0) {
      call_ns[r] = c1 - c0;
      txn_ns[r] = z - a;
    }
  }
  qsort(call_ns, REPS, sizeof call_ns[0], cmp_u64);
  qsort(txn_ns, REPS, sizeof txn_ns[0], cmp_u64);
  double med = pct_us(call_ns, REPS, 0.5), p99 = pct_us(call_ns, REPS, 0.99);
  double tmed = pct_us(txn_ns, REPS, 0.5), tp99 = pct_us(txn_ns, REPS, 0.99);
  printf("page=%zu order=%s at=%s reps=%d call_median_us=%.1f call_p99_us=%.1f "
         "with_txn_median_us=%.1f with_txn_p99_us=%.1f bound_us=%.0f within_bound=%s\n",
         limit, c->descending ? "desc" : "asc", c->at, REPS, med, p99, tmed, tp99, BOUND_US,
         tp99 <= BOUND_US ? "yes" : "NO");
}

static void cleanup(void) {
  char p[128];
  snprintf(p, sizeof p, "%s/data.mdb", g_dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", g_dir);
  unlink(p);
  rmdir(g_dir);
}

struct body {
  char data[1 << 16];
  size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx) {
  struct body *bd = ctx;
  size_t k = size * n;
  if (bd->len + k >= sizeof bd->data) return 0;
  memcpy(bd->data + bd->len, p, k);
  bd->len += k;
  bd->data[bd->len] = '\0';
  return k;
}

static enum blok_err no_nonce(void *ctx, const uint8_t sender[32], uint64_t *next) {
  (void)ctx;
  (void)sender;
  *next = 1;
  return BLOK_OK;
}

/* GET history pages through the real API; prints the client-side times. */
static void measure_route(struct bench *b) {
  struct blok_mempool *mp;
  struct blok_notify nt;
  struct blok_api *api;
  struct blok_why why = {{0}};
  blok_notify_init(&nt, 0);
  if (blok_mempool_new(&mp, NULL, CHAIN, no_nonce, NULL) != BLOK_OK) die("mempool", BLOK_ENOMEM);
  struct blok_api_opts o = {.host = "127.0.0.1", .port = 0};
  struct blok_api_deps d = {.ledger = b->l, .mempool = mp, .notify = &nt};
  if (blok_api_start(&api, &o, &d, &why) != BLOK_OK) die(why.msg, BLOK_EIO);
  CURL *c = curl_easy_init();
  static struct body bd;
  static uint64_t t[REPS];
  static const uint64_t cursors[3] = {0, EVENTS / 2, EVENTS - 100};
  static const char *const where[3] = {"start", "middle", "end"};
  for (int w = 0; w < 3; w++) {
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/vehicles/%s/history?limit=100&cursor=%llu",
             (unsigned)blok_api_port(api), VIN, (unsigned long long)cursors[w]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bd);
    for (int i = 0; i < WARMUP + REPS; i++) {
      bd.len = 0;
      uint64_t t0 = now_ns();
      long st = 0;
      if (curl_easy_perform(c) != CURLE_OK) die("request", BLOK_EIO);
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
      if (st != 200 || strstr(bd.data, "\"events\"") == NULL) die("history page", BLOK_EFORMAT);
      if (i >= WARMUP) t[i - WARMUP] = now_ns() - t0;
    }
    qsort(t, REPS, sizeof t[0], cmp_u64);
    double med = pct_us(t, REPS, 0.5), p99 = pct_us(t, REPS, 0.99);
    printf("route=GET /v1/vehicles/{vin}/history page=100 at=%s reps=%d bytes=%zu "
           "client_median_us=%.1f client_p99_us=%.1f bound_us=%.0f within_bound=%s\n",
           where[w], REPS, bd.len, med, p99, BOUND_US, p99 < BOUND_US ? "yes" : "NO");
  }
  curl_easy_cleanup(c);
  blok_api_stop(api);
  blok_mempool_free(mp);
  blok_notify_release(&nt);
}

int main(void) {
  static struct bench b;
  static const size_t limits[PAGE_LIMITS] = {50, 100};
  snprintf(g_dir, sizeof g_dir, "/tmp/blok-bench-history-XXXXXX");
  if (mkdtemp(g_dir) == NULL) die("mkdtemp", BLOK_EIO);
  atexit(cleanup);
  open_ledger(&b);
  build(&b);
  for (size_t li = 0; li < PAGE_LIMITS; li++)
    for (int d = 0; d < 2; d++)
      for (int which = 0; which < 3; which++) {
        struct page_case c = page_case(which, d == 1, limits[li]);
        measure(&b, &c, limits[li]);
      }
  measure_route(&b);
  blok_ledger_close(b.l);
  blok_store_close(b.store);
  blok_genesis_release(&b.g);
  blok_buf_release(&b.pl);
  blok_buf_release(&b.raw);
  return 0;
}
