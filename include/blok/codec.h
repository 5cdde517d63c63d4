/*
 * The canonical binary codec (docs/PROTOCOL.md, "Canonical encoding"). Everything Blokauto
 * signs or hashes is encoded with it, so there is exactly one byte string for each value:
 *
 *   u8, u16, u32, u64   fixed width, little-endian
 *   bool                one byte, 0x00 or 0x01 (anything else is refused)
 *   fixed[N]            N raw bytes, no length (hashes, keys, signatures)
 *   bytes<max>          u32 length, then that many bytes; length <= max
 *   text<max>           as bytes, and the bytes must be valid UTF-8 (RFC 3629)
 *   count<max>          u32 number of elements of a list that follows; <= max
 *
 * Writers append to a bounded struct blok_buf. The reader is bounds-checked: it refuses
 * truncation (BLOK_ETRUNC), a length above the field's maximum (BLOK_ETOOLONG) before
 * looking at the bytes, bad bools and bad UTF-8 (BLOK_EFORMAT, BLOK_EUTF8), and
 * blok_dec_end refuses trailing bytes (BLOK_ETRAILING). A failed read leaves the reader's
 * position unchanged.
 */
#ifndef BLOK_CODEC_H
#define BLOK_CODEC_H

#include <stdbool.h>

#include "blok/buf.h"

/* A u32, little-endian, at a fixed place: a field filled in after what follows it, or one read
 * in place (frame lengths, storage values). */
void blok_u32le_put(uint8_t out[4], uint32_t v);
uint32_t blok_u32le_get(const uint8_t in[4]);

BLOK_WUR enum blok_err blok_enc_u8(struct blok_buf *b, uint8_t v);
BLOK_WUR enum blok_err blok_enc_u16(struct blok_buf *b, uint16_t v);
BLOK_WUR enum blok_err blok_enc_u32(struct blok_buf *b, uint32_t v);
BLOK_WUR enum blok_err blok_enc_u64(struct blok_buf *b, uint64_t v);
BLOK_WUR enum blok_err blok_enc_bool(struct blok_buf *b, bool v);
BLOK_WUR enum blok_err blok_enc_fixed(struct blok_buf *b, const uint8_t *data, size_t len);
/* BLOK_ETOOLONG when len > max (the writer never produces what the reader would refuse). */
BLOK_WUR enum blok_err blok_enc_bytes(struct blok_buf *b, const uint8_t *data, size_t len,
                                      size_t max);
/* As blok_enc_bytes, and BLOK_EUTF8 when the text is not valid UTF-8. */
BLOK_WUR enum blok_err blok_enc_text(struct blok_buf *b, const char *text, size_t len, size_t max);
BLOK_WUR enum blok_err blok_enc_count(struct blok_buf *b, size_t count, size_t max);

struct blok_reader {
  const uint8_t *data;
  size_t len;
  size_t pos;
};

void blok_reader_init(struct blok_reader *r, const uint8_t *data, size_t len);
BLOK_WUR enum blok_err blok_dec_u8(struct blok_reader *r, uint8_t *out);
BLOK_WUR enum blok_err blok_dec_u16(struct blok_reader *r, uint16_t *out);
BLOK_WUR enum blok_err blok_dec_u32(struct blok_reader *r, uint32_t *out);
BLOK_WUR enum blok_err blok_dec_u64(struct blok_reader *r, uint64_t *out);
BLOK_WUR enum blok_err blok_dec_bool(struct blok_reader *r, bool *out);
BLOK_WUR enum blok_err blok_dec_fixed(struct blok_reader *r, uint8_t *out, size_t len);
/* Zero-copy: *out points into the reader's data, valid as long as that data. */
BLOK_WUR enum blok_err blok_dec_bytes(struct blok_reader *r, const uint8_t **out, size_t *out_len,
                                      size_t max);
BLOK_WUR enum blok_err blok_dec_text(struct blok_reader *r, const char **out, size_t *out_len,
                                     size_t max);
BLOK_WUR enum blok_err blok_dec_count(struct blok_reader *r, size_t *out, size_t max);
/* BLOK_ETRAILING unless every byte has been read. */
BLOK_WUR enum blok_err blok_dec_end(const struct blok_reader *r);

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
bool blok_utf8_valid(const uint8_t *data, size_t len);

#endif
