/*
 * Small things every Blokauto file uses: the always-on assertion, the unused-result
 * attribute, and array length. Kept tiny on purpose; anything bigger gets its own header.
 */
#ifndef BLOK_COMMON_H
#define BLOK_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define BLOK_WUR          __attribute__((warn_unused_result))
#define BLOK_NORETURN     __attribute__((noreturn))
#define BLOK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * BLOK_ASSERT checks an invariant of our own code and stays on in release builds
 * (TigerBeetle's habit): a broken invariant stops the process before it can write a
 * wrong block. Never use it on input from outside; refuse such input with an error.
 */
BLOK_NORETURN void blok__assert_fail(const char *expr, const char *file, int line);
#define BLOK_ASSERT(expr) ((expr) ? (void)0 : blok__assert_fail(#expr, __FILE__, __LINE__))

#endif
