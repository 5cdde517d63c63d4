/*
 * Inside the HTTP API (blok/api.h): the server object, the reply a route handler fills in,
 * and the helpers shared by the server (http.c), the routes (routes.c, submit.c), the JSON
 * conversions (json.c), the static files (static.c) and the metrics page (metrics.c).
 *
 * A handler never touches libmicrohttpd: it gets the request's parts as plain values and fills
 * a struct blok__reply, which http.c turns into a response. So every route can be read (and
 * reasoned about) without knowing the server library.
 */
#ifndef BLOK_API_INTERNAL_H
#define BLOK_API_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "blok/api.h"
#include "blok/vpic.h"

#define BLOK__API_BODY_BYTES_DEFAULT ((size_t)1 << 20)
#define BLOK__API_BATCH_BYTES_MAX    ((size_t)16 << 20) /* POST /v1/txs */
#define BLOK__API_BATCH_ITEMS_MAX    10000
/* All request bodies held at once, across connections: past it a request gets 503. */
#define BLOK__API_BODY_BYTES_INFLIGHT_MAX ((size_t)256 << 20)
#define BLOK__API_CONNECTIONS_DEFAULT     256u
#define BLOK__API_WAIT_MS_DEFAULT         10000u
#define BLOK__API_WAIT_MS_MAX_DEFAULT     60000u
#define BLOK__API_CONNECTION_TIMEOUT_S    30u
#define BLOK__API_PATH_MAX                1024 /* longest URL path routed */
#define BLOK__API_STATE_KEY_TEXT_MAX      512  /* longest {key} of /v1/state */
#define BLOK__API_QUERY_VALUE_MAX         32   /* longest query value read */
#define BLOK__API_STATIC_BYTES_MAX        ((size_t)8 << 20)
/* A waiting request wakes at least this often to notice that the server is stopping. */
#define BLOK__API_WAIT_SLICE_MS 200u

struct blok_api {
  struct MHD_Daemon *daemon;
  struct blok_api_opts o; /* defaults filled in; host and web_dir point into the copies below */
  char host[64];
  char *web_dir;
  struct blok_api_deps d; /* d.metrics is own_metrics when the caller gave none */
  struct blok_metrics own_metrics;
  uint16_t port;
  atomic_bool stopping;
  _Atomic size_t body_bytes_inflight;
  /* The vPIC database for GET /v1/vehicles/{vin} (vehicles.c): opened on first use, shared
   * under vpic_mu. vpic_state: 0 not tried yet, 1 open, -1 unavailable. */
  _Atomic size_t sse_clients; /* open GET /v1/events streams (events.c) */
  pthread_mutex_t vpic_mu;
  struct blok_vpic vpic;
  int vpic_state;
};

/* What a handler answers. Exactly one of json, text or file_fd carries the body. */
struct blok__reply {
  unsigned status;
  json_t *json; /* owned */
  char *text;   /* owned (malloc) */
  size_t text_len;
  int file_fd; /* -1 when none; handed to the server, which closes it */
  uint64_t file_size;
  const char *content_type; /* for text and file bodies (static strings) */
  const char *allow;        /* the Allow header of a 405 */
  unsigned retry_after_s;   /* 0: no Retry-After header */
  /* A streamed body of unknown length (GET /v1/events): read is called in the connection's
   * thread and may block; it returns the bytes written into buf (at least 1), or -1 at the
   * end of the stream. stream_free releases stream_cls once the server is done with it. */
  ssize_t (*stream_read)(void *cls, char *buf, size_t max);
  void (*stream_free)(void *cls);
  void *stream_cls;
};

/* The query parameters the routes read, each bounded (NULL when absent). */
struct blok__query {
  const char *wait;
  const char *timeout_ms;
  const char *proof;
  const char *cursor; /* GET /v1/vehicles/{vin}/history */
  const char *limit;
  const char *order;
  const char *format; /* GET /v1/blocks/{height}: "json" (default) or "binary" */
};

void blok__reply_init(struct blok__reply *r);
void blok__reply_release(struct blok__reply *r);
/* Sets the reply to status and body b's bytes (taken: b is left empty), of content_type. */
void blok__reply_buf(struct blok__reply *r, unsigned status, struct blok_buf *b,
                     const char *content_type);
/* Sets the reply to status and body j (taken; a NULL j becomes a 500). */
void blok__reply_json(struct blok__reply *r, unsigned status, json_t *j);
/* {"error": {"code": blok_err_name(err), "message": ...}} with status. */
void blok__reply_error(struct blok__reply *r, unsigned status, enum blok_err err, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
/* As blok__reply_error with the status that fits err (blok__api_status) and why's sentence
 * (or err's own message when why is empty). */
void blok__reply_refusal(struct blok__reply *r, enum blok_err err, const struct blok_why *why);
/* The HTTP status for an error code (docs/API.md, "Errors"). */
unsigned blok__api_status(enum blok_err err);

/* --- routes (routes.c, submit.c) --------------------------------------------------------- */
void blok__route_status(struct blok_api *a, struct blok__reply *r);
void blok__route_block(struct blok_api *a, const char *height_text, const struct blok__query *q,
                       struct blok__reply *r);
void blok__route_tx_get(struct blok_api *a, const char *id_text, struct blok__reply *r);
void blok__route_state(struct blok_api *a, const char *path_rest, const struct blok__query *q,
                       struct blok__reply *r);
void blok__route_nonce(struct blok_api *a, const char *sender_text, struct blok__reply *r);
void blok__route_metrics(struct blok_api *a, struct blok__reply *r);
void blok__route_tx_post(struct blok_api *a, const uint8_t *body, size_t len,
                         const struct blok__query *q, struct blok__reply *r);
void blok__route_txs_post(struct blok_api *a, const uint8_t *body, size_t len,
                          struct blok__reply *r);
/* POST /v1/txs with a binary body: the canonical list of signed transactions (submit.c). */
void blok__route_txs_post_binary(struct blok_api *a, const uint8_t *body, size_t len,
                                 struct blok__reply *r);
/* GET /v1/vehicles/{vin}[/history|/report] (vehicles.c); rest is the path after
 * "/v1/vehicles/". */
void blok__route_vehicle(struct blok_api *a, const char *rest, const struct blok__query *q,
                         struct blok__reply *r);
/* GET /v1/parts/{serial}[/history], /v1/batches/{id}, /v1/recalls/{id} (parts.c): what is
 * 'p', 'b' or 'r'; rest the path after the prefix. */
void blok__route_parts(struct blok_api *a, char what, const char *rest, const struct blok__query *q,
                       struct blok__reply *r);
/* GET /v1/vehicles/{vin}/parts (parts.c): false, with nothing done, for any other path. */
bool blok__route_vehicle_parts(struct blok_api *a, const char *rest, const struct blok__query *q,
                               struct blok__reply *r);
/* The vehicle routes' shared state: set up at start, released at stop (vehicles.c). */
void blok__vehicles_init(struct blok_api *a);
void blok__vehicles_release(struct blok_api *a);
/* GET /v1/genesis: the genesis document as the node loaded it (genesis.c). */
void blok__route_genesis(struct blok_api *a, struct blok__reply *r);
/* GET /v1/events: the Server-Sent Events stream of committed blocks (events.c). */
void blok__route_events(struct blok_api *a, struct blok__reply *r);
/* GET of a file under web_dir (static.c). */
void blok__route_static(struct blok_api *a, const char *path, struct blok__reply *r);

/* --- JSON conversions (json.c) ----------------------------------------------------------- */
/* Lowercase hex of n bytes as a JSON string (NULL on out of memory). */
json_t *blok__json_hex(const uint8_t *data, size_t n);
/* A u64 as a JSON integer, or as a decimal string above 2^63 - 1 (which JSON cannot carry
 * exactly). */
json_t *blok__json_u64(uint64_t v);
/* A u64 field from an integer or a decimal string; the message names field. */
enum blok_err blok__json_get_u64(const json_t *v, const char *field, uint64_t *out,
                                 struct blok_why *why);
json_t *blok__json_header(const struct blok_header *h);
json_t *blok__json_qc(const struct blok_qc *qc);
/* {"code": "BLOK_...", "message": ...}. */
json_t *blok__json_result(const struct blok_tx_result *res);
/* The JSON form of a decoded transaction, its payload through the kind's to_json. */
json_t *blok__json_tx(const struct blok_registry *reg, const struct blok_tx *tx);
json_t *blok__json_smt_proof(const struct blok_smt_proof *p);
/* The canonical encoding of one submitted item: {"hex": ...} or the JSON form. Refusals name
 * the field at fault in why. */
enum blok_err blok__json_tx_raw(const json_t *item, const struct blok_registry *reg,
                                struct blok_buf *raw, struct blok_why *why);
/* Parses a request body as JSON (an object or an array). */
enum blok_err blok__json_parse_body(const uint8_t *body, size_t len, json_t **out,
                                    struct blok_why *why);

/* --- small parsers (routes.c) ------------------------------------------------------------ */
/* A decimal u64: digits only, 1..20 of them, no overflow. */
bool blok__parse_u64(const char *s, uint64_t *out);
/* Exactly 64 hex digits into 32 bytes. */
bool blok__parse_hash(const char *s, uint8_t out[32]);

/* --- metrics (metrics.c) ----------------------------------------------------------------- */
/* The Prometheus text page (format 0.0.4) into out; workers_cpu_us from
 * blok_mempool_workers_cpu_us. */
enum blok_err blok__metrics_render(struct blok_buf *out, const struct blok_metrics *m,
                                   uint64_t height, const struct blok_mempool_stats *mp,
                                   uint64_t workers_cpu_us);

#endif
