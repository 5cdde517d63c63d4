/*
 * The HTTP server of the API (blok/api.h): libmicrohttpd with one thread per connection, so a
 * request that waits for a commit holds only its own connection, and JSON through jansson.
 *
 * A request goes through the access handler in three steps (libmicrohttpd's upload protocol):
 * the first call (no upload data yet) routes it and refuses at once what needs no body: an
 * unknown path (404), a wrong method (405 with Allow), a declared Content-Length above the
 * route's limit (413, before a byte of the body is read), a body that would pass the limit on
 * all bodies held at once (503). The calls that follow hand over the body in pieces, which are
 * accumulated under the same caps (a chunked body that passes one is cut off by closing the
 * connection). The last call runs the route and queues its reply. When the request completes, its
 * latency goes into the metrics and its memory is freed.
 *
 * Limits: connections (connections_max), per client address (none beyond the total on a
 * loopback address, where every client shares one address; else a quarter of the total), the
 * idle timeout, body sizes, path and query lengths. Nothing a client sends is asserted on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_internal.h"
#include "blok/banned.h"

/* --- replies ----------------------------------------------------------------------------- */

void blok__reply_init(struct blok__reply *r) {
  memset(r, 0, sizeof *r);
  r->file_fd = -1;
}

void blok__reply_release(struct blok__reply *r) {
  json_decref(r->json);
  free(r->text);
  if (r->file_fd >= 0) close(r->file_fd);
  if (r->stream_free != NULL) r->stream_free(r->stream_cls);
  blok__reply_init(r);
}

void blok__reply_buf(struct blok__reply *r, unsigned status, struct blok_buf *b,
                     const char *content_type) {
  blok__reply_release(r);
  r->status = status;
  r->text = (char *)blok_buf_detach(b, &r->text_len);
  r->content_type = content_type;
}

void blok__reply_json(struct blok__reply *r, unsigned status, json_t *j) {
  blok__reply_release(r);
  if (j == NULL) {
    blok__reply_error(r, 500, BLOK_ENOMEM, "reply: %s", blok_strerror(BLOK_ENOMEM));
    return;
  }
  r->status = status;
  r->json = j;
}

void blok__reply_error(struct blok__reply *r, unsigned status, enum blok_err err, const char *fmt,
                       ...) {
  char msg[BLOK_WHY_MAX + 64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* The headers set before the error (Allow, Retry-After) stay. */
  unsigned retry = r->retry_after_s;
  const char *allow = r->allow;
  blok__reply_release(r);
  r->status = status;
  r->retry_after_s = retry;
  r->allow = allow;
  /* json_pack refuses a message that is not UTF-8; the reply still names the code. */
  r->json = json_pack("{s:{s:s, s:s}}", "error", "code", blok_err_name(err), "message", msg);
  if (r->json == NULL)
    r->json = json_pack("{s:{s:s, s:s}}", "error", "code", blok_err_name(err), "message",
                        blok_strerror(err));
}

unsigned blok__api_status(enum blok_err err) {
  switch (err) {
    case BLOK_OK:
      return 200;
    case BLOK_EINVAL:
    case BLOK_ETRUNC:
    case BLOK_ETOOLONG:
    case BLOK_ETRAILING:
    case BLOK_EHEX:
    case BLOK_ERANGE:
    case BLOK_EFORMAT:
    case BLOK_EUTF8:
    case BLOK_EUSAGE:
      return 400;
    case BLOK_ENOTFOUND:
      return 404;
    case BLOK_EEXIST:
    case BLOK_EDUPLICATE:
    case BLOK_ESTALE:
    case BLOK_EGAP:
      return 409;
    case BLOK_EBADSIG:
    case BLOK_EBADKEY:
    case BLOK_EBADTAG:
    case BLOK_EBADPROOF:
    case BLOK_EVIN:
    case BLOK_EPERM:
    case BLOK_EEXPIRED:
    case BLOK_ENOTPERMITTED:
    case BLOK_EUNKNOWNKIND:
    case BLOK_EREFUSED:
      return 422;
    case BLOK_EFULL:
    case BLOK_EUNAVAIL:
      return 503;
    case BLOK_ETIMEOUT:
      return 504;
    case BLOK_ENOMEM:
    case BLOK_EIO:
    case BLOK_ECRYPTO:
    case BLOK_ESTORE:
    case BLOK_EMAPFULL:
      return 500;
  }
  return 500;
}

void blok__reply_refusal(struct blok__reply *r, enum blok_err err, const struct blok_why *why) {
  unsigned status = blok__api_status(err);
  if (status == 503) r->retry_after_s = 1;
  blok__reply_error(r, status, err, "%s", why->msg[0] ? why->msg : blok_strerror(err));
}

/* --- per-request state ------------------------------------------------------------------- */

enum route {
  ROUTE_NONE = 0,
  ROUTE_TX_POST,
  ROUTE_TXS_POST,
  ROUTE_TX_GET,
  ROUTE_BLOCK,
  ROUTE_STATUS,
  ROUTE_STATE,
  ROUTE_NONCE,
  ROUTE_METRICS,
  ROUTE_STATIC,
  ROUTE_VEHICLE,
  ROUTE_PARTS,
  ROUTE_BATCHES,
  ROUTE_RECALLS,
  ROUTE_GENESIS,
  ROUTE_EVENTS,
};

struct request {
  uint64_t start_us;
  enum route route;
  const char *arg; /* the part of the URL after the route's prefix (points into the URL) */
  struct blok_buf body;
  size_t reserved; /* bytes counted in body_bytes_inflight */
  bool replied;    /* a reply was queued before the body was read */
};

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --- routing ----------------------------------------------------------------------------- */

static const struct {
  const char *path; /* exact, or a prefix when it ends in '/' */
  enum route route;
  bool post;
} routes[] = {
    {"/v1/tx", ROUTE_TX_POST, true},         {"/v1/txs", ROUTE_TXS_POST, true},
    {"/v1/tx/", ROUTE_TX_GET, false},        {"/v1/blocks/", ROUTE_BLOCK, false},
    {"/v1/status", ROUTE_STATUS, false},     {"/v1/state/", ROUTE_STATE, false},
    {"/v1/nonce/", ROUTE_NONCE, false},      {"/metrics", ROUTE_METRICS, false},
    {"/v1/vehicles/", ROUTE_VEHICLE, false}, {"/v1/genesis", ROUTE_GENESIS, false},
    {"/v1/events", ROUTE_EVENTS, false},     {"/v1/parts/", ROUTE_PARTS, false},
    {"/v1/batches/", ROUTE_BATCHES, false},  {"/v1/recalls/", ROUTE_RECALLS, false},
};

/* Finds the route of url: ROUTE_NONE when there is none. */
static enum route find_route(const struct blok_api *a, const char *url, const char **arg,
                             bool *post) {
  for (size_t i = 0; i < BLOK_ARRAY_LEN(routes); i++) {
    size_t n = strlen(routes[i].path);
    bool prefix = routes[i].path[n - 1] == '/';
    if (strncmp(url, routes[i].path, n) != 0 || (!prefix && url[n] != '\0')) continue;
    *arg = url + n;
    *post = routes[i].post;
    /* {id}, {height} and {sender} are one segment; a state key may hold slashes, and so may
     * a vehicle's path ({vin}/history, parsed by its route). */
    bool slashes = routes[i].route == ROUTE_STATE || routes[i].route == ROUTE_VEHICLE ||
                   routes[i].route == ROUTE_PARTS; /* serials may hold '/' */
    if (prefix && (**arg == '\0' || (!slashes && strchr(*arg, '/')))) return ROUTE_NONE;
    return routes[i].route;
  }
  if (a->web_dir != NULL && strncmp(url, "/v1/", 4) != 0 && strcmp(url, "/v1") != 0) {
    *arg = url;
    *post = false;
    return ROUTE_STATIC;
  }
  return ROUTE_NONE;
}

/* Routes the request; false with a reply when it is refused before its body. */
static bool route_request(struct blok_api *a, struct request *rq, const char *url,
                          const char *method, struct blok__reply *r) {
  size_t n = strlen(url);
  bool post = false;
  if (n > BLOK__API_PATH_MAX) {
    blok__reply_error(r, 414, BLOK_ETOOLONG, "path: at most %d characters", BLOK__API_PATH_MAX);
    return false;
  }
  if (!blok_utf8_valid((const uint8_t *)url, n)) {
    blok__reply_error(r, 400, BLOK_EUTF8, "path: not valid utf-8");
    return false;
  }
  rq->route = find_route(a, url, &rq->arg, &post);
  if (rq->route == ROUTE_NONE) {
    blok__reply_error(r, 404, BLOK_ENOTFOUND, "path: no route %.200s", url);
    return false;
  }
  bool ok = post ? strcmp(method, "POST") == 0
                 : strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
  if (!ok) {
    r->allow = post ? "POST" : "GET, HEAD";
    blok__reply_error(r, 405, BLOK_EINVAL, "method: %.16s is not allowed here; use %s", method,
                      r->allow);
    return false;
  }
  return true;
}

static size_t body_cap(const struct blok_api *a, enum route route) {
  return route == ROUTE_TXS_POST ? BLOK__API_BATCH_BYTES_MAX : a->o.body_bytes_max;
}

/* A query value, bounded: false with a reply when it is too long. */
static bool query_value(struct MHD_Connection *c, const char *name, const char **out,
                        struct blok__reply *r) {
  *out = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
  if (*out == NULL || strlen(*out) <= BLOK__API_QUERY_VALUE_MAX) return true;
  blok__reply_error(r, 400, BLOK_ETOOLONG, "%s: at most %d characters", name,
                    BLOK__API_QUERY_VALUE_MAX);
  return false;
}

/* True when the request's Content-Type is application/octet-stream (parameters allowed). */
static bool body_is_binary(struct MHD_Connection *c) {
  static const char type[] = "application/octet-stream";
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (v == NULL || strncasecmp(v, type, sizeof type - 1) != 0) return false;
  char next = v[sizeof type - 1];
  return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

static void dispatch(struct blok_api *a, struct MHD_Connection *c, struct request *rq,
                     struct blok__reply *r) {
  struct blok__query q = {0};
  if (!query_value(c, "wait", &q.wait, r) || !query_value(c, "timeout_ms", &q.timeout_ms, r) ||
      !query_value(c, "proof", &q.proof, r) || !query_value(c, "cursor", &q.cursor, r) ||
      !query_value(c, "limit", &q.limit, r) || !query_value(c, "order", &q.order, r) ||
      !query_value(c, "format", &q.format, r))
    return;
  switch (rq->route) {
    case ROUTE_TX_POST:
      blok__route_tx_post(a, rq->body.data, rq->body.len, &q, r);
      return;
    case ROUTE_TXS_POST:
      if (body_is_binary(c))
        blok__route_txs_post_binary(a, rq->body.data, rq->body.len, r);
      else
        blok__route_txs_post(a, rq->body.data, rq->body.len, r);
      return;
    case ROUTE_TX_GET:
      blok__route_tx_get(a, rq->arg, r);
      return;
    case ROUTE_BLOCK:
      blok__route_block(a, rq->arg, &q, r);
      return;
    case ROUTE_STATUS:
      blok__route_status(a, r);
      return;
    case ROUTE_STATE:
      blok__route_state(a, rq->arg, &q, r);
      return;
    case ROUTE_NONCE:
      blok__route_nonce(a, rq->arg, r);
      return;
    case ROUTE_METRICS:
      blok__route_metrics(a, r);
      return;
    case ROUTE_STATIC:
      blok__route_static(a, rq->arg, r);
      return;
    case ROUTE_VEHICLE:
      if (blok__route_vehicle_parts(a, rq->arg, &q, r)) return; /* {vin}/parts */
      blok__route_vehicle(a, rq->arg, &q, r);
      return;
    case ROUTE_PARTS:
    case ROUTE_BATCHES:
    case ROUTE_RECALLS:
      blok__route_parts(a,
                        rq->route == ROUTE_PARTS     ? 'p'
                        : rq->route == ROUTE_BATCHES ? 'b'
                                                     : 'r',
                        rq->arg, &q, r);
      return;
    case ROUTE_GENESIS:
      blok__route_genesis(a, r);
      return;
    case ROUTE_EVENTS:
      blok__route_events(a, r);
      return;
    case ROUTE_NONE:
      break;
  }
  blok__reply_error(r, 404, BLOK_ENOTFOUND, "path: no route");
}

/* --- responses --------------------------------------------------------------------------- */

static struct MHD_Response *json_response(const json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT);
  size_t n = s ? strlen(s) : 0;
  char *t = s ? realloc(s, n + 2) : NULL;
  if (t == NULL) {
    free(s);
    static const char oom[] =
        "{\"error\":{\"code\":\"BLOK_ENOMEM\",\"message\":\"out of memory\"}}\n";
    return MHD_create_response_from_buffer(sizeof oom - 1, (void *)(uintptr_t)oom,
                                           MHD_RESPMEM_PERSISTENT);
  }
  t[n] = '\n';
  t[n + 1] = '\0';
  struct MHD_Response *resp = MHD_create_response_from_buffer(n + 1, t, MHD_RESPMEM_MUST_FREE);
  if (resp == NULL) free(t);
  return resp;
}

/* A streamed body: libmicrohttpd calls the reply's reader in the connection's thread (the
 * server runs a thread per connection, so the reader may block) and frees it at the end. */
struct stream {
  ssize_t (*read)(void *cls, char *buf, size_t max);
  void (*free)(void *cls);
  void *cls;
};

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  struct stream *s = cls;
  ssize_t n = s->read(s->cls, buf, max);
  return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls) {
  struct stream *s = cls;
  s->free(s->cls);
  free(s);
}

static struct MHD_Response *stream_response(struct blok__reply *r) {
  struct stream *s = malloc(sizeof *s);
  if (s == NULL) return NULL;
  *s = (struct stream){r->stream_read, r->stream_free, r->stream_cls};
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, s, stream_free);
  if (resp == NULL) {
    free(s);
    return NULL;
  }
  r->stream_read = NULL; /* the response owns it now */
  r->stream_free = NULL;
  r->stream_cls = NULL;
  return resp;
}

/* Turns the reply into a response and queues it; the reply keeps nothing afterwards. */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct blok__reply *r, bool close) {
  struct MHD_Response *resp = NULL;
  const char *type = r->content_type;
  if (r->stream_read != NULL) {
    resp = stream_response(r);
  } else if (r->file_fd >= 0) {
    resp = MHD_create_response_from_fd((size_t)r->file_size, r->file_fd);
    if (resp != NULL) r->file_fd = -1; /* libmicrohttpd closes it */
  } else if (r->text != NULL) {
    resp = MHD_create_response_from_buffer(r->text_len, r->text, MHD_RESPMEM_MUST_FREE);
    if (resp != NULL) r->text = NULL;
  } else {
    resp = json_response(r->json);
    type = "application/json";
  }
  if (resp == NULL) {
    blok__reply_release(r);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (r->json != NULL || (type != NULL && strcmp(type, "application/json") == 0)) /* answers */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (r->allow != NULL) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
  if (r->retry_after_s > 0) {
    char s[16];
    snprintf(s, sizeof s, "%u", r->retry_after_s);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, s);
  }
  if (close) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
  MHD_destroy_response(resp);
  blok__reply_release(r);
  return ret;
}

/* --- the access handler ------------------------------------------------------------------ */

/* Counts n more body bytes against the limit on all bodies held at once. */
static bool reserve_body(struct blok_api *a, struct request *rq, size_t n) {
  size_t held = atomic_fetch_add(&a->body_bytes_inflight, n) + n;
  rq->reserved += n;
  return held <= BLOK__API_BODY_BYTES_INFLIGHT_MAX;
}

/* The first call: route, and refuse what needs no body. A declared body is checked against the
 * route's limit and counted against the limit on all bodies at once before a byte of it is
 * read. */
static enum MHD_Result on_first(struct blok_api *a, struct MHD_Connection *c, struct request *rq,
                                const char *url, const char *method) {
  struct blok__reply r;
  blok__reply_init(&r);
  if (route_request(a, rq, url, method, &r)) {
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t declared = 0;
    size_t cap = body_cap(a, rq->route);
    blok_buf_init(&rq->body, cap);
    if (cl != NULL && (!blok__parse_u64(cl, &declared) || declared > cap)) {
      blok__reply_error(&r, 413, BLOK_ETOOLONG, "body: at most %zu bytes on this route", cap);
    } else if (!reserve_body(a, rq, (size_t)declared)) {
      r.retry_after_s = 1;
      blok__reply_error(&r, 503, BLOK_EFULL,
                        "body: the server holds too many request bodies; retry later");
    } else {
      return MHD_YES;
    }
  }
  rq->replied = true;
  return send_reply(c, &r, true);
}

/*
 * Takes a piece of the body. A body without a declared length (chunked) that passes the
 * route's limit, or the limit on all bodies, is cut off: the connection is closed at once.
 * (libmicrohttpd 0.9.75 cannot queue a reply before the whole request has arrived, so the
 * choice is between closing and reading on; a declared length gets its 413 before the body.)
 */
static bool take_body(struct blok_api *a, struct request *rq, const char *data, size_t n) {
  if (n > rq->body.size_bytes_max - rq->body.len) return false;
  if (rq->body.len + n > rq->reserved && !reserve_body(a, rq, rq->body.len + n - rq->reserved))
    return false;
  return blok_buf_append(&rq->body, data, n) == BLOK_OK;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  (void)version;
  struct blok_api *a = cls;
  struct request *rq = *con_cls;
  if (rq == NULL) {
    if ((rq = calloc(1, sizeof *rq)) == NULL) return MHD_NO;
    rq->start_us = now_us();
    *con_cls = rq;
    return on_first(a, c, rq, url, method);
  }
  if (rq->replied) {
    /* Refused already: the rest of the body is not wanted; close rather than read it. */
    return *upload_size > 0 ? MHD_NO : MHD_YES;
  }
  if (*upload_size > 0) {
    if (!take_body(a, rq, upload, *upload_size)) return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }
  struct blok__reply r;
  blok__reply_init(&r);
  dispatch(a, c, rq, &r);
  return send_reply(c, &r, false);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)c;
  (void)toe;
  struct blok_api *a = cls;
  struct request *rq = *con_cls;
  if (rq == NULL) return;
  uint64_t now = now_us();
  blok_metrics_request(a->d.metrics, now > rq->start_us ? now - rq->start_us : 0);
  atomic_fetch_sub(&a->body_bytes_inflight, rq->reserved);
  blok_buf_release(&rq->body);
  free(rq);
  *con_cls = NULL;
}

/* --- start and stop ---------------------------------------------------------------------- */

union addr {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
};

/* The listening address; *loopback when only this machine can reach it. */
static enum blok_err parse_host(const char *host, uint16_t port, union addr *ad, bool *v6,
                                bool *loopback, struct blok_why *why) {
  memset(ad, 0, sizeof *ad);
  if (inet_pton(AF_INET, host, &ad->in4.sin_addr) == 1) {
    ad->in4.sin_family = AF_INET;
    ad->in4.sin_port = htons(port);
    *v6 = false;
    *loopback = (ntohl(ad->in4.sin_addr.s_addr) >> 24) == 127;
    return BLOK_OK;
  }
  if (inet_pton(AF_INET6, host, &ad->in6.sin6_addr) == 1) {
    ad->in6.sin6_family = AF_INET6;
    ad->in6.sin6_port = htons(port);
    *v6 = true;
    *loopback = IN6_IS_ADDR_LOOPBACK(&ad->in6.sin6_addr);
    return BLOK_OK;
  }
  return blok_refuse(why, BLOK_EINVAL, "host: %.64s is not an ip address", host);
}

static enum blok_err copy_opts(struct blok_api *a, const struct blok_api_opts *o,
                               struct blok_why *why) {
  a->o = *o;
  if (o->host == NULL || strlen(o->host) >= sizeof a->host)
    return blok_refuse(why, BLOK_EINVAL, "host: an ip address is required");
  memcpy(a->host, o->host, strlen(o->host) + 1);
  a->o.host = a->host;
  if (o->web_dir != NULL && (a->web_dir = strdup(o->web_dir)) == NULL) return BLOK_ENOMEM;
  a->o.web_dir = a->web_dir;
  if (a->o.body_bytes_max == 0) a->o.body_bytes_max = BLOK__API_BODY_BYTES_DEFAULT;
  if (a->o.connections_max == 0) a->o.connections_max = BLOK__API_CONNECTIONS_DEFAULT;
  if (a->o.wait_ms_default == 0) a->o.wait_ms_default = BLOK__API_WAIT_MS_DEFAULT;
  if (a->o.wait_ms_max == 0) a->o.wait_ms_max = BLOK__API_WAIT_MS_MAX_DEFAULT;
  if (a->o.wait_ms_default > a->o.wait_ms_max) a->o.wait_ms_default = a->o.wait_ms_max;
  return BLOK_OK;
}

static enum blok_err start_daemon(struct blok_api *a, struct blok_why *why) {
  union addr ad;
  bool v6 = false, loopback = false;
  BLOK_TRY(parse_host(a->host, a->o.port, &ad, &v6, &loopback, why));
  unsigned per_ip = a->o.connections_max / 4 > 16 ? a->o.connections_max / 4 : 16;
  if (loopback || per_ip > a->o.connections_max) per_ip = a->o.connections_max;
  unsigned flags = (unsigned)MHD_USE_THREAD_PER_CONNECTION |
                   (unsigned)MHD_USE_INTERNAL_POLLING_THREAD | (unsigned)MHD_USE_AUTO |
                   (v6 ? (unsigned)MHD_USE_IPv6 : 0u);
  errno = 0;
  a->daemon = MHD_start_daemon(flags, a->o.port, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR,
                               &ad.sa, MHD_OPTION_CONNECTION_LIMIT, a->o.connections_max,
                               MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                               MHD_OPTION_CONNECTION_TIMEOUT, BLOK__API_CONNECTION_TIMEOUT_S,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_END);
  if (a->daemon == NULL)
    return blok_refuse(why, BLOK_EIO, "cannot listen on %s port %u: %s", a->host,
                       (unsigned)a->o.port,
                       errno ? strerror(errno) : "address in use or not available");
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
  a->port = info != NULL ? info->port : a->o.port;
  return BLOK_OK;
}

enum blok_err blok_api_start(struct blok_api **out, const struct blok_api_opts *o,
                             const struct blok_api_deps *d, struct blok_why *why) {
  *out = NULL;
  if (d->ledger == NULL || d->mempool == NULL || d->notify == NULL)
    return blok_refuse(why, BLOK_EINVAL, "api: a ledger, a mempool and a notifier are required");
  struct blok_api *a = calloc(1, sizeof *a);
  if (a == NULL) return BLOK_ENOMEM;
  a->d = *d;
  blok_metrics_init(&a->own_metrics);
  if (a->d.metrics == NULL) a->d.metrics = &a->own_metrics;
  atomic_init(&a->stopping, false);
  atomic_init(&a->body_bytes_inflight, 0);
  atomic_init(&a->sse_clients, 0);
  blok__vehicles_init(a);
  enum blok_err rc = copy_opts(a, o, why);
  if (rc == BLOK_OK) rc = start_daemon(a, why);
  if (rc != BLOK_OK) {
    blok__vehicles_release(a);
    free(a->web_dir);
    free(a);
    return rc;
  }
  *out = a;
  return BLOK_OK;
}

uint16_t blok_api_port(const struct blok_api *a) {
  return a->port;
}

void blok_api_stop(struct blok_api *a) {
  if (a == NULL) return;
  /* Waiting requests see the flag within BLOK__API_WAIT_SLICE_MS and answer 503; then
   * libmicrohttpd closes the connections and joins their threads. */
  atomic_store(&a->stopping, true);
  MHD_stop_daemon(a->daemon);
  blok__vehicles_release(a);
  free(a->web_dir);
  free(a);
}
