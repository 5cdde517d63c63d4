/*
 * The HTTP API end to end: a real server on 127.0.0.1 (port 0) over a real ledger (LMDB in a
 * temporary folder) and a real mempool, spoken to over TCP by a small HTTP/1.1 client below.
 * Blocks are made here as the node makes them: take from the mempool, execute, commit,
 * announce. The tests run in order and share the chain they build:
 *
 *   block 1  maker nonce 1 (hex form), dealer nonce 1 (JSON form)
 *   block 2  maker nonce 2, submitted with ?wait=commit from another thread
 *   block 3  maker nonce 3 (whose wait timed out), and an outsider refused at admission
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#include "blok/anchor.h"
#include "blok/api.h"
#include "blok/hex.h"
#include "blok/merkle.h"
#include "blok/modules.h"
#include "blok/sha256.h"
#include "blok/banned.h"

#define CHAIN         "blokauto-test"
#define RESPONSE_MAX  ((size_t)4 << 20)
#define READY_WAIT_MS 10000

struct world {
  char dir[64];
  char web[96];
  struct blok_sign_keypair validator, maker, dealer, outsider;
  struct blok_registry reg;
  struct blok_genesis g;
  struct blok_store *store;
  struct blok_ledger *l;
  struct blok_mempool *mp;
  struct blok_notify notify;
  struct blok_metrics metrics;
  struct blok_api *api;
  uint16_t port;
  uint8_t id_hex_form[32], id_json_form[32];
};

static struct world W;

/* --- a tiny HTTP/1.1 client (test code: one request per connection) ---------------------- */

struct resp {
  int status;
  char *raw; /* headers and body, NUL-terminated */
  const char *body;
  size_t body_len;
};

static void resp_release(struct resp *r) {
  free(r->raw);
  memset(r, 0, sizeof *r);
}

static int connect_api(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {.tv_sec = 20};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(W.port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

/* Writes all of data; a server that closes early (413) is not an error here. */
static void write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

static void read_response(int fd, struct resp *r) {
  size_t cap = 1 << 16, n = 0;
  r->raw = malloc(cap + 1);
  assert_non_null(r->raw);
  for (;;) {
    if (n == cap) {
      assert_true(cap < RESPONSE_MAX);
      cap *= 2;
      r->raw = realloc(r->raw, cap + 1);
      assert_non_null(r->raw);
    }
    ssize_t got = recv(fd, r->raw + n, cap - n, 0);
    if (got <= 0) break;
    n += (size_t)got;
  }
  r->raw[n] = '\0';
  r->status = 0;
  if (n > 12 && strncmp(r->raw, "HTTP/1.1 ", 9) == 0) r->status = (int)strtol(r->raw + 9, NULL, 10);
  const char *sep = strstr(r->raw, "\r\n\r\n");
  r->body = sep ? sep + 4 : r->raw + n;
  r->body_len = (size_t)(r->raw + n - r->body);
}

/* Sends one request; head_extra holds more header lines (each ending in \r\n) or is "". */
static void http(const char *method, const char *path, const char *body, size_t body_len,
                 const char *head_extra, struct resp *r) {
  int fd = connect_api();
  char head[2048];
  int hn = snprintf(head, sizeof head,
                    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                    "Content-Length: %zu\r\n\r\n",
                    method, path, head_extra, body ? body_len : 0);
  assert_true(hn > 0 && (size_t)hn < sizeof head);
  write_all(fd, head, (size_t)hn);
  if (body) write_all(fd, body, body_len);
  read_response(fd, r);
  close(fd);
}

/* A request whose answer must have status want and a JSON body (returned, owned). */
static json_t *call(const char *method, const char *path, const char *body, int want) {
  struct resp r;
  http(method, path, body, body ? strlen(body) : 0, "", &r);
  if (r.status != want)
    fail_msg("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw);
  json_error_t e;
  json_t *j = json_loadb(r.body, r.body_len, 0, &e);
  if (j == NULL) fail_msg("%s %s: body is not json: %s", method, path, r.raw);
  assert_non_null(strstr(r.raw, "Content-Type: application/json"));
  resp_release(&r);
  return j;
}

static json_t *post_json(const char *path, json_t *body, int want) {
  char *s = json_dumps(body, JSON_COMPACT);
  assert_non_null(s);
  json_t *j = call("POST", path, s, want);
  free(s);
  json_decref(body);
  return j;
}

/* The error code of an error reply; its message must hold `names` when given. */
static void assert_error(json_t *j, const char *code, const char *names) {
  const char *c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
  const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
  if (c == NULL || m == NULL) fail_msg("not an error reply");
  if (strcmp(c, code) != 0) fail_msg("error %s (%s), want %s", c, m, code);
  if (names != NULL && strstr(m, names) == NULL) fail_msg("message \"%s\" lacks \"%s\"", m, names);
  json_decref(j);
}

static const char *sget(const json_t *j, const char *key) {
  const char *s = json_string_value(json_object_get(j, key));
  if (s == NULL) fail_msg("field %s missing or not a string", key);
  return s;
}

static json_int_t iget(const json_t *j, const char *key) {
  const json_t *v = json_object_get(j, key);
  if (!json_is_integer(v)) fail_msg("field %s missing or not an integer", key);
  return json_integer_value(v);
}

static void unhex32(uint8_t out[32], const char *hex) {
  assert_int_equal(blok_hex_decode_exact(out, 32, hex, strlen(hex)), BLOK_OK);
}

static void hex32(char out[65], const uint8_t in[32]) {
  blok_hex_encode(out, 65, in, 32);
}

/* --- the chain --------------------------------------------------------------------------- */

static void keypair(struct blok_sign_keypair *kp, uint8_t seed_byte) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof seed);
  assert_int_equal(blok_sign_keypair_from_seed(kp, seed), BLOK_OK);
}

static json_t *hexj(const uint8_t pk[32]) {
  char h[65];
  hex32(h, pk);
  return json_string(h);
}

static json_t *genesis_doc(void) {
  return json_pack(
      "{s:s, s:I, s:[{s:s, s:o}], s:{s:[{s:s, s:[s], s:[o], s:[s]}, {s:s, s:[s], s:[o]}]}}",
      "chain_id", CHAIN, "genesis_time_ms", (json_int_t)1700000000000, "validators", "name",
      "validator-0", "public_key", hexj(W.validator.pk), "consortium", "members", "name",
      "Acme Motors", "roles", "manufacturer", "keys", hexj(W.maker.pk), "wmi", "1HG", "name",
      "Main Street Dealer", "roles", "dealer", "keys", hexj(W.dealer.pk));
}

static enum blok_err next_nonce(void *ctx, const uint8_t sender[32], uint64_t *next) {
  return blok_ledger_next_nonce(ctx, sender, next);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup(void **state) {
  (void)state;
  memset(&W, 0, sizeof W);
  snprintf(W.dir, sizeof W.dir, "/tmp/blok-api-XXXXXX");
  assert_non_null(mkdtemp(W.dir));
  snprintf(W.web, sizeof W.web, "%s/web", W.dir);
  assert_int_equal(mkdir(W.web, 0700), 0);
  char p[160];
  snprintf(p, sizeof p, "%s/index.html", W.web);
  write_file(p, "<!doctype html><title>blokauto</title>\n");
  snprintf(p, sizeof p, "%s/secret.txt", W.dir);
  write_file(p, "not for the web\n");
  keypair(&W.validator, 1);
  keypair(&W.maker, 2);
  keypair(&W.dealer, 3);
  keypair(&W.outsider, 4);
  blok_modules_default(&W.reg);
  struct blok_why why = {{0}};
  json_t *doc = genesis_doc();
  assert_int_equal(blok_genesis_parse(&W.g, doc, &W.reg, &why), BLOK_OK);
  json_decref(doc);
  struct blok_store_opts so = {.dir = W.dir};
  assert_int_equal(blok_store_open(&W.store, &so), BLOK_OK);
  assert_int_equal(blok_ledger_open(&W.l, W.store, &W.reg, &W.g, &why), BLOK_OK);
  struct blok_mempool_opts mo = {.workers = 2};
  assert_int_equal(blok_mempool_new(&W.mp, &mo, CHAIN, next_nonce, W.l), BLOK_OK);
  blok_notify_init(&W.notify, 0);
  blok_metrics_init(&W.metrics);
  struct blok_api_opts ao = {.host = "127.0.0.1", .wait_ms_max = 15000, .web_dir = W.web};
  struct blok_api_deps ad = {
      .ledger = W.l, .mempool = W.mp, .notify = &W.notify, .metrics = &W.metrics};
  enum blok_err rc = blok_api_start(&W.api, &ao, &ad, &why);
  if (rc != BLOK_OK) fail_msg("api start: %s (%s)", blok_err_name(rc), why.msg);
  W.port = blok_api_port(W.api);
  assert_true(W.port != 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  blok_notify_close(&W.notify);
  blok_api_stop(W.api);
  blok_mempool_free(W.mp);
  blok_ledger_close(W.l);
  blok_store_close(W.store);
  blok_genesis_release(&W.g);
  blok_notify_release(&W.notify);
  char p[160];
  const char *files[] = {"data.mdb", "lock.mdb", "secret.txt", "web/index.html"};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(files); i++) {
    snprintf(p, sizeof p, "%s/%s", W.dir, files[i]);
    unlink(p);
  }
  rmdir(W.web);
  rmdir(W.dir);
  return 0;
}

/* A signed anchor/record transaction in buf; sets id. */
static void anchor_tx(struct blok_buf *buf, const struct blok_sign_keypair *kp, const char *chain,
                      uint64_t nonce, const char *doc, uint8_t id[32]) {
  uint8_t hash[32];
  struct blok_buf payload;
  struct blok_tx tx;
  blok_sha256(hash, doc, strlen(doc));
  blok_buf_init(&payload, BLOK_TX_PAYLOAD_MAX);
  blok_buf_init(buf, BLOK_TX_ENCODED_MAX);
  assert_int_equal(blok_anchor_payload(&payload, hash, doc), BLOK_OK);
  memset(&tx, 0, sizeof tx);
  tx.version = BLOK_TX_VERSION;
  snprintf(tx.chain_id, sizeof tx.chain_id, "%s", chain);
  snprintf(tx.module, sizeof tx.module, "anchor");
  snprintf(tx.type, sizeof tx.type, "record");
  tx.nonce = nonce;
  tx.expiry_height = 1000;
  tx.payload = payload.data;
  tx.payload_len = payload.len;
  assert_int_equal(blok_tx_sign(&tx, kp, buf), BLOK_OK);
  memcpy(id, tx.id, 32);
  blok_buf_release(&payload);
}

/* {"hex": ...} of a signed anchor transaction. */
static json_t *hex_item(const struct blok_sign_keypair *kp, const char *chain, uint64_t nonce,
                        const char *doc, uint8_t id[32]) {
  struct blok_buf buf;
  anchor_tx(&buf, kp, chain, nonce, doc, id);
  char *h = malloc(BLOK_HEX_LEN(buf.len));
  assert_non_null(h);
  blok_hex_encode(h, BLOK_HEX_LEN(buf.len), buf.data, buf.len);
  json_t *j = json_pack("{s:s}", "hex", h);
  free(h);
  blok_buf_release(&buf);
  return j;
}

/* The JSON form of the same transaction, with the signature over its canonical encoding. */
static json_t *json_item(const struct blok_sign_keypair *kp, uint64_t nonce, const char *doc,
                         uint8_t id[32]) {
  struct blok_buf buf;
  struct blok_tx tx;
  anchor_tx(&buf, kp, CHAIN, nonce, doc, id);
  assert_int_equal(blok_tx_decode(&tx, buf.data, buf.len), BLOK_OK);
  uint8_t hash[32];
  char hh[65], sig[129];
  blok_sha256(hash, doc, strlen(doc));
  hex32(hh, hash);
  blok_hex_encode(sig, sizeof sig, tx.sig, 64);
  json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:o, s:I, s:I, s:{s:s, s:s}, s:s}", "version", 1,
                        "chain_id", CHAIN, "module", "anchor", "type", "record", "sender",
                        hexj(kp->pk), "nonce", (json_int_t)nonce, "expiry_height", (json_int_t)1000,
                        "payload", "hash", hh, "label", doc, "signature", sig);
  blok_buf_release(&buf);
  return j;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Waits until the mempool holds `want` verified transactions. */
static void wait_ready(size_t want) {
  struct blok_mempool_stats st;
  for (unsigned waited = 0;; waited += 2) {
    blok_mempool_stats(W.mp, &st);
    if (st.ready >= want && st.verifying == 0) return;
    if (waited > READY_WAIT_MS) fail_msg("mempool: %zu ready, want %zu", st.ready, want);
    sleep_ms(2);
  }
}

static void sign_qc(const struct blok_header *h, struct blok_qc *qc) {
  memset(qc, 0, sizeof *qc);
  qc->vote.height = h->height;
  qc->vote.round = h->round;
  assert_int_equal(blok_header_hash(h, qc->vote.block_hash), BLOK_OK);
  qc->validator_count = 1;
  qc->signers[0] = 1;
  qc->sig_count = 1;
  assert_int_equal(blok_vote_sign(qc->sigs[0], CHAIN, &qc->vote, &W.validator), BLOK_OK);
}

/* Makes and commits a block of what the mempool holds, as the node does; gives its height and
 * how many transactions it included. */
static uint64_t make_block(size_t *included) {
  struct blok_mempool_batch b;
  struct blok_header head, h;
  struct blok_exec *x;
  struct blok_qc qc;
  blok_mempool_batch_init(&b);
  assert_int_equal(blok_mempool_take(W.mp, &b, 1000, SIZE_MAX), BLOK_OK);
  blok_ledger_head(W.l, &head, NULL);
  assert_int_equal(
      blok_exec_begin(W.l, head.timestamp_ms + 1000, W.validator.pk, head.height + 1, &x), BLOK_OK);
  bool in_block[1000] = {false};
  *included = 0;
  for (size_t i = 0; i < b.count; i++) {
    struct blok_tx_result res;
    struct blok_why why = {{0}};
    enum blok_err rc = blok_exec_tx(x, &b.txs[i], true, &res, &why);
    if (rc != BLOK_OK) {
      struct blok_tx_result refusal = {.code = rc};
      snprintf(refusal.msg, sizeof refusal.msg, "%s", why.msg);
      blok_mempool_remove(W.mp, b.txs[i].id, &refusal);
      continue;
    }
    in_block[i] = true;
    (*included)++;
  }
  assert_int_equal(blok_exec_finish(x, &h), BLOK_OK);
  sign_qc(&h, &qc);
  assert_int_equal(blok_ledger_commit(W.l, x, &qc), BLOK_OK);
  blok_exec_free(x);
  for (size_t i = 0; i < b.count; i++)
    if (in_block[i]) blok_mempool_remove(W.mp, b.txs[i].id, NULL);
  blok_mempool_batch_release(&b);
  W.metrics.blocks_committed++;
  W.metrics.txs_committed += *included;
  blok_notify_committed(&W.notify, h.height);
  return h.height;
}

/* --- tests ------------------------------------------------------------------------------- */

static void test_status(void **state) {
  (void)state;
  json_t *j = call("GET", "/v1/status", NULL, 200);
  assert_string_equal(sget(j, "chain_id"), CHAIN);
  assert_int_equal(iget(j, "height"), 0);
  assert_int_equal(iget(j, "time_ms"), 1700000000000);
  uint8_t hash[32], got[32];
  struct blok_header h;
  blok_ledger_head(W.l, &h, hash);
  unhex32(got, sget(j, "head_hash"));
  assert_memory_equal(got, hash, 32);
  unhex32(got, sget(j, "state_root"));
  assert_memory_equal(got, h.state_root, 32);
  json_t *v = json_array_get(json_object_get(j, "validators"), 0);
  assert_string_equal(sget(v, "name"), "validator-0");
  unhex32(got, sget(v, "public_key"));
  assert_memory_equal(got, W.validator.pk, 32);
  assert_int_equal(iget(json_object_get(j, "mempool"), "count"), 0);
  json_decref(j);
}

static const char *tx_status(const uint8_t id[32]) {
  static char status[32];
  char path[128], h[65];
  hex32(h, id);
  snprintf(path, sizeof path, "/v1/tx/%s", h);
  json_t *j = call("GET", path, NULL, 200);
  snprintf(status, sizeof status, "%s", sget(j, "status"));
  assert_string_equal(sget(j, "id"), h);
  json_decref(j);
  return status;
}

static void test_submit_both_forms(void **state) {
  (void)state;
  uint8_t id[32];
  char h[65];
  json_t *j = post_json("/v1/tx", hex_item(&W.maker, CHAIN, 1, "invoice 1", id), 202);
  hex32(h, id);
  assert_string_equal(sget(j, "id"), h);
  assert_string_equal(sget(j, "status"), "pending");
  json_decref(j);
  memcpy(W.id_hex_form, id, 32);
  j = post_json("/v1/tx", json_item(&W.dealer, 1, "invoice 2", id), 202);
  hex32(h, id);
  assert_string_equal(sget(j, "id"), h);
  json_decref(j);
  memcpy(W.id_json_form, id, 32);
  const char *s = tx_status(W.id_json_form);
  assert_true(strcmp(s, "pending") == 0 || strcmp(s, "verifying") == 0);
  wait_ready(2);
  assert_string_equal(tx_status(W.id_hex_form), "pending");
  size_t n;
  assert_int_equal(make_block(&n), 1);
  assert_int_equal(n, 2);
  assert_string_equal(tx_status(W.id_hex_form), "committed");
  assert_string_equal(tx_status(W.id_json_form), "committed");
}

static void test_tx_proof(void **state) {
  (void)state;
  char path[128], h[65];
  hex32(h, W.id_json_form);
  snprintf(path, sizeof path, "/v1/tx/%s", h);
  json_t *j = call("GET", path, NULL, 200);
  assert_int_equal(iget(j, "height"), 1);
  json_t *res = json_object_get(j, "result");
  assert_string_equal(sget(res, "code"), "BLOK_OK");
  json_t *tx = json_object_get(j, "tx");
  assert_string_equal(sget(tx, "module"), "anchor");
  assert_int_equal(iget(tx, "nonce"), 1);
  assert_string_equal(sget(json_object_get(tx, "payload"), "label"), "invoice 2");
  /* The encoding given hashes (as its body) to the id. */
  const char *hex = sget(j, "hex");
  uint8_t raw[1024];
  size_t raw_len = test_unhex(raw, sizeof raw, hex);
  struct blok_tx dtx;
  assert_int_equal(blok_tx_decode(&dtx, raw, raw_len), BLOK_OK);
  assert_memory_equal(dtx.id, W.id_json_form, 32);
  /* The inclusion proof leads to the tx_root of block 1's header. */
  json_t *p = json_object_get(j, "proof");
  uint8_t root[32], leaf[32], hashes[64 * 32];
  unhex32(root, sget(p, "tx_root"));
  json_t *arr = json_object_get(p, "hashes");
  size_t n = json_array_size(arr);
  assert_true(n <= 64);
  for (size_t i = 0; i < n; i++)
    unhex32(hashes + 32 * i, json_string_value(json_array_get(arr, i)));
  blok_merkle_leaf_hash(leaf, W.id_json_form, 32);
  uint64_t index = (uint64_t)iget(p, "index"), size = (uint64_t)iget(p, "tx_count");
  assert_int_equal(size, 2);
  assert_int_equal(index, (uint64_t)iget(j, "position"));
  assert_int_equal(blok_merkle_verify_inclusion(leaf, index, size, hashes, n, root), BLOK_OK);
  hashes[0] ^= 1; /* and a changed proof does not */
  assert_int_equal(blok_merkle_verify_inclusion(leaf, index, size, hashes, n, root),
                   BLOK_EBADPROOF);
  json_decref(j);
  j = call("GET", "/v1/blocks/1", NULL, 200);
  uint8_t hroot[32];
  unhex32(hroot, sget(json_object_get(j, "header"), "tx_root"));
  assert_memory_equal(hroot, root, 32);
  json_decref(j);
}

struct waiter {
  json_t *item;
  char path[128];
  int want;
  json_t *reply;
};

static void *wait_thread(void *arg) {
  struct waiter *w = arg;
  w->reply = post_json(w->path, w->item, w->want);
  return NULL;
}

static void test_wait_commit(void **state) {
  (void)state;
  uint8_t id[32];
  char h[65];
  struct waiter w = {.item = hex_item(&W.maker, CHAIN, 2, "invoice 3", id), .want = 200};
  snprintf(w.path, sizeof w.path, "/v1/tx?wait=commit&timeout_ms=10000");
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
  wait_ready(1);
  size_t n;
  assert_int_equal(make_block(&n), 2);
  assert_int_equal(pthread_join(t, NULL), 0);
  hex32(h, id);
  assert_string_equal(sget(w.reply, "id"), h);
  assert_string_equal(sget(w.reply, "status"), "committed");
  assert_int_equal(iget(w.reply, "height"), 2);
  assert_int_equal(iget(w.reply, "position"), 0);
  assert_string_equal(sget(json_object_get(w.reply, "result"), "code"), "BLOK_OK");
  json_decref(w.reply);
}

static void test_wait_timeout_and_refusal(void **state) {
  (void)state;
  uint8_t id[32], oid[32];
  char h[65];
  /* Nothing commits it: the wait ends at its deadline, the transaction still pending. */
  json_t *j = post_json("/v1/tx?wait=commit&timeout_ms=150",
                        hex_item(&W.maker, CHAIN, 3, "invoice 4", id), 504);
  hex32(h, id);
  assert_string_equal(sget(j, "id"), h);
  assert_string_equal(sget(j, "status"), "pending");
  assert_error(j, "BLOK_ETIMEOUT", NULL);
  /* A non-member's transaction passes the mempool but not the block's admission. */
  struct waiter w = {.item = hex_item(&W.outsider, CHAIN, 1, "outsider", oid), .want = 422};
  snprintf(w.path, sizeof w.path, "/v1/tx?wait=commit");
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
  wait_ready(2);
  size_t n;
  assert_int_equal(make_block(&n), 3);
  assert_int_equal(n, 1);
  assert_int_equal(pthread_join(t, NULL), 0);
  hex32(h, oid);
  assert_string_equal(sget(w.reply, "status"), "refused");
  assert_string_equal(sget(w.reply, "id"), h);
  assert_error(w.reply, "BLOK_ENOTPERMITTED", NULL);
  assert_string_equal(tx_status(oid), "refused");
  assert_string_equal(tx_status(id), "committed");
}

static void test_blocks(void **state) {
  (void)state;
  uint8_t hash[32], got[32];
  struct blok_header head;
  blok_ledger_head(W.l, &head, hash);
  json_t *j = call("GET", "/v1/blocks/latest", NULL, 200);
  assert_int_equal(iget(j, "height"), 3);
  unhex32(got, sget(j, "hash"));
  assert_memory_equal(got, hash, 32);
  json_t *hj = json_object_get(j, "header");
  assert_int_equal(iget(hj, "height"), 3);
  assert_int_equal(iget(hj, "tx_count"), 1);
  assert_int_equal(iget(hj, "timestamp_ms"), (json_int_t)head.timestamp_ms);
  assert_string_equal(sget(hj, "chain_id"), CHAIN);
  unhex32(got, sget(hj, "state_root"));
  assert_memory_equal(got, head.state_root, 32);
  unhex32(got, sget(hj, "proposer"));
  assert_memory_equal(got, W.validator.pk, 32);
  const char *fields[] = {"version",      "epoch",           "round",  "parent",
                          "results_root", "validators_hash", "tx_root"};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(fields); i++)
    assert_non_null(json_object_get(hj, fields[i]));
  json_t *qc = json_object_get(j, "qc");
  assert_int_equal(iget(qc, "height"), 3);
  assert_int_equal(iget(qc, "validator_count"), 1);
  assert_int_equal(json_integer_value(json_array_get(json_object_get(qc, "signers"), 0)), 0);
  unhex32(got, sget(qc, "block_hash"));
  assert_memory_equal(got, hash, 32);
  /* The signature is the validator's vote for the block. */
  struct blok_qc q;
  memset(&q, 0, sizeof q);
  q.vote.height = 3;
  q.vote.round = (uint64_t)iget(qc, "round");
  memcpy(q.vote.block_hash, hash, 32);
  q.validator_count = 1;
  q.signers[0] = 1;
  q.sig_count = 1;
  const char *sig = json_string_value(json_array_get(json_object_get(qc, "signatures"), 0));
  assert_non_null(sig);
  assert_int_equal(blok_hex_decode_exact(q.sigs[0], 64, sig, strlen(sig)), BLOK_OK);
  assert_int_equal(blok_qc_verify(&q, CHAIN, W.validator.pk, 1), BLOK_OK);
  json_decref(j);
  j = call("GET", "/v1/blocks/1", NULL, 200);
  json_t *txs = json_object_get(j, "txs");
  assert_int_equal(json_array_size(txs), 2);
  char h1[65], h2[65];
  hex32(h1, W.id_hex_form);
  hex32(h2, W.id_json_form);
  for (size_t i = 0; i < 2; i++) {
    const char *s = json_string_value(json_array_get(txs, i));
    assert_true(strcmp(s, h1) == 0 || strcmp(s, h2) == 0);
  }
  json_decref(j);
  /* ?format=binary: the stored block and its certificate, as one item of the sync reply. */
  struct resp br;
  http("GET", "/v1/blocks/1?format=binary", NULL, 0, "", &br);
  assert_int_equal(br.status, 200);
  assert_non_null(strstr(br.raw, "application/octet-stream"));
  struct blok_reader rd;
  const uint8_t *bb, *qb;
  size_t bl, ql;
  blok_reader_init(&rd, (const uint8_t *)br.body, br.body_len);
  assert_int_equal(blok_dec_bytes(&rd, &bb, &bl, BLOK_BLOCK_BYTES_MAX), BLOK_OK);
  assert_int_equal(blok_dec_bytes(&rd, &qb, &ql, 1 << 16), BLOK_OK);
  assert_int_equal(blok_dec_end(&rd), BLOK_OK);
  static struct blok_block_view bv;
  assert_int_equal(blok_block_parse(&bv, bb, bl), BLOK_OK);
  assert_int_equal(bv.header.height, 1);
  assert_int_equal(bv.tx_count, 2);
  for (size_t i = 0; i < 2; i++) {
    struct blok_tx tx;
    char hx[65];
    assert_int_equal(blok_tx_decode(&tx, bv.txs[i], bv.tx_lens[i]), BLOK_OK);
    hex32(hx, tx.id);
    assert_true(strcmp(hx, h1) == 0 || strcmp(hx, h2) == 0);
  }
  struct blok_qc bq;
  uint8_t bh[32];
  blok_reader_init(&rd, qb, ql);
  assert_int_equal(blok_qc_decode(&rd, &bq), BLOK_OK);
  assert_int_equal(blok_header_hash(&bv.header, bh), BLOK_OK);
  assert_memory_equal(bq.vote.block_hash, bh, 32);
  assert_int_equal(blok_qc_verify(&bq, CHAIN, W.validator.pk, 1), BLOK_OK);
  resp_release(&br);
  assert_error(call("GET", "/v1/blocks/1?format=xml", NULL, 400), "BLOK_EINVAL", "format");
  j = call("GET", "/v1/blocks/0", NULL, 200);
  assert_true(json_is_null(json_object_get(j, "qc")));
  assert_int_equal(json_array_size(json_object_get(j, "txs")), 0);
  json_decref(j);
  assert_error(call("GET", "/v1/blocks/4", NULL, 404), "BLOK_ENOTFOUND", "height");
  assert_error(call("GET", "/v1/blocks/18446744073709551616", NULL, 400), "BLOK_ERANGE", "height");
  assert_error(call("GET", "/v1/blocks/99999999999999999999999", NULL, 400), "BLOK_ERANGE",
               "height");
  assert_error(call("GET", "/v1/blocks/-1", NULL, 400), "BLOK_ERANGE", "height");
  assert_error(call("GET", "/v1/blocks/%201", NULL, 400), "BLOK_ERANGE", "height");
}

/* Reads a proof of the JSON form into p. */
static void proof_from_json(const json_t *j, struct blok_smt_proof *p) {
  memset(p, 0, sizeof *p);
  p->end = strcmp(sget(j, "end"), "leaf") == 0 ? BLOK_SMT_LEAF : BLOK_SMT_EMPTY;
  if (p->end == BLOK_SMT_LEAF) {
    unhex32(p->leaf_key, sget(j, "leaf_key"));
    unhex32(p->leaf_value_hash, sget(j, "leaf_value_hash"));
  }
  json_t *sib = json_object_get(j, "siblings");
  assert_true(json_array_size(sib) <= BLOK_SMT_DEPTH_MAX);
  p->depth = (uint16_t)json_array_size(sib);
  for (size_t i = 0; i < p->depth; i++)
    unhex32(p->siblings[i], json_string_value(json_array_get(sib, i)));
}

static void state_path(char *out, size_t cap, const char *doc, const char *query) {
  uint8_t hash[32];
  char h[65];
  blok_sha256(hash, doc, strlen(doc));
  hex32(h, hash);
  snprintf(out, cap, "/v1/state/anchor/doc/%s%s", h, query);
}

static void test_state(void **state) {
  (void)state;
  static struct blok_smt_proof p;
  char path[256];
  state_path(path, sizeof path, "invoice 1", "?proof=1");
  json_t *j = call("GET", path, NULL, 200);
  assert_true(json_is_true(json_object_get(j, "found")));
  json_t *v = json_object_get(j, "value");
  assert_string_equal(sget(v, "label"), "invoice 1");
  assert_int_equal(iget(v, "height"), 1);
  /* The tree key is the module's key under its name, and the proof leads to the root. */
  uint8_t hash[32], k[36], tk[32], got[32], vh[32], root[32], val[512];
  blok_sha256(hash, "invoice 1", 9);
  memcpy(k, "doc/", 4);
  memcpy(k + 4, hash, 32);
  assert_int_equal(blok_state_key(tk, "anchor", k, sizeof k), BLOK_OK);
  unhex32(got, sget(j, "tree_key"));
  assert_memory_equal(got, tk, 32);
  size_t n = test_unhex(val, sizeof val, sget(j, "value_hex"));
  blok_sha256(vh, val, n);
  unhex32(root, sget(j, "state_root"));
  struct blok_header head;
  blok_ledger_head(W.l, &head, NULL);
  assert_memory_equal(root, head.state_root, 32);
  assert_int_equal(iget(j, "height"), (json_int_t)head.height);
  proof_from_json(json_object_get(j, "proof"), &p);
  assert_int_equal(blok_smt_verify(root, tk, vh, &p), BLOK_OK);
  vh[0] ^= 1;
  assert_int_equal(blok_smt_verify(root, tk, vh, &p), BLOK_EBADPROOF);
  json_decref(j);
  /* An absent key: a non-inclusion proof. */
  state_path(path, sizeof path, "never anchored", "?proof=true");
  j = call("GET", path, NULL, 200);
  assert_true(json_is_false(json_object_get(j, "found")));
  assert_true(json_is_null(json_object_get(j, "value")));
  unhex32(tk, sget(j, "tree_key"));
  proof_from_json(json_object_get(j, "proof"), &p);
  assert_int_equal(blok_smt_verify(root, tk, NULL, &p), BLOK_OK);
  json_decref(j);
  /* Without proof=1 no proof; a consortium key by its text. */
  state_path(path, sizeof path, "invoice 2", "");
  j = call("GET", path, NULL, 200);
  assert_null(json_object_get(j, "proof"));
  assert_true(json_is_true(json_object_get(j, "found")));
  json_decref(j);
  j = call("GET", "/v1/state/consortium/member/Acme%20Motors", NULL, 200);
  assert_true(json_is_true(json_object_get(j, "found")));
  assert_string_equal(sget(j, "key"), "member/Acme Motors");
  json_decref(j);
  assert_error(call("GET", "/v1/state/nosuch/doc/00", NULL, 404), "BLOK_ENOTFOUND", "module");
  assert_error(call("GET", "/v1/state/anchor/doc/xyz", NULL, 400), "BLOK_EINVAL", "doc/HASH");
  state_path(path, sizeof path, "invoice 1", "?proof=maybe");
  assert_error(call("GET", path, NULL, 400), "BLOK_EINVAL", "proof");
}

static void test_nonce(void **state) {
  (void)state;
  char path[128], h[65];
  hex32(h, W.maker.pk);
  snprintf(path, sizeof path, "/v1/nonce/%s", h);
  json_t *j = call("GET", path, NULL, 200);
  assert_string_equal(sget(j, "sender"), h);
  assert_int_equal(iget(j, "next_nonce"), 4);
  json_decref(j);
  hex32(h, W.validator.pk);
  snprintf(path, sizeof path, "/v1/nonce/%s", h);
  j = call("GET", path, NULL, 200);
  assert_int_equal(iget(j, "next_nonce"), 1);
  json_decref(j);
  assert_error(call("GET", "/v1/nonce/abcd", NULL, 400), "BLOK_EHEX", "sender");
}

static void test_metrics(void **state) {
  (void)state;
  struct resp r;
  http("GET", "/metrics", NULL, 0, "", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.raw, "Content-Type: text/plain; version=0.0.4"));
  const char *names[] = {"blok_height 3\n",
                         "blok_blocks_committed_total 3\n",
                         "blok_txs_committed_total ",
                         "blok_txs_failed_total ",
                         "blok_mempool_transactions ",
                         "blok_mempool_bytes ",
                         "blok_signatures_verified_total ",
                         "blok_mempool_workers_cpu_seconds_total ",
                         "blok_block_interval_ms ",
                         "blok_block_commit_seconds ",
                         "blok_http_requests_total ",
                         "# TYPE blok_http_request_duration_seconds histogram\n",
                         "blok_http_request_duration_seconds_bucket{le=\"0.0005\"} ",
                         "blok_http_request_duration_seconds_bucket{le=\"2.5\"} ",
                         "blok_http_request_duration_seconds_bucket{le=\"+Inf\"} ",
                         "blok_http_request_duration_seconds_sum ",
                         "blok_http_request_duration_seconds_count "};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(names); i++)
    if (strstr(r.body, names[i]) == NULL) fail_msg("metrics lack %s:\n%s", names[i], r.body);
  /* The workers checked this test's signatures: their clocks moved. */
  const char *w = strstr(r.body, "\nblok_mempool_workers_cpu_seconds_total ");
  assert_non_null(w);
  assert_true(strtod(w + strlen("\nblok_mempool_workers_cpu_seconds_total "), NULL) > 0);
  /* Every request so far was counted. */
  const char *c = strstr(r.body, "\nblok_http_requests_total ");
  assert_non_null(c);
  assert_true(strtoull(c + 26, NULL, 10) > 20);
  resp_release(&r);
}

static void test_errors_body(void **state) {
  (void)state;
  uint8_t id[32];
  assert_error(call("POST", "/v1/tx", "{\"hex\": ", 400), "BLOK_EFORMAT", "json");
  assert_error(call("POST", "/v1/tx", "", 400), "BLOK_EFORMAT", "body");
  assert_error(call("POST", "/v1/tx", "[]", 400), "BLOK_EFORMAT", "object");
  json_t *item = hex_item(&W.maker, CHAIN, 4, "dup", id);
  json_object_set_new(item, "colour", json_string("red"));
  assert_error(post_json("/v1/tx", item, 400), "BLOK_EFORMAT", "colour");
  item = json_item(&W.maker, 4, "x", id);
  json_object_set_new(item, "memo", json_string("hi"));
  assert_error(post_json("/v1/tx", item, 400), "BLOK_EFORMAT", "memo");
  item = json_item(&W.maker, 4, "x", id);
  json_object_set_new(item, "nonce", json_true());
  assert_error(post_json("/v1/tx", item, 400), "BLOK_EFORMAT", "nonce");
  item = json_item(&W.maker, 4, "x", id);
  json_object_set_new(item, "sender", json_integer(7));
  assert_error(post_json("/v1/tx", item, 400), "BLOK_EFORMAT", "sender");
  item = json_item(&W.maker, 4, "x", id);
  json_object_del(item, "signature");
  assert_error(post_json("/v1/tx", item, 400), "BLOK_EFORMAT", "signature");
  item = json_item(&W.maker, 4, "x", id);
  json_object_set_new(json_object_get(item, "payload"), "extra", json_integer(1));
  assert_error(post_json("/v1/tx", item, 400), "BLOK_EFORMAT", "extra");
  item = json_item(&W.maker, 4, "x", id);
  json_object_set_new(item, "type", json_string("nope"));
  assert_error(post_json("/v1/tx", item, 422), "BLOK_EUNKNOWNKIND", "type");
  assert_error(call("POST", "/v1/tx", "{\"hex\": \"zz\"}", 400), "BLOK_EHEX", "hex");
  assert_error(call("POST", "/v1/tx", "{\"hex\": 12}", 400), "BLOK_EFORMAT", "hex");
  assert_error(call("POST", "/v1/tx", "{\"hex\": \"0102\"}", 400), "BLOK_ETRUNC", NULL);
  assert_error(call("POST", "/v1/tx", "{\"hex\": \"\"}", 400), "BLOK_ETRUNC", NULL);
  assert_error(call("POST", "/v1/tx", "{\"hex\": \"012\"}", 400), "BLOK_EHEX", "hex");
  /* A JSON form whose signature is not over its canonical encoding: the mempool's workers
   * drop it, and the status says why. */
  item = json_item(&W.maker, 4, "signed", id);
  json_object_set_new(json_object_get(item, "payload"), "label", json_string("changed"));
  json_t *j = post_json("/v1/tx?wait=commit&timeout_ms=5000", item, 422);
  assert_error(j, "BLOK_EBADSIG", NULL);
}

static void test_errors_submit(void **state) {
  (void)state;
  uint8_t id[32], id2[32];
  json_t *item = hex_item(&W.maker, CHAIN, 4, "dup", id);
  json_decref(post_json("/v1/tx", json_deep_copy(item), 202));
  assert_error(post_json("/v1/tx", item, 409), "BLOK_EDUPLICATE", NULL);
  assert_error(post_json("/v1/tx", hex_item(&W.maker, "other-chain", 5, "x", id2), 422),
               "BLOK_EBADTAG", "chain_id");
  assert_error(post_json("/v1/tx", hex_item(&W.dealer, CHAIN, 1, "again", id2), 409), "BLOK_ESTALE",
               NULL);
  /* Already committed: a duplicate, not a new transaction. */
  assert_error(post_json("/v1/tx", hex_item(&W.maker, CHAIN, 1, "invoice 1", id2), 409),
               "BLOK_EDUPLICATE", "committed");
  assert_error(call("POST", "/v1/tx?wait=later", "{}", 400), "BLOK_EINVAL", "wait");
  assert_error(call("POST", "/v1/tx?wait=commit&timeout_ms=soon", "{}", 400), "BLOK_ERANGE",
               "timeout_ms");
  /* A batch: each item answered in order. */
  json_t *batch = json_pack("[o, o, s]", hex_item(&W.dealer, CHAIN, 2, "batch 1", id2),
                            hex_item(&W.dealer, CHAIN, 2, "batch 1", id2), "nope");
  json_t *j = post_json("/v1/txs", batch, 200);
  json_t *res = json_object_get(j, "results");
  assert_int_equal(json_array_size(res), 3);
  char h[65];
  hex32(h, id2);
  assert_string_equal(sget(json_array_get(res, 0), "id"), h);
  assert_string_equal(sget(json_array_get(res, 0), "status"), "pending");
  json_incref(json_array_get(res, 1));
  assert_error(json_array_get(res, 1), "BLOK_EDUPLICATE", NULL);
  json_incref(json_array_get(res, 2));
  assert_error(json_array_get(res, 2), "BLOK_EFORMAT", "object");
  json_decref(j);
  assert_error(call("POST", "/v1/txs", "{}", 400), "BLOK_EFORMAT", "array");
}

/* Appends the canonical u32 (little-endian) to out. */
static size_t put_u32(uint8_t *out, uint32_t v) {
  for (int k = 0; k < 4; k++)
    out[k] = (uint8_t)(v >> (8 * k));
  return 4;
}

/* Posts a binary body to /v1/txs; the answer must have status want (returned, owned). */
static json_t *post_binary(const uint8_t *body, size_t len, int want) {
  struct resp r;
  http("POST", "/v1/txs", (const char *)body, len, "Content-Type: application/octet-stream\r\n",
       &r);
  if (r.status != want)
    fail_msg("POST /v1/txs (binary): status %d, want %d: %s", r.status, want, r.raw);
  json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
  if (j == NULL) fail_msg("POST /v1/txs (binary): body is not json: %s", r.raw);
  resp_release(&r);
  return j;
}

/* POST /v1/txs with Content-Type application/octet-stream: list<bytes> of signed
 * transactions, answered as the JSON form is; a malformed body submits nothing. */
static void test_submit_binary(void **state) {
  (void)state;
  uint8_t id[3][32];
  struct blok_buf tx[3];
  anchor_tx(&tx[0], &W.dealer, CHAIN, 3, "binary 1", id[0]);
  anchor_tx(&tx[1], &W.dealer, CHAIN, 4, "binary 2", id[1]);
  anchor_tx(&tx[2], &W.dealer, "other-chain", 5, "binary 3", id[2]);
  static uint8_t body[3 * (4 + BLOK_TX_ENCODED_MAX) + 16];
  size_t n = put_u32(body, 3);
  for (int i = 0; i < 3; i++) {
    n += put_u32(body + n, (uint32_t)tx[i].len);
    memcpy(body + n, tx[i].data, tx[i].len);
    n += tx[i].len;
  }
  /* Truncated (the last transaction cut short), and a byte too many: refused whole. */
  assert_error(post_binary(body, n - 1, 400), "BLOK_ETRUNC", "transaction 2");
  body[n] = 0;
  assert_error(post_binary(body, n + 1, 400), "BLOK_ETRAILING", "after");
  char path[128], h0[65];
  hex32(h0, id[0]);
  snprintf(path, sizeof path, "/v1/tx/%s", h0);
  assert_error(call("GET", path, NULL, 404), "BLOK_ENOTFOUND", NULL); /* nothing submitted */
  /* Empty, and no count at all. */
  uint8_t empty[4] = {0};
  json_t *j = post_binary(empty, 4, 200);
  assert_int_equal(json_array_size(json_object_get(j, "results")), 0);
  json_decref(j);
  assert_error(post_binary(empty, 2, 400), "BLOK_ETRUNC", "count");
  /* More than 10,000 transactions: refused on the count alone. */
  uint8_t over[4];
  put_u32(over, 10001);
  assert_error(post_binary(over, 4, 400), "BLOK_ETOOLONG", "10000");
  /* The whole batch: each item answered in order, as the JSON form is. */
  j = post_binary(body, n, 200);
  json_t *res = json_object_get(j, "results");
  assert_int_equal(json_array_size(res), 3);
  for (int i = 0; i < 2; i++) {
    char h[65];
    hex32(h, id[i]);
    assert_string_equal(sget(json_array_get(res, (size_t)i), "id"), h);
    assert_string_equal(sget(json_array_get(res, (size_t)i), "status"), "pending");
  }
  json_incref(json_array_get(res, 2));
  assert_error(json_array_get(res, 2), "BLOK_EBADTAG", "chain_id");
  json_decref(j);
  wait_ready(2);
  assert_string_equal(tx_status(id[1]), "pending");
  for (int i = 0; i < 3; i++)
    blok_buf_release(&tx[i]);
}

static void test_errors_http(void **state) {
  (void)state;
  assert_error(call("GET", "/v1/nothing", NULL, 404), "BLOK_ENOTFOUND", "path");
  assert_error(call("GET", "/v1/tx/", NULL, 404), "BLOK_ENOTFOUND", "path");
  struct resp r;
  http("GET", "/v1/tx", NULL, 0, "", &r);
  assert_int_equal(r.status, 405);
  assert_non_null(strstr(r.raw, "Allow: POST\r\n"));
  resp_release(&r);
  http("DELETE", "/v1/status", NULL, 0, "", &r);
  assert_int_equal(r.status, 405);
  assert_non_null(strstr(r.raw, "Allow: GET, HEAD\r\n"));
  resp_release(&r);
  assert_error(call("GET", "/v1/tx/abcd", NULL, 400), "BLOK_EHEX", "id");
  assert_error(call("GET", "/v1/tx/%ff%fe", NULL, 400), "BLOK_EUTF8", "path");
  char path[200];
  snprintf(path, sizeof path, "/v1/tx/%065d", 0);
  assert_error(call("GET", path, NULL, 400), "BLOK_EHEX", "id");
  snprintf(path, sizeof path, "/v1/tx/%064d", 0);
  assert_error(call("GET", path, NULL, 404), "BLOK_ENOTFOUND", "id");
  /* A body over the limit is refused from its declared length, before it is read... */
  http("POST", "/v1/tx", NULL, 0, "Content-Length: 2000000\r\n", &r);
  assert_int_equal(r.status, 413);
  assert_non_null(strstr(r.body, "BLOK_ETOOLONG"));
  resp_release(&r);
  /* ... and one sent in chunks, with no length declared, is cut off when it passes the limit:
   * the connection is closed without a reply (libmicrohttpd cannot reply mid-request). */
  int fd = connect_api();
  const char *head = "POST /v1/tx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n";
  write_all(fd, head, strlen(head));
  static char chunk[70000];
  int cn = snprintf(chunk, sizeof chunk, "%x\r\n", 65536);
  memset(chunk + cn, 'a', 65536);
  memcpy(chunk + cn + 65536, "\r\n", 2);
  for (int i = 0; i < 17; i++)
    write_all(fd, chunk, (size_t)cn + 65536 + 2);
  read_response(fd, &r);
  close(fd);
  assert_int_equal(r.status, 0);
  resp_release(&r);
  /* A chunked body within the limit is read whole. */
  fd = connect_api();
  write_all(fd, head, strlen(head));
  const char *body = "6\r\n{\"hex\"\r\n7\r\n: \"zz\"}\r\n0\r\n\r\n";
  write_all(fd, body, strlen(body));
  read_response(fd, &r);
  close(fd);
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(r.body, "BLOK_EHEX"));
  resp_release(&r);
  /* The server still answers. */
  json_decref(call("GET", "/v1/status", NULL, 200));
}

static void test_static(void **state) {
  (void)state;
  struct resp r;
  http("GET", "/", NULL, 0, "", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.raw, "Content-Type: text/html"));
  assert_non_null(strstr(r.body, "<title>blokauto</title>"));
  resp_release(&r);
  const char *bad[] = {"/../secret.txt", "/%2e%2e/secret.txt", "/.hidden",
                       "//etc/passwd",   "/index.html/..",     "/nosuch.html"};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(bad); i++) {
    http("GET", bad[i], NULL, 0, "", &r);
    if (r.status != 404) fail_msg("%s: status %d", bad[i], r.status);
    assert_null(strstr(r.body, "not for the web"));
    resp_release(&r);
  }
  http("POST", "/index.html", "x", 1, "", &r);
  assert_int_equal(r.status, 405);
  resp_release(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status),
      cmocka_unit_test(test_submit_both_forms),
      cmocka_unit_test(test_tx_proof),
      cmocka_unit_test(test_wait_commit),
      cmocka_unit_test(test_wait_timeout_and_refusal),
      cmocka_unit_test(test_blocks),
      cmocka_unit_test(test_state),
      cmocka_unit_test(test_nonce),
      cmocka_unit_test(test_metrics),
      cmocka_unit_test(test_errors_body),
      cmocka_unit_test(test_errors_submit),
      cmocka_unit_test(test_submit_binary),
      cmocka_unit_test(test_errors_http),
      cmocka_unit_test(test_static),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
