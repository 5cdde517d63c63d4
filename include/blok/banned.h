/*
 * Functions we never call (git's banned.h). Each .c file includes this header last, after
 * every system header, so a use of one of these names is a compile error. The lint test
 * tests/lint/check_banned.sh checks that every source file does include it last.
 *
 * Why: strcpy/strcat/sprintf/gets write without a bound; strtok keeps hidden state;
 * atoi/atol/atoll cannot report a bad number; strncpy does not terminate; vsprintf likewise.
 * Use snprintf, memcpy with an explicit length, and strtoull with an end-pointer check.
 */
#ifndef BLOK_BANNED_H
#define BLOK_BANNED_H

#define BLOK__BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BLOK__BANNED(strcpy)
#undef strcat
#define strcat(x, y) BLOK__BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BLOK__BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BLOK__BANNED(strncat)
#undef strtok
#define strtok(x, y) BLOK__BANNED(strtok)
#undef strtok_r
#define strtok_r(x, y, z) BLOK__BANNED(strtok_r)
#undef sprintf
#define sprintf(...) BLOK__BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BLOK__BANNED(vsprintf)
#undef gets
#define gets(x) BLOK__BANNED(gets)
#undef atoi
#define atoi(x) BLOK__BANNED(atoi)
#undef atol
#define atol(x) BLOK__BANNED(atol)
#undef atoll
#define atoll(x) BLOK__BANNED(atoll)
#undef asctime
#define asctime(x) BLOK__BANNED(asctime)
#undef ctime
#define ctime(x) BLOK__BANNED(ctime)
#undef gmtime
#define gmtime(x) BLOK__BANNED(gmtime)
#undef localtime
#define localtime(x) BLOK__BANNED(localtime)

#endif
