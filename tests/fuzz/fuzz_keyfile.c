/*
 * Fuzz target for key file parsing: arbitrary text is refused or gives a key pair whose
 * formatted file parses back to the same pair.
 */
#include <stdlib.h>
#include <string.h>

#include "blok/keyfile.h"
#include "blok/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct blok_sign_keypair kp, back;
  if (blok_keyfile_parse(&kp, (const char *)data, size) != BLOK_OK) return 0;
  char text[4096];
  size_t len;
  if (blok_keyfile_format(text, sizeof text, &len, &kp) != BLOK_OK) abort();
  if (blok_keyfile_parse(&back, text, len) != BLOK_OK) abort();
  if (memcmp(&kp, &back, sizeof kp) != 0) abort();
  blok_sign_keypair_clear(&kp);
  blok_sign_keypair_clear(&back);
  return 0;
}
