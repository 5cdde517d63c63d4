/*
 * The validators' authenticated network (docs/NETWORK.md): TCP between nodes over libuv, each
 * connection authenticated by a handshake over ephemeral X25519 keys that both nodes sign with
 * their long-term Ed25519 identities, then ChaCha20-Poly1305 frames with a key and a counter
 * nonce per direction. It carries opaque messages: what a message means is the consensus
 * layer's business. A message arrives as (the sender's public key, the bytes); a message goes
 * to one peer key or to every validator.
 *
 * Who may connect: the configured validator keys, and, when the caller installs the
 * allow_observer hook, observers it accepts. An observer is read-only for consensus: its
 * messages are delivered with BLOK_NET_OBSERVER set, it is never dialled, and a broadcast
 * reaches it only with BLOK_NET_BROADCAST_OBSERVERS.
 *
 * Delivery is at most once and in order per connection, not guaranteed: a message queued for a
 * peer stays queued (bounded, oldest dropped first) until a connection to that peer is up, but a
 * message written to a connection that then fails is lost. Consensus retransmits what matters.
 *
 * Everything runs on the caller's uv loop and thread; no function here may be called from
 * another thread. Randomness for backoff jitter comes through an injected function (tests are
 * deterministic); ephemeral keys always come from libsodium's generator.
 */
#ifndef BLOK_NET_H
#define BLOK_NET_H

#include <stdbool.h>

#include <uv.h>

#include "blok/module.h"
#include "blok/sign.h"

#define BLOK_NET_KEY_LEN 32 /* an Ed25519 public key names a peer */

/* The hard ceilings behind the configurable limits (docs/NETWORK.md, "Limits"). */
#define BLOK_NET_FRAME_BYTES_CAP ((size_t)64 << 20)
#define BLOK_NET_PEERS_MAX       1024
#define BLOK_NET_OBSERVERS_CAP   1024

/* Defaults, used for a limit left 0. */
#define BLOK_NET_FRAME_BYTES_DEFAULT      ((size_t)4 << 20)
#define BLOK_NET_QUEUE_BYTES_DEFAULT      ((size_t)32 << 20)
#define BLOK_NET_QUEUE_MSGS_DEFAULT       4096
#define BLOK_NET_HANDSHAKE_TIMEOUT_MS_DEF 5000
#define BLOK_NET_BACKOFF_BASE_MS_DEFAULT  100
#define BLOK_NET_BACKOFF_MAX_MS_DEFAULT   10000
#define BLOK_NET_OBSERVERS_DEFAULT        16
#define BLOK_NET_PENDING_DEFAULT          64

/* Flags of a delivered message or peer event. */
#define BLOK_NET_OBSERVER 1u /* the peer is an observer, not a validator */
/* Flags of blok_net_broadcast. */
#define BLOK_NET_BROADCAST_OBSERVERS 1u /* also to the connected observers */

struct blok_net_limits {
  size_t frame_bytes_max;        /* largest message (plaintext); 0: 4 MiB; at most the cap */
  size_t queue_bytes_max;        /* per peer, queued message bytes; 0: 32 MiB */
  size_t queue_msgs_max;         /* per peer, queued messages; 0: 4096 */
  uint32_t handshake_timeout_ms; /* from dial or accept to an authenticated peer; 0: 5,000 */
  uint32_t backoff_base_ms;      /* first reconnect delay; 0: 100 */
  uint32_t backoff_max_ms;       /* ceiling of the reconnect delay; 0: 10,000 */
  size_t observers_max;          /* observers connected at once; 0: 16 */
  size_t pending_max;            /* inbound connections still in their handshake; 0: 64 */
};

struct blok_net_peer {
  uint8_t pk[BLOK_NET_KEY_LEN];
  const char *host; /* an IP address literal to dial, or NULL: never dialled, only accepted */
  uint16_t port;
};

struct blok_net_config {
  const char *chain_id;                     /* signed into every handshake */
  const struct blok_sign_keypair *identity; /* copied; the caller may wipe its own */
  const char *listen_host;                  /* an IP address literal, or NULL: do not listen */
  uint16_t listen_port;                     /* 0: an ephemeral port (blok_net_listen_port) */
  /* The validator set. An entry with this node's own key is skipped, so the whole genesis list
   * may be passed. Keys must pass blok_sign_check_pk and be distinct. */
  const struct blok_net_peer *peers;
  size_t peer_count;
  struct blok_net_limits limits;
  /* Backoff jitter: any 64-bit value, uniformly distributed. NULL: libsodium's generator. */
  uint64_t (*random_u64)(void *user);
  void *random_user;
  /* The observer hook: called with the claimed key of a non-validator that opens a connection
   * (before its signature is checked, so it must be a cheap lookup); true lets it finish the
   * handshake as an observer. NULL: only validators may connect. */
  bool (*allow_observer)(const uint8_t pk[BLOK_NET_KEY_LEN], void *user);
  void *observer_user;
};

/* Callbacks run on the loop's thread. They may call blok_net_send and blok_net_broadcast but
 * not blok_net_close. The bytes of on_message are valid only during the call. */
struct blok_net_callbacks {
  void (*on_message)(const uint8_t peer_pk[BLOK_NET_KEY_LEN], unsigned flags, const uint8_t *bytes,
                     size_t len, void *user);
  /* A peer gained its first authenticated connection / lost its last one. May be NULL. */
  void (*on_peer_up)(const uint8_t peer_pk[BLOK_NET_KEY_LEN], unsigned flags, void *user);
  void (*on_peer_down)(const uint8_t peer_pk[BLOK_NET_KEY_LEN], unsigned flags, void *user);
  void *user;
};

struct blok_net_peer_stats {
  bool connected;       /* an authenticated connection is up */
  bool outbound;        /* ... and this node dialled it */
  bool observer;        /* the peer is an observer */
  size_t queued_msgs;   /* waiting to be written */
  size_t queued_bytes;  /* their plaintext bytes */
  uint64_t queue_drops; /* messages dropped because the queue was full (oldest first) */
  uint64_t msgs_in, msgs_out;
  uint64_t bytes_in, bytes_out; /* frame bytes on the wire, after the handshake */
  uint64_t connects;            /* authenticated connections established */
  uint64_t dials;               /* dial attempts */
  uint64_t bad_drops;           /* connections dropped for invalid data or a failed handshake */
  uint32_t backoff_ms;          /* the delay before the pending (or last) dial */
};

struct blok_net_stats {
  size_t connections;          /* open TCP connections, those still in the handshake included */
  uint64_t handshakes_refused; /* handshakes that failed: bad data, key not allowed, timeout */
  uint64_t conns_dropped;      /* authenticated connections dropped for invalid data */
  uint64_t duplicates_closed;  /* connections closed because another one to the peer won */
  struct blok_why last_drop;   /* the reason of the last refusal or drop, for a person */
};

struct blok_net;

/*
 * Starts listening and dialling the validators that have an address (the first dial at once).
 * BLOK_EINVAL with a reason for a bad configuration (chain id, a host that is not an IP
 * address, a key refused or repeated, a limit above its cap), BLOK_EIO with a reason when it
 * cannot listen, BLOK_ENOMEM. On failure nothing is left open.
 */
BLOK_WUR enum blok_err blok_net_open(struct blok_net **out, uv_loop_t *loop,
                                     const struct blok_net_config *cfg,
                                     const struct blok_net_callbacks *cb, struct blok_why *why);
/* The port it listens on (useful with listen_port 0), or 0 when it does not listen. */
uint16_t blok_net_listen_port(const struct blok_net *net);

/*
 * Queues a copy of the message for one peer and writes it as soon as the connection allows.
 * A validator's messages wait in its queue while it is disconnected; a full queue drops its
 * oldest messages to make room (counted in queue_drops) and the call still succeeds.
 * BLOK_EINVAL for an empty message, BLOK_ETOOLONG above frame_bytes_max or queue_bytes_max,
 * BLOK_ENOTFOUND for a key that is neither a validator nor a connected observer, BLOK_ENOMEM.
 */
BLOK_WUR enum blok_err blok_net_send(struct blok_net *net, const uint8_t peer_pk[BLOK_NET_KEY_LEN],
                                     const uint8_t *bytes, size_t len);
/* The message to every validator (and with BLOK_NET_BROADCAST_OBSERVERS every connected
 * observer), one shared copy. Fails as blok_net_send, before queueing anything. */
BLOK_WUR enum blok_err blok_net_broadcast(struct blok_net *net, const uint8_t *bytes, size_t len,
                                          unsigned flags);

/* BLOK_ENOTFOUND for a key that is neither a validator nor a connected observer. */
BLOK_WUR enum blok_err blok_net_peer_stats(const struct blok_net *net,
                                           const uint8_t peer_pk[BLOK_NET_KEY_LEN],
                                           struct blok_net_peer_stats *out);
void blok_net_stats(const struct blok_net *net, struct blok_net_stats *out);

/*
 * The reconnect delay after `attempts` failed dials in a row (docs/NETWORK.md, "Reconnect"):
 * d = min(backoff_max_ms, backoff_base_ms * 2^attempts), then d/2 + random mod (d/2 + 1).
 * Limits as in blok_net_config (0 takes the default). Pure, for tests and for the document.
 */
uint32_t blok_net_backoff_ms(const struct blok_net_limits *limits, unsigned attempts,
                             uint64_t random);

/*
 * Closes every connection and handle, frees everything and wipes the identity. It runs the loop
 * (UV_RUN_NOWAIT) until its own handles have closed, so other handles' callbacks may run
 * meanwhile; it must not be called from a callback of this loop. NULL is allowed.
 */
void blok_net_close(struct blok_net *net);

#endif
