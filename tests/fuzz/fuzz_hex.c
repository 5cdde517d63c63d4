/*
 * Fuzz target for strict hex decoding: any input either is refused or decodes to bytes
 * that encode back to the same digits (ignoring case), and never writes past the output.
 */
#include <ctype.h>
#include <stdlib.h>

#include "blok/hex.h"
#include "blok/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t out[256];
  size_t n = 0;
  enum blok_err rc = blok_hex_decode(out, sizeof out, &n, (const char *)data, size);
  if (rc != BLOK_OK) {
    if (rc != BLOK_EHEX && rc != BLOK_ETOOLONG) abort();
    return 0;
  }
  if (n * 2 != size) abort();
  char back[BLOK_HEX_LEN(256)];
  blok_hex_encode(back, sizeof back, out, n);
  for (size_t i = 0; i < size; i++)
    if (tolower(data[i]) != back[i]) abort();
  return 0;
}
