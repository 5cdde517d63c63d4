/*
 * Key files (blok/keyfile.h): the exact format, every refusal of the parser, and the file
 * rules (mode 0600 whatever the umask, never overwrite, refuse group/other access, size
 * limit, no half-written file after a failed write). Each test works in its own temporary
 * directory, removed afterwards.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#include "blok/keyfile.h"
#include "blok/banned.h"

/* RFC 8032 TEST 1: the seed and its public key. */
#define SEED1 "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define PK1   "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
/* RFC 8032 TEST 2's public key: valid, but not SEED1's. */
#define PK2 "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
#define GOOD_TEXT                                                                                  \
  "{\"type\":\"blokauto-ed25519-key\",\"version\":1,\"seed\":\"" SEED1 "\",\"public\":\"" PK1      \
  "\"}\n"

struct dir {
  char path[256];
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int setup(void **state) {
  struct dir *d = calloc(1, sizeof *d);
  assert_non_null(d);
  const char *tmp = getenv("TMPDIR");
  int n = snprintf(d->path, sizeof d->path, "%s/blok-keyfile-XXXXXX", tmp ? tmp : "/tmp");
  assert_true(n > 0 && (size_t)n < sizeof d->path);
  assert_non_null(mkdtemp(d->path));
  *state = d;
  return 0;
}

static int teardown(void **state) {
  struct dir *d = *state;
  chmod(d->path, 0700);
  nftw(d->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(d);
  return 0;
}

static void in_dir(char *out, size_t cap, void **state, const char *name) {
  const struct dir *d = *state;
  int n = snprintf(out, cap, "%s/%s", d->path, name);
  assert_true(n > 0 && (size_t)n < cap);
}

/* Creates path afresh with exactly this content and mode. */
static void put_file(const char *path, const char *text, size_t len, mode_t mode) {
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  assert_int_equal(fchmod(fd, mode), 0);
  assert_int_equal(close(fd), 0);
}

static size_t get_file(const char *path, char *out, size_t cap) {
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  ssize_t n = read(fd, out, cap);
  assert_true(n >= 0);
  close(fd);
  return (size_t)n;
}

static void keypair1(struct blok_sign_keypair *kp) {
  uint8_t seed[32];
  assert_int_equal(blok_hex_decode_exact(seed, 32, SEED1, 64), BLOK_OK);
  assert_int_equal(blok_sign_keypair_from_seed(kp, seed), BLOK_OK);
}

static void assert_zero_keypair(const struct blok_sign_keypair *kp) {
  static const struct blok_sign_keypair zero;
  assert_memory_equal(kp, &zero, sizeof *kp);
}

/* ---- The text -------------------------------------------------------------------------------- */

static void test_format_exact(void **state) {
  (void)state;
  struct blok_sign_keypair kp, back;
  keypair1(&kp);
  char text[BLOK_KEYFILE_SIZE_MAX];
  size_t len = 0;
  assert_int_equal(blok_keyfile_format(text, sizeof text, &len, &kp), BLOK_OK);
  assert_int_equal(len, strlen(GOOD_TEXT));
  assert_memory_equal(text, GOOD_TEXT, len);
  assert_int_equal(blok_keyfile_parse(&back, text, len), BLOK_OK);
  assert_memory_equal(&back, &kp, sizeof kp);
  /* One byte short of room (the text and its newline) is refused, and nothing is left. */
  assert_int_equal(blok_keyfile_format(text, strlen(GOOD_TEXT) - 1, &len, &kp), BLOK_ETOOLONG);
  assert_int_equal(blok_keyfile_format(text, strlen(GOOD_TEXT), &len, &kp), BLOK_OK);
  blok_sign_keypair_clear(&kp);
  blok_sign_keypair_clear(&back);
}

struct parse_case {
  const char *text;
  enum blok_err want;
};

#define T(rest) "{\"type\":\"blokauto-ed25519-key\",\"version\":1," rest "}"
#define SP      "\"seed\":\"" SEED1 "\",\"public\":\"" PK1 "\""

static const struct parse_case parse_cases[] = {
    {T(SP), BLOK_OK},
    {"\n { \"public\" : \"" PK1 "\", \"seed\": \"" SEED1
     "\", \"version\": 1, \"type\": \"blokauto-ed25519-key\" }\n\n",
     BLOK_OK}, /* any order, any JSON whitespace */
    {"{\"type\":\"blokauto-ed25519-key\",\"version\":1,\"seed\":\"9D61B19DEFFD5A60BA844AF492EC2CC44"
     "449C5697B326919703BAC031CAE7F60\",\"public\":\"" PK1 "\"}",
     BLOK_OK}, /* hex digits in either case */
    {"", BLOK_EFORMAT},
    {"not json", BLOK_EFORMAT},
    {"[]", BLOK_EFORMAT},
    {"\"" SEED1 "\"", BLOK_EFORMAT},
    {"{}", BLOK_EFORMAT},
    {T(SP) " x", BLOK_EFORMAT},                      /* trailing text */
    {T(SP) T(SP), BLOK_EFORMAT},                     /* two objects */
    {T(SP ",\"comment\":\"hi\""), BLOK_EFORMAT},     /* a member too many */
    {T("\"seed\":\"" SEED1 "\""), BLOK_EFORMAT},     /* public missing */
    {T(SP ",\"seed\":\"" SEED1 "\""), BLOK_EFORMAT}, /* duplicate */
    {"{\"type\":\"blokauto-ed25519-keys\",\"version\":1," SP "}", BLOK_EFORMAT},
    {"{\"type\":\"Blokauto-ed25519-key\",\"version\":1," SP "}", BLOK_EFORMAT},
    {"{\"type\":\"blokauto-ed25519-key\\u0000\",\"version\":1," SP "}", BLOK_EFORMAT},
    {"{\"type\":1,\"version\":1," SP "}", BLOK_EFORMAT},
    {"{\"type\":\"blokauto-ed25519-key\",\"version\":2," SP "}", BLOK_EFORMAT},
    {"{\"type\":\"blokauto-ed25519-key\",\"version\":0," SP "}", BLOK_EFORMAT},
    {"{\"type\":\"blokauto-ed25519-key\",\"version\":\"1\"," SP "}", BLOK_EFORMAT},
    {"{\"type\":\"blokauto-ed25519-key\",\"version\":1.0," SP "}", BLOK_EFORMAT},
    {"{\"type\":\"blokauto-ed25519-key\",\"version\":4294967297," SP "}", BLOK_EFORMAT},
    {"{\"type\":\"blokauto-ed25519-key\",\"version\":true," SP "}", BLOK_EFORMAT},
    {T("\"seed\":null,\"public\":\"" PK1 "\""), BLOK_EFORMAT},
    {T("\"seed\":\"" SEED1 "00\",\"public\":\"" PK1 "\""), BLOK_EHEX}, /* 33 bytes */
    {T("\"seed\":\"9d61\",\"public\":\"" PK1 "\""), BLOK_EHEX},
    {T("\"seed\":\"\",\"public\":\"" PK1 "\""), BLOK_EHEX},
    {T("\"seed\":\"0x61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\",\"public\":"
       "\"" PK1 "\""),
     BLOK_EHEX},
    {T("\"seed\":\"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6g\",\"public\":"
       "\"" PK1 "\""),
     BLOK_EHEX},
    {T("\"seed\":\" 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6\",\"public\":"
       "\"" PK1 "\""),
     BLOK_EHEX},
    {T("\"seed\":\"" SEED1 "\",\"public\":\"" PK1 "ff\""), BLOK_EHEX},
    {T("\"seed\":\"" SEED1 "\",\"public\":\"" PK2 "\""), BLOK_EBADKEY},
};

static void test_parse(void **state) {
  (void)state;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(parse_cases); i++) {
    struct blok_sign_keypair kp;
    memset(&kp, 0xaa, sizeof kp);
    const char *t = parse_cases[i].text;
    enum blok_err got = blok_keyfile_parse(&kp, t, strlen(t));
    if (got != parse_cases[i].want)
      fail_msg("case %zu: got %s, want %s: %s", i, blok_err_name(got),
               blok_err_name(parse_cases[i].want), t);
    if (got != BLOK_OK)
      assert_zero_keypair(&kp);
    else
      assert_int_equal(blok_sign_check_pk(kp.pk), BLOK_OK);
    blok_sign_keypair_clear(&kp);
  }
}

/* The size limit holds for the text, whatever it is: 4096 bytes is read, 4097 is not. */
static void test_parse_size_limit(void **state) {
  (void)state;
  char text[BLOK_KEYFILE_SIZE_MAX + 1];
  size_t good = strlen(GOOD_TEXT);
  memcpy(text, GOOD_TEXT, good);
  memset(text + good, ' ', sizeof text - good);
  struct blok_sign_keypair kp;
  assert_int_equal(blok_keyfile_parse(&kp, text, BLOK_KEYFILE_SIZE_MAX), BLOK_OK);
  assert_int_equal(blok_keyfile_parse(&kp, text, BLOK_KEYFILE_SIZE_MAX + 1), BLOK_ETOOLONG);
  assert_zero_keypair(&kp);
}

/* ---- Files ------------------------------------------------------------------------------------
 */

static void test_write_read(void **state) {
  char path[PATH_MAX];
  in_dir(path, sizeof path, state, "node.key");
  struct blok_sign_keypair kp, back;
  assert_int_equal(blok_sign_keypair_generate(&kp), BLOK_OK);
  assert_int_equal(blok_keyfile_write(path, &kp), BLOK_OK);
  struct stat st;
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(blok_keyfile_read(&back, path), BLOK_OK);
  assert_memory_equal(&back, &kp, sizeof kp);
  /* The file holds exactly the formatted text. */
  char want[BLOK_KEYFILE_SIZE_MAX], got[BLOK_KEYFILE_SIZE_MAX];
  size_t want_len = 0;
  assert_int_equal(blok_keyfile_format(want, sizeof want, &want_len, &kp), BLOK_OK);
  assert_int_equal(get_file(path, got, sizeof got), want_len);
  assert_memory_equal(got, want, want_len);
  /* A key file written by hand (RFC 8032 TEST 1) reads as that key; 0400 is fine too. */
  in_dir(path, sizeof path, state, "t1.key");
  put_file(path, GOOD_TEXT, strlen(GOOD_TEXT), 0400);
  assert_int_equal(blok_keyfile_read(&back, path), BLOK_OK);
  keypair1(&kp);
  assert_memory_equal(&back, &kp, sizeof kp);
  blok_sign_keypair_clear(&kp);
  blok_sign_keypair_clear(&back);
}

/* The mode is 0600 whatever the umask: wider (000) or narrower (0277, which alone would give
 * 0400). The file name records the umask used. */
static void test_write_mode_ignores_umask(void **state) {
  const mode_t masks[] = {0, 022, 077, 0277, 0777};
  struct blok_sign_keypair kp;
  keypair1(&kp);
  for (size_t i = 0; i < BLOK_ARRAY_LEN(masks); i++) {
    char name[32], path[PATH_MAX];
    snprintf(name, sizeof name, "umask-%03o.key", (unsigned)masks[i]);
    in_dir(path, sizeof path, state, name);
    mode_t old = umask(masks[i]);
    enum blok_err rc = blok_keyfile_write(path, &kp);
    umask(old);
    assert_int_equal(rc, BLOK_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
  }
  blok_sign_keypair_clear(&kp);
}

/* Nothing already at the path is replaced or written through: a file, a directory, a link
 * to a file, a dangling link. */
static void test_write_never_overwrites(void **state) {
  char path[PATH_MAX], target[PATH_MAX], buf[64];
  struct blok_sign_keypair kp;
  keypair1(&kp);
  in_dir(path, sizeof path, state, "old.key");
  put_file(path, "keep", 4, 0600);
  assert_int_equal(blok_keyfile_write(path, &kp), BLOK_EEXIST);
  assert_int_equal(get_file(path, buf, sizeof buf), 4);
  assert_memory_equal(buf, "keep", 4);

  in_dir(path, sizeof path, state, "subdir");
  assert_int_equal(mkdir(path, 0700), 0);
  assert_int_equal(blok_keyfile_write(path, &kp), BLOK_EEXIST);

  in_dir(target, sizeof target, state, "old.key");
  in_dir(path, sizeof path, state, "link.key");
  assert_int_equal(symlink(target, path), 0);
  assert_int_equal(blok_keyfile_write(path, &kp), BLOK_EEXIST);
  assert_int_equal(get_file(target, buf, sizeof buf), 4);

  in_dir(target, sizeof target, state, "nowhere.key");
  in_dir(path, sizeof path, state, "dangling.key");
  assert_int_equal(symlink(target, path), 0);
  assert_int_equal(blok_keyfile_write(path, &kp), BLOK_EEXIST);
  assert_int_equal(access(target, F_OK), -1);
  blok_sign_keypair_clear(&kp);
}

static void test_write_failures(void **state) {
  char path[PATH_MAX];
  struct blok_sign_keypair kp;
  keypair1(&kp);
  in_dir(path, sizeof path, state, "missing/dir/x.key");
  assert_int_equal(blok_keyfile_write(path, &kp), BLOK_ENOTFOUND);

  char *long_path = malloc(PATH_MAX + 1);
  assert_non_null(long_path);
  memset(long_path, 'a', PATH_MAX);
  long_path[PATH_MAX] = '\0';
  assert_int_equal(blok_keyfile_write(long_path, &kp), BLOK_ETOOLONG);
  long_path[PATH_MAX - 1] = '\0'; /* PATH_MAX - 1 bytes: allowed by us, refused by the system */
  assert_int_equal(blok_keyfile_write(long_path, &kp), BLOK_EIO);
  assert_int_equal(errno, ENAMETOOLONG);
  free(long_path);

  /* A directory we may not write to (root may write anywhere, so only as another user). */
  if (geteuid() != 0) {
    in_dir(path, sizeof path, state, "ro");
    assert_int_equal(mkdir(path, 0500), 0);
    in_dir(path, sizeof path, state, "ro/x.key");
    assert_int_equal(blok_keyfile_write(path, &kp), BLOK_EIO);
    assert_int_equal(errno, EACCES);
  }
  blok_sign_keypair_clear(&kp);
}

/* A write that fails half way (here: the file size limit, RLIMIT_FSIZE, at 16 bytes) leaves
 * no file behind, and says why in errno. */
static void test_failed_write_leaves_nothing(void **state) {
  char path[PATH_MAX];
  in_dir(path, sizeof path, state, "partial.key");
  struct blok_sign_keypair kp;
  keypair1(&kp);
  struct rlimit old, small;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  small = old;
  small.rlim_cur = 16;
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  enum blok_err rc = blok_keyfile_write(path, &kp);
  int err = errno;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);
  assert_int_equal(rc, BLOK_EIO);
  assert_int_equal(err, EFBIG);
  assert_int_equal(access(path, F_OK), -1);
  /* With the limit gone the same path works. */
  assert_int_equal(blok_keyfile_write(path, &kp), BLOK_OK);
  blok_sign_keypair_clear(&kp);
}

/* Any group or other permission bit is refused (as ssh does for private keys), before
 * the content is looked at. */
static void test_read_permissions(void **state) {
  char path[PATH_MAX];
  in_dir(path, sizeof path, state, "perm.key");
  const mode_t refused[] = {0640, 0604, 0620, 0602, 0610, 0601, 0644, 0666, 0660};
  const mode_t allowed[] = {0600, 0400, 0700, 0200};
  struct blok_sign_keypair kp;
  for (size_t i = 0; i < BLOK_ARRAY_LEN(refused); i++) {
    put_file(path, GOOD_TEXT, strlen(GOOD_TEXT), refused[i]);
    memset(&kp, 0xaa, sizeof kp);
    assert_int_equal(blok_keyfile_read(&kp, path), BLOK_EPERM);
    assert_zero_keypair(&kp);
  }
  /* 0200 and 0700 pass the permission rule; 0200 then cannot be opened for reading unless
   * we are root, who may read it anyway. */
  for (size_t i = 0; i < BLOK_ARRAY_LEN(allowed); i++) {
    put_file(path, GOOD_TEXT, strlen(GOOD_TEXT), allowed[i]);
    enum blok_err want = allowed[i] == 0200 && geteuid() != 0 ? BLOK_EIO : BLOK_OK;
    assert_int_equal(blok_keyfile_read(&kp, path), want);
  }
  blok_sign_keypair_clear(&kp);
}

static void test_read_refuses(void **state) {
  char path[PATH_MAX];
  struct blok_sign_keypair kp;
  in_dir(path, sizeof path, state, "absent.key");
  assert_int_equal(blok_keyfile_read(&kp, path), BLOK_ENOTFOUND);

  /* Not regular files: a directory, a FIFO (opening it must not wait for a writer), a
   * device. */
  in_dir(path, sizeof path, state, "d");
  assert_int_equal(mkdir(path, 0700), 0);
  assert_int_equal(blok_keyfile_read(&kp, path), BLOK_EFORMAT);
  in_dir(path, sizeof path, state, "fifo");
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(blok_keyfile_read(&kp, path), BLOK_EFORMAT);
  assert_int_equal(blok_keyfile_read(&kp, "/dev/null"), BLOK_EFORMAT);

  /* Size: 4096 bytes (the key and spaces) is read, 4097 is refused before reading. */
  char text[BLOK_KEYFILE_SIZE_MAX + 1];
  size_t good = strlen(GOOD_TEXT);
  memcpy(text, GOOD_TEXT, good);
  memset(text + good, ' ', sizeof text - good);
  in_dir(path, sizeof path, state, "big.key");
  put_file(path, text, BLOK_KEYFILE_SIZE_MAX, 0600);
  assert_int_equal(blok_keyfile_read(&kp, path), BLOK_OK);
  put_file(path, text, BLOK_KEYFILE_SIZE_MAX + 1, 0600);
  assert_int_equal(blok_keyfile_read(&kp, path), BLOK_ETOOLONG);

  /* Content: the parser's refusals come through. */
  in_dir(path, sizeof path, state, "bad.key");
  put_file(path, "{}", 2, 0600);
  assert_int_equal(blok_keyfile_read(&kp, path), BLOK_EFORMAT);
  const char *mismatch = T("\"seed\":\"" SEED1 "\",\"public\":\"" PK2 "\"");
  put_file(path, mismatch, strlen(mismatch), 0600);
  memset(&kp, 0xaa, sizeof kp);
  assert_int_equal(blok_keyfile_read(&kp, path), BLOK_EBADKEY);
  assert_zero_keypair(&kp);
  put_file(path, "", 0, 0600);
  assert_int_equal(blok_keyfile_read(&kp, path), BLOK_EFORMAT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format_exact),
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_parse_size_limit),
      cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_mode_ignores_umask, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_never_overwrites, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failed_write_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_permissions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_refuses, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
