/*
 * libFuzzer target for the parts module's payload decoders (docs/PROTOCOL.md, "Parts"), which
 * see every byte a client sends in a parts transaction. The same input goes to every parts kind's
 * stateless check, found through the registry as the node finds it. Whatever a check accepts must
 * have a JSON form, and that form must encode back to exactly the same bytes, both as the object
 * to_json gives and after a trip through JSON text (the encoding is canonical, so there is one
 * payload per JSON document). A refusal leaves a reason that fits its buffer.
 *
 * The same input is also the state a vehicle's open-recall walk reads (the walk a report
 * verifier runs on the values of a bundle): each read takes a u16 length from the input, 0 for
 * a value that is absent, and then that many bytes less one. Whatever the values, the walk
 * ends with an answer or an error and a reason, and never reads outside what it was given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blok/modules.h"
#include "blok/parts.h"
#include "blok/banned.h"

/* abort() rather than BLOK_ASSERT: a broken promise here is the finding, not our bug. */
#define CHECK(expr, type)                                                                          \
  do {                                                                                             \
    if (!(expr)) {                                                                                 \
      fprintf(stderr, "fuzz_parts: %s: check failed: %s (line %d)\n", type, #expr, __LINE__);      \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct blok_registry reg;
static const struct blok_module *parts;

/* from_json of j gives exactly data. */
static void same_bytes(const struct blok_tx_kind *k, const json_t *j, const uint8_t *data,
                       size_t size) {
  struct blok_buf out;
  struct blok_why why = {{0}};
  blok_buf_init(&out, BLOK_TX_PAYLOAD_MAX);
  enum blok_err rc = blok_kind_from_json(k, j, &out, &why);
  if (rc != BLOK_OK) fprintf(stderr, "fuzz_parts: %s: from_json: %s\n", k->type, why.msg);
  CHECK(rc == BLOK_OK, k->type);
  CHECK(out.len == size, k->type);
  CHECK(size == 0 || memcmp(out.data, data, size) == 0, k->type);
  blok_buf_release(&out);
}

static void one_kind(const struct blok_tx_kind *k, const uint8_t *data, size_t size) {
  struct blok_why why = {{0}};
  enum blok_err rc = blok_kind_check(k, data, size, &why);
  CHECK(memchr(why.msg, 0, sizeof why.msg) != NULL, k->type);
  if (rc != BLOK_OK) return;
  json_t *j = blok_kind_to_json(k, data, size);
  CHECK(j != NULL && json_is_object(j), k->type);
  same_bytes(k, j, data, size);
  char *text = json_dumps(j, JSON_COMPACT);
  CHECK(text != NULL, k->type);
  json_error_t err;
  json_t *back = json_loads(text, 0, &err);
  CHECK(back != NULL, k->type);
  same_bytes(k, back, data, size);
  json_decref(back);
  free(text);
  json_decref(j);
}

struct feed {
  const uint8_t *p;
  size_t left;
};

static enum blok_err feed_get(void *ctx, const uint8_t *key, size_t key_len, bool *found,
                              const uint8_t **val, size_t *val_len, struct blok_why *why) {
  struct feed *f = ctx;
  (void)why;
  CHECK(key != NULL && key_len > 0 && key_len <= BLOK_STATE_KEY_MAX, "walk");
  *found = false;
  if (f->left < 2) return BLOK_OK;
  size_t n = (size_t)f->p[0] | (size_t)f->p[1] << 8;
  f->p += 2;
  f->left -= 2;
  if (n == 0) return BLOK_OK;
  n = n - 1 < f->left ? n - 1 : f->left;
  *found = true;
  *val = f->p;
  *val_len = n;
  f->p += n;
  f->left -= n;
  return BLOK_OK;
}

static void walk(const uint8_t *data, size_t size) {
  static struct blok_parts_open_recall out[BLOK_PARTS_RECALLS_MAX];
  struct feed f = {data, size};
  struct blok_parts_state s = {.ctx = &f, .get = feed_get};
  struct blok_why why = {{0}};
  size_t n = 0;
  enum blok_err rc = blok_parts_vehicle_recalls(&s, "1HGCM82633A004352", "Roadster", 2022, out,
                                                BLOK_PARTS_RECALLS_MAX, &n, &why);
  CHECK(memchr(why.msg, 0, sizeof why.msg) != NULL, "walk");
  CHECK(rc == BLOK_OK || n == 0, "walk");
  for (size_t i = 0; i < n; i++)
    CHECK(out[i].depth <= BLOK_PARTS_DEPTH_MAX && out[i].recall[0] != '\0', "walk");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (parts == NULL) {
    blok_modules_default(&reg);
    parts = blok_registry_module(&reg, BLOK_PARTS_MODULE);
    CHECK(parts != NULL && parts->kind_count > 0, "registry");
  }
  if (size > BLOK_TX_PAYLOAD_MAX) return 0;
  for (size_t i = 0; i < parts->kind_count; i++) {
    const struct blok_tx_kind *k =
        blok_registry_kind(&reg, BLOK_PARTS_MODULE, parts->kinds[i].type, NULL);
    CHECK(k != NULL, parts->kinds[i].type);
    one_kind(k, data, size);
  }
  walk(data, size);
  return 0;
}
