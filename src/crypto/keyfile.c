/*
 * Key files (blok/keyfile.h): JSON through jansson, files through plain POSIX calls so that
 * every step that matters for a secret is explicit: O_EXCL|O_NOFOLLOW so nothing is ever
 * replaced or written through a link, fchmod because the umask may leave the mode narrower
 * (or, with open's mode argument alone, a later chmod could be raced), fsync of the file and
 * of its directory so a key we reported written survives a crash, and on failure the
 * half-written file is removed so an error means "no key file".
 *
 * Secrets: the file bytes, the hex of the seed and the key pair are wiped by us. jansson
 * copies the seed's hex too: the string value in the json_t is wiped in place before it is
 * freed, but the parser's scratch buffer (lex.saved_text) is freed by jansson unwiped, and
 * jansson 2.14 has no per-call allocator that would let us wipe it. That copy lives only in
 * freed heap memory of this process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "blok/hex.h"
#include "blok/keyfile.h"
#include "blok/banned.h"

#define BLOK__HEX32 (2 * 32)

/* Wipes a JSON string's bytes inside the json_t. Its buffer belongs to jansson but is not
 * const memory, so writing through the cast is defined; the uintptr_t step only quiets
 * -Wcast-qual, which cannot tell. */
static void wipe_json_string(json_t *v) {
  if (!json_is_string(v)) return;
  char *p = (char *)(uintptr_t)json_string_value(v);
  sodium_memzero(p, json_string_length(v));
}

enum blok_err blok_keyfile_format(char *out, size_t out_cap, size_t *out_len,
                                  const struct blok_sign_keypair *kp) {
  char seed_hex[BLOK_HEX_LEN(32)], pk_hex[BLOK_HEX_LEN(32)];
  blok_hex_encode(seed_hex, sizeof seed_hex, kp->sk, BLOK_SIGN_SEED_LEN);
  blok_hex_encode(pk_hex, sizeof pk_hex, kp->pk, BLOK_SIGN_PK_LEN);
  json_t *root = json_pack("{s:s, s:i, s:s, s:s}", "type", BLOK_KEYFILE_TYPE, "version",
                           BLOK_KEYFILE_VERSION, "seed", seed_hex, "public", pk_hex);
  sodium_memzero(seed_hex, sizeof seed_hex);
  if (root == NULL) return BLOK_ENOMEM;
  /* json_dumpb returns the length the text needs (0 on failure) and writes at most the size
   * it is given; one byte stays free for the newline. */
  size_t room = out_cap > 0 ? out_cap - 1 : 0;
  size_t n = json_dumpb(root, out, room, JSON_COMPACT);
  enum blok_err rc = n == 0 ? BLOK_ENOMEM : n > room ? BLOK_ETOOLONG : BLOK_OK;
  wipe_json_string(json_object_get(root, "seed"));
  json_decref(root);
  if (rc != BLOK_OK) {
    sodium_memzero(out, room);
    return rc;
  }
  out[n] = '\n';
  *out_len = n + 1;
  return BLOK_OK;
}

/* The four members, checked for type and value; pointers into root. */
struct members {
  const char *type, *seed, *pub;
  size_t type_len, seed_len, pub_len;
  json_int_t version;
};

static enum blok_err unpack_members(struct members *m, json_t *root) {
  json_error_t err;
  if (!json_is_object(root)) return BLOK_EFORMAT;
  /* "!" refuses members beyond the four; "I" refuses a non-integer version. */
  if (json_unpack_ex(root, &err, 0, "{s:s%, s:I, s:s%, s:s% !}", "type", &m->type, &m->type_len,
                     "version", &m->version, "seed", &m->seed, &m->seed_len, "public", &m->pub,
                     &m->pub_len) != 0)
    return BLOK_EFORMAT;
  if (m->type_len != strlen(BLOK_KEYFILE_TYPE) ||
      memcmp(m->type, BLOK_KEYFILE_TYPE, m->type_len) != 0)
    return BLOK_EFORMAT;
  if (m->version != BLOK_KEYFILE_VERSION) return BLOK_EFORMAT;
  return BLOK_OK;
}

/* The key pair of the members' seed, which must give the members' public key. */
static enum blok_err keypair_of(struct blok_sign_keypair *kp, const struct members *m) {
  uint8_t seed[BLOK_SIGN_SEED_LEN], pk[BLOK_SIGN_PK_LEN];
  enum blok_err rc = blok_hex_decode_exact(seed, sizeof seed, m->seed, m->seed_len);
  if (rc == BLOK_OK) rc = blok_hex_decode_exact(pk, sizeof pk, m->pub, m->pub_len);
  if (rc == BLOK_OK) rc = blok_sign_keypair_from_seed(kp, seed);
  if (rc == BLOK_OK && memcmp(kp->pk, pk, sizeof pk) != 0) rc = BLOK_EBADKEY;
  sodium_memzero(seed, sizeof seed);
  return rc;
}

enum blok_err blok_keyfile_parse(struct blok_sign_keypair *kp, const char *text, size_t text_len) {
  sodium_memzero(kp, sizeof *kp);
  if (text_len > BLOK_KEYFILE_SIZE_MAX) return BLOK_ETOOLONG;
  json_error_t err;
  json_t *root = json_loadb(text, text_len, JSON_REJECT_DUPLICATES, &err);
  if (root == NULL) return BLOK_EFORMAT;
  struct members m;
  enum blok_err rc = unpack_members(&m, root);
  if (rc == BLOK_OK) rc = keypair_of(kp, &m);
  wipe_json_string(json_object_get(root, "seed"));
  json_decref(root);
  if (rc != BLOK_OK) blok_sign_keypair_clear(kp);
  return rc;
}

/* write(2) until all of data is written, through EINTR and short writes. */
static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* fsync of the directory that holds path, so the new name is durable too. */
static int sync_parent_dir(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    memcpy(dir, ".", 2);
  } else {
    size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/key" lives in "/" */
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

/* Fills the file we just created; -1 with errno set on failure. */
static int fill_new_file(int fd, const char *text, size_t len) {
  if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) return -1;
  if (write_all(fd, text, len) != 0) return -1;
  return fsync(fd);
}

static enum blok_err create_file(const char *path, const char *text, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                S_IRUSR | S_IWUSR);
  if (fd < 0) {
    if (errno == EEXIST) return BLOK_EEXIST;
    if (errno == ENOENT) return BLOK_ENOTFOUND;
    return BLOK_EIO;
  }
  int failed = fill_new_file(fd, text, len);
  int saved = errno;
  if (close(fd) != 0 && !failed) {
    failed = 1;
    saved = errno;
  }
  if (!failed && sync_parent_dir(path) != 0) {
    failed = 1;
    saved = errno;
  }
  if (!failed) return BLOK_OK;
  unlink(path);
  errno = saved;
  return BLOK_EIO;
}

enum blok_err blok_keyfile_write(const char *path, const struct blok_sign_keypair *kp) {
  if (strnlen(path, PATH_MAX) >= PATH_MAX) return BLOK_ETOOLONG;
  char text[BLOK_KEYFILE_SIZE_MAX];
  size_t len = 0;
  enum blok_err rc = blok_keyfile_format(text, sizeof text, &len, kp);
  if (rc == BLOK_OK) rc = create_file(path, text, len);
  int saved = errno;
  sodium_memzero(text, sizeof text);
  errno = saved;
  return rc;
}

/* Reads at most cap bytes; *len = cap + 1 means the file is longer than cap. */
static int read_bounded(int fd, char *buf, size_t cap, size_t *len) {
  size_t n = 0;
  while (n <= cap) {
    ssize_t got = read(fd, buf + n, cap + 1 - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) break;
    n += (size_t)got;
  }
  *len = n;
  return 0;
}

/* Opens path for reading and checks what kind of file it is before reading a byte. */
static enum blok_err open_checked(int *fd_out, const char *path) {
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return errno == ENOENT ? BLOK_ENOTFOUND : BLOK_EIO;
  struct stat st;
  enum blok_err rc = BLOK_OK;
  if (fstat(fd, &st) != 0)
    rc = BLOK_EIO;
  else if (!S_ISREG(st.st_mode))
    rc = BLOK_EFORMAT;
  else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    rc = BLOK_EPERM;
  else if (st.st_size > BLOK_KEYFILE_SIZE_MAX)
    rc = BLOK_ETOOLONG;
  if (rc != BLOK_OK) {
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
  }
  *fd_out = fd;
  return BLOK_OK;
}

enum blok_err blok_keyfile_read(struct blok_sign_keypair *kp, const char *path) {
  sodium_memzero(kp, sizeof *kp);
  int fd;
  BLOK_TRY(open_checked(&fd, path));
  char text[BLOK_KEYFILE_SIZE_MAX + 1];
  size_t len = 0;
  int failed = read_bounded(fd, text, BLOK_KEYFILE_SIZE_MAX, &len);
  int saved = errno;
  close(fd);
  enum blok_err rc = BLOK_EIO;
  if (!failed) rc = blok_keyfile_parse(kp, text, len); /* len over the maximum: ETOOLONG */
  sodium_memzero(text, sizeof text);
  errno = saved;
  return rc;
}
