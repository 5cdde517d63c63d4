/*
 * The network node (blok/net.h, docs/NETWORK.md): its configuration, the listener, and per peer
 * a bounded send queue and a reconnect timer. Connections themselves live in conn.c.
 *
 * Peers are a fixed array made at open: the validators of the configuration, then the observer
 * slots (limits.observers_max), which an authenticated observer takes while it is connected.
 * Each peer's queue is a ring of pointers to reference-counted messages, so a broadcast is one
 * copy however many peers it goes to. When a queue would pass its count or byte bound, its
 * oldest messages are dropped first: for consensus the newest message (the current round's vote
 * or timeout) is the one that still matters, and a caller cannot do anything useful with a
 * refusal anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "blok/log.h"
#include "blok/banned.h"

/* ---- limits and backoff ------------------------------------------------------------------ */

static void limits_fill(struct blok_net_limits *l) {
  if (l->frame_bytes_max == 0) l->frame_bytes_max = BLOK_NET_FRAME_BYTES_DEFAULT;
  if (l->queue_bytes_max == 0) l->queue_bytes_max = BLOK_NET_QUEUE_BYTES_DEFAULT;
  if (l->queue_msgs_max == 0) l->queue_msgs_max = BLOK_NET_QUEUE_MSGS_DEFAULT;
  if (l->handshake_timeout_ms == 0) l->handshake_timeout_ms = BLOK_NET_HANDSHAKE_TIMEOUT_MS_DEF;
  if (l->backoff_base_ms == 0) l->backoff_base_ms = BLOK_NET_BACKOFF_BASE_MS_DEFAULT;
  if (l->backoff_max_ms == 0) l->backoff_max_ms = BLOK_NET_BACKOFF_MAX_MS_DEFAULT;
  if (l->observers_max == 0) l->observers_max = BLOK_NET_OBSERVERS_DEFAULT;
  if (l->pending_max == 0) l->pending_max = BLOK_NET_PENDING_DEFAULT;
}

uint32_t blok_net_backoff_ms(const struct blok_net_limits *limits, unsigned attempts,
                             uint64_t random) {
  struct blok_net_limits l = *limits;
  limits_fill(&l);
  uint64_t d = l.backoff_base_ms;
  for (unsigned i = 0; i < attempts && d < l.backoff_max_ms; i++)
    d *= 2;
  if (d > l.backoff_max_ms) d = l.backoff_max_ms;
  uint64_t half = d / 2;
  return (uint32_t)(half + random % (half + 1));
}

static uint64_t default_random(void *user) {
  (void)user;
  uint64_t v;
  randombytes_buf(&v, sizeof v);
  return v;
}

/* ---- messages and queues ----------------------------------------------------------------- */

void blok__net_msg_unref(struct blok__net_msg *m) {
  BLOK_ASSERT(m->refs > 0);
  if (--m->refs == 0) free(m);
}

struct blok__net_msg *blok__net_queue_pop(struct blok__net_peer *p) {
  if (p->count == 0) return NULL;
  struct blok__net_msg *m = p->ring[p->head];
  p->ring[p->head] = NULL;
  p->head = (p->head + 1) % p->net->lim.queue_msgs_max;
  p->count--;
  p->queued_bytes -= m->len;
  return m;
}

static void queue_clear(struct blok__net_peer *p) {
  struct blok__net_msg *m;
  while ((m = blok__net_queue_pop(p)) != NULL)
    blok__net_msg_unref(m);
}

/* Queues m (taking a reference), dropping the oldest messages while a bound would be passed. */
static void queue_push(struct blok__net_peer *p, struct blok__net_msg *m) {
  const struct blok_net_limits *l = &p->net->lim;
  BLOK_ASSERT(m->len <= l->queue_bytes_max);
  while (p->count > 0 &&
         (p->count >= l->queue_msgs_max || p->queued_bytes + m->len > l->queue_bytes_max)) {
    blok__net_msg_unref(blok__net_queue_pop(p));
    p->st.queue_drops++;
  }
  p->ring[(p->head + p->count) % l->queue_msgs_max] = m;
  m->refs++;
  p->count++;
  p->queued_bytes += m->len;
  if (p->active != NULL) blok__net_conn_flush(p->active);
}

static enum blok_err msg_new(struct blok_net *net, struct blok__net_msg **out, const uint8_t *bytes,
                             size_t len) {
  *out = NULL;
  if (len == 0 || bytes == NULL) return BLOK_EINVAL;
  if (len > net->lim.frame_bytes_max || len > net->lim.queue_bytes_max) return BLOK_ETOOLONG;
  struct blok__net_msg *m = malloc(sizeof *m + len);
  if (m == NULL) return BLOK_ENOMEM;
  m->refs = 0;
  m->len = len;
  memcpy(m->data, bytes, len);
  *out = m;
  return BLOK_OK;
}

/* ---- peers ------------------------------------------------------------------------------- */

struct blok__net_peer *blok__net_find_validator(struct blok_net *net,
                                                const uint8_t pk[BLOK_NET_KEY_LEN]) {
  for (size_t i = 0; i < net->validator_count; i++)
    if (memcmp(net->peers[i].pk, pk, BLOK_NET_KEY_LEN) == 0) return &net->peers[i];
  return NULL;
}

struct blok__net_peer *blok__net_find_observer(struct blok_net *net,
                                               const uint8_t pk[BLOK_NET_KEY_LEN]) {
  for (size_t i = net->validator_count; i < net->validator_count + net->observer_slots; i++)
    if (net->peers[i].in_use && memcmp(net->peers[i].pk, pk, BLOK_NET_KEY_LEN) == 0)
      return &net->peers[i];
  return NULL;
}

struct blok__net_peer *blok__net_observer_slot(struct blok_net *net,
                                               const uint8_t pk[BLOK_NET_KEY_LEN]) {
  struct blok__net_peer *p = blok__net_find_observer(net, pk);
  if (p != NULL) return p;
  for (size_t i = net->validator_count; i < net->validator_count + net->observer_slots; i++) {
    p = &net->peers[i];
    if (p->in_use) continue;
    p->in_use = true;
    memcpy(p->pk, pk, BLOK_NET_KEY_LEN);
    memset(&p->st, 0, sizeof p->st);
    p->st.observer = true;
    return p;
  }
  return NULL;
}

static const struct blok__net_peer *find_any(const struct blok_net *net,
                                             const uint8_t pk[BLOK_NET_KEY_LEN]) {
  struct blok_net *n = (struct blok_net *)(uintptr_t)net; /* lookups do not write */
  const struct blok__net_peer *p = blok__net_find_validator(n, pk);
  return p != NULL ? p : blok__net_find_observer(n, pk);
}

void blok__net_peer_up(struct blok__net_peer *p) {
  struct blok_net *net = p->net;
  if (net->cb.on_peer_up == NULL) return;
  net->in_callback++;
  net->cb.on_peer_up(p->pk, p->observer ? BLOK_NET_OBSERVER : 0u, net->cb.user);
  net->in_callback--;
}

void blok__net_peer_down(struct blok__net_peer *p) {
  struct blok_net *net = p->net;
  if (net->cb.on_peer_down != NULL) {
    net->in_callback++;
    net->cb.on_peer_down(p->pk, p->observer ? BLOK_NET_OBSERVER : 0u, net->cb.user);
    net->in_callback--;
  }
  if (p->observer && p->active == NULL && p->dialing == NULL) {
    /* An observer's slot and queue last as long as its connection. */
    queue_clear(p);
    p->in_use = false;
  }
}

static void on_dial_timer(uv_timer_t *t) {
  struct blok__net_peer *p = t->data;
  if (p->net->closing || p->active != NULL || p->dialing != NULL) return;
  p->attempts++;
  if (blok__net_dial(p) != BLOK_OK) blok__net_schedule_dial(p);
}

void blok__net_schedule_dial(struct blok__net_peer *p) {
  struct blok_net *net = p->net;
  if (!p->has_addr || net->closing || p->active != NULL || p->dialing != NULL) return;
  if (uv_is_active((uv_handle_t *)&p->dial_timer)) return;
  uint32_t delay = blok_net_backoff_ms(&net->lim, p->attempts, net->random_u64(net->random_user));
  p->st.backoff_ms = delay;
  BLOK_ASSERT(uv_timer_start(&p->dial_timer, on_dial_timer, delay, 0) == 0);
}

/* ---- open -------------------------------------------------------------------------------- */

static enum blok_err parse_addr(struct sockaddr_storage *out, const char *host, uint16_t port,
                                const char *what, struct blok_why *why) {
  memset(out, 0, sizeof *out);
  if (host != NULL && uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0) return BLOK_OK;
  if (host != NULL && uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0) return BLOK_OK;
  return blok_refuse(why, BLOK_EINVAL, "%s: %.64s is not an ip address", what,
                     host != NULL ? host : "(none)");
}

static enum blok_err check_config(const struct blok_net_config *cfg, struct blok_why *why) {
  if (cfg->chain_id == NULL || !blok_sign_chain_id_valid(cfg->chain_id))
    return blok_refuse(why, BLOK_EINVAL, "net: chain id missing or not of [a-z0-9._-]{1,64}");
  if (cfg->identity == NULL) return blok_refuse(why, BLOK_EINVAL, "net: an identity is required");
  if (cfg->peer_count > BLOK_NET_PEERS_MAX || (cfg->peer_count > 0 && cfg->peers == NULL))
    return blok_refuse(why, BLOK_EINVAL, "net: at most %d peers", BLOK_NET_PEERS_MAX);
  const struct blok_net_limits *l = &cfg->limits;
  if (l->frame_bytes_max > BLOK_NET_FRAME_BYTES_CAP)
    return blok_refuse(why, BLOK_EINVAL, "net: frame_bytes_max above %zu",
                       BLOK_NET_FRAME_BYTES_CAP);
  if (l->observers_max > BLOK_NET_OBSERVERS_CAP)
    return blok_refuse(why, BLOK_EINVAL, "net: observers_max above %d", BLOK_NET_OBSERVERS_CAP);
  if (l->queue_msgs_max > ((size_t)1 << 24))
    return blok_refuse(why, BLOK_EINVAL, "net: queue_msgs_max above 16,777,216");
  for (size_t i = 0; i < cfg->peer_count; i++) {
    const struct blok_net_peer *a = &cfg->peers[i];
    if (blok_sign_check_pk(a->pk) != BLOK_OK)
      return blok_refuse(why, BLOK_EINVAL, "net: peer %zu: public key refused", i);
    for (size_t j = 0; j < i; j++)
      if (memcmp(cfg->peers[j].pk, a->pk, BLOK_NET_KEY_LEN) == 0)
        return blok_refuse(why, BLOK_EINVAL, "net: peers %zu and %zu have the same key", j, i);
  }
  return BLOK_OK;
}

/* The validators (this node's own key skipped) then the observer slots, each with its ring. */
static enum blok_err alloc_peers(struct blok_net *net, const struct blok_net_config *cfg,
                                 struct blok_why *why) {
  size_t nv = 0;
  for (size_t i = 0; i < cfg->peer_count; i++)
    if (memcmp(cfg->peers[i].pk, net->id.pk, BLOK_NET_KEY_LEN) != 0) nv++;
  size_t n = nv + net->observer_slots;
  net->peers = calloc(n > 0 ? n : 1, sizeof *net->peers);
  if (net->peers == NULL) return BLOK_ENOMEM;
  net->peers_len = n;
  for (size_t i = 0; i < n; i++) {
    struct blok__net_peer *p = &net->peers[i];
    p->net = net;
    p->observer = i >= nv;
    p->st.observer = p->observer;
    p->ring = calloc(net->lim.queue_msgs_max, sizeof *p->ring);
    if (p->ring == NULL) return BLOK_ENOMEM;
  }
  for (size_t i = 0; i < cfg->peer_count; i++) {
    const struct blok_net_peer *a = &cfg->peers[i];
    if (memcmp(a->pk, net->id.pk, BLOK_NET_KEY_LEN) == 0) continue;
    struct blok__net_peer *p = &net->peers[net->validator_count++];
    memcpy(p->pk, a->pk, BLOK_NET_KEY_LEN);
    if (a->host != NULL) {
      char what[32];
      snprintf(what, sizeof what, "net: peer %zu", i);
      BLOK_TRY(parse_addr(&p->addr, a->host, a->port, what, why));
      p->has_addr = true;
    }
  }
  BLOK_ASSERT(net->validator_count == nv);
  return BLOK_OK;
}

/* Frees what open allocated; only for a node with no handle open. */
static void free_net(struct blok_net *net) {
  if (net->peers != NULL) {
    for (size_t i = 0; i < net->peers_len; i++) {
      if (net->peers[i].ring != NULL) queue_clear(&net->peers[i]);
      free(net->peers[i].ring);
    }
  }
  free(net->peers);
  blok_buf_release(&net->plain);
  blok_sign_keypair_clear(&net->id);
  sodium_memzero(net, sizeof *net);
  free(net);
}

void blok__net_handle_closed(struct blok_net *net) {
  BLOK_ASSERT(net->handles_open > 0);
  net->handles_open--;
}

static void on_listener_closed(uv_handle_t *h) {
  blok__net_handle_closed(h->data);
}

static void on_dial_timer_closed(uv_handle_t *h) {
  struct blok__net_peer *p = h->data;
  blok__net_handle_closed(p->net);
}

/* A failed open whose listener handle must close before the node can be freed. */
static void on_failed_listener_closed(uv_handle_t *h) {
  struct blok_net *net = h->data;
  blok__net_handle_closed(net);
  free_net(net);
}

static void on_connection(uv_stream_t *s, int status) {
  struct blok_net *net = s->data;
  if (status < 0) {
    blok_log(BLOK_LOG_WARN, "net_accept_failed", "reason=\"%s\"", uv_strerror(status));
    return;
  }
  blok__net_accept(net);
}

static enum blok_err start_listening(struct blok_net *net, const struct blok_net_config *cfg,
                                     struct blok_why *why) {
  struct sockaddr_storage addr;
  BLOK_TRY(parse_addr(&addr, cfg->listen_host, cfg->listen_port, "net: listen host", why));
  BLOK_ASSERT(uv_tcp_init(net->loop, &net->listener) == 0);
  net->listener.data = net;
  net->handles_open++;
  net->listening = true;
  int rc = uv_tcp_bind(&net->listener, (const struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&net->listener, 128, on_connection);
  if (rc != 0)
    return blok_refuse(why, BLOK_EIO, "net: cannot listen on %s port %u: %s", cfg->listen_host,
                       (unsigned)cfg->listen_port, uv_strerror(rc));
  struct sockaddr_storage bound;
  int len = (int)sizeof bound;
  rc = uv_tcp_getsockname(&net->listener, (struct sockaddr *)&bound, &len);
  if (rc != 0) return blok_refuse(why, BLOK_EIO, "net: getsockname: %s", uv_strerror(rc));
  net->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  return BLOK_OK;
}

/* Everything that does not open a handle. */
static enum blok_err build(struct blok_net *net, const struct blok_net_config *cfg,
                           struct blok_why *why) {
  BLOK_TRY(check_config(cfg, why));
  memcpy(net->chain_id, cfg->chain_id, strlen(cfg->chain_id) + 1);
  enum blok_err rc = blok_sign_keypair_from_seed(&net->id, cfg->identity->sk);
  if (rc != BLOK_OK) return blok_refuse(why, rc, "net: cannot load the identity");
  if (memcmp(net->id.pk, cfg->identity->pk, BLOK_NET_KEY_LEN) != 0)
    return blok_refuse(why, BLOK_EINVAL, "net: the identity's public key does not match its seed");
  net->lim = cfg->limits;
  limits_fill(&net->lim);
  net->random_u64 = cfg->random_u64 != NULL ? cfg->random_u64 : default_random;
  net->random_user = cfg->random_user;
  net->allow_observer = cfg->allow_observer;
  net->observer_user = cfg->observer_user;
  net->observer_slots = cfg->allow_observer != NULL ? net->lim.observers_max : 0;
  BLOK_TRY(alloc_peers(net, cfg, why));
  blok_buf_init(&net->plain, net->lim.frame_bytes_max);
  return blok_buf_reserve(&net->plain, net->lim.frame_bytes_max);
}

static void start_dialling(struct blok_net *net) {
  for (size_t i = 0; i < net->validator_count; i++) {
    struct blok__net_peer *p = &net->peers[i];
    BLOK_ASSERT(uv_timer_init(net->loop, &p->dial_timer) == 0);
    p->dial_timer.data = p;
    p->timer_init = true;
    net->handles_open++;
    if (p->has_addr) BLOK_ASSERT(uv_timer_start(&p->dial_timer, on_dial_timer, 0, 0) == 0);
  }
}

enum blok_err blok_net_open(struct blok_net **out, uv_loop_t *loop,
                            const struct blok_net_config *cfg, const struct blok_net_callbacks *cb,
                            struct blok_why *why) {
  *out = NULL;
  if (sodium_init() < 0) return blok_refuse(why, BLOK_ECRYPTO, "net: libsodium cannot start");
  struct blok_net *net = calloc(1, sizeof *net);
  if (net == NULL) return BLOK_ENOMEM;
  net->loop = loop;
  if (cb != NULL) net->cb = *cb;
  blok_buf_init(&net->plain, 0);
  enum blok_err rc = build(net, cfg, why);
  if (rc == BLOK_OK && cfg->listen_host != NULL) rc = start_listening(net, cfg, why);
  if (rc != BLOK_OK) {
    if (net->listening)
      uv_close((uv_handle_t *)&net->listener, on_failed_listener_closed);
    else
      free_net(net);
    return rc;
  }
  start_dialling(net);
  *out = net;
  return BLOK_OK;
}

uint16_t blok_net_listen_port(const struct blok_net *net) {
  return net->listening ? net->port : 0;
}

/* ---- sending ----------------------------------------------------------------------------- */

enum blok_err blok_net_send(struct blok_net *net, const uint8_t peer_pk[BLOK_NET_KEY_LEN],
                            const uint8_t *bytes, size_t len) {
  struct blok__net_peer *p = blok__net_find_validator(net, peer_pk);
  if (p == NULL) p = blok__net_find_observer(net, peer_pk);
  if (p == NULL) return BLOK_ENOTFOUND;
  struct blok__net_msg *m;
  BLOK_TRY(msg_new(net, &m, bytes, len));
  m->refs = 1; /* held across the push, which may write and release at once */
  queue_push(p, m);
  blok__net_msg_unref(m);
  return BLOK_OK;
}

enum blok_err blok_net_broadcast(struct blok_net *net, const uint8_t *bytes, size_t len,
                                 unsigned flags) {
  struct blok__net_msg *m;
  BLOK_TRY(msg_new(net, &m, bytes, len));
  m->refs = 1;
  for (size_t i = 0; i < net->validator_count; i++)
    queue_push(&net->peers[i], m);
  if (flags & BLOK_NET_BROADCAST_OBSERVERS) {
    for (size_t i = net->validator_count; i < net->validator_count + net->observer_slots; i++)
      if (net->peers[i].in_use && net->peers[i].active != NULL) queue_push(&net->peers[i], m);
  }
  blok__net_msg_unref(m);
  return BLOK_OK;
}

/* ---- stats and close --------------------------------------------------------------------- */

enum blok_err blok_net_peer_stats(const struct blok_net *net,
                                  const uint8_t peer_pk[BLOK_NET_KEY_LEN],
                                  struct blok_net_peer_stats *out) {
  const struct blok__net_peer *p = find_any(net, peer_pk);
  if (p == NULL) return BLOK_ENOTFOUND;
  *out = p->st;
  out->connected = p->active != NULL;
  out->outbound = p->active != NULL && blok__net_conn_outbound(p->active);
  out->observer = p->observer;
  out->queued_msgs = p->count;
  out->queued_bytes = p->queued_bytes;
  return BLOK_OK;
}

void blok_net_stats(const struct blok_net *net, struct blok_net_stats *out) {
  *out = net->st;
}

void blok_net_close(struct blok_net *net) {
  if (net == NULL) return;
  BLOK_ASSERT(net->in_callback == 0); /* closing from a callback would free what it runs on */
  net->closing = true;
  if (net->listening) uv_close((uv_handle_t *)&net->listener, on_listener_closed);
  for (size_t i = 0; i < net->validator_count; i++)
    if (net->peers[i].timer_init)
      uv_close((uv_handle_t *)&net->peers[i].dial_timer, on_dial_timer_closed);
  blok__net_conn_drop_all(net);
  while (net->handles_open > 0)
    uv_run(net->loop, UV_RUN_NOWAIT);
  free_net(net);
}
