/*
 * The validators' network (blok/net.h, docs/NETWORK.md). Real nodes in one uv loop on
 * 127.0.0.1, and a raw client on a thread with blocking sockets that speaks the wire format as
 * the document gives it (its own code for the handshake and the frames, libsodium underneath),
 * so the tests also check that the document and the code agree. Every wait is bounded: the loop
 * runs under a polling uv timer until a condition holds or a deadline passes, and the test then
 * fails with what it was waiting for.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "test_util.h"

#include "../../src/net/net_internal.h"
#include "blok/log.h"
#include "blok/net.h"
#include "blok/sign.h"
#include "blok/banned.h"

#define CHAIN    "blokauto-test"
#define RX_MAX   256
#define RX_BYTES 64

static uv_loop_t loop;

/* ---- nodes -------------------------------------------------------------------------------- */

struct rx {
  uint8_t from[32];
  unsigned flags;
  size_t len;
  uint8_t data[RX_BYTES];
};

struct node {
  struct blok_net *net;
  struct blok_sign_keypair kp;
  uint16_t port;
  struct rx rx[RX_MAX];
  size_t nrx;
  unsigned ups, downs, observer_ups;
  bool allow_observers; /* the observer hook says yes */
};

static void on_message(const uint8_t pk[32], unsigned flags, const uint8_t *b, size_t len,
                       void *user) {
  struct node *n = user;
  assert_true(n->nrx < RX_MAX);
  struct rx *r = &n->rx[n->nrx++];
  memcpy(r->from, pk, 32);
  r->flags = flags;
  r->len = len;
  memcpy(r->data, b, len < RX_BYTES ? len : RX_BYTES);
}

static void on_up(const uint8_t pk[32], unsigned flags, void *user) {
  (void)pk;
  struct node *n = user;
  n->ups++;
  if (flags & BLOK_NET_OBSERVER) n->observer_ups++;
}

static void on_down(const uint8_t pk[32], unsigned flags, void *user) {
  (void)pk;
  (void)flags;
  struct node *n = user;
  n->downs++;
}

static bool allow_observer(const uint8_t pk[32], void *user) {
  (void)pk;
  struct node *n = user;
  return n->allow_observers;
}

/* Deterministic jitter: always 0, so every delay is exactly half its ceiling. */
static uint64_t zero_random(void *user) {
  (void)user;
  return 0;
}

static void node_key(struct node *n, uint8_t v) {
  uint8_t seed[32];
  memset(seed, v, sizeof seed);
  assert_int_equal(blok_sign_keypair_from_seed(&n->kp, seed), BLOK_OK);
}

/* A port nothing listens on now (bound and released at once). */
static uint16_t free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
  close(s);
  return ntohs(a.sin_port);
}

static struct blok_net_limits test_limits(void) {
  struct blok_net_limits l;
  memset(&l, 0, sizeof l);
  l.backoff_base_ms = 20;
  l.backoff_max_ms = 200;
  l.handshake_timeout_ms = 2000;
  return l;
}

/* Opens n listening on its port with the given peers (their keys and ports; a peer with port
 * 0 is never dialled, only accepted). */
static void node_open_with(struct node *n, struct node **peers, size_t np,
                           const struct blok_net_limits *lim) {
  struct blok_net_peer list[8];
  assert_true(np <= 8);
  for (size_t i = 0; i < np; i++) {
    memcpy(list[i].pk, peers[i]->kp.pk, 32);
    list[i].host = peers[i]->port != 0 ? "127.0.0.1" : NULL; /* port 0: accept only */
    list[i].port = peers[i]->port;
  }
  struct blok_net_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.chain_id = CHAIN;
  cfg.identity = &n->kp;
  cfg.listen_host = "127.0.0.1";
  cfg.listen_port = n->port;
  cfg.peers = list;
  cfg.peer_count = np;
  cfg.limits = lim != NULL ? *lim : test_limits();
  cfg.random_u64 = zero_random;
  cfg.allow_observer = allow_observer;
  cfg.observer_user = n;
  struct blok_net_callbacks cb = {on_message, on_up, on_down, n};
  struct blok_why why = {{0}};
  enum blok_err rc = blok_net_open(&n->net, &loop, &cfg, &cb, &why);
  if (rc != BLOK_OK) fail_msg("open: %s: %s", blok_err_name(rc), why.msg);
  assert_int_equal(blok_net_listen_port(n->net), n->port);
}

static void node_close(struct node *n) {
  blok_net_close(n->net);
  n->net = NULL;
}

static void setup_loop(void) {
  assert_int_equal(uv_loop_init(&loop), 0);
  blok_log_set_level(BLOK_LOG_ERROR);
}

static void teardown_loop(void) {
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- bounded waiting ---------------------------------------------------------------------- */

typedef bool (*cond_fn)(void *arg);

static void poll_cb(uv_timer_t *t) {
  (void)t; /* only wakes the loop so run_until can look */
}

/* Runs the loop until cond holds (true) or timeout_ms pass (false). */
static bool run_until(cond_fn cond, void *arg, uint64_t timeout_ms) {
  uv_timer_t t;
  assert_int_equal(uv_timer_init(&loop, &t), 0);
  assert_int_equal(uv_timer_start(&t, poll_cb, 2, 2), 0);
  uv_update_time(&loop);
  uint64_t deadline = uv_now(&loop) + timeout_ms;
  bool ok;
  while (!(ok = cond(arg)) && uv_now(&loop) < deadline)
    uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  return ok;
}

static bool never(void *arg) {
  (void)arg;
  return false;
}

/* Runs the loop for ms milliseconds. */
static void run_for(uint64_t ms) {
  (void)run_until(never, NULL, ms);
}

static struct blok_net_peer_stats peer_stats(struct node *n, struct node *peer) {
  struct blok_net_peer_stats s;
  assert_int_equal(blok_net_peer_stats(n->net, peer->kp.pk, &s), BLOK_OK);
  return s;
}

static struct blok_net_stats net_stats(struct node *n) {
  struct blok_net_stats s;
  blok_net_stats(n->net, &s);
  return s;
}

struct mesh {
  struct node **nodes;
  size_t n;
};

/* Every node has every other one connected, over exactly one connection each. */
static bool mesh_up(void *arg) {
  struct mesh *m = arg;
  for (size_t i = 0; i < m->n; i++) {
    if (net_stats(m->nodes[i]).connections != m->n - 1) return false;
    for (size_t j = 0; j < m->n; j++)
      if (i != j && !peer_stats(m->nodes[i], m->nodes[j]).connected) return false;
  }
  return true;
}

struct count_wait {
  struct node *n;
  size_t want;
};

static bool has_rx(void *arg) {
  struct count_wait *w = arg;
  return w->n->nrx >= w->want;
}

static void wait_rx(struct node *n, size_t want) {
  struct count_wait w = {n, want};
  if (!run_until(has_rx, &w, 5000)) fail_msg("waited for %zu messages, got %zu", want, n->nrx);
}

struct counter_wait {
  const unsigned *p;
  unsigned want;
};

static bool counter_reached(void *arg) {
  struct counter_wait *w = arg;
  return *w->p >= w->want;
}

static void wait_counter(const unsigned *p, unsigned want) {
  struct counter_wait w = {p, want};
  if (!run_until(counter_reached, &w, 5000)) fail_msg("counter at %u, want %u", *p, want);
}

struct refusal_wait {
  struct node *n;
  uint64_t want;
};

static bool refused_at_least(void *arg) {
  struct refusal_wait *w = arg;
  return net_stats(w->n).handshakes_refused >= w->want;
}

/* The index of the message from `from` with text s, or -1. */
static int find_rx(const struct node *n, const struct node *from, const char *s) {
  for (size_t i = 0; i < n->nrx; i++)
    if (memcmp(n->rx[i].from, from->kp.pk, 32) == 0 && n->rx[i].len == strlen(s) &&
        memcmp(n->rx[i].data, s, strlen(s)) == 0)
      return (int)i;
  return -1;
}

static void send_text(struct node *from, struct node *to, const char *s) {
  assert_int_equal(blok_net_send(from->net, to->kp.pk, (const uint8_t *)s, strlen(s)), BLOK_OK);
}

/* Three validators. Symmetric: each has the others' addresses, so every pair dials both ways
 * and one connection of each pair must give way. Otherwise node i dials only the nodes before
 * it, so no connection is ever closed as a duplicate. */
static void open_three(struct node *n, bool symmetric) {
  for (int i = 0; i < 3; i++) {
    memset(&n[i], 0, sizeof n[i]);
    node_key(&n[i], (uint8_t)(0x10 + i));
  }
  for (int i = 0; i < 3; i++) {
    struct node copy[3];
    struct node *peers[3];
    for (int j = 0; j < 3; j++) {
      n[j].port = n[j].port ? n[j].port : free_port();
      memcpy(copy[j].kp.pk, n[j].kp.pk, 32);
      copy[j].port = symmetric || j < i ? n[j].port : 0;
      peers[j] = &copy[j]; /* its own entry is skipped */
    }
    node_open_with(&n[i], peers, 3, NULL);
  }
}

/* ---- tests: the mesh ---------------------------------------------------------------------- */

static void test_three_nodes_all_ways(void **state) {
  (void)state;
  setup_loop();
  struct node n[3];
  open_three(n, true);
  struct node *all[3] = {&n[0], &n[1], &n[2]};
  struct mesh m = {all, 3};
  assert_true(run_until(mesh_up, &m, 5000));
  char text[3][3][32];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      if (i != j) {
        snprintf(text[i][j], sizeof text[i][j], "from %d to %d", i, j);
        send_text(&n[i], &n[j], text[i][j]);
      }
  for (int j = 0; j < 3; j++)
    wait_rx(&n[j], 2);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      if (i != j) {
        assert_true(find_rx(&n[j], &n[i], text[i][j]) >= 0);
        assert_int_equal(n[j].rx[find_rx(&n[j], &n[i], text[i][j])].flags, 0);
      }
  for (int i = 0; i < 3; i++) {
    assert_int_equal(n[i].nrx, 2);
    assert_int_equal(n[i].ups, 2);
    assert_int_equal(n[i].downs, 0);
    assert_int_equal(peer_stats(&n[i], &n[(i + 1) % 3]).msgs_out, 1);
  }
  /* A key that is no peer. */
  struct node stranger;
  node_key(&stranger, 0x7f);
  assert_int_equal(blok_net_send(n[0].net, stranger.kp.pk, (const uint8_t *)"x", 1),
                   BLOK_ENOTFOUND);
  for (int i = 0; i < 3; i++)
    node_close(&n[i]);
  teardown_loop();
}

static void test_broadcast_reaches_all(void **state) {
  (void)state;
  setup_loop();
  struct node n[3];
  open_three(n, false);
  /* Queued before any connection is up: validators' messages wait for their peer. */
  assert_int_equal(blok_net_broadcast(n[0].net, (const uint8_t *)"early", 5, 0), BLOK_OK);
  struct node *all[3] = {&n[0], &n[1], &n[2]};
  struct mesh m = {all, 3};
  assert_true(run_until(mesh_up, &m, 5000));
  for (int i = 0; i < 3; i++) {
    char s[16];
    snprintf(s, sizeof s, "bcast %d", i);
    assert_int_equal(blok_net_broadcast(n[i].net, (const uint8_t *)s, strlen(s), 0), BLOK_OK);
  }
  wait_rx(&n[0], 2);
  wait_rx(&n[1], 3);
  wait_rx(&n[2], 3);
  run_for(50); /* nothing more arrives: no node gets its own broadcast or a second copy */
  assert_int_equal(n[0].nrx, 2);
  assert_int_equal(n[1].nrx, 3);
  assert_int_equal(n[2].nrx, 3);
  for (int j = 1; j < 3; j++)
    assert_true(find_rx(&n[j], &n[0], "early") >= 0);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      char s[16];
      snprintf(s, sizeof s, "bcast %d", i);
      if (i != j) assert_true(find_rx(&n[j], &n[i], s) >= 0);
    }
  assert_int_equal(blok_net_broadcast(n[0].net, (const uint8_t *)"", 0, 0), BLOK_EINVAL);
  for (int i = 0; i < 3; i++)
    node_close(&n[i]);
  teardown_loop();
}

/* ---- tests: who may connect ---------------------------------------------------------------- */

static bool refused_twice(void *arg) {
  struct node *n = arg;
  return net_stats(n).handshakes_refused >= 2;
}

static void test_unknown_key_refused(void **state) {
  (void)state;
  setup_loop();
  struct node a, x, b;
  memset(&a, 0, sizeof a);
  memset(&x, 0, sizeof x);
  memset(&b, 0, sizeof b);
  node_key(&a, 0x21);
  node_key(&b, 0x22);
  node_key(&x, 0x23);
  a.port = free_port();
  x.port = free_port();
  b.port = free_port();
  struct node *a_peers[1] = {&b}; /* a knows b only */
  struct node *x_peers[1] = {&a}; /* x believes a is its peer */
  node_open_with(&a, a_peers, 1, NULL);
  node_open_with(&x, x_peers, 1, NULL);
  assert_true(run_until(refused_twice, &a, 5000)); /* x dialled again after backoff */
  struct blok_net_stats st = net_stats(&a);
  assert_non_null(strstr(st.last_drop.msg, "not in the validator set"));
  assert_int_equal(a.ups, 0);
  assert_int_equal(x.ups, 0);
  assert_false(peer_stats(&x, &a).connected);
  assert_true(peer_stats(&x, &a).dials >= 2);
  assert_int_equal(blok_net_send(x.net, a.kp.pk, (const uint8_t *)"hi", 2), BLOK_OK);
  run_for(50);
  assert_int_equal(a.nrx, 0);
  node_close(&x);
  node_close(&a);
  teardown_loop();
}

/* a dials "b" at the address of z: z proves its own key, which is not the one dialled. */
static void test_responder_with_other_key_refused(void **state) {
  (void)state;
  setup_loop();
  struct node a, b, z;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&z, 0, sizeof z);
  node_key(&a, 0x31);
  node_key(&b, 0x32);
  node_key(&z, 0x33);
  a.port = free_port();
  z.port = free_port();
  b.port = z.port; /* b's entry in a's configuration names z's address */
  struct node *a_peers[1] = {&b};
  struct node a_accepted = a;
  a_accepted.port = 0;
  struct node *z_peers[1] = {&a_accepted}; /* z accepts a, and dials no one */
  node_open_with(&z, z_peers, 1, NULL);
  node_open_with(&a, a_peers, 1, NULL);
  assert_true(run_until(refused_twice, &a, 5000));
  assert_non_null(strstr(net_stats(&a).last_drop.msg, "not the peer dialled"));
  assert_int_equal(a.ups, 0);
  assert_false(peer_stats(&a, &b).connected);
  assert_true(peer_stats(&a, &b).bad_drops >= 2);
  node_close(&a);
  node_close(&z);
  teardown_loop();
}

/* ---- the raw client: the wire format from docs/NETWORK.md --------------------------------- */

enum raw_action {
  RAW_IDLE,        /* connect and send nothing */
  RAW_VALID,       /* handshake, frames 0 and 1, read one frame, then close */
  RAW_FRAMES,      /* handshake, frames 0 and 1, then wait for the server to close */
  RAW_HOLD,        /* handshake, frame 0, then wait for the server to close */
  RAW_FLIP,        /* frame 0, then frame 1 with one ciphertext bit flipped */
  RAW_REPLAY,      /* frame 0 twice */
  RAW_REORDER,     /* frame 1 (sealed with counter 1) first */
  RAW_OVERSIZE,    /* frame 0, then a length prefix of 0xffffffff */
  RAW_JUST_OVER,   /* a full-size frame, then one whose length is one above the maximum */
  RAW_TRUNCATE,    /* frame 0, then half of frame 1, then end of stream */
  RAW_LEN_CHANGED, /* frame 0, then frame 1 with a larger length prefix and bytes padded */
};

struct raw {
  uint16_t port;
  uint8_t server_pk[32];
  const struct blok_sign_keypair *claim;  /* the key named in message 1 */
  const struct blok_sign_keypair *signer; /* the key that signs message 3 */
  enum raw_action action;
  size_t frame_max; /* the server's frame_bytes_max, for RAW_JUST_OVER */
  /* results */
  atomic_int done;
  bool handshake_ok; /* message 2 was valid and from server_pk */
  bool closed;       /* the server closed the connection (EOF or reset) */
  char error[128];
  uint8_t tx[32], rx[32];
  char got[64]; /* RAW_VALID: the first frame from the server, decrypted */
};

static bool send_all(int s, const uint8_t *b, size_t len) {
  while (len > 0) {
    ssize_t n = send(s, b, len, MSG_NOSIGNAL);
    if (n <= 0) return false;
    b += n;
    len -= (size_t)n;
  }
  return true;
}

static bool recv_all(int s, uint8_t *b, size_t len) {
  while (len > 0) {
    ssize_t n = recv(s, b, len, 0);
    if (n <= 0) return false;
    b += n;
    len -= (size_t)n;
  }
  return true;
}

/* One frame as NETWORK.md "Frames" says: u32le(len(ct)) || ChaCha20-Poly1305-IETF(key,
 * nonce = 00000000 || u64le(counter), ad = the 4 length bytes, plaintext). */
static size_t seal(uint8_t *out, const uint8_t key[32], uint64_t ctr, const uint8_t *m,
                   size_t len) {
  uint8_t nonce[12] = {0};
  for (int i = 0; i < 8; i++)
    nonce[4 + i] = (uint8_t)(ctr >> (8 * i));
  uint32_t clen = (uint32_t)(len + 16);
  out[0] = (uint8_t)clen;
  out[1] = (uint8_t)(clen >> 8);
  out[2] = (uint8_t)(clen >> 16);
  out[3] = (uint8_t)(clen >> 24);
  unsigned long long w;
  crypto_aead_chacha20poly1305_ietf_encrypt(out + 4, &w, m, len, out, 4, NULL, nonce, key);
  return 4 + (size_t)w;
}

/* The initiator's side of the handshake. */
static bool raw_handshake(struct raw *r, int s) {
  uint8_t e_pk[32], e_sk[32], m1[68], m2[132], t[128], sig[64];
  crypto_kx_keypair(e_pk, e_sk);
  memcpy(m1, "bkn1", 4);
  memcpy(m1 + 4, e_pk, 32);
  memcpy(m1 + 36, r->claim->pk, 32);
  if (!send_all(s, m1, sizeof m1) || !recv_all(s, m2, sizeof m2)) return false;
  if (memcmp(m2, "bkn1", 4) != 0 || memcmp(m2 + 36, r->server_pk, 32) != 0) return false;
  memcpy(t, e_pk, 32);
  memcpy(t + 32, m2 + 4, 32);
  memcpy(t + 64, r->claim->pk, 32);
  memcpy(t + 96, r->server_pk, 32);
  if (blok_verify_domain(m2 + 68, r->server_pk, "blokauto/net/responder/v1", CHAIN, t, 128) !=
      BLOK_OK)
    return false;
  if (crypto_kx_client_session_keys(r->rx, r->tx, e_pk, e_sk, m2 + 4) != 0) return false;
  if (blok_sign_domain(sig, r->signer, "blokauto/net/initiator/v1", CHAIN, t, 128) != BLOK_OK)
    return false;
  r->handshake_ok = true;
  return send_all(s, sig, sizeof sig);
}

/* Waits (at most 5 s) for the server to close: true on EOF or reset. */
static bool wait_closed(int s) {
  uint8_t b[256];
  for (;;) {
    ssize_t n = recv(s, b, sizeof b, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

static void raw_frames(struct raw *r, int s) {
  static uint8_t big[(1 << 16) + 64];
  uint8_t f0[64], f1[64];
  size_t n0 = seal(f0, r->tx, 0, (const uint8_t *)"raw 0", 5);
  size_t n1 = seal(f1, r->tx, 1, (const uint8_t *)"raw 1", 5);
  const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
  switch (r->action) {
    case RAW_IDLE:
      break;
    case RAW_VALID:
    case RAW_FRAMES:
      send_all(s, f0, n0), send_all(s, f1, n1);
      break;
    case RAW_FLIP:
      f1[4 + 2] ^= 0x01;
      send_all(s, f0, n0), send_all(s, f1, n1);
      break;
    case RAW_REPLAY:
      send_all(s, f0, n0), send_all(s, f0, n0);
      break;
    case RAW_REORDER:
      send_all(s, f1, n1), send_all(s, f0, n0);
      break;
    case RAW_OVERSIZE:
      send_all(s, f0, n0), send_all(s, huge, 4);
      break;
    case RAW_HOLD:
      send_all(s, f0, n0);
      break;
    case RAW_JUST_OVER: {
      assert_true(r->frame_max + 64 <= sizeof big);
      static uint8_t plain[1 << 16];
      memset(plain, 'z', r->frame_max);
      size_t n = seal(big, r->tx, 0, plain, r->frame_max);
      send_all(s, big, n);
      n = seal(big, r->tx, 1, plain, r->frame_max + 1);
      send_all(s, big, n);
      break;
    }
    case RAW_TRUNCATE:
      send_all(s, f0, n0), send_all(s, f1, n1 / 2);
      shutdown(s, SHUT_WR);
      break;
    case RAW_LEN_CHANGED: {
      uint8_t g[80] = {0};
      memcpy(g, f1, n1);
      g[0] = (uint8_t)(g[0] + 8); /* 8 more bytes announced; the tag no longer matches */
      send_all(s, f0, n0), send_all(s, g, n1 + 8);
      break;
    }
  }
}

/* Reads and opens the server's first frame (key rx, counter 0). */
static bool raw_read_frame(struct raw *r, int s) {
  uint8_t pre[4], ct[80], nonce[12] = {0};
  if (!recv_all(s, pre, 4)) return false;
  uint32_t clen =
      (uint32_t)pre[0] | (uint32_t)pre[1] << 8 | (uint32_t)pre[2] << 16 | (uint32_t)pre[3] << 24;
  if (clen < 17 || clen > sizeof ct || !recv_all(s, ct, clen)) return false;
  unsigned long long mlen;
  if (crypto_aead_chacha20poly1305_ietf_decrypt((uint8_t *)r->got, &mlen, NULL, ct, clen, pre, 4,
                                                nonce, r->rx) != 0 ||
      mlen >= sizeof r->got)
    return false;
  r->got[mlen] = '\0';
  return true;
}

static void *raw_main(void *arg) {
  struct raw *r = arg;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(r->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
    snprintf(r->error, sizeof r->error, "connect: %s", strerror(errno));
  } else {
    if (r->action == RAW_IDLE || raw_handshake(r, s)) raw_frames(r, s);
    if (r->action == RAW_VALID) {
      if (!raw_read_frame(r, s)) snprintf(r->error, sizeof r->error, "no frame from the server");
    } else {
      r->closed = wait_closed(s);
    }
  }
  close(s);
  atomic_store(&r->done, 1);
  return NULL;
}

static bool raw_done(void *arg) {
  struct raw *r = arg;
  return atomic_load(&r->done) != 0;
}

/* Runs the raw client against server until it finishes. */
static void raw_run(struct raw *r, struct node *server) {
  r->port = server->port;
  memcpy(r->server_pk, server->kp.pk, 32);
  atomic_init(&r->done, 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, raw_main, r), 0);
  bool ok = run_until(raw_done, r, 10000);
  pthread_join(th, NULL);
  if (!ok) fail_msg("the raw client did not finish");
  if (r->error[0]) fail_msg("raw client: %s", r->error);
}

/* A server a that knows c (no address: it only accepts) and b. */
struct raw_fixture {
  struct node a, b, c;
};

static void raw_fixture_open(struct raw_fixture *f, const struct blok_net_limits *lim) {
  memset(f, 0, sizeof *f);
  node_key(&f->a, 0x41);
  node_key(&f->b, 0x42);
  node_key(&f->c, 0x43);
  f->a.port = free_port();
  f->b.port = free_port(); /* nothing listens there: a keeps dialling b, harmlessly */
  struct blok_net_peer peers[2];
  memcpy(peers[0].pk, f->b.kp.pk, 32);
  peers[0].host = "127.0.0.1";
  peers[0].port = f->b.port;
  memcpy(peers[1].pk, f->c.kp.pk, 32);
  peers[1].host = NULL;
  peers[1].port = 0;
  struct blok_net_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.chain_id = CHAIN;
  cfg.identity = &f->a.kp;
  cfg.listen_host = "127.0.0.1";
  cfg.listen_port = f->a.port;
  cfg.peers = peers;
  cfg.peer_count = 2;
  cfg.limits = lim != NULL ? *lim : test_limits();
  cfg.random_u64 = zero_random;
  struct blok_net_callbacks cb = {on_message, on_up, on_down, &f->a};
  struct blok_why why = {{0}};
  assert_int_equal(blok_net_open(&f->a.net, &loop, &cfg, &cb, &why), BLOK_OK);
}

static void test_raw_valid_client(void **state) {
  (void)state;
  setup_loop();
  struct raw_fixture f;
  raw_fixture_open(&f, NULL);
  struct raw r;
  memset(&r, 0, sizeof r);
  r.claim = r.signer = &f.c.kp;
  r.action = RAW_VALID;
  send_text(&f.a, &f.c, "to raw"); /* waits in c's queue until c connects */
  raw_run(&r, &f.a);
  assert_true(r.handshake_ok);
  assert_string_equal(r.got, "to raw");
  wait_counter(&f.a.downs, 1);
  assert_int_equal(f.a.nrx, 2);
  assert_int_equal(find_rx(&f.a, &f.c, "raw 0"), 0);
  assert_int_equal(find_rx(&f.a, &f.c, "raw 1"), 1);
  assert_int_equal(f.a.ups, 1);
  assert_int_equal(f.a.downs, 1);
  assert_int_equal(net_stats(&f.a).conns_dropped, 0);
  node_close(&f.a);
  teardown_loop();
}

struct newer_wait {
  struct raw *first;
  struct node *a;
};

/* The first client saw its connection end and a has the frames of both. */
static bool newer_took_over(void *arg) {
  struct newer_wait *w = arg;
  return atomic_load(&w->first->done) != 0 && w->a->nrx >= 2;
}

/* c connects twice (as after a restart its old connection still looks open): the newer
 * connection replaces the older, and c never looks down. */
static void test_same_direction_newer_wins(void **state) {
  (void)state;
  setup_loop();
  struct raw_fixture f;
  raw_fixture_open(&f, NULL);
  struct raw r1, r2;
  memset(&r1, 0, sizeof r1);
  memset(&r2, 0, sizeof r2);
  r1.claim = r1.signer = r2.claim = r2.signer = &f.c.kp;
  r1.action = r2.action = RAW_HOLD;
  r1.port = r2.port = f.a.port;
  memcpy(r1.server_pk, f.a.kp.pk, 32);
  memcpy(r2.server_pk, f.a.kp.pk, 32);
  atomic_init(&r1.done, 0);
  atomic_init(&r2.done, 0);
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, raw_main, &r1), 0);
  wait_rx(&f.a, 1);
  assert_true(peer_stats(&f.a, &f.c).connected);
  assert_int_equal(pthread_create(&t2, NULL, raw_main, &r2), 0);
  struct newer_wait w = {&r1, &f.a};
  bool ok = run_until(newer_took_over, &w, 5000);
  pthread_join(t1, NULL);
  assert_true(ok);
  assert_true(r1.closed); /* the older connection was closed by a */
  assert_int_equal(f.a.ups, 1);
  assert_int_equal(f.a.downs, 0);
  assert_int_equal(net_stats(&f.a).duplicates_closed, 1);
  assert_true(peer_stats(&f.a, &f.c).connected);
  send_text(&f.a, &f.c, "still here"); /* goes out on the newer connection */
  run_for(20);
  node_close(&f.a); /* r2 sees the end of its connection now */
  pthread_join(t2, NULL);
  assert_true(r2.closed);
  teardown_loop();
}

/* c's key in message 1, but message 3 signed by z. */
static void test_wrong_identity_refused(void **state) {
  (void)state;
  setup_loop();
  struct raw_fixture f;
  raw_fixture_open(&f, NULL);
  struct node z;
  node_key(&z, 0x44);
  struct raw r;
  memset(&r, 0, sizeof r);
  r.claim = &f.c.kp;
  r.signer = &z.kp;
  r.action = RAW_FRAMES;
  raw_run(&r, &f.a);
  assert_true(r.handshake_ok); /* a answered: message 1 named a validator */
  assert_true(r.closed);
  run_for(20);
  assert_int_equal(f.a.nrx, 0);
  assert_int_equal(f.a.ups, 0);
  assert_false(peer_stats(&f.a, &f.c).connected);
  struct blok_net_stats st = net_stats(&f.a);
  assert_true(st.handshakes_refused >= 1);
  assert_non_null(strstr(st.last_drop.msg, "initiator's signature does not verify"));
  node_close(&f.a);
  teardown_loop();
}

struct bad_case {
  enum raw_action action;
  const char *reason;
  size_t delivered; /* frames a delivers before it drops the connection */
};

static void run_bad_case(const struct bad_case *bc) {
  setup_loop();
  struct raw_fixture f;
  struct blok_net_limits lim = test_limits();
  lim.frame_bytes_max = 1000;
  raw_fixture_open(&f, &lim);
  struct raw r;
  memset(&r, 0, sizeof r);
  r.claim = r.signer = &f.c.kp;
  r.action = bc->action;
  r.frame_max = lim.frame_bytes_max;
  raw_run(&r, &f.a);
  assert_true(r.handshake_ok);
  assert_true(r.closed);
  run_for(20);
  if (f.a.nrx != bc->delivered)
    fail_msg("case %d: %zu frames delivered, want %zu", (int)bc->action, f.a.nrx, bc->delivered);
  if (bc->delivered == 1 && bc->action != RAW_JUST_OVER)
    assert_int_equal(find_rx(&f.a, &f.c, "raw 0"), 0);
  struct blok_net_stats st = net_stats(&f.a);
  if (st.conns_dropped != 1 || strstr(st.last_drop.msg, bc->reason) == NULL)
    fail_msg("case %d: dropped %llu, last reason \"%s\", want \"%s\"", (int)bc->action,
             (unsigned long long)st.conns_dropped, st.last_drop.msg, bc->reason);
  assert_int_equal(peer_stats(&f.a, &f.c).bad_drops, 1);
  assert_false(peer_stats(&f.a, &f.c).connected);
  node_close(&f.a);
  teardown_loop();
}

static void test_bad_frames_drop_the_connection(void **state) {
  (void)state;
  static const struct bad_case cases[] = {
      {RAW_FLIP, "frame 1 does not authenticate", 1},
      {RAW_REPLAY, "frame 1 does not authenticate", 1},
      {RAW_REORDER, "frame 0 does not authenticate", 0},
      {RAW_OVERSIZE, "frame length 4294967295 outside 17..1016", 1},
      {RAW_JUST_OVER, "frame length 1017 outside 17..1016", 1},
      {RAW_TRUNCATE, "truncated", 1},
      {RAW_LEN_CHANGED, "frame 1 does not authenticate", 1},
  };
  for (size_t i = 0; i < BLOK_ARRAY_LEN(cases); i++)
    run_bad_case(&cases[i]);
}

static void test_handshake_timeout(void **state) {
  (void)state;
  setup_loop();
  struct raw_fixture f;
  struct blok_net_limits lim = test_limits();
  lim.handshake_timeout_ms = 100;
  raw_fixture_open(&f, &lim);
  struct raw r;
  memset(&r, 0, sizeof r);
  r.action = RAW_IDLE;
  uv_update_time(&loop);
  uint64_t t0 = uv_now(&loop);
  raw_run(&r, &f.a);
  assert_true(r.closed);
  uv_update_time(&loop);
  assert_true(uv_now(&loop) - t0 >= 100);
  assert_non_null(strstr(net_stats(&f.a).last_drop.msg, "handshake timed out after 100 ms"));
  node_close(&f.a);
  teardown_loop();
}

/* ---- tests: connection management --------------------------------------------------------- */

struct pair {
  struct node *a, *b;
};

static bool pair_up(void *arg) {
  struct pair *p = arg;
  return peer_stats(p->a, p->b).connected && peer_stats(p->b, p->a).connected &&
         net_stats(p->a).connections == 1 && net_stats(p->b).connections == 1;
}

static bool a_sees_b_down(void *arg) {
  struct pair *p = arg;
  return !peer_stats(p->a, p->b).connected && peer_stats(p->a, p->b).dials >= 4;
}

static void test_reconnect_after_restart(void **state) {
  (void)state;
  setup_loop();
  struct node a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  node_key(&a, 0x51);
  node_key(&b, 0x52);
  a.port = free_port();
  b.port = free_port();
  /* Only a dials, so a message queued before a connection is up cannot be written to a
   * connection that then loses to a duplicate. */
  struct node a_accepted = a;
  a_accepted.port = 0;
  struct node *ap[1] = {&b}, *bp[1] = {&a_accepted};
  node_open_with(&a, ap, 1, NULL);
  node_open_with(&b, bp, 1, NULL);
  struct pair p = {&a, &b};
  assert_true(run_until(pair_up, &p, 5000));
  node_close(&b);
  /* a dials again and again, each delay twice the last (jitter 0: half the ceiling):
   * 10, 20, 40, 80 ms, then 100 ms (the ceiling is 200). */
  assert_true(run_until(a_sees_b_down, &p, 5000));
  assert_int_equal(a.downs, 1);
  struct blok_net_peer_stats s = peer_stats(&a, &b);
  /* The dial at open, then k redials: the delay scheduled after the k-th failed is
   * backoff(k), or backoff(k - 1) while the k-th is still connecting. */
  unsigned k = (unsigned)s.dials - 1;
  struct blok_net_limits lim = test_limits();
  assert_true(s.backoff_ms == blok_net_backoff_ms(&lim, k, 0) ||
              s.backoff_ms == blok_net_backoff_ms(&lim, k - 1, 0));
  assert_true(s.backoff_ms >= 40);
  assert_false(s.connected);
  /* Queued while b is away; delivered when it is back. */
  send_text(&a, &b, "while you were out");
  memset(&b.rx, 0, sizeof b.rx);
  b.nrx = 0;
  node_open_with(&b, bp, 1, NULL);
  assert_true(run_until(pair_up, &p, 5000));
  wait_rx(&b, 1);
  assert_true(find_rx(&b, &a, "while you were out") >= 0);
  send_text(&b, &a, "welcome back");
  wait_rx(&a, 1);
  assert_true(find_rx(&a, &b, "welcome back") >= 0);
  assert_int_equal(a.ups, 2);
  node_close(&a);
  node_close(&b);
  teardown_loop();
}

static void test_backoff_schedule(void **state) {
  (void)state;
  struct blok_net_limits l;
  memset(&l, 0, sizeof l);
  l.backoff_base_ms = 100;
  l.backoff_max_ms = 1000;
  assert_int_equal(blok_net_backoff_ms(&l, 0, 0), 50);
  assert_int_equal(blok_net_backoff_ms(&l, 0, 50), 100);
  assert_int_equal(blok_net_backoff_ms(&l, 0, 51), 50);
  assert_int_equal(blok_net_backoff_ms(&l, 1, 0), 100);
  assert_int_equal(blok_net_backoff_ms(&l, 1, 77), 177);
  assert_int_equal(blok_net_backoff_ms(&l, 3, 0), 400);
  assert_int_equal(blok_net_backoff_ms(&l, 4, 0), 500); /* 1600 capped at 1000 */
  assert_int_equal(blok_net_backoff_ms(&l, 4, 500), 1000);
  assert_int_equal(blok_net_backoff_ms(&l, 1000000, UINT64_MAX), 500 + UINT64_MAX % 501);
  memset(&l, 0, sizeof l); /* defaults: 100 and 10,000 */
  assert_int_equal(blok_net_backoff_ms(&l, 0, 0), 50);
  assert_int_equal(blok_net_backoff_ms(&l, 40, 0), 5000);
}

static void test_send_queue_bound(void **state) {
  (void)state;
  setup_loop();
  struct node a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  node_key(&a, 0x61);
  node_key(&b, 0x62);
  a.port = free_port();
  b.port = free_port(); /* b is not open yet */
  struct blok_net_limits lim = test_limits();
  lim.queue_msgs_max = 8;
  lim.queue_bytes_max = 100;
  struct node a_accepted = a;
  a_accepted.port = 0;
  struct node *ap[1] = {&b}, *bp[1] = {&a_accepted};
  node_open_with(&a, ap, 1, &lim);
  for (int i = 0; i < 20; i++) {
    char s[16];
    snprintf(s, sizeof s, "msg %05d", i); /* 9 bytes */
    send_text(&a, &b, s);
  }
  struct blok_net_peer_stats s = peer_stats(&a, &b);
  assert_int_equal(s.queued_msgs, 8); /* the count bound */
  assert_int_equal(s.queued_bytes, 72);
  assert_int_equal(s.queue_drops, 12);
  uint8_t big[60];
  memset(big, 'B', sizeof big);
  assert_int_equal(blok_net_send(a.net, b.kp.pk, big, sizeof big), BLOK_OK);
  s = peer_stats(&a, &b);
  /* the byte bound: 8 * 9 + 60 > 100, so the 4 oldest go: 4 * 9 + 60 = 96 */
  assert_int_equal(s.queued_msgs, 5);
  assert_int_equal(s.queued_bytes, 96);
  assert_int_equal(s.queue_drops, 16);
  uint8_t too_big[101] = {0};
  assert_int_equal(blok_net_send(a.net, b.kp.pk, too_big, sizeof too_big), BLOK_ETOOLONG);
  assert_int_equal(blok_net_broadcast(a.net, too_big, sizeof too_big, 0), BLOK_ETOOLONG);
  assert_int_equal(peer_stats(&a, &b).queued_msgs, 5);
  /* b comes up and gets exactly the newest five, in order. */
  node_open_with(&b, bp, 1, NULL);
  wait_rx(&b, 5);
  run_for(30);
  assert_int_equal(b.nrx, 5);
  for (int i = 0; i < 4; i++) {
    char want[16];
    snprintf(want, sizeof want, "msg %05d", 16 + i);
    assert_int_equal(find_rx(&b, &a, want), i);
  }
  assert_int_equal(b.rx[4].len, 60);
  assert_int_equal(peer_stats(&a, &b).queued_msgs, 0);
  node_close(&a);
  node_close(&b);
  teardown_loop();
}

static void test_simultaneous_dial_one_connection(void **state) {
  (void)state;
  for (int round = 0; round < 3; round++) {
    setup_loop();
    struct node a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    node_key(&a, (uint8_t)(0x71 + 2 * round));
    node_key(&b, (uint8_t)(0x72 + 2 * round));
    a.port = free_port();
    b.port = free_port();
    struct node *ap[1] = {&b}, *bp[1] = {&a};
    /* Both open before the loop runs: both dial at once. */
    node_open_with(&a, ap, 1, NULL);
    node_open_with(&b, bp, 1, NULL);
    struct pair p = {&a, &b};
    assert_true(run_until(pair_up, &p, 5000));
    run_for(100); /* let any loser finish closing */
    assert_true(pair_up(&p));
    bool a_lower = memcmp(a.kp.pk, b.kp.pk, 32) < 0;
    /* The connection dialled by the lower key is the one both keep. */
    assert_int_equal(peer_stats(&a, &b).outbound, a_lower);
    assert_int_equal(peer_stats(&b, &a).outbound, !a_lower);
    assert_true(net_stats(&a).duplicates_closed + net_stats(&b).duplicates_closed >= 1);
    assert_int_equal(a.ups, 1);
    assert_int_equal(b.ups, 1);
    assert_int_equal(a.downs, 0);
    assert_int_equal(b.downs, 0);
    send_text(&a, &b, "one");
    send_text(&b, &a, "two");
    wait_rx(&a, 1);
    wait_rx(&b, 1);
    node_close(&a);
    node_close(&b);
    teardown_loop();
  }
}

/* ---- tests: observers --------------------------------------------------------------------- */

static void test_observer(void **state) {
  (void)state;
  setup_loop();
  struct node v, w, o;
  memset(&v, 0, sizeof v);
  memset(&w, 0, sizeof w);
  memset(&o, 0, sizeof o);
  node_key(&v, 0x81);
  node_key(&w, 0x82); /* a second validator, never opened */
  node_key(&o, 0x83);
  v.port = free_port();
  w.port = free_port();
  o.port = free_port();
  v.allow_observers = true;
  struct node *vp[1] = {&w}, *op[1] = {&v};
  node_open_with(&v, vp, 1, NULL);
  node_open_with(&o, op, 1, NULL);
  /* o is no validator of v: v takes it as an observer. */
  wait_counter(&v.observer_ups, 1);
  struct blok_net_peer_stats s;
  assert_int_equal(blok_net_peer_stats(v.net, o.kp.pk, &s), BLOK_OK);
  assert_true(s.connected && s.observer && !s.outbound);
  send_text(&o, &v, "observer says");
  wait_rx(&v, 1);
  assert_int_equal(v.rx[0].flags, BLOK_NET_OBSERVER);
  /* A broadcast reaches observers only when asked to. */
  assert_int_equal(blok_net_broadcast(v.net, (const uint8_t *)"validators only", 15, 0), BLOK_OK);
  assert_int_equal(
      blok_net_broadcast(v.net, (const uint8_t *)"everyone", 8, BLOK_NET_BROADCAST_OBSERVERS),
      BLOK_OK);
  wait_rx(&o, 1);
  run_for(30);
  assert_int_equal(o.nrx, 1);
  assert_int_equal(find_rx(&o, &v, "everyone"), 0);
  send_text(&v, &o, "direct");
  wait_rx(&o, 2);
  /* When the hook says no, the observer is refused. */
  node_close(&o);
  wait_counter(&v.downs, 1);
  assert_int_equal(blok_net_send(v.net, o.kp.pk, (const uint8_t *)"x", 1), BLOK_ENOTFOUND);
  v.allow_observers = false;
  uint64_t refused = net_stats(&v).handshakes_refused;
  node_open_with(&o, op, 1, NULL);
  struct refusal_wait rw = {&v, refused + 1};
  assert_true(run_until(refused_at_least, &rw, 5000));
  assert_non_null(strstr(net_stats(&v).last_drop.msg, "not in the validator set"));
  assert_int_equal(v.observer_ups, 1);
  node_close(&o);
  node_close(&v);
  teardown_loop();
}

/* ---- the worked example of docs/NETWORK.md ------------------------------------------------ */

static void unhex(uint8_t *out, size_t n, const char *hex) {
  assert_int_equal(blok_hex_decode_exact(out, n, hex, strlen(hex)), BLOK_OK);
}

/* The bytes of the document's example, from the module's own handshake functions. They were
 * also recomputed independently with Python's cryptography package and hashlib when written. */
static void test_worked_example(void **state) {
  (void)state;
  uint8_t seed[32], ei_sk[32], er_sk[32], ei_pk[32], er_pk[32];
  struct blok_sign_keypair ki, kr;
  for (int i = 0; i < 32; i++) {
    seed[i] = (uint8_t)i;
    ei_sk[i] = (uint8_t)(0x40 + i);
    er_sk[i] = (uint8_t)(0x60 + i);
  }
  assert_int_equal(blok_sign_keypair_from_seed(&ki, seed), BLOK_OK);
  for (int i = 0; i < 32; i++)
    seed[i] = (uint8_t)(0x20 + i);
  assert_int_equal(blok_sign_keypair_from_seed(&kr, seed), BLOK_OK);
  assert_int_equal(crypto_scalarmult_base(ei_pk, ei_sk), 0);
  assert_int_equal(crypto_scalarmult_base(er_pk, er_sk), 0);

  uint8_t m1[68], m2[132], m3[64], t[128], want[132];
  blok__net_hello_build(m1, ei_pk, ki.pk);
  unhex(want, 68,
        "626b6e3179a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89"
        "af85a51a03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  assert_memory_equal(m1, want, 68);
  blok__net_transcript(t, ei_pk, er_pk, ki.pk, kr.pk);
  blok__net_hello_build(m2, er_pk, kr.pk);
  assert_int_equal(blok__net_sign_transcript(m2 + 68, &kr, "blokauto-devnet", false, t), BLOK_OK);
  unhex(want, 132,
        "626b6e31675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958"
        "371ea52f29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc93"
        "22966dd794e3b3818f9e232ed50f64bd310d5e933e0958716fa63a9e8b275b96"
        "9dc6311a7082b0976d06369dcef60895f0158e36709eb1dbe48d4c5108ce49c0"
        "39c45706");
  assert_memory_equal(m2, want, 132);
  assert_int_equal(blok__net_sign_transcript(m3, &ki, "blokauto-devnet", true, t), BLOK_OK);
  unhex(want, 64,
        "25a362e48414282ec7e26a027cc5821cd2d091be9f41eef27b81270ee08a4965"
        "fccc48fc6fcf796436562945c22cdb0c2f58faf94aa04307210d1b143b91ec07");
  assert_memory_equal(m3, want, 64);
  /* The signatures verify as the document says, and only under their own tag and chain. */
  assert_int_equal(blok__net_verify_transcript(m2 + 68, kr.pk, "blokauto-devnet", false, t),
                   BLOK_OK);
  assert_int_not_equal(blok__net_verify_transcript(m2 + 68, kr.pk, "blokauto-devnet", true, t),
                       BLOK_OK);
  assert_int_not_equal(blok__net_verify_transcript(m3, ki.pk, "blokauto-other", true, t), BLOK_OK);

  /* Keys: BLAKE2b-512(q || e_I || e_R); k_RI the first half, k_IR the second. */
  struct blok__net_keys ik, rk;
  assert_int_equal(blok__net_session_keys(&ik, true, ei_pk, ei_sk, er_pk), BLOK_OK);
  assert_int_equal(blok__net_session_keys(&rk, false, er_pk, er_sk, ei_pk), BLOK_OK);
  uint8_t q[32], h[64], in[96];
  assert_int_equal(crypto_scalarmult(q, ei_sk, er_pk), 0);
  memcpy(in, q, 32);
  memcpy(in + 32, ei_pk, 32);
  memcpy(in + 64, er_pk, 32);
  assert_int_equal(crypto_generichash(h, 64, in, 96, NULL, 0), 0);
  unhex(want, 32, "4053daef6960b133a632efc172a5b4b07c77481f0be540edffc57fe2369c5c0e");
  assert_memory_equal(ik.tx, want, 32);
  assert_memory_equal(h + 32, want, 32);
  assert_memory_equal(rk.rx, want, 32);
  unhex(want, 32, "658ab5697c8d05d86c4c2c7cf86f4fe59b039cb1a1c0d626ab54245a90d62f6a");
  assert_memory_equal(ik.rx, want, 32);
  assert_memory_equal(h, want, 32);
  assert_memory_equal(rk.tx, want, 32);

  /* Frames, with the test's own sealing code (the raw client's). */
  uint8_t f[32];
  assert_int_equal(seal(f, ik.tx, 0, (const uint8_t *)"hello", 5), 25);
  unhex(want, 25, "15000000cfc09270cbb9531d9aa07ae81c5ccbcf9313537ffa");
  assert_memory_equal(f, want, 25);
  assert_int_equal(seal(f, ik.tx, 1, (const uint8_t *)"again", 5), 25);
  unhex(want, 25, "15000000956193e5b65d1323d5250b4689027933429cc0764c");
  assert_memory_equal(f, want, 25);
  assert_int_equal(seal(f, rk.tx, 0, (const uint8_t *)"world", 5), 25);
  unhex(want, 25, "15000000289b68e80e1813ea73fa07530c250c62e85ff94ba2");
  assert_memory_equal(f, want, 25);

  /* A small-order ephemeral key (here 0) gives an all-zero secret: refused. */
  uint8_t zero[32] = {0};
  assert_int_equal(blok__net_session_keys(&ik, true, ei_pk, ei_sk, zero), BLOK_EBADKEY);
  blok_sign_keypair_clear(&ki);
  blok_sign_keypair_clear(&kr);
}

/* ---- tests: configuration ----------------------------------------------------------------- */

static void test_config_refused(void **state) {
  (void)state;
  setup_loop();
  struct node a, b;
  node_key(&a, 0x91);
  node_key(&b, 0x92);
  struct blok_net_peer peers[2];
  memcpy(peers[0].pk, b.kp.pk, 32);
  peers[0].host = "127.0.0.1";
  peers[0].port = 1;
  peers[1] = peers[0];
  struct blok_net_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.chain_id = CHAIN;
  cfg.identity = &a.kp;
  cfg.peers = peers;
  cfg.peer_count = 1;
  struct blok_net *net = NULL;
  struct blok_why why = {{0}};

  cfg.chain_id = "Bad Chain";
  assert_int_equal(blok_net_open(&net, &loop, &cfg, NULL, &why), BLOK_EINVAL);
  assert_null(net);
  cfg.chain_id = CHAIN;

  memset(&why, 0, sizeof why);
  peers[0].host = "localhost";
  assert_int_equal(blok_net_open(&net, &loop, &cfg, NULL, &why), BLOK_EINVAL);
  assert_non_null(strstr(why.msg, "not an ip address"));
  peers[0].host = "127.0.0.1";

  memset(&why, 0, sizeof why);
  cfg.peer_count = 2;
  assert_int_equal(blok_net_open(&net, &loop, &cfg, NULL, &why), BLOK_EINVAL);
  assert_non_null(strstr(why.msg, "same key"));
  cfg.peer_count = 1;

  memset(&why, 0, sizeof why);
  struct blok_sign_keypair mixed = a.kp;
  mixed.pk[0] ^= 1;
  cfg.identity = &mixed;
  assert_int_equal(blok_net_open(&net, &loop, &cfg, NULL, &why), BLOK_EINVAL);
  cfg.identity = &a.kp;

  memset(&why, 0, sizeof why);
  cfg.limits.frame_bytes_max = BLOK_NET_FRAME_BYTES_CAP + 1;
  assert_int_equal(blok_net_open(&net, &loop, &cfg, NULL, &why), BLOK_EINVAL);
  cfg.limits.frame_bytes_max = 0;

  /* Listening on a port that is taken: refused, and nothing is left behind. */
  uv_tcp_t hog;
  struct sockaddr_in hog_addr;
  assert_int_equal(uv_tcp_init(&loop, &hog), 0);
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &hog_addr), 0);
  assert_int_equal(uv_tcp_bind(&hog, (const struct sockaddr *)&hog_addr, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&hog, 1, NULL), 0);
  struct sockaddr_in bound;
  int blen = (int)sizeof bound;
  assert_int_equal(uv_tcp_getsockname(&hog, (struct sockaddr *)&bound, &blen), 0);
  memset(&why, 0, sizeof why);
  cfg.listen_host = "127.0.0.1";
  cfg.listen_port = ntohs(bound.sin_port);
  assert_int_equal(blok_net_open(&net, &loop, &cfg, NULL, &why), BLOK_EIO);
  assert_non_null(strstr(why.msg, "cannot listen"));
  uv_close((uv_handle_t *)&hog, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  teardown_loop();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_three_nodes_all_ways),
      cmocka_unit_test(test_broadcast_reaches_all),
      cmocka_unit_test(test_unknown_key_refused),
      cmocka_unit_test(test_responder_with_other_key_refused),
      cmocka_unit_test(test_raw_valid_client),
      cmocka_unit_test(test_wrong_identity_refused),
      cmocka_unit_test(test_same_direction_newer_wins),
      cmocka_unit_test(test_bad_frames_drop_the_connection),
      cmocka_unit_test(test_handshake_timeout),
      cmocka_unit_test(test_reconnect_after_restart),
      cmocka_unit_test(test_backoff_schedule),
      cmocka_unit_test(test_send_queue_bound),
      cmocka_unit_test(test_simultaneous_dial_one_connection),
      cmocka_unit_test(test_observer),
      cmocka_unit_test(test_config_refused),
      cmocka_unit_test(test_worked_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
