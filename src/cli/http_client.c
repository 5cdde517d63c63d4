/*
 * HTTP requests for the command line (http_client.h), through libcurl's easy interface.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "blok/banned.h"

const char *blok__cli_node_url(const char *flag) {
  if (flag) return flag;
  const char *env = getenv("BLOKAUTO_NODE");
  return env && env[0] ? env : "http://127.0.0.1:8080";
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx) {
  struct blok_buf *b = ctx;
  /* A refusal here makes curl stop with CURLE_WRITE_ERROR: the response was too large. */
  return blok_buf_append(b, p, size * n) == BLOK_OK ? size * n : 0;
}

enum blok_err blok__http(const char *node, const char *path, const char *body, long *status,
                         struct blok_buf *response) {
  char url[BLOK_CLI_URL_MAX];
  int n = snprintf(url, sizeof url, "%s%s", node, path);
  if (n < 0 || (size_t)n >= sizeof url) return BLOK_ETOOLONG;
  CURL *c = curl_easy_init();
  if (c == NULL) return BLOK_ENOMEM;
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, response);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 75000L); /* above the API's longest wait */
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (rc == CURLE_WRITE_ERROR) {
    fprintf(stderr, "blokauto: %s: response larger than %zu bytes\n", url,
            response->size_bytes_max);
    return BLOK_ETOOLONG;
  }
  if (rc != CURLE_OK) {
    fprintf(stderr, "blokauto: %s: %s (is the node running? set --node or BLOKAUTO_NODE)\n", url,
            curl_easy_strerror(rc));
    return BLOK_EIO;
  }
  return BLOK_OK;
}
