/*
 * Commands that talk to a node: `tx sign`, `tx submit`, `get tx|block|state|vehicle|history`,
 * `status` (docs/API.md). Signing happens here, with the key file on this machine; the node only
 * ever sees signed transactions.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "http_client.h"
#include "blok/hex.h"
#include "blok/jsonfile.h"
#include "blok/keyfile.h"
#include "blok/modules.h"
#include "blok/vin.h"
#include "blok/banned.h"

#define PAYLOAD_JSON_MAX ((size_t)1 << 20)

struct tx_args {
  const char *key, *kind, *payload, *payload_file, *chain_id, *node, *hex;
  uint64_t nonce, expiry;
  bool has_nonce, has_expiry, wait;
};

static int tx_usage(FILE *out, int code) {
  fprintf(
      out,
      "usage: blokauto tx sign   --key FILE --kind MODULE/TYPE (--payload JSON | --payload-file "
      "FILE)\n"
      "                          [--nonce N] [--expiry-height H] [--chain-id ID] [--node URL]\n"
      "       blokauto tx submit [--wait] (--hex HEX | the options of tx sign)\n\n"
      "sign prints {\"id\", \"hex\", \"tx\"}; the nonce, chain id and expiry (head + 1000) come\n"
      "from the node when not given. submit posts to the node and prints its answer; with\n"
      "--wait it waits for the block (exit 0 when committed and applied).\n"
      "The node is --node, else $BLOKAUTO_NODE, else http://127.0.0.1:8080.\n");
  return code;
}

static bool parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  if (!isdigit((unsigned char)s[0])) return false;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

/* -1 when the command should go on; otherwise the exit status (help printed, usage error). */
static int parse_tx_args(int argc, char **argv, struct tx_args *a) {
  memset(a, 0, sizeof *a);
  for (int i = 2; i < argc; i++) {
    const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(f, "--help") == 0) return tx_usage(stdout, BLOK_EXIT_OK);
    if (strcmp(f, "--wait") == 0) {
      a->wait = true;
      continue;
    }
    if (v == NULL || strlen(v) > PAYLOAD_JSON_MAX) goto bad;
    i++;
    if (strcmp(f, "--key") == 0)
      a->key = v;
    else if (strcmp(f, "--kind") == 0)
      a->kind = v;
    else if (strcmp(f, "--payload") == 0)
      a->payload = v;
    else if (strcmp(f, "--payload-file") == 0)
      a->payload_file = v;
    else if (strcmp(f, "--chain-id") == 0)
      a->chain_id = v;
    else if (strcmp(f, "--node") == 0)
      a->node = v;
    else if (strcmp(f, "--hex") == 0)
      a->hex = v;
    else if (strcmp(f, "--nonce") == 0 && parse_u64(v, &a->nonce))
      a->has_nonce = true;
    else if (strcmp(f, "--expiry-height") == 0 && parse_u64(v, &a->expiry))
      a->has_expiry = true;
    else
      goto bad;
    continue;
  bad:
    fprintf(stderr, "blokauto tx: bad or incomplete option '%s'\n", f);
    return BLOK_EXIT_USAGE;
  }
  return -1;
}

/* GET path from the node as a JSON object; NULL (and a message) on failure. */
static json_t *get_json(const char *node, const char *path) {
  struct blok_buf b;
  long status = 0;
  blok_buf_init(&b, BLOK_CLI_RESPONSE_MAX);
  json_t *j = NULL;
  if (blok__http(node, path, NULL, &status, &b) == BLOK_OK) {
    j = json_loadb((const char *)b.data, b.len, 0, NULL);
    if (status != 200 || !json_is_object(j)) {
      fprintf(stderr, "blokauto: %s%s: status %ld: %.*s\n", node, path, status, (int)b.len,
              (const char *)b.data);
      json_decref(j);
      j = NULL;
    }
  }
  blok_buf_release(&b);
  return j;
}

/* Fills in chain id, nonce and expiry from the node where the arguments did not. */
static int complete_from_node(struct tx_args *a, struct blok_tx *tx) {
  const char *node = blok__cli_node_url(a->node);
  if (!a->chain_id || !a->has_expiry) {
    json_t *st = get_json(node, "/v1/status");
    if (st == NULL) return BLOK_EXIT_FAIL;
    const char *cid = json_string_value(json_object_get(st, "chain_id"));
    json_int_t h = json_integer_value(json_object_get(st, "height"));
    if (!a->chain_id && cid) snprintf(tx->chain_id, sizeof tx->chain_id, "%s", cid);
    if (!a->has_expiry) tx->expiry_height = (uint64_t)h + 1000;
    json_decref(st);
  }
  if (!a->has_nonce) {
    char path[128], pk[65];
    blok_hex_encode(pk, sizeof pk, tx->sender, 32);
    snprintf(path, sizeof path, "/v1/nonce/%s", pk);
    json_t *nj = get_json(node, path);
    if (nj == NULL) return BLOK_EXIT_FAIL;
    tx->nonce = (uint64_t)json_integer_value(json_object_get(nj, "next_nonce"));
    json_decref(nj);
  }
  return -1;
}

static json_t *load_payload(const struct tx_args *a) {
  json_t *j = NULL;
  if (a->payload_file) {
    struct blok_why why = {{0}};
    if (blok_json_load_file(a->payload_file, PAYLOAD_JSON_MAX, 0, &j, &why) != BLOK_OK)
      fprintf(stderr, "blokauto tx: payload: %s\n", why.msg);
    return j;
  }
  json_error_t err;
  j = json_loads(a->payload ? a->payload : "", 0, &err);
  if (j == NULL) fprintf(stderr, "blokauto tx: payload: %s (line %d)\n", err.text, err.line);
  return j;
}

/* Builds and signs the transaction described by the arguments into out. */
static int sign(struct tx_args *a, struct blok_tx *tx, struct blok_buf *payload,
                struct blok_buf *out, const struct blok_tx_kind **kind) {
  static struct blok_registry reg;
  blok_modules_default(&reg);
  char module[BLOK_TX_NAME_MAX + 1] = {0};
  const char *slash = a->kind ? strchr(a->kind, '/') : NULL;
  if (!a->key || !slash || (size_t)(slash - a->kind) > BLOK_TX_NAME_MAX ||
      (!a->payload && !a->payload_file))
    return tx_usage(stderr, BLOK_EXIT_USAGE);
  memcpy(module, a->kind, (size_t)(slash - a->kind));
  *kind = blok_registry_kind(&reg, module, slash + 1, NULL);
  if (*kind == NULL) {
    fprintf(stderr, "blokauto tx: no transaction kind %s\n", a->kind);
    return BLOK_EXIT_USAGE;
  }
  json_t *pj = load_payload(a);
  if (pj == NULL) return BLOK_EXIT_USAGE;
  struct blok_why why = {{0}};
  enum blok_err rc = blok_kind_from_json((*kind), pj, payload, &why);
  json_decref(pj);
  if (rc != BLOK_OK) {
    fprintf(stderr, "blokauto tx: %s\n", why.msg[0] ? why.msg : blok_strerror(rc));
    return BLOK_EXIT_USAGE;
  }
  struct blok_sign_keypair kp;
  rc = blok_keyfile_read(&kp, a->key);
  if (rc != BLOK_OK) {
    fprintf(stderr, "blokauto tx: %s: %s\n", a->key, blok_strerror(rc));
    return BLOK_EXIT_FAIL;
  }
  memset(tx, 0, sizeof *tx);
  tx->version = BLOK_TX_VERSION;
  memcpy(tx->module, module, sizeof module);
  snprintf(tx->type, sizeof tx->type, "%s", slash + 1);
  memcpy(tx->sender, kp.pk, 32);
  if (a->chain_id) snprintf(tx->chain_id, sizeof tx->chain_id, "%s", a->chain_id);
  tx->nonce = a->nonce;
  tx->expiry_height = a->expiry;
  tx->payload = payload->data;
  tx->payload_len = payload->len;
  int code = complete_from_node(a, tx);
  if (code < 0) {
    rc = blok_tx_sign(tx, &kp, out);
    if (rc != BLOK_OK) fprintf(stderr, "blokauto tx: sign: %s\n", blok_strerror(rc));
    code = rc == BLOK_OK ? -1 : BLOK_EXIT_FAIL;
  }
  blok_sign_keypair_clear(&kp);
  return code;
}

static json_t *signed_json(const struct blok_tx *tx, const struct blok_tx_kind *kind,
                           const struct blok_buf *raw) {
  char id[65], sender[65], sig[129];
  char *hex = malloc(BLOK_HEX_LEN(raw->len));
  if (hex == NULL) return NULL;
  blok_hex_encode(id, sizeof id, tx->id, 32);
  blok_hex_encode(sender, sizeof sender, tx->sender, 32);
  blok_hex_encode(sig, sizeof sig, tx->sig, 64);
  blok_hex_encode(hex, BLOK_HEX_LEN(raw->len), raw->data, raw->len);
  json_t *j = json_pack(
      "{s:s, s:s, s:{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:s}}", "id", id, "hex", hex, "tx",
      "version", 1, "chain_id", tx->chain_id, "module", tx->module, "type", tx->type, "sender",
      sender, "nonce", (json_int_t)tx->nonce, "expiry_height", (json_int_t)tx->expiry_height,
      "payload", blok_kind_to_json(kind, tx->payload, tx->payload_len), "signature", sig);
  free(hex);
  return j;
}

static void print_json(json_t *j) {
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s) printf("%s\n", s);
  free(s);
}

/* Prints a node's answer, pretty when it is JSON; exit 0 for 2xx. */
static int print_answer(long status, const struct blok_buf *b) {
  json_t *j = json_loadb((const char *)b->data, b->len, 0, NULL);
  if (j) {
    print_json(j);
    json_decref(j);
  } else {
    printf("%.*s\n", (int)b->len, (const char *)b->data);
  }
  return status >= 200 && status < 300 ? BLOK_EXIT_OK : BLOK_EXIT_FAIL;
}

static int submit(struct tx_args *a, const char *hex) {
  json_t *body = json_pack("{s:s}", "hex", hex);
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  struct blok_buf b;
  long status = 0;
  blok_buf_init(&b, BLOK_CLI_RESPONSE_MAX);
  int code = BLOK_EXIT_FAIL;
  const char *path = a->wait ? "/v1/tx?wait=commit" : "/v1/tx";
  if (text && blok__http(blok__cli_node_url(a->node), path, text, &status, &b) == BLOK_OK) {
    code = print_answer(status, &b);
    json_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
    const char *res = json_string_value(json_object_get(json_object_get(j, "result"), "code"));
    if (code == BLOK_EXIT_OK && a->wait && res && strcmp(res, "BLOK_OK") != 0)
      code = BLOK_EXIT_FAIL; /* committed, but refused by its module */
    json_decref(j);
  }
  free(text);
  blok_buf_release(&b);
  return code;
}

int blok__cmd_tx(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0)
    return tx_usage(argc < 2 ? stderr : stdout, argc < 2 ? BLOK_EXIT_USAGE : BLOK_EXIT_OK);
  bool is_sign = strcmp(argv[1], "sign") == 0, is_submit = strcmp(argv[1], "submit") == 0;
  if (!is_sign && !is_submit) return tx_usage(stderr, BLOK_EXIT_USAGE);
  struct tx_args a;
  int code = parse_tx_args(argc, argv, &a); /* -1: go on; otherwise the exit status */
  if (code >= 0) return code;
  if (is_submit && a.hex) return submit(&a, a.hex);
  struct blok_tx tx;
  struct blok_buf payload, raw;
  const struct blok_tx_kind *kind;
  blok_buf_init(&payload, BLOK_TX_PAYLOAD_MAX);
  blok_buf_init(&raw, BLOK_TX_ENCODED_MAX);
  code = sign(&a, &tx, &payload, &raw, &kind);
  if (code < 0) {
    json_t *j = signed_json(&tx, kind, &raw);
    if (is_sign) {
      print_json(j);
      code = BLOK_EXIT_OK;
    } else {
      code = submit(&a, json_string_value(json_object_get(j, "hex")));
    }
    json_decref(j);
  }
  blok_buf_release(&payload);
  blok_buf_release(&raw);
  return code;
}

/* --- get and status ----------------------------------------------------------------------- */

static int get_usage(FILE *out, int code) {
  fprintf(out, "usage: blokauto get tx ID [--node URL]\n"
               "       blokauto get block HEIGHT|latest [--node URL]\n"
               "       blokauto get state MODULE KEY [--proof] [--node URL]\n"
               "       blokauto get vehicle VIN [--node URL]\n"
               "       blokauto get history VIN [--cursor N] [--limit N] [--desc] [--node URL]\n"
               "       blokauto status [--node URL]\n");
  return code;
}

static int fetch(const char *node, const char *path) {
  struct blok_buf b;
  long status = 0;
  blok_buf_init(&b, BLOK_CLI_RESPONSE_MAX);
  int code = blok__http(node, path, NULL, &status, &b) == BLOK_OK ? print_answer(status, &b)
                                                                  : BLOK_EXIT_FAIL;
  blok_buf_release(&b);
  return code;
}

/* Percent-encodes a state key for a URL, keeping '/' (keys such as member/NAME). */
static int encode_key(char *out, size_t cap, const char *key) {
  size_t n = 0;
  for (const char *p = key; *p; p++) {
    unsigned char c = (unsigned char)*p;
    bool plain = isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~';
    int w = plain ? snprintf(out + n, cap - n, "%c", c) : snprintf(out + n, cap - n, "%%%02X", c);
    if (w < 0 || (size_t)w >= cap - n) return -1;
    n += (size_t)w;
  }
  return 0;
}

/* The path of `get vehicle VIN` or `get history VIN ...`; false when the VIN is not one. */
static bool vehicle_path(char *path, size_t cap, const char *what, const char *vin_text,
                         const char *cursor, const char *limit, bool desc) {
  struct blok_vin vin;
  if (blok_vin_parse(&vin, NULL, vin_text, strlen(vin_text)) != BLOK_OK) return false;
  if (strcmp(what, "vehicle") == 0) {
    snprintf(path, cap, "/v1/vehicles/%s", vin.vin);
    return true;
  }
  snprintf(path, cap, "/v1/vehicles/%s/history?order=%s%s%s%s%s", vin.vin, desc ? "desc" : "asc",
           cursor ? "&cursor=" : "", cursor ? cursor : "", limit ? "&limit=" : "",
           limit ? limit : "");
  return true;
}

int blok__cmd_get(int argc, char **argv) {
  const char *node = NULL, *pos[3] = {NULL}, *cursor = NULL, *limit = NULL;
  size_t npos = 0;
  bool proof = false, desc = false;
  uint64_t num;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) return get_usage(stdout, BLOK_EXIT_OK);
    if (strcmp(argv[i], "--proof") == 0)
      proof = true;
    else if (strcmp(argv[i], "--desc") == 0)
      desc = true;
    else if (strcmp(argv[i], "--cursor") == 0 && i + 1 < argc && strlen(argv[i + 1]) <= 20 &&
             parse_u64(argv[i + 1], &num))
      cursor = argv[++i];
    else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc && strlen(argv[i + 1]) <= 20 &&
             parse_u64(argv[i + 1], &num))
      limit = argv[++i];
    else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
      node = argv[++i];
    else if (npos < 3 && strlen(argv[i]) < 512)
      pos[npos++] = argv[i];
    else
      return get_usage(stderr, BLOK_EXIT_USAGE);
  }
  node = blok__cli_node_url(node);
  char path[BLOK_CLI_URL_MAX], key[1600];
  uint8_t id[32];
  uint64_t h;
  if (npos == 2 && strcmp(pos[0], "tx") == 0 &&
      blok_hex_decode_exact(id, 32, pos[1], strlen(pos[1])) == BLOK_OK) {
    snprintf(path, sizeof path, "/v1/tx/%s", pos[1]);
  } else if (npos == 2 && strcmp(pos[0], "block") == 0 &&
             (strcmp(pos[1], "latest") == 0 || parse_u64(pos[1], &h))) {
    snprintf(path, sizeof path, "/v1/blocks/%s", pos[1]);
  } else if (npos == 2 && (strcmp(pos[0], "vehicle") == 0 || strcmp(pos[0], "history") == 0) &&
             vehicle_path(path, sizeof path, pos[0], pos[1], cursor, limit, desc)) {
    /* path set */
  } else if (npos == 3 && strcmp(pos[0], "state") == 0 && blok_tx_name_valid(pos[1]) &&
             encode_key(key, sizeof key, pos[2]) == 0) {
    snprintf(path, sizeof path, "/v1/state/%s/%s%s", pos[1], key, proof ? "?proof=1" : "");
  } else {
    return get_usage(stderr, BLOK_EXIT_USAGE);
  }
  return fetch(node, path);
}

int blok__cmd_status(int argc, char **argv) {
  const char *node = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
      node = argv[++i];
    else
      return get_usage(strcmp(argv[i], "--help") ? stderr : stdout,
                       strcmp(argv[i], "--help") ? BLOK_EXIT_USAGE : BLOK_EXIT_OK);
  }
  return fetch(blok__cli_node_url(node), "/v1/status");
}
