/*
 * Crash test with real processes (issue: "submit under load, SIGKILL the node at random moments
 * (at least 20 times), restart, and check that every transaction whose commit was acknowledged
 * is present and the state root matches a replay of the blocks").
 *
 * usage: crash_kill9 BLOKAUTO [KILLS] [SEED]
 *
 * It runs `blokauto devnet` in a temporary folder on a free loopback port; four threads submit
 * anchor transactions with ?wait=commit and record every acknowledged one; the main thread kills
 * the node with SIGKILL at random moments (the seed is printed; pass it to replay the schedule)
 * and restarts it. Then it stops the node with SIGTERM (which must exit 0) and checks the store:
 * every acknowledged transaction at its height, and every block re-executed from genesis in a
 * fresh store giving the same block hash (hence the same state, tx and result roots). Bounded in
 * time; kills its child by pid on every exit path; removes its folder.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blok/anchor.h"
#include "blok/hex.h"
#include "blok/keyfile.h"
#include "blok/ledger.h"
#include "blok/modules.h"
#include "blok/notify.h"
#include "blok/sha256.h"
#include "blok/banned.h"

#define LOADERS    4
#define ACKED_MAX  200000
#define DEADLINE_S 240

static const char *g_bin;
static char g_dir[128], g_net[192], g_url[64];
static uint16_t g_port;
static pid_t g_pid = -1;
static _Atomic bool g_stop;

struct acked {
  uint8_t id[32];
  uint64_t height;
};
static struct acked *g_acked;
static size_t g_nacked;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

BLOK_NORETURN static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "crash_kill9: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (folder kept: %s)\n", g_dir);
  if (g_pid > 0) {
    kill(g_pid, SIGKILL);
    waitpid(g_pid, NULL, 0);
  }
  exit(1);
}

static uint16_t free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(s, (struct sockaddr *)&a, &len) != 0)
    die("cannot find a free port");
  close(s);
  return ntohs(a.sin_port);
}

static void start_node(void) {
  char http[32], log[256];
  snprintf(http, sizeof http, "127.0.0.1:%u", g_port);
  snprintf(log, sizeof log, "%s/node.log", g_dir);
  pid_t pid = fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(g_bin, g_bin, "devnet", "--data", g_net, "--http", http, (char *)NULL);
    _exit(127);
  }
  g_pid = pid;
}

struct resp {
  char data[1 << 16];
  size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx) {
  struct resp *r = ctx;
  size_t k = size * n;
  if (r->len + k >= sizeof r->data) return 0;
  memcpy(r->data + r->len, p, k);
  r->len += k;
  r->data[r->len] = '\0';
  return k;
}

/* One request; the status, or 0 when the node could not be reached. */
static long http(CURL *c, const char *path, const char *body, struct resp *r) {
  char url[512];
  snprintf(url, sizeof url, "%s%s", g_url, path);
  r->len = 0;
  r->data[0] = '\0';
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 8000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

static void wait_ready(CURL *c) {
  struct resp *r = malloc(sizeof *r);
  uint64_t until = blok_monotonic_ms() + 20000;
  while (http(c, "/v1/status", NULL, r) != 200) {
    if (blok_monotonic_ms() > until) die("node not ready within 20 s; see %s/node.log", g_dir);
    int st;
    if (waitpid(g_pid, &st, WNOHANG) == g_pid) die("node exited at start; see %s/node.log", g_dir);
    usleep(20000);
  }
  free(r);
}

static bool next_nonce(CURL *c, const uint8_t pk[32], uint64_t *out, struct resp *r) {
  char path[128], hex[65];
  blok_hex_encode(hex, sizeof hex, pk, 32);
  snprintf(path, sizeof path, "/v1/nonce/%s", hex);
  if (http(c, path, NULL, r) != 200) return false;
  json_t *j = json_loads(r->data, 0, NULL);
  *out = (uint64_t)json_integer_value(json_object_get(j, "next_nonce"));
  json_decref(j);
  return *out > 0;
}

/* Signs anchor/record of a fresh document and gives the request body. */
static char *signed_body(const struct blok_sign_keypair *kp, uint64_t nonce, unsigned who,
                         uint64_t seq, uint8_t id[32]) {
  char doc[64];
  uint8_t hash[32];
  snprintf(doc, sizeof doc, "crash doc %u/%llu", who, (unsigned long long)seq);
  blok_sha256(hash, doc, strlen(doc));
  struct blok_buf pl, raw;
  blok_buf_init(&pl, 256);
  blok_buf_init(&raw, BLOK_TX_ENCODED_MAX);
  struct blok_tx tx = {.version = BLOK_TX_VERSION, .nonce = nonce, .expiry_height = UINT64_MAX};
  snprintf(tx.chain_id, sizeof tx.chain_id, "blokauto-devnet");
  snprintf(tx.module, sizeof tx.module, "anchor");
  snprintf(tx.type, sizeof tx.type, "record");
  char *body = NULL;
  if (blok_anchor_payload(&pl, hash, doc) == BLOK_OK) {
    tx.payload = pl.data;
    tx.payload_len = pl.len;
    if (blok_tx_sign(&tx, kp, &raw) == BLOK_OK) {
      char *hex = malloc(BLOK_HEX_LEN(raw.len));
      blok_hex_encode(hex, BLOK_HEX_LEN(raw.len), raw.data, raw.len);
      json_t *j = json_pack("{s:s}", "hex", hex);
      body = json_dumps(j, JSON_COMPACT);
      json_decref(j);
      free(hex);
      memcpy(id, tx.id, 32);
    }
  }
  blok_buf_release(&pl);
  blok_buf_release(&raw);
  return body;
}

static void record(const uint8_t id[32], uint64_t height) {
  pthread_mutex_lock(&g_mu);
  if (g_nacked < ACKED_MAX) {
    memcpy(g_acked[g_nacked].id, id, 32);
    g_acked[g_nacked++].height = height;
  }
  pthread_mutex_unlock(&g_mu);
}

static void *loader(void *arg) {
  static const char *const roles[LOADERS] = {"manufacturer", "dealer", "service", "insurer"};
  unsigned who = (unsigned)(uintptr_t)arg;
  char path[256];
  snprintf(path, sizeof path, "%s/keys/%s.key", g_net, roles[who]);
  struct blok_sign_keypair kp;
  if (blok_keyfile_read(&kp, path) != BLOK_OK) die("cannot read %s", path);
  CURL *c = curl_easy_init();
  struct resp *r = malloc(sizeof *r);
  uint64_t nonce = 0, seq = 0;
  while (!g_stop) {
    if (nonce == 0 && !next_nonce(c, kp.pk, &nonce, r)) {
      usleep(20000);
      continue;
    }
    uint8_t id[32];
    char *body = signed_body(&kp, nonce, who, seq++, id);
    long st = http(c, "/v1/tx?wait=commit&timeout_ms=5000", body, r);
    free(body);
    json_t *j = st == 200 ? json_loads(r->data, 0, NULL) : NULL;
    const char *status = json_string_value(json_object_get(j, "status"));
    if (status && strcmp(status, "committed") == 0) {
      record(id, (uint64_t)json_integer_value(json_object_get(j, "height")));
      nonce++;
    } else {
      nonce = 0; /* the node restarted or refused: ask it for the nonce again */
    }
    json_decref(j);
  }
  free(r);
  curl_easy_cleanup(c);
  blok_sign_keypair_clear(&kp);
  return NULL;
}

static int rm_entry(const char *p, const struct stat *s, int flag, struct FTW *f) {
  (void)s;
  (void)flag;
  (void)f;
  return remove(p);
}

/* Every acknowledged transaction is stored at its height. */
static void check_acked(struct blok_ledger *l) {
  for (size_t i = 0; i < g_nacked; i++) {
    struct blok_tx_location loc;
    char hex[65];
    blok_hex_encode(hex, sizeof hex, g_acked[i].id, 32);
    if (blok_ledger_tx(l, g_acked[i].id, &loc) != BLOK_OK)
      die("acknowledged transaction %s is missing", hex);
    if (loc.height != g_acked[i].height) die("transaction %s moved to another height", hex);
  }
}

/* Re-executes block h of the crashed store in the replay ledger and compares the hashes. */
static void replay_block(struct blok_ledger *crashed, struct blok_ledger *replay, uint64_t h,
                         struct blok_block_view *v) {
  struct blok_buf block, qcb;
  blok_buf_init(&block, BLOK_BLOCK_BYTES_MAX);
  blok_buf_init(&qcb, 1 << 16);
  struct blok_qc *qc = malloc(sizeof *qc);
  struct blok_reader r;
  if (blok_ledger_block(crashed, h, &block, &qcb) != BLOK_OK ||
      blok_block_parse(v, block.data, block.len) != BLOK_OK)
    die("block %llu unreadable", (unsigned long long)h);
  blok_reader_init(&r, qcb.data, qcb.len);
  if (blok_qc_decode(&r, qc) != BLOK_OK)
    die("certificate of block %llu unreadable", (unsigned long long)h);
  struct blok_exec *x;
  struct blok_header out;
  if (blok_exec_begin(replay, v->header.timestamp_ms, v->header.proposer, v->header.round, &x))
    die("replay: cannot begin a block");
  for (size_t i = 0; i < v->tx_count; i++) {
    struct blok_tx tx;
    struct blok_tx_result res;
    struct blok_why why = {{0}};
    if (blok_tx_decode(&tx, v->txs[i], v->tx_lens[i]) != BLOK_OK ||
        blok_exec_tx(x, &tx, false, &res, &why) != BLOK_OK)
      die("replay: a stored transaction is not admitted: %s", why.msg);
  }
  uint8_t a[32], b[32];
  if (blok_exec_finish(x, &out) != BLOK_OK || blok_header_hash(&out, a) != BLOK_OK ||
      blok_header_hash(&v->header, b) != BLOK_OK || memcmp(a, b, 32) != 0)
    die("replay: block %llu hash differs (state root or results)", (unsigned long long)h);
  if (blok_ledger_commit(replay, x, qc) != BLOK_OK) die("replay: commit failed");
  blok_exec_free(x);
  free(qc);
  blok_buf_release(&block);
  blok_buf_release(&qcb);
}

static void verify(void) {
  static struct blok_registry reg;
  static struct blok_genesis g;
  struct blok_why why = {{0}};
  char path[256], replay_dir[256];
  blok_modules_default(&reg);
  snprintf(path, sizeof path, "%s/genesis.json", g_net);
  if (blok_genesis_load(&g, path, &reg, &why) != BLOK_OK) die("genesis: %s", why.msg);
  struct blok_store *s1, *s2;
  struct blok_ledger *l1, *l2;
  snprintf(path, sizeof path, "%s/ledger", g_net);
  snprintf(replay_dir, sizeof replay_dir, "%s/replay", g_dir);
  struct blok_store_opts o1 = {.dir = path}, o2 = {.dir = replay_dir};
  if (blok_store_open(&s1, &o1) || blok_ledger_open(&l1, s1, &reg, &g, &why))
    die("reopen the crashed store: %s", why.msg);
  if (blok_store_open(&s2, &o2) || blok_ledger_open(&l2, s2, &reg, &g, &why))
    die("open the replay store: %s", why.msg);
  check_acked(l1);
  struct blok_header head;
  blok_ledger_head(l1, &head, NULL);
  struct blok_block_view *v = malloc(sizeof *v);
  for (uint64_t h = 1; h <= head.height; h++)
    replay_block(l1, l2, h, v);
  free(v);
  printf("crash_kill9: %zu acknowledged transactions present; %llu blocks replayed to the same "
         "hashes and state root\n",
         g_nacked, (unsigned long long)head.height);
  blok_ledger_close(l1);
  blok_ledger_close(l2);
  blok_store_close(s1);
  blok_store_close(s2);
  blok_genesis_release(&g);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: crash_kill9 BLOKAUTO [KILLS] [SEED]\n");
    return 2;
  }
  g_bin = argv[1];
  int kills = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 20;
  unsigned seed = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : (unsigned)time(NULL);
  if (kills < 1 || kills > 10000) kills = 20;
  printf("crash_kill9: %d kills, seed %u\n", kills, seed);
  srand(seed);
  snprintf(g_dir, sizeof g_dir, "/tmp/blok-crash-XXXXXX");
  if (mkdtemp(g_dir) == NULL) die("mkdtemp failed");
  snprintf(g_net, sizeof g_net, "%s/net", g_dir);
  g_port = free_port();
  snprintf(g_url, sizeof g_url, "http://127.0.0.1:%u", g_port);
  g_acked = calloc(ACKED_MAX, sizeof *g_acked);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  alarm(DEADLINE_S); /* a hung run ends; the child gets SIGKILL from its parent's death below */
  CURL *c = curl_easy_init();
  start_node();
  wait_ready(c);
  pthread_t th[LOADERS];
  for (unsigned i = 0; i < LOADERS; i++)
    pthread_create(&th[i], NULL, loader, (void *)(uintptr_t)i);
  for (int k = 0; k < kills; k++) {
    usleep((useconds_t)(150000 + rand() % 450000));
    kill(g_pid, SIGKILL);
    waitpid(g_pid, NULL, 0);
    start_node();
    wait_ready(c);
  }
  usleep(500000);
  g_stop = true;
  for (unsigned i = 0; i < LOADERS; i++)
    pthread_join(th[i], NULL);
  int st = 0;
  kill(g_pid, SIGTERM);
  waitpid(g_pid, &st, 0);
  g_pid = -1;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("node did not stop cleanly on SIGTERM");
  if (g_nacked < (size_t)kills) die("too few acknowledged transactions to mean anything");
  verify();
  curl_easy_cleanup(c);
  curl_global_cleanup();
  free(g_acked);
  nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}
