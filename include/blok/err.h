/*
 * Error codes. Every fallible function returns an enum blok_err: BLOK_OK (0) or a negative
 * code. The codes come from one X-macro table so that the enum, the names and the messages
 * cannot drift apart (libuv's uv-errno.h habit). Messages are lowercase with no full stop,
 * so callers can prefix them with context ("key show: file not found").
 */
#ifndef BLOK_ERR_H
#define BLOK_ERR_H

#include "blok/common.h"

/* X(NAME, value, message). Append new codes at the end; values never change meaning. */
#define BLOK_ERR_MAP(X)                                                                            \
  X(OK, 0, "ok")                                                                                   \
  X(ENOMEM, -1, "out of memory")                                                                   \
  X(EINVAL, -2, "invalid argument")                                                                \
  X(ETRUNC, -3, "input ends before the value it announces")                                        \
  X(ETOOLONG, -4, "length exceeds its maximum")                                                    \
  X(ETRAILING, -5, "trailing bytes after the value")                                               \
  X(EHEX, -6, "not strict hexadecimal")                                                            \
  X(EBADSIG, -7, "signature does not verify")                                                      \
  X(EBADKEY, -8, "public key refused")                                                             \
  X(EIO, -9, "input/output error")                                                                 \
  X(EEXIST, -10, "file already exists")                                                            \
  X(ENOTFOUND, -11, "not found")                                                                   \
  X(EBADPROOF, -12, "proof does not verify")                                                       \
  X(ERANGE, -13, "value out of range")                                                             \
  X(EVIN, -14, "invalid vin")                                                                      \
  X(EUNAVAIL, -15, "unavailable")                                                                  \
  X(ECRYPTO, -16, "cryptographic library failure")                                                 \
  X(EFORMAT, -17, "malformed input")                                                               \
  X(EPERM, -18, "permission denied")                                                               \
  X(EUTF8, -19, "text is not valid utf-8")                                                         \
  X(EFULL, -20, "capacity exhausted")                                                              \
  X(EUSAGE, -21, "usage error")                                                                    \
  X(EBADTAG, -22, "bad domain tag or chain id")                                                    \
  X(ESTORE, -23, "storage engine failure")                                                         \
  X(EMAPFULL, -24, "storage map full")                                                             \
  X(ESTALE, -25, "nonce already used by this sender")                                              \
  X(EGAP, -26, "nonce leaves a gap after the sender's last one")                                   \
  X(EEXPIRED, -27, "transaction expired")                                                          \
  X(ENOTPERMITTED, -28, "sender not permitted for this kind")                                      \
  X(EDUPLICATE, -29, "already known")                                                              \
  X(EUNKNOWNKIND, -30, "unknown transaction kind")                                                 \
  X(ETIMEOUT, -31, "timed out")                                                                    \
  X(EREFUSED, -32, "refused by the module")

enum blok_err {
#define BLOK__ERR_ENUM(name, value, msg) BLOK_##name = (value),
  BLOK_ERR_MAP(BLOK__ERR_ENUM)
#undef BLOK__ERR_ENUM
};

/* "BLOK_ETRUNC" for BLOK_ETRUNC; "BLOK_UNKNOWN" for a value not in the table. */
const char *blok_err_name(enum blok_err err);
/* The message of the table; "unknown error" for a value not in the table. */
const char *blok_strerror(enum blok_err err);

/* Return from the enclosing function when expr fails. */
#define BLOK_TRY(expr)                                                                             \
  do {                                                                                             \
    enum blok_err blok__rc = (expr);                                                               \
    if (blok__rc != BLOK_OK) return blok__rc;                                                      \
  } while (0)

#endif
