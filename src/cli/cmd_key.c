/*
 * `blokauto keygen --out FILE` and `blokauto key show FILE`: the command-line face of
 * blok/keyfile.h. Each failure is one line on stderr that names the file and says what to
 * do; usage errors exit 2 with the usage, failures exit 1.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"
#include "blok/hex.h"
#include "blok/keyfile.h"
#include "blok/banned.h"

static const char keygen_usage[] =
    "usage: blokauto keygen --out FILE\n"
    "\n"
    "Writes a new Ed25519 key file (JSON, mode 0600) and prints its public key. An existing\n"
    "FILE is never overwritten.\n"
    "\n"
    "  --out FILE   where to write the key (also --out=FILE)\n"
    "  --help       this text\n";

static const char key_usage[] =
    "usage: blokauto key show FILE\n"
    "\n"
    "Prints the public key of a key file in hex, one line. The file must not be accessible\n"
    "to group or others (chmod 600).\n"
    "\n"
    "  --help       this text\n";

static int usage_error(const char *cmd, const char *usage, const char *why, const char *arg) {
  if (arg != NULL)
    fprintf(stderr, "blokauto: %s: %s '%s'\n\n", cmd, why, arg);
  else
    fprintf(stderr, "blokauto: %s: %s\n\n", cmd, why);
  fputs(usage, stderr);
  return BLOK_EXIT_USAGE;
}

static int is_help(const char *a) {
  return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* A path argument: not empty and shorter than PATH_MAX (so it is also bounded in memory). */
static int path_ok(const char *path) {
  return path[0] != '\0' && strnlen(path, PATH_MAX) < PATH_MAX;
}

static int path_error(const char *cmd, const char *usage) {
  char why[80];
  snprintf(why, sizeof why, "FILE must be 1 to %d bytes long", PATH_MAX - 1);
  return usage_error(cmd, usage, why, NULL);
}

/* One line for a key file that could not be written or read. */
static void file_error(const char *cmd, const char *path, enum blok_err err) {
  const char *why;
  if (err == BLOK_EPERM) {
    fprintf(stderr,
            "blokauto: %s: %s: group or others can access this key file; run: chmod 600 %s\n", cmd,
            path, path);
    return;
  }
  switch (err) {
    case BLOK_EEXIST:
      why = "already exists; refusing to overwrite it";
      break;
    case BLOK_ENOTFOUND:
      why = "no such file or directory";
      break;
    case BLOK_ETOOLONG:
      why = "too large to be a key file (over 4096 bytes)";
      break;
    case BLOK_EFORMAT:
      why = "not a blokauto key file (or an unsupported version)";
      break;
    case BLOK_EHEX:
      why = "seed or public key is not 64 hex digits";
      break;
    case BLOK_EBADKEY:
      why = "public key does not match the seed";
      break;
    case BLOK_EIO:
      why = strerror(errno);
      break;
    default:
      why = blok_strerror(err);
      break;
  }
  fprintf(stderr, "blokauto: %s: %s: %s\n", cmd, path, why);
}

static void print_pk(const char *label, const uint8_t pk[BLOK_SIGN_PK_LEN]) {
  char hex[BLOK_HEX_LEN(BLOK_SIGN_PK_LEN)];
  blok_hex_encode(hex, sizeof hex, pk, BLOK_SIGN_PK_LEN);
  printf("%s%s\n", label, hex);
}

/* The exit status once the output is printed: a full disk or a closed pipe is a failure,
 * not a silent success. */
static int flush_stdout(const char *cmd) {
  if (fflush(stdout) == 0 && !ferror(stdout)) return BLOK_EXIT_OK;
  fprintf(stderr, "blokauto: %s: cannot write the output: %s\n", cmd, strerror(errno));
  return BLOK_EXIT_FAIL;
}

/* Finds --out's value in argv. Returns 0, the exit status of a usage error, or -1 once
 * --help has printed the usage. */
static int keygen_args(const char **out, int argc, char **argv) {
  *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *value = NULL;
    if (is_help(a)) {
      fputs(keygen_usage, stdout);
      return -1;
    }
    if (strcmp(a, "--out") == 0) {
      if (i + 1 >= argc) return usage_error("keygen", keygen_usage, "--out needs a FILE", NULL);
      value = argv[++i];
    } else if (strncmp(a, "--out=", 6) == 0) {
      value = a + 6;
    } else {
      const char *why = a[0] == '-' ? "unknown option" : "unexpected argument";
      return usage_error("keygen", keygen_usage, why, a);
    }
    if (*out != NULL) return usage_error("keygen", keygen_usage, "--out given twice", NULL);
    if (!path_ok(value)) return path_error("keygen", keygen_usage);
    *out = value;
  }
  if (*out == NULL) return usage_error("keygen", keygen_usage, "missing --out FILE", NULL);
  return 0;
}

int blok__cmd_keygen(int argc, char **argv) {
  const char *path;
  int st = keygen_args(&path, argc, argv);
  if (st != 0) return st < 0 ? BLOK_EXIT_OK : st;
  struct blok_sign_keypair kp;
  enum blok_err rc = blok_sign_keypair_generate(&kp);
  if (rc == BLOK_OK) rc = blok_keyfile_write(path, &kp);
  if (rc != BLOK_OK) {
    file_error("keygen", path, rc);
    blok_sign_keypair_clear(&kp);
    return BLOK_EXIT_FAIL;
  }
  print_pk("public key: ", kp.pk);
  printf("key file:   %s\n", path);
  blok_sign_keypair_clear(&kp);
  return flush_stdout("keygen");
}

static int key_show(int argc, char **argv) {
  const char *path = NULL;
  int opts = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (opts && strcmp(a, "--") == 0) {
      opts = 0;
    } else if (opts && is_help(a)) {
      fputs(key_usage, stdout);
      return BLOK_EXIT_OK;
    } else if (opts && a[0] == '-' && a[1] != '\0') {
      return usage_error("key show", key_usage, "unknown option", a);
    } else if (path != NULL) {
      return usage_error("key show", key_usage, "unexpected argument", a);
    } else if (!path_ok(a)) {
      return path_error("key show", key_usage);
    } else {
      path = a;
    }
  }
  if (path == NULL) return usage_error("key show", key_usage, "missing FILE", NULL);
  struct blok_sign_keypair kp;
  enum blok_err rc = blok_keyfile_read(&kp, path);
  if (rc != BLOK_OK) {
    file_error("key show", path, rc);
    return BLOK_EXIT_FAIL;
  }
  print_pk("", kp.pk);
  blok_sign_keypair_clear(&kp);
  return flush_stdout("key show");
}

int blok__cmd_key(int argc, char **argv) {
  if (argc < 2) return usage_error("key", key_usage, "missing subcommand", NULL);
  const char *sub = argv[1];
  if (is_help(sub) || strcmp(sub, "help") == 0) {
    fputs(key_usage, stdout);
    return BLOK_EXIT_OK;
  }
  if (strcmp(sub, "show") == 0) return key_show(argc - 1, argv + 1);
  return usage_error("key", key_usage, "unknown subcommand", sub);
}
