/*
 * Strict hexadecimal (blok/hex.h): lowercase out, [0-9a-fA-F] pairs in, nothing else.
 */
#include "blok/hex.h"
#include "blok/banned.h"

static const char digits[] = "0123456789abcdef";

void blok_hex_encode(char *out, size_t out_cap, const uint8_t *in, size_t n) {
  BLOK_ASSERT(n <= (SIZE_MAX - 1) / 2 && out_cap >= BLOK_HEX_LEN(n));
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 0x0F];
  }
  out[2 * n] = '\0';
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum blok_err blok_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *hex,
                              size_t hex_len) {
  if (hex_len % 2 != 0) return BLOK_EHEX;
  size_t n = hex_len / 2;
  if (n > out_cap) return BLOK_ETOOLONG;
  for (size_t i = 0; i < n; i++) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return BLOK_EHEX;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  *out_len = n;
  return BLOK_OK;
}

enum blok_err blok_hex_decode_exact(uint8_t *out, size_t n, const char *hex, size_t hex_len) {
  if (hex_len != 2 * n) return BLOK_EHEX;
  size_t got;
  return blok_hex_decode(out, n, &got, hex, hex_len);
}
