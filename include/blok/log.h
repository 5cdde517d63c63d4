/*
 * Logs: one line per event on stderr, `time level=... event=... key=value ...`, so a person can
 * read them and a program can split them. Values with spaces are quoted by the caller's format
 * (use %s only for values without spaces, or blok_log's "q" helpers below).
 */
#ifndef BLOK_LOG_H
#define BLOK_LOG_H

enum blok_log_level { BLOK_LOG_DEBUG, BLOK_LOG_INFO, BLOK_LOG_WARN, BLOK_LOG_ERROR };

void blok_log_set_level(enum blok_log_level level);
/* "debug", "info", "warn", "error"; returns -1 for anything else. */
int blok_log_level_parse(const char *name);
/* Writes: 2026-11-21T12:00:00.123Z level=info event=<event> <fields formatted from fmt> */
void blok_log(enum blok_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
