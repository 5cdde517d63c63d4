/*
 * Commit notification: the block producer announces each committed block; threads waiting for
 * a transaction (POST /v1/tx?wait=commit) sleep until then, bounded by a deadline.
 */
#ifndef BLOK_NOTIFY_H
#define BLOK_NOTIFY_H

#include <pthread.h>
#include <stdbool.h>

#include "blok/err.h"

struct blok_notify {
  pthread_mutex_t mu;
  pthread_cond_t cond; /* CLOCK_MONOTONIC */
  uint64_t height;     /* the last committed height announced */
  bool closing;        /* set at shutdown: waiters return at once */
};

void blok_notify_init(struct blok_notify *n, uint64_t height);
void blok_notify_release(struct blok_notify *n);
/* Announces that height is committed, waking every waiter. */
void blok_notify_committed(struct blok_notify *n, uint64_t height);
/* Wakes every waiter for good (shutdown). */
void blok_notify_close(struct blok_notify *n);
/* Waits until a height above `after` is announced or deadline_ms (CLOCK_MONOTONIC, in ms)
 * passes. BLOK_OK with *height the last announced; BLOK_ETIMEOUT; BLOK_EUNAVAIL when closing. */
BLOK_WUR enum blok_err blok_notify_wait(struct blok_notify *n, uint64_t after, uint64_t deadline_ms,
                                        uint64_t *height);
/* CLOCK_MONOTONIC now, in ms. */
uint64_t blok_monotonic_ms(void);

#endif
