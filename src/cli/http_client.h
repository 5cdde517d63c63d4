/*
 * The command line's HTTP client (libcurl): one request, the response body into a bounded
 * buffer, the status code out.
 */
#ifndef BLOK_CLI_HTTP_CLIENT_H
#define BLOK_CLI_HTTP_CLIENT_H

#include "blok/buf.h"

#define BLOK_CLI_RESPONSE_MAX ((size_t)32 << 20)
#define BLOK_CLI_URL_MAX      2048

/* The node URL: --node, else $BLOKAUTO_NODE, else http://127.0.0.1:8080. */
const char *blok__cli_node_url(const char *flag);
/* GET (body NULL) or POST (JSON body) to node + path. BLOK_EIO with a message printed to
 * stderr when the node cannot be reached; otherwise BLOK_OK with *status and the body. */
BLOK_WUR enum blok_err blok__http(const char *node, const char *path, const char *body,
                                  long *status, struct blok_buf *response);

#endif
