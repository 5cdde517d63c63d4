/*
 * Ed25519 key files (docs/PROTOCOL.md, "Key files"): one JSON object,
 *
 *   {"type":"blokauto-ed25519-key","version":1,"seed":"<64 hex>","public":"<64 hex>"}
 *
 * holding the 32-byte seed and, as a check, the public key it gives. A key file is a secret:
 * it is created with mode 0600 and never overwritten, and a file that group or others may
 * access is refused, as ssh refuses such a private key.
 */
#ifndef BLOK_KEYFILE_H
#define BLOK_KEYFILE_H

#include "blok/sign.h"

#define BLOK_KEYFILE_TYPE    "blokauto-ed25519-key"
#define BLOK_KEYFILE_VERSION 1
/* A key file is about 170 bytes; anything over this is refused before it is read. */
#define BLOK_KEYFILE_SIZE_MAX 4096

/*
 * Writes the key file text of kp (compact JSON and a newline) into out, at most out_cap
 * bytes; *out_len receives its length. BLOK_ETOOLONG if it does not fit, BLOK_ENOMEM. The
 * text holds the seed: the caller wipes it (sodium_memzero) when done.
 */
BLOK_WUR enum blok_err blok_keyfile_format(char *out, size_t out_cap, size_t *out_len,
                                           const struct blok_sign_keypair *kp);
/*
 * Parses key file text into kp. Refuses text over BLOK_KEYFILE_SIZE_MAX (BLOK_ETOOLONG); text
 * that is not one JSON object with exactly the four members, a duplicate member, another type
 * or a version other than 1 (BLOK_EFORMAT); a seed or public key that is not 64 hex digits
 * (BLOK_EHEX); a public key that is not the seed's (BLOK_EBADKEY). On failure kp is zeroed.
 */
BLOK_WUR enum blok_err blok_keyfile_parse(struct blok_sign_keypair *kp, const char *text,
                                          size_t text_len);

/*
 * Creates the key file path for kp: mode 0600 whatever the umask, written in full, then the
 * file and its directory are fsync'd. Refuses to replace anything already at path, a
 * symbolic link included (BLOK_EEXIST). BLOK_ENOTFOUND when the directory does not exist,
 * BLOK_ETOOLONG for a path of PATH_MAX bytes or more, BLOK_EIO for any other failure, with
 * errno left telling the system's reason. On failure no file is left behind.
 */
BLOK_WUR enum blok_err blok_keyfile_write(const char *path, const struct blok_sign_keypair *kp);
/*
 * Reads the key file path into kp. BLOK_ENOTFOUND when it does not exist; BLOK_EPERM when its
 * mode gives group or others any access (chmod 600 fixes it); BLOK_EFORMAT when it is not a
 * regular file; BLOK_ETOOLONG when it is larger than BLOK_KEYFILE_SIZE_MAX; then as
 * blok_keyfile_parse. BLOK_EIO for other failures, with errno left telling why. Every copy
 * of the secret this module makes is wiped (jansson's own transient parser buffers aside,
 * see src/crypto/keyfile.c).
 */
BLOK_WUR enum blok_err blok_keyfile_read(struct blok_sign_keypair *kp, const char *path);

#endif
