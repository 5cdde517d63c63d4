/*
 * Inside the network module (blok/net.h). net.c owns the node: configuration, peers, their
 * queues and reconnect timers, the listener. conn.c owns one TCP connection: the handshake
 * driver, frame reading and writing. handshake.c holds the pure parts of the handshake (the
 * message layouts, the signed transcript, the session keys), with no I/O, so they can be read
 * next to docs/NETWORK.md.
 */
#ifndef BLOK_NET_INTERNAL_H
#define BLOK_NET_INTERNAL_H

#include <sodium.h>

#include "blok/buf.h"
#include "blok/net.h"

/* ---- wire layout (docs/NETWORK.md) ------------------------------------------------------ */

#define BLOK__NET_MAGIC          "bkn1" /* handshake magic: protocol and version */
#define BLOK__NET_MAGIC_LEN      4
#define BLOK__NET_EPH_LEN        32 /* X25519 public key */
#define BLOK__NET_M1_LEN         (BLOK__NET_MAGIC_LEN + BLOK__NET_EPH_LEN + BLOK_NET_KEY_LEN)
#define BLOK__NET_M2_LEN         (BLOK__NET_M1_LEN + BLOK_SIGN_SIG_LEN)
#define BLOK__NET_M3_LEN         BLOK_SIGN_SIG_LEN
#define BLOK__NET_TRANSCRIPT_LEN (2 * BLOK__NET_EPH_LEN + 2 * BLOK_NET_KEY_LEN)
#define BLOK__NET_TAG_RESPONDER  "blokauto/net/responder/v1"
#define BLOK__NET_TAG_INITIATOR  "blokauto/net/initiator/v1"
#define BLOK__NET_LEN_PREFIX     4
#define BLOK__NET_MAC_LEN        crypto_aead_chacha20poly1305_ietf_ABYTES
#define BLOK__NET_KEY_BYTES      crypto_aead_chacha20poly1305_ietf_KEYBYTES
#define BLOK__NET_NONCE_LEN      crypto_aead_chacha20poly1305_ietf_NPUBBYTES
/* One uv_write carries frames up to this many bytes (or one larger frame). */
#define BLOK__NET_BATCH_BYTES ((size_t)256 << 10)

_Static_assert(BLOK__NET_M1_LEN == 68, "handshake message 1 is 68 bytes");
_Static_assert(BLOK__NET_M2_LEN == 132, "handshake message 2 is 132 bytes");
_Static_assert(BLOK__NET_M3_LEN == 64, "handshake message 3 is 64 bytes");
_Static_assert(BLOK__NET_TRANSCRIPT_LEN == 128, "the transcript is 128 bytes");
_Static_assert(BLOK__NET_MAC_LEN == 16 && BLOK__NET_KEY_BYTES == 32 && BLOK__NET_NONCE_LEN == 12,
               "ChaCha20-Poly1305 IETF sizes");
_Static_assert(crypto_kx_PUBLICKEYBYTES == BLOK__NET_EPH_LEN &&
                   crypto_kx_SESSIONKEYBYTES == BLOK__NET_KEY_BYTES,
               "crypto_kx sizes");

/* ---- handshake.c: pure ----------------------------------------------------------------- */

struct blok__net_keys {
  uint8_t tx[BLOK__NET_KEY_BYTES]; /* this side's sending key */
  uint8_t rx[BLOK__NET_KEY_BYTES]; /* this side's receiving key */
};

/* magic || e_pk || id: message 1, and the first 68 bytes of message 2. */
void blok__net_hello_build(uint8_t out[BLOK__NET_M1_LEN], const uint8_t e_pk[BLOK__NET_EPH_LEN],
                           const uint8_t id[BLOK_NET_KEY_LEN]);
/* BLOK_EFORMAT when the magic is wrong. */
BLOK_WUR enum blok_err blok__net_hello_parse(const uint8_t in[BLOK__NET_M1_LEN],
                                             uint8_t e_pk[BLOK__NET_EPH_LEN],
                                             uint8_t id[BLOK_NET_KEY_LEN]);
/* e_I || e_R || id_I || id_R. */
void blok__net_transcript(uint8_t out[BLOK__NET_TRANSCRIPT_LEN],
                          const uint8_t e_i[BLOK__NET_EPH_LEN],
                          const uint8_t e_r[BLOK__NET_EPH_LEN],
                          const uint8_t id_i[BLOK_NET_KEY_LEN],
                          const uint8_t id_r[BLOK_NET_KEY_LEN]);
/* The responder's (initiator false) or initiator's signature over the transcript. */
BLOK_WUR enum blok_err blok__net_sign_transcript(uint8_t sig[BLOK_SIGN_SIG_LEN],
                                                 const struct blok_sign_keypair *kp,
                                                 const char *chain_id, bool initiator,
                                                 const uint8_t t[BLOK__NET_TRANSCRIPT_LEN]);
BLOK_WUR enum blok_err blok__net_verify_transcript(const uint8_t sig[BLOK_SIGN_SIG_LEN],
                                                   const uint8_t pk[BLOK_NET_KEY_LEN],
                                                   const char *chain_id, bool initiator,
                                                   const uint8_t t[BLOK__NET_TRANSCRIPT_LEN]);
/* The session keys (crypto_kx: the initiator is the client). BLOK_EBADKEY when the peer's
 * ephemeral key gives the all-zero shared secret (a small-order point). */
BLOK_WUR enum blok_err blok__net_session_keys(struct blok__net_keys *k, bool initiator,
                                              const uint8_t own_pk[BLOK__NET_EPH_LEN],
                                              const uint8_t own_sk[BLOK__NET_EPH_LEN],
                                              const uint8_t peer_pk[BLOK__NET_EPH_LEN]);
/* The 12-byte nonce of frame number ctr: four zero bytes, then ctr as u64 little-endian. */
void blok__net_nonce(uint8_t out[BLOK__NET_NONCE_LEN], uint64_t ctr);

/* ---- the node and its peers (net.c) ----------------------------------------------------- */

struct blok__net_conn;

/* A message shared by the queues it sits in (a broadcast is one copy). */
struct blok__net_msg {
  uint32_t refs;
  size_t len;
  uint8_t data[];
};

struct blok__net_peer {
  struct blok_net *net;
  uint8_t pk[BLOK_NET_KEY_LEN];
  bool observer;
  bool in_use;   /* observers: the slot holds a peer */
  bool has_addr; /* dialled */
  struct sockaddr_storage addr;
  uv_timer_t dial_timer; /* validators only; initialised at open */
  bool timer_init;
  struct blok__net_conn *active;  /* the authenticated connection, or NULL */
  struct blok__net_conn *dialing; /* our outgoing connection still in its handshake, or NULL */
  unsigned attempts;              /* dials since the last authenticated connection */
  /* The send queue: a ring of message pointers. */
  struct blok__net_msg **ring;
  size_t head, count;
  size_t queued_bytes;
  struct blok_net_peer_stats st;
};

struct blok_net {
  uv_loop_t *loop;
  char chain_id[BLOK_SIGN_CHAIN_ID_MAX + 1];
  struct blok_sign_keypair id;
  struct blok_net_limits lim;
  struct blok_net_callbacks cb;
  uint64_t (*random_u64)(void *user);
  void *random_user;
  bool (*allow_observer)(const uint8_t pk[BLOK_NET_KEY_LEN], void *user);
  void *observer_user;

  uv_tcp_t listener;
  bool listening;
  uint16_t port;

  struct blok__net_peer *peers; /* validators, then observer slots */
  size_t peers_len;             /* allocated entries */
  size_t validator_count;
  size_t observer_slots;

  struct blok__net_conn *conns; /* every open connection, doubly linked */
  size_t pending_inbound;       /* inbound connections still in their handshake */
  size_t handles_open;          /* handles whose close callback has not run */
  bool closing;
  unsigned in_callback; /* depth of user callbacks, to catch a close from inside one */

  uint8_t read_chunk[64 << 10]; /* libuv reads here; one read at a time on one thread */
  struct blok_buf plain;        /* a decrypted frame */
  struct blok_net_stats st;
};

/* Peers. */
struct blok__net_peer *blok__net_find_validator(struct blok_net *net,
                                                const uint8_t pk[BLOK_NET_KEY_LEN]);
struct blok__net_peer *blok__net_find_observer(struct blok_net *net,
                                               const uint8_t pk[BLOK_NET_KEY_LEN]);
/* A slot for an authenticated observer (its existing one, or a free one), or NULL when full. */
struct blok__net_peer *blok__net_observer_slot(struct blok_net *net,
                                               const uint8_t pk[BLOK_NET_KEY_LEN]);
/* Takes the oldest queued message (the caller drops its reference), or NULL. */
struct blok__net_msg *blok__net_queue_pop(struct blok__net_peer *p);
void blok__net_msg_unref(struct blok__net_msg *m);
/* Arms the dial timer with the backoff delay when the peer has an address, no connection up
 * and none being dialled. */
void blok__net_schedule_dial(struct blok__net_peer *p);
/* Called by conn.c when a peer gains its first connection or loses its last one. */
void blok__net_peer_up(struct blok__net_peer *p);
void blok__net_peer_down(struct blok__net_peer *p);
/* A handle of the node closed (closing counts them down). */
void blok__net_handle_closed(struct blok_net *net);

/* ---- connections (conn.c) ---------------------------------------------------------------- */

/* Dials a peer (outbound). BLOK_ENOMEM, or BLOK_EIO when libuv refuses at once. */
BLOK_WUR enum blok_err blok__net_dial(struct blok__net_peer *p);
/* Accepts a connection waiting on the listener (inbound). */
void blok__net_accept(struct blok_net *net);
/* Writes queued messages when the connection is up and no write is in flight. */
void blok__net_conn_flush(struct blok__net_conn *c);
/* Closes a connection; the reason is logged and counted when bad is true. */
void blok__net_conn_drop(struct blok__net_conn *c, bool bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Drops every connection (at close). */
void blok__net_conn_drop_all(struct blok_net *net);
/* Whether the connection is outbound (this node dialled it). */
bool blok__net_conn_outbound(const struct blok__net_conn *c);

#endif
