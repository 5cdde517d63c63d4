/*
 * One TCP connection of the network module (docs/NETWORK.md): it dials or is accepted, runs the
 * three-message handshake, then reads and writes ChaCha20-Poly1305 frames. Every way a peer can
 * misbehave ends in blok__net_conn_drop with a reason: a bad magic, a key that is not allowed,
 * a signature that does not verify, a frame length outside its bounds, a frame that does not
 * authenticate (which is also what a replayed, reordered or truncated-and-resumed frame does,
 * since the nonce is the frame's number), a handshake that takes too long.
 *
 * Lifetime: a connection is freed only in the close callback of its last handle, so a dropped
 * connection stays valid (state CLOSING) until the loop runs again. Callbacks that find a
 * closing connection do nothing.
 *
 * At most one frame write is in flight per connection; the rest waits in the peer's bounded
 * queue (net.c), so a slow peer cannot make libuv's write queue grow without limit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net_internal.h"
#include "blok/hex.h"
#include "blok/log.h"
#include "blok/banned.h"

enum conn_state { C_CONNECTING, C_WAIT_M1, C_WAIT_M2, C_WAIT_M3, C_OPEN, C_CLOSING };

struct blok__net_conn {
  struct blok__net_conn *prev, *next;
  struct blok_net *net;
  struct blok__net_peer *peer; /* outbound: the peer dialled; inbound: set once authenticated */
  enum conn_state state;
  bool outbound;
  bool observer;        /* inbound: the claimed key is an allowed observer */
  bool counted_pending; /* inbound: counted in net->pending_inbound */
  bool writing;         /* a frame write is in flight */
  unsigned handles;     /* of tcp and timer, those not closed yet */
  uv_tcp_t tcp;
  uv_timer_t timer; /* handshake timeout */
  uv_connect_t connect_req;
  uv_write_t hello_req, sig_req, wreq;
  uint8_t hello_out[BLOK__NET_M2_LEN]; /* message 1 (68 bytes) or message 2 */
  uint8_t sig_out[BLOK__NET_M3_LEN];   /* message 3 */
  uint8_t peer_pk[BLOK_NET_KEY_LEN];   /* outbound: expected; inbound: claimed in message 1 */
  uint8_t e_pk[BLOK__NET_EPH_LEN], e_sk[BLOK__NET_EPH_LEN];
  uint8_t t[BLOK__NET_TRANSCRIPT_LEN];
  struct blok__net_keys keys;
  uint64_t tx_ctr, rx_ctr;
  struct blok_buf rbuf; /* received bytes not yet consumed, from roff */
  size_t roff;
  struct blok_buf wbuf; /* the frames of the write in flight */
};

bool blok__net_conn_outbound(const struct blok__net_conn *c) {
  return c->outbound;
}

static void short_hex(char out[17], const uint8_t pk[BLOK_NET_KEY_LEN]) {
  blok_hex_encode(out, 17, pk, 8);
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h) {
  struct blok__net_conn *c = h->data;
  struct blok_net *net = c->net;
  BLOK_ASSERT(c->handles > 0);
  if (--c->handles > 0) {
    blok__net_handle_closed(net);
    return;
  }
  if (c->prev)
    c->prev->next = c->next;
  else
    net->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  blok_buf_release(&c->rbuf);
  blok_buf_release(&c->wbuf);
  sodium_memzero(c, sizeof *c);
  free(c);
  blok__net_handle_closed(net);
}

static struct blok__net_conn *conn_new(struct blok_net *net, bool outbound) {
  struct blok__net_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->net = net;
  c->outbound = outbound;
  c->state = outbound ? C_CONNECTING : C_WAIT_M1;
  /* Room for one whole frame plus one read chunk after it. */
  blok_buf_init(&c->rbuf, BLOK__NET_LEN_PREFIX + net->lim.frame_bytes_max + BLOK__NET_MAC_LEN +
                              sizeof net->read_chunk);
  blok_buf_init(&c->wbuf, BLOK__NET_BATCH_BYTES + BLOK__NET_LEN_PREFIX + net->lim.frame_bytes_max +
                              BLOK__NET_MAC_LEN);
  /* uv_tcp_init and uv_timer_init cannot fail for a valid loop (AF_UNSPEC makes no socket). */
  BLOK_ASSERT(uv_tcp_init(net->loop, &c->tcp) == 0);
  BLOK_ASSERT(uv_timer_init(net->loop, &c->timer) == 0);
  c->tcp.data = c;
  c->timer.data = c;
  c->connect_req.data = c;
  c->hello_req.data = c;
  c->sig_req.data = c;
  c->wreq.data = c;
  c->handles = 2;
  net->handles_open += 2;
  c->next = net->conns;
  if (net->conns) net->conns->prev = c;
  net->conns = c;
  net->st.connections++;
  return c;
}

static void drop_bookkeeping(struct blok__net_conn *c) {
  struct blok__net_peer *p = c->peer;
  if (p == NULL) return;
  if (p->dialing == c) p->dialing = NULL;
  if (p->active == c) {
    p->active = NULL;
    blok__net_peer_down(p);
  }
  blok__net_schedule_dial(p);
}

void blok__net_conn_drop(struct blok__net_conn *c, bool bad, const char *fmt, ...) {
  if (c->state == C_CLOSING) return;
  struct blok_net *net = c->net;
  struct blok_why why = {{0}};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why.msg, sizeof why.msg, fmt, ap);
  va_end(ap);
  bool handshake = c->state != C_OPEN;
  c->state = C_CLOSING;
  net->st.connections--;
  if (c->counted_pending) net->pending_inbound--;
  c->counted_pending = false;
  char who[17];
  short_hex(who, c->peer_pk);
  if (bad) {
    if (handshake)
      net->st.handshakes_refused++;
    else
      net->st.conns_dropped++;
    net->st.last_drop = why;
    if (c->peer) c->peer->st.bad_drops++;
  }
  if (!net->closing)
    blok_log(bad ? BLOK_LOG_WARN : BLOK_LOG_DEBUG, bad ? "net_peer_dropped" : "net_conn_closed",
             "peer=%s dir=%s reason=\"%s\"", who, c->outbound ? "out" : "in", why.msg);
  sodium_memzero(&c->keys, sizeof c->keys);
  sodium_memzero(c->e_sk, sizeof c->e_sk);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  if (!net->closing) drop_bookkeeping(c);
}

void blok__net_conn_drop_all(struct blok_net *net) {
  for (struct blok__net_conn *c = net->conns; c != NULL; c = c->next)
    blok__net_conn_drop(c, false, "closing");
}

static void on_handshake_timeout(uv_timer_t *t) {
  struct blok__net_conn *c = t->data;
  if (c->state == C_CONNECTING)
    blok__net_conn_drop(c, false, "connect timed out after %u ms",
                        (unsigned)c->net->lim.handshake_timeout_ms);
  else
    blok__net_conn_drop(c, true, "handshake timed out after %u ms",
                        (unsigned)c->net->lim.handshake_timeout_ms);
}

static void start_timeout(struct blok__net_conn *c) {
  BLOK_ASSERT(
      uv_timer_start(&c->timer, on_handshake_timeout, c->net->lim.handshake_timeout_ms, 0) == 0);
}

/* ---- writing ------------------------------------------------------------------------------- */

static void on_handshake_written(uv_write_t *req, int status) {
  struct blok__net_conn *c = req->data;
  if (status < 0 && c->state != C_CLOSING)
    blok__net_conn_drop(c, false, "handshake write failed: %s", uv_strerror(status));
}

static void write_handshake(struct blok__net_conn *c, uv_write_t *req, uint8_t *bytes, size_t len) {
  uv_buf_t b = uv_buf_init((char *)bytes, (unsigned)len);
  int rc = uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_handshake_written);
  if (rc < 0) blok__net_conn_drop(c, false, "handshake write failed: %s", uv_strerror(rc));
}

static void on_frames_written(uv_write_t *req, int status) {
  struct blok__net_conn *c = req->data;
  c->writing = false;
  if (c->state != C_OPEN) return;
  if (status < 0) {
    blok__net_conn_drop(c, false, "write failed: %s", uv_strerror(status));
    return;
  }
  c->peer->st.bytes_out += c->wbuf.len;
  if (c->wbuf.cap > BLOK__NET_BATCH_BYTES * 4) blok_buf_release(&c->wbuf);
  blok_buf_clear(&c->wbuf);
  blok__net_conn_flush(c);
}

/* Appends one frame: u32 length of the ciphertext, then the ciphertext with its tag. The
 * length prefix is the associated data, so it is authenticated too. */
static void seal_frame(struct blok__net_conn *c, const struct blok__net_msg *m) {
  uint8_t *out = c->wbuf.data + c->wbuf.len;
  uint8_t nonce[BLOK__NET_NONCE_LEN];
  size_t clen = m->len + BLOK__NET_MAC_LEN;
  blok_u32le_put(out, (uint32_t)clen);
  blok__net_nonce(nonce, c->tx_ctr++);
  unsigned long long written = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out + BLOK__NET_LEN_PREFIX, &written, m->data, m->len,
                                            out, BLOK__NET_LEN_PREFIX, NULL, nonce, c->keys.tx);
  BLOK_ASSERT(written == clen);
  c->wbuf.len += BLOK__NET_LEN_PREFIX + clen;
}

void blok__net_conn_flush(struct blok__net_conn *c) {
  if (c->state != C_OPEN || c->writing) return;
  struct blok__net_peer *p = c->peer;
  while (p->count > 0) {
    const struct blok__net_msg *m = p->ring[p->head];
    size_t size = BLOK__NET_LEN_PREFIX + m->len + BLOK__NET_MAC_LEN;
    if (c->wbuf.len > 0 && c->wbuf.len + size > BLOK__NET_BATCH_BYTES) break;
    if (blok_buf_reserve(&c->wbuf, size) != BLOK_OK) {
      blok__net_conn_drop(c, false, "out of memory for the write buffer");
      return;
    }
    if (c->tx_ctr == UINT64_MAX) {
      blok__net_conn_drop(c, false, "frame counter exhausted");
      return;
    }
    struct blok__net_msg *taken = blok__net_queue_pop(p);
    seal_frame(c, taken);
    p->st.msgs_out++;
    blok__net_msg_unref(taken);
  }
  if (c->wbuf.len == 0) return;
  uv_buf_t b = uv_buf_init((char *)c->wbuf.data, (unsigned)c->wbuf.len);
  c->writing = true;
  int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_frames_written);
  if (rc < 0) {
    c->writing = false;
    blok__net_conn_drop(c, false, "write failed: %s", uv_strerror(rc));
  }
}

/* ---- establishing -------------------------------------------------------------------------- */

/* The key of the node that dialled c. */
static const uint8_t *initiator_key(const struct blok__net_conn *c) {
  return c->outbound ? c->net->id.pk : c->peer->pk;
}

/*
 * The handshake of c succeeded. Exactly one connection per pair of peers survives
 * (docs/NETWORK.md, "One connection per pair"): between two connections in opposite
 * directions, the one dialled by the lower key wins, which both sides decide alike; between
 * two in the same direction the newer wins, since the dialler only dials again when it
 * believes the older one dead.
 */
static void establish(struct blok__net_conn *c) {
  struct blok_net *net = c->net;
  struct blok__net_peer *p = c->peer;
  uv_timer_stop(&c->timer);
  if (c->counted_pending) net->pending_inbound--;
  c->counted_pending = false;
  c->state = C_OPEN;
  if (p->dialing == c) p->dialing = NULL;
  struct blok__net_conn *old = p->active;
  if (old != NULL) {
    bool c_wins = old->outbound == c->outbound ||
                  memcmp(initiator_key(c), initiator_key(old), BLOK_NET_KEY_LEN) < 0;
    net->st.duplicates_closed++;
    if (!c_wins) {
      blok__net_conn_drop(c, false, "duplicate connection: the one dialled by the lower key stays");
      return;
    }
    p->active = c; /* before the drop, so the peer never looks down */
    blok__net_conn_drop(old, false, "duplicate connection: replaced by the winning one");
    p->st.connects++;
  } else {
    p->active = c;
    p->attempts = 0;
    p->st.connects++;
    blok__net_peer_up(p);
  }
  blok__net_conn_flush(c);
}

/* ---- the handshake ------------------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void tune_socket(struct blok__net_conn *c) {
  /* Consensus messages are small and latency-bound; keepalive notices a silent dead peer. */
  (void)uv_tcp_nodelay(&c->tcp, 1);
  (void)uv_tcp_keepalive(&c->tcp, 1, 10);
}

enum blok_err blok__net_dial(struct blok__net_peer *p) {
  struct blok_net *net = p->net;
  struct blok__net_conn *c = conn_new(net, true);
  if (c == NULL) return BLOK_ENOMEM;
  c->peer = p;
  memcpy(c->peer_pk, p->pk, BLOK_NET_KEY_LEN);
  p->dialing = c;
  p->st.dials++;
  start_timeout(c);
  int rc = uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&p->addr, on_connect);
  if (rc < 0) blok__net_conn_drop(c, false, "cannot dial: %s", uv_strerror(rc));
  return BLOK_OK;
}

static void on_connect(uv_connect_t *req, int status) {
  struct blok__net_conn *c = req->data;
  if (c->state == C_CLOSING) return;
  if (status < 0) {
    blok__net_conn_drop(c, false, "connect failed: %s", uv_strerror(status));
    return;
  }
  tune_socket(c);
  int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (rc < 0) {
    blok__net_conn_drop(c, false, "cannot read: %s", uv_strerror(rc));
    return;
  }
  crypto_kx_keypair(c->e_pk, c->e_sk);
  blok__net_hello_build(c->hello_out, c->e_pk, c->net->id.pk);
  c->state = C_WAIT_M2;
  write_handshake(c, &c->hello_req, c->hello_out, BLOK__NET_M1_LEN);
}

void blok__net_accept(struct blok_net *net) {
  struct blok__net_conn *c = conn_new(net, false);
  if (c == NULL) {
    blok_log(BLOK_LOG_WARN, "net_accept_failed", "reason=\"out of memory\"");
    return; /* the connection waits in the backlog; the next accept may succeed */
  }
  int rc = uv_accept((uv_stream_t *)&net->listener, (uv_stream_t *)&c->tcp);
  if (rc < 0) {
    blok__net_conn_drop(c, false, "cannot accept: %s", uv_strerror(rc));
    return;
  }
  if (net->pending_inbound >= net->lim.pending_max) {
    blok__net_conn_drop(c, true, "too many connections in their handshake (%zu)",
                        net->lim.pending_max);
    return;
  }
  c->counted_pending = true;
  net->pending_inbound++;
  tune_socket(c);
  start_timeout(c);
  rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (rc < 0) blok__net_conn_drop(c, false, "cannot read: %s", uv_strerror(rc));
}

/*
 * Whether an incoming dial from validator p loses at once to this node's own connection to p:
 * this node has the lower key and its own dial is past the TCP connect (or up). The claim in
 * message 1 is not proven yet, which is why this only ever refuses the newcomer; a dial still
 * connecting does not count, so an address that does not answer cannot block the other way.
 */
static bool own_dial_wins(const struct blok_net *net, const struct blok__net_peer *p) {
  const struct blok__net_conn *mine = NULL;
  if (p->active != NULL && p->active->outbound)
    mine = p->active;
  else if (p->dialing != NULL && p->dialing->state != C_CONNECTING)
    mine = p->dialing;
  return mine != NULL && memcmp(net->id.pk, p->pk, BLOK_NET_KEY_LEN) < 0;
}

/* Message 1 at the responder: who claims to be calling, and message 2 back. */
static void on_m1(struct blok__net_conn *c, const uint8_t *in) {
  struct blok_net *net = c->net;
  uint8_t e_i[BLOK__NET_EPH_LEN], id_i[BLOK_NET_KEY_LEN];
  if (blok__net_hello_parse(in, e_i, id_i) != BLOK_OK) {
    blok__net_conn_drop(c, true, "handshake: not a blokauto network hello (bad magic)");
    return;
  }
  memcpy(c->peer_pk, id_i, BLOK_NET_KEY_LEN);
  char who[BLOK_HEX_LEN(BLOK_NET_KEY_LEN)];
  blok_hex_encode(who, sizeof who, id_i, BLOK_NET_KEY_LEN);
  if (sodium_memcmp(id_i, net->id.pk, BLOK_NET_KEY_LEN) == 0) {
    blok__net_conn_drop(c, true, "handshake: the peer claims this node's own key");
    return;
  }
  struct blok__net_peer *p = blok__net_find_validator(net, id_i);
  if (p == NULL) {
    if (net->allow_observer == NULL || !net->allow_observer(id_i, net->observer_user)) {
      blok__net_conn_drop(c, true, "handshake: key %s is not in the validator set", who);
      return;
    }
    c->observer = true;
  } else if (own_dial_wins(net, p)) {
    net->st.duplicates_closed++;
    blok__net_conn_drop(c, false,
                        "duplicate connection: this node's, dialled by the lower key, "
                        "stays");
    return;
  }
  crypto_kx_keypair(c->e_pk, c->e_sk);
  if (blok__net_session_keys(&c->keys, false, c->e_pk, c->e_sk, e_i) != BLOK_OK) {
    blok__net_conn_drop(c, true, "handshake: ephemeral key of small order from %s", who);
    return;
  }
  blok__net_transcript(c->t, e_i, c->e_pk, id_i, net->id.pk);
  enum blok_err rc = blok__net_sign_transcript(c->hello_out + BLOK__NET_M1_LEN, &net->id,
                                               net->chain_id, false, c->t);
  if (rc != BLOK_OK) {
    blok__net_conn_drop(c, false, "handshake: cannot sign: %s", blok_strerror(rc));
    return;
  }
  blok__net_hello_build(c->hello_out, c->e_pk, net->id.pk);
  c->state = C_WAIT_M3;
  write_handshake(c, &c->hello_req, c->hello_out, BLOK__NET_M2_LEN);
}

/* Message 2 at the initiator: the responder proves the key we dialled; message 3 back. */
static void on_m2(struct blok__net_conn *c, const uint8_t *in) {
  struct blok_net *net = c->net;
  uint8_t e_r[BLOK__NET_EPH_LEN], id_r[BLOK_NET_KEY_LEN];
  if (blok__net_hello_parse(in, e_r, id_r) != BLOK_OK) {
    blok__net_conn_drop(c, true, "handshake: not a blokauto network hello (bad magic)");
    return;
  }
  if (sodium_memcmp(id_r, c->peer_pk, BLOK_NET_KEY_LEN) != 0) {
    char who[17];
    short_hex(who, id_r);
    blok__net_conn_drop(c, true, "handshake: the responder is key %s..., not the peer dialled",
                        who);
    return;
  }
  blok__net_transcript(c->t, c->e_pk, e_r, net->id.pk, id_r);
  enum blok_err rc =
      blok__net_verify_transcript(in + BLOK__NET_M1_LEN, id_r, net->chain_id, false, c->t);
  if (rc != BLOK_OK) {
    blok__net_conn_drop(c, true, "handshake: the responder's signature does not verify: %s",
                        blok_strerror(rc));
    return;
  }
  if (blok__net_session_keys(&c->keys, true, c->e_pk, c->e_sk, e_r) != BLOK_OK) {
    blok__net_conn_drop(c, true, "handshake: ephemeral key of small order from the responder");
    return;
  }
  rc = blok__net_sign_transcript(c->sig_out, &net->id, net->chain_id, true, c->t);
  if (rc != BLOK_OK) {
    blok__net_conn_drop(c, false, "handshake: cannot sign: %s", blok_strerror(rc));
    return;
  }
  write_handshake(c, &c->sig_req, c->sig_out, BLOK__NET_M3_LEN);
  if (c->state == C_CLOSING) return;
  establish(c);
}

/* Message 3 at the responder: the initiator proves the key it claimed. */
static void on_m3(struct blok__net_conn *c, const uint8_t *in) {
  struct blok_net *net = c->net;
  enum blok_err rc = blok__net_verify_transcript(in, c->peer_pk, net->chain_id, true, c->t);
  if (rc != BLOK_OK) {
    blok__net_conn_drop(c, true, "handshake: the initiator's signature does not verify: %s",
                        blok_strerror(rc));
    return;
  }
  struct blok__net_peer *p = c->observer ? blok__net_observer_slot(net, c->peer_pk)
                                         : blok__net_find_validator(net, c->peer_pk);
  if (p == NULL) {
    blok__net_conn_drop(c, false, "handshake: all %zu observer slots are taken",
                        net->lim.observers_max);
    return;
  }
  c->peer = p;
  establish(c);
}

/* ---- reading ------------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  struct blok__net_conn *c = h->data;
  buf->base = (char *)c->net->read_chunk;
  buf->len = sizeof c->net->read_chunk;
}

/* One frame whose bytes (prefix included) are all in; delivers its plaintext. */
static void on_frame(struct blok__net_conn *c, const uint8_t *frame, size_t clen) {
  struct blok_net *net = c->net;
  struct blok__net_peer *p = c->peer;
  uint8_t nonce[BLOK__NET_NONCE_LEN];
  blok__net_nonce(nonce, c->rx_ctr);
  unsigned long long mlen = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(net->plain.data, &mlen, NULL,
                                                frame + BLOK__NET_LEN_PREFIX, clen, frame,
                                                BLOK__NET_LEN_PREFIX, nonce, c->keys.rx) != 0) {
    blok__net_conn_drop(c, true,
                        "frame %llu does not authenticate (modified, replayed or reordered)",
                        (unsigned long long)c->rx_ctr);
    return;
  }
  c->rx_ctr++;
  p->st.msgs_in++;
  p->st.bytes_in += BLOK__NET_LEN_PREFIX + clen;
  if (net->cb.on_message == NULL) return;
  net->in_callback++;
  net->cb.on_message(p->pk, p->observer ? BLOK_NET_OBSERVER : 0u, net->plain.data, (size_t)mlen,
                     net->cb.user);
  net->in_callback--;
}

/* How many bytes the next step needs, 0 when the connection was dropped. */
static size_t step_need(struct blok__net_conn *c, const uint8_t *p, size_t avail) {
  switch (c->state) {
    case C_WAIT_M1:
      return BLOK__NET_M1_LEN;
    case C_WAIT_M2:
      return BLOK__NET_M2_LEN;
    case C_WAIT_M3:
      return BLOK__NET_M3_LEN;
    case C_OPEN:
      break;
    case C_CONNECTING:
    case C_CLOSING:
      return 0;
  }
  if (avail < BLOK__NET_LEN_PREFIX) return BLOK__NET_LEN_PREFIX;
  uint32_t clen = blok_u32le_get(p);
  size_t max = c->net->lim.frame_bytes_max + BLOK__NET_MAC_LEN;
  if (clen <= BLOK__NET_MAC_LEN || clen > max) {
    blok__net_conn_drop(c, true, "frame length %lu outside %u..%zu", (unsigned long)clen,
                        (unsigned)BLOK__NET_MAC_LEN + 1, max);
    return 0;
  }
  return BLOK__NET_LEN_PREFIX + clen;
}

/* Consumes every complete message or frame in rbuf. */
static void process(struct blok__net_conn *c) {
  for (;;) {
    size_t avail = c->rbuf.len - c->roff;
    const uint8_t *p = c->rbuf.data + c->roff;
    size_t need = step_need(c, p, avail);
    if (need == 0 || avail < need) break;
    switch (c->state) {
      case C_WAIT_M1:
        on_m1(c, p);
        break;
      case C_WAIT_M2:
        on_m2(c, p);
        break;
      case C_WAIT_M3:
        on_m3(c, p);
        break;
      case C_OPEN:
        on_frame(c, p, need - BLOK__NET_LEN_PREFIX);
        break;
      case C_CONNECTING:
      case C_CLOSING:
        BLOK_ASSERT(0);
    }
    c->roff += need;
  }
  size_t left = c->rbuf.len - c->roff;
  if (left > 0 && c->roff > 0) memmove(c->rbuf.data, c->rbuf.data + c->roff, left);
  c->rbuf.len = left;
  c->roff = 0;
  if (left == 0 && c->rbuf.cap > sizeof c->net->read_chunk * 4) blok_buf_release(&c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  struct blok__net_conn *c = s->data;
  if (c->state == C_CLOSING || nread == 0) return;
  if (nread < 0) {
    bool partial = c->rbuf.len > 0;
    if (nread == UV_EOF)
      blok__net_conn_drop(c, partial,
                          partial ? "connection closed inside a frame (truncated)"
                                  : "the peer closed the connection");
    else
      blok__net_conn_drop(c, false, "read failed: %s", uv_strerror((int)nread));
    return;
  }
  if (blok_buf_append(&c->rbuf, c->net->read_chunk, (size_t)nread) != BLOK_OK) {
    blok__net_conn_drop(c, false, "out of memory for the read buffer");
    return;
  }
  process(c);
}
