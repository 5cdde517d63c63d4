/*
 * `blokauto parts`: read the parts module's queries from a node (docs/API.md, "Parts").
 *
 *   parts part SERIAL            where a part is, its batch, holder and flags
 *   parts history SERIAL         its custody, condition readings, installs (paged)
 *   parts batch ID               a batch, its inputs and outputs, its sourcing status
 *   parts recall ID              a recall, its counts and its reach (paged)
 *   parts vehicle VIN            a vehicle's bill of materials and open recalls (paged)
 *
 * Pages take --cursor HEX (the previous page's next_cursor) and --limit N (1..1000). The parts
 * transactions themselves are signed and sent with `blokauto tx` like every other kind.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "blok/buf.h"
#include "blok/parts.h"
#include "blok/vin.h"
#include "cli_internal.h"
#include "http_client.h"
#include "blok/banned.h"

static int usage(FILE *out, int code) {
  fprintf(out, "usage: blokauto parts part|history|batch|recall|vehicle ID [--cursor HEX] "
               "[--limit N] [--node URL]\n");
  return code;
}

/* An id for a URL path: the characters parts ids are made of, so nothing needs escaping. */
static bool plain(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > BLOK_PARTS_SERIAL_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}

static bool hex_or_digits(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > max) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

static int show(const char *node, const char *path) {
  struct blok_buf b;
  long status = 0;
  int code = BLOK_EXIT_FAIL;
  blok_buf_init(&b, BLOK_CLI_RESPONSE_MAX);
  if (blok__http(node, path, NULL, &status, &b) == BLOK_OK) {
    json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    printf("%s\n", text ? text : "");
    free(text);
    json_decref(j);
    code = status >= 200 && status < 300 ? BLOK_EXIT_OK : BLOK_EXIT_FAIL;
  }
  blok_buf_release(&b);
  return code;
}

/* The URL path of a query; false when the id does not fit the query. */
static bool parts_path(char *out, size_t cap, const char *what, const char *id) {
  struct blok_vin v;
  int w = -1;
  if (strcmp(what, "vehicle") == 0) {
    if (blok_vin_parse(&v, NULL, id, strlen(id)) != BLOK_OK) return false;
    w = snprintf(out, cap, "/v1/vehicles/%s/parts", v.vin);
  } else if (!plain(id)) {
    return false;
  } else if (strcmp(what, "part") == 0) {
    w = snprintf(out, cap, "/v1/parts/%s", id);
  } else if (strcmp(what, "history") == 0) {
    w = snprintf(out, cap, "/v1/parts/%s/history", id);
  } else if (strcmp(what, "batch") == 0) {
    w = snprintf(out, cap, "/v1/batches/%s", id);
  } else if (strcmp(what, "recall") == 0) {
    w = snprintf(out, cap, "/v1/recalls/%s", id);
  }
  return w > 0 && (size_t)w < cap;
}

int blok__cmd_parts(int argc, char **argv) {
  const char *node = NULL, *pos[2] = {NULL}, *cursor = NULL, *limit = NULL;
  size_t npos = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) return usage(stdout, BLOK_EXIT_OK);
    if (strcmp(argv[i], "--cursor") == 0 && i + 1 < argc &&
        hex_or_digits(argv[i + 1], 2 * BLOK_PARTS_CURSOR_MAX))
      cursor = argv[++i];
    else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc && hex_or_digits(argv[i + 1], 4))
      limit = argv[++i];
    else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
      node = argv[++i];
    else if (npos < 2 && argv[i][0] != '-')
      pos[npos++] = argv[i];
    else
      return usage(stderr, BLOK_EXIT_USAGE);
  }
  char path[BLOK_CLI_URL_MAX];
  if (npos != 2 || !parts_path(path, sizeof path - 600, pos[0], pos[1]))
    return usage(stderr, BLOK_EXIT_USAGE);
  size_t n = strlen(path);
  snprintf(path + n, sizeof path - n, "%s%s%s%s%s", cursor || limit ? "?" : "",
           cursor ? "cursor=" : "", cursor ? cursor : "", cursor && limit ? "&" : "",
           limit ? "limit=" : "");
  n = strlen(path);
  if (limit) snprintf(path + n, sizeof path - n, "%s", limit);
  return show(blok__cli_node_url(node), path);
}
