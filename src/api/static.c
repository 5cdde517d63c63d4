/*
 * Static files (the web pages) served from web_dir at /. The URL path is client input, so it
 * is confined before it touches the file system: every segment must be non-empty and must not
 * start with a dot (no "..", no ".", no hidden files) or hold a backslash; the last component
 * is opened without following a symbolic link; only regular files up to
 * BLOK__API_STATIC_BYTES_MAX are served.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_internal.h"
#include "blok/banned.h"

static const struct {
  const char *ext, *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *content_type(const char *path) {
  size_t n = strlen(path);
  for (size_t i = 0; i < BLOK_ARRAY_LEN(content_types); i++) {
    size_t e = strlen(content_types[i].ext);
    if (n > e && strcmp(path + n - e, content_types[i].ext) == 0) return content_types[i].type;
  }
  return "application/octet-stream";
}

/* Whether every segment of path (which starts with '/') is a plain name. */
static bool path_confined(const char *path) {
  const char *p = path;
  while (*p == '/') {
    p++;
    if (*p == '\0' || *p == '/' || *p == '.') return false;
    while (*p != '\0' && *p != '/') {
      if (*p == '\\') return false;
      p++;
    }
  }
  return *p == '\0';
}

void blok__route_static(struct blok_api *a, const char *path, struct blok__reply *r) {
  if (strcmp(path, "/") == 0) path = "/index.html";
  char full[4096];
  int n = snprintf(full, sizeof full, "%s%s", a->web_dir, path);
  if (path[0] != '/' || !path_confined(path) || n < 0 || (size_t)n >= sizeof full) {
    blok__reply_error(r, 404, BLOK_ENOTFOUND, "path: no such file");
    return;
  }
  int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) close(fd);
    blok__reply_error(r, 404, BLOK_ENOTFOUND, "path: no such file");
    return;
  }
  if ((uint64_t)st.st_size > BLOK__API_STATIC_BYTES_MAX) {
    close(fd);
    blok__reply_error(r, 403, BLOK_ETOOLONG, "path: the file is larger than %zu bytes",
                      BLOK__API_STATIC_BYTES_MAX);
    return;
  }
  r->status = 200;
  r->file_fd = fd;
  r->file_size = (uint64_t)st.st_size;
  r->content_type = content_type(full);
}
