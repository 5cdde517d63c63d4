/*
 * Fuzz target for the codec reader. The input is read as a small self-describing record
 * (a schema byte per field picks the type) so that every reader function sees arbitrary
 * bytes. Whatever decodes must re-encode to exactly the bytes it came from: the encoding
 * is canonical, so decode followed by encode is the identity.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/codec.h"
#include "blok/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS_MAX 16
#define BYTES_MAX  64

static enum blok_err field(struct blok_reader *r, struct blok_buf *out, uint8_t kind) {
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  bool b;
  uint8_t fixed[32];
  const uint8_t *p;
  const char *t;
  size_t n;
  switch (kind % 8) {
    case 0:
      BLOK_TRY(blok_dec_u8(r, &u8));
      return blok_enc_u8(out, u8);
    case 1:
      BLOK_TRY(blok_dec_u16(r, &u16));
      return blok_enc_u16(out, u16);
    case 2:
      BLOK_TRY(blok_dec_u32(r, &u32));
      return blok_enc_u32(out, u32);
    case 3:
      BLOK_TRY(blok_dec_u64(r, &u64));
      return blok_enc_u64(out, u64);
    case 4:
      BLOK_TRY(blok_dec_bool(r, &b));
      return blok_enc_bool(out, b);
    case 5:
      BLOK_TRY(blok_dec_fixed(r, fixed, 32));
      return blok_enc_fixed(out, fixed, 32);
    case 6:
      BLOK_TRY(blok_dec_bytes(r, &p, &n, BYTES_MAX));
      return blok_enc_bytes(out, p, n, BYTES_MAX);
    default:
      BLOK_TRY(blok_dec_text(r, &t, &n, BYTES_MAX));
      return blok_enc_text(out, t, n, BYTES_MAX);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* First byte: how many schema bytes follow; then the schema; then the record. */
  if (size < 1) return 0;
  size_t nfields = data[0] % (FIELDS_MAX + 1);
  if (size < 1 + nfields) return 0;
  const uint8_t *schema = data + 1;
  const uint8_t *rec = data + 1 + nfields;
  size_t rec_len = size - 1 - nfields;

  struct blok_reader r;
  struct blok_buf out;
  blok_reader_init(&r, rec, rec_len);
  blok_buf_init(&out, 1 << 16);
  enum blok_err rc = BLOK_OK;
  for (size_t i = 0; i < nfields && rc == BLOK_OK; i++) {
    size_t before = r.pos;
    rc = field(&r, &out, schema[i]);
    if (rc != BLOK_OK && r.pos != before) abort(); /* failed reads must not move */
    if (r.pos > r.len) abort();
  }
  if (rc == BLOK_OK && blok_dec_end(&r) == BLOK_OK) {
    if (out.len != rec_len) abort();
    if (rec_len > 0 && memcmp(out.data, rec, rec_len) != 0) abort();
  }
  blok_buf_release(&out);
  return 0;
}
