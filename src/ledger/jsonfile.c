/*
 * Bounded JSON file reading (blok/jsonfile.h). The size is checked on the open file and the read
 * itself stops one byte past the limit, so a file that grows meanwhile is still refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blok/jsonfile.h"
#include "blok/banned.h"

/* Reads up to cap bytes of fd into buf; *n the count. */
static enum blok_err read_all(int fd, char *buf, size_t cap, size_t *n) {
  *n = 0;
  while (*n < cap) {
    ssize_t r = read(fd, buf + *n, cap - *n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return BLOK_EIO;
    if (r == 0) break;
    *n += (size_t)r;
  }
  return BLOK_OK;
}

enum blok_err blok_json_load_file(const char *path, size_t size_bytes_max, size_t flags,
                                  json_t **out, struct blok_why *why) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return blok_refuse(why, BLOK_EIO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > size_bytes_max) {
    close(fd);
    return blok_refuse(why, BLOK_ETOOLONG, "%s: not a regular file of at most %zu bytes", path,
                       size_bytes_max);
  }
  char *buf = malloc(size_bytes_max + 1);
  if (buf == NULL) {
    close(fd);
    return BLOK_ENOMEM;
  }
  size_t n;
  enum blok_err rc = read_all(fd, buf, size_bytes_max + 1, &n);
  close(fd);
  if (rc == BLOK_OK && n > size_bytes_max)
    rc = blok_refuse(why, BLOK_ETOOLONG, "%s: larger than %zu bytes", path, size_bytes_max);
  else if (rc != BLOK_OK)
    rc = blok_refuse(why, rc, "%s: read failed", path);
  json_error_t err;
  if (rc == BLOK_OK) {
    *out = json_loadb(buf, n, flags, &err);
    if (*out == NULL)
      rc = blok_refuse(why, BLOK_EFORMAT, "%s:%d:%d: %s", path, err.line, err.column, err.text);
  }
  free(buf);
  return rc;
}
