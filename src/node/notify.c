/*
 * Commit notification (blok/notify.h): a mutex, a condition variable on the monotonic clock,
 * and the last committed height.
 */
#include <time.h>

#include "blok/notify.h"
#include "blok/banned.h"

uint64_t blok_monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void blok_notify_init(struct blok_notify *n, uint64_t height) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&n->cond, &attr);
  pthread_condattr_destroy(&attr);
  pthread_mutex_init(&n->mu, NULL);
  n->height = height;
  n->closing = false;
}

void blok_notify_release(struct blok_notify *n) {
  pthread_cond_destroy(&n->cond);
  pthread_mutex_destroy(&n->mu);
}

void blok_notify_committed(struct blok_notify *n, uint64_t height) {
  pthread_mutex_lock(&n->mu);
  if (height > n->height) n->height = height;
  pthread_cond_broadcast(&n->cond);
  pthread_mutex_unlock(&n->mu);
}

void blok_notify_close(struct blok_notify *n) {
  pthread_mutex_lock(&n->mu);
  n->closing = true;
  pthread_cond_broadcast(&n->cond);
  pthread_mutex_unlock(&n->mu);
}

enum blok_err blok_notify_wait(struct blok_notify *n, uint64_t after, uint64_t deadline_ms,
                               uint64_t *height) {
  struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000),
                        .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
  enum blok_err rc = BLOK_OK;
  pthread_mutex_lock(&n->mu);
  while (!n->closing && n->height <= after) {
    if (pthread_cond_timedwait(&n->cond, &n->mu, &ts) != 0 && n->height <= after) {
      rc = BLOK_ETIMEOUT;
      break;
    }
  }
  if (n->closing) rc = BLOK_EUNAVAIL;
  *height = n->height;
  pthread_mutex_unlock(&n->mu);
  return rc;
}
