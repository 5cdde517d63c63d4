/*
 * The canonical binary codec (blok/codec.h, docs/PROTOCOL.md). Integers are assembled byte
 * by byte so the encoding does not depend on the host's endianness or alignment.
 */
#include <string.h>

#include "blok/codec.h"
#include "blok/banned.h"

/* Lengths and counts are u32 on the wire; a maximum above that could not be encoded. */
#define BLOK__LEN_MAX UINT32_MAX

static enum blok_err enc_le(struct blok_buf *b, uint64_t v, size_t width) {
  uint8_t tmp[8];
  for (size_t i = 0; i < width; i++)
    tmp[i] = (uint8_t)(v >> (8 * i));
  return blok_buf_append(b, tmp, width);
}

void blok_u32le_put(uint8_t out[4], uint32_t v) {
  for (size_t i = 0; i < 4; i++)
    out[i] = (uint8_t)(v >> (8 * i));
}

uint32_t blok_u32le_get(const uint8_t in[4]) {
  return (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
}

enum blok_err blok_enc_u8(struct blok_buf *b, uint8_t v) {
  return enc_le(b, v, 1);
}
enum blok_err blok_enc_u16(struct blok_buf *b, uint16_t v) {
  return enc_le(b, v, 2);
}
enum blok_err blok_enc_u32(struct blok_buf *b, uint32_t v) {
  return enc_le(b, v, 4);
}
enum blok_err blok_enc_u64(struct blok_buf *b, uint64_t v) {
  return enc_le(b, v, 8);
}
enum blok_err blok_enc_bool(struct blok_buf *b, bool v) {
  return enc_le(b, v ? 1 : 0, 1);
}

enum blok_err blok_enc_fixed(struct blok_buf *b, const uint8_t *data, size_t len) {
  return blok_buf_append(b, data, len);
}

enum blok_err blok_enc_count(struct blok_buf *b, size_t count, size_t max) {
  BLOK_ASSERT(max <= BLOK__LEN_MAX);
  if (count > max) return BLOK_ETOOLONG;
  return enc_le(b, count, 4);
}

enum blok_err blok_enc_bytes(struct blok_buf *b, const uint8_t *data, size_t len, size_t max) {
  /* Reserve both parts first so a failure leaves the buffer as it was. */
  BLOK_ASSERT(max <= BLOK__LEN_MAX);
  if (len > max) return BLOK_ETOOLONG;
  BLOK_TRY(blok_buf_reserve(b, 4 + len));
  BLOK_TRY(enc_le(b, len, 4));
  return blok_buf_append(b, data, len);
}

enum blok_err blok_enc_text(struct blok_buf *b, const char *text, size_t len, size_t max) {
  if (len > max) return BLOK_ETOOLONG;
  if (!blok_utf8_valid((const uint8_t *)text, len)) return BLOK_EUTF8;
  return blok_enc_bytes(b, (const uint8_t *)text, len, max);
}

void blok_reader_init(struct blok_reader *r, const uint8_t *data, size_t len) {
  r->data = data;
  r->len = len;
  r->pos = 0;
}

static enum blok_err dec_le(struct blok_reader *r, uint64_t *out, size_t width) {
  if (r->len - r->pos < width) return BLOK_ETRUNC;
  uint64_t v = 0;
  for (size_t i = 0; i < width; i++)
    v |= (uint64_t)r->data[r->pos + i] << (8 * i);
  r->pos += width;
  *out = v;
  return BLOK_OK;
}

enum blok_err blok_dec_u8(struct blok_reader *r, uint8_t *out) {
  uint64_t v;
  BLOK_TRY(dec_le(r, &v, 1));
  *out = (uint8_t)v;
  return BLOK_OK;
}
enum blok_err blok_dec_u16(struct blok_reader *r, uint16_t *out) {
  uint64_t v;
  BLOK_TRY(dec_le(r, &v, 2));
  *out = (uint16_t)v;
  return BLOK_OK;
}
enum blok_err blok_dec_u32(struct blok_reader *r, uint32_t *out) {
  uint64_t v;
  BLOK_TRY(dec_le(r, &v, 4));
  *out = (uint32_t)v;
  return BLOK_OK;
}
enum blok_err blok_dec_u64(struct blok_reader *r, uint64_t *out) {
  return dec_le(r, out, 8);
}

enum blok_err blok_dec_bool(struct blok_reader *r, bool *out) {
  if (r->pos >= r->len) return BLOK_ETRUNC;
  uint8_t v = r->data[r->pos];
  if (v > 1) return BLOK_EFORMAT;
  r->pos++;
  *out = v == 1;
  return BLOK_OK;
}

enum blok_err blok_dec_fixed(struct blok_reader *r, uint8_t *out, size_t len) {
  if (r->len - r->pos < len) return BLOK_ETRUNC;
  memcpy(out, r->data + r->pos, len);
  r->pos += len;
  return BLOK_OK;
}

/* Reads a u32 length or count and checks it against max without consuming on failure. */
static enum blok_err dec_len(struct blok_reader *r, size_t *out, size_t max) {
  size_t start = r->pos;
  uint64_t v;
  BLOK_TRY(dec_le(r, &v, 4));
  if (v > max) {
    r->pos = start;
    return BLOK_ETOOLONG;
  }
  *out = (size_t)v;
  return BLOK_OK;
}

enum blok_err blok_dec_bytes(struct blok_reader *r, const uint8_t **out, size_t *out_len,
                             size_t max) {
  size_t start = r->pos, len;
  BLOK_TRY(dec_len(r, &len, max));
  if (r->len - r->pos < len) {
    r->pos = start;
    return BLOK_ETRUNC;
  }
  *out = r->data + r->pos;
  *out_len = len;
  r->pos += len;
  return BLOK_OK;
}

enum blok_err blok_dec_text(struct blok_reader *r, const char **out, size_t *out_len, size_t max) {
  size_t start = r->pos, len;
  const uint8_t *p;
  BLOK_TRY(blok_dec_bytes(r, &p, &len, max));
  if (!blok_utf8_valid(p, len)) {
    r->pos = start;
    return BLOK_EUTF8;
  }
  *out = (const char *)p;
  *out_len = len;
  return BLOK_OK;
}

enum blok_err blok_dec_count(struct blok_reader *r, size_t *out, size_t max) {
  return dec_len(r, out, max);
}

enum blok_err blok_dec_end(const struct blok_reader *r) {
  return r->pos == r->len ? BLOK_OK : BLOK_ETRAILING;
}

/* Length of the UTF-8 sequence starting at p (1..4), or 0 when it is not well formed. Follows
 * the table of well-formed byte sequences in Unicode 15, section 3.9 (table 3-7). */
static size_t utf8_seq(const uint8_t *p, size_t left) {
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
  } else {
    return 0;
  }
  if (left < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return n;
}

bool blok_utf8_valid(const uint8_t *data, size_t len) {
  size_t i = 0;
  while (i < len) {
    size_t n = utf8_seq(data + i, len - i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}
