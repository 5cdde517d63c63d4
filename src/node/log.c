/*
 * The node's log lines (blok/log.h). One fprintf per line, so lines from different threads do
 * not interleave.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "blok/log.h"
#include "blok/banned.h"

static _Atomic int g_level = BLOK_LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void blok_log_set_level(enum blok_log_level level) {
  g_level = (int)level;
}

int blok_log_level_parse(const char *name) {
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

void blok_log(enum blok_log_level level, const char *event, const char *fmt, ...) {
  if ((int)level < g_level) return;
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char fields[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(fields, sizeof fields, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s%s%s\n", tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
          names[level], event, fields[0] ? " " : "", fields);
}
