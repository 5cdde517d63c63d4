/*
 * Strict hexadecimal. Encoding writes lowercase. Decoding accepts exactly pairs of
 * [0-9a-fA-F]: no "0x" prefix, no whitespace, no odd length; anything else is BLOK_EHEX.
 */
#ifndef BLOK_HEX_H
#define BLOK_HEX_H

#include "blok/err.h"

/* Room needed to encode n bytes, with the terminating NUL. */
#define BLOK_HEX_LEN(n) (2 * (n) + 1)

/* Writes 2n lowercase digits and a NUL into out (out_cap >= BLOK_HEX_LEN(n), asserted). */
void blok_hex_encode(char *out, size_t out_cap, const uint8_t *in, size_t n);
/* Decodes hex_len digits into out. BLOK_EHEX on a bad digit or odd length, BLOK_ETOOLONG
 * when the result would not fit out_cap bytes. *out_len receives the byte count. */
BLOK_WUR enum blok_err blok_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                                       const char *hex, size_t hex_len);
/* As blok_hex_decode, but the input must decode to exactly n bytes (BLOK_EHEX otherwise). */
BLOK_WUR enum blok_err blok_hex_decode_exact(uint8_t *out, size_t n, const char *hex,
                                             size_t hex_len);

#endif
