/*
 * `blokauto report VIN --out FILE` and `blokauto verify FILE --genesis GENESIS`: the verifiable
 * history report (blok/report.h; docs/PROTOCOL.md, "Report bundle").
 *
 * `report` downloads a vehicle's bundle from a node and writes it as the node sent it, never over
 * an existing file unless told to. `verify` is offline on purpose: it reads the bundle and the
 * genesis document from files and touches no network, so a buyer trusts no server, only the
 * genesis (the consortium's validator keys). Both read at most BLOK_REPORT_BYTES_MAX bytes.
 *
 * Text from the chain (makes, models, service summaries) is written by members, not by us: it is
 * printed with control characters replaced, so a report cannot drive the terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_internal.h"
#include "http_client.h"
#include "blok/modules.h"
#include "blok/report.h"
#include "blok/banned.h"

#define PATH_ARG_MAX 4095

static int report_usage(FILE *out, int code) {
  fprintf(out, "usage: blokauto report VIN --out FILE [--force] [--node URL]\n\n"
               "Downloads the vehicle's verifiable history report from the node and writes it to\n"
               "FILE (never over an existing file unless --force). Check it offline with\n"
               "blokauto verify. The node is --node, else $BLOKAUTO_NODE, else\n"
               "http://127.0.0.1:8080.\n");
  return code;
}

static int verify_usage(FILE *out, int code) {
  fprintf(out, "usage: blokauto verify FILE --genesis GENESIS\n\n"
               "Checks a report bundle offline against the chain's genesis document: the block's\n"
               "certificate, the vehicle's record and its proof, every event's signature, that\n"
               "no event is missing, and the vehicle's open recalls from the proven parts state\n"
               "(none left out). Prints VERIFIED and the summary (exit 0), or NOT VERIFIED, the\n"
               "check that failed and why (exit 1).\n");
  return code;
}

/* Prints s with every control character (C0, DEL, C1) replaced by '?'. */
static void print_clean(FILE *out, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
      fputc('?', out);
      p++;
    } else {
      fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
    }
  }
}

/* --- report ------------------------------------------------------------------------------- */

struct report_args {
  const char *vin, *out, *node;
  bool force;
};

/* -1 to go on; otherwise the exit status. */
static int parse_report_args(int argc, char **argv, struct report_args *a) {
  memset(a, 0, sizeof *a);
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i];
    if (strcmp(f, "--help") == 0) return report_usage(stdout, BLOK_EXIT_OK);
    if (strcmp(f, "--force") == 0) {
      a->force = true;
    } else if ((strcmp(f, "--out") == 0 || strcmp(f, "--node") == 0) && i + 1 < argc) {
      const char *v = argv[++i];
      if (v[0] == '\0' || strlen(v) > PATH_ARG_MAX) {
        fprintf(stderr, "blokauto report: %s: 1 to %d bytes are required\n", f, PATH_ARG_MAX);
        return report_usage(stderr, BLOK_EXIT_USAGE);
      }
      *(strcmp(f, "--out") == 0 ? &a->out : &a->node) = v;
    } else if (f[0] != '-' && a->vin == NULL) {
      a->vin = f;
    } else {
      fprintf(stderr, "blokauto report: unexpected argument '%.64s'\n", f);
      return report_usage(stderr, BLOK_EXIT_USAGE);
    }
  }
  if (a->vin == NULL || a->out == NULL) {
    fprintf(stderr, "blokauto report: a VIN and --out FILE are required\n");
    return report_usage(stderr, BLOK_EXIT_USAGE);
  }
  return -1;
}

/* Writes the whole buffer to path: a new file, or (force) over an existing one. 0, or the
 * errno of the step that failed (a file this call made is then removed). */
static int write_file(const char *path, const struct blok_buf *b, bool force) {
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  int fd = open(path, flags, 0644);
  if (fd < 0) return errno;
  size_t off = 0;
  int err = 0;
  while (off < b->len && err == 0) {
    ssize_t w = write(fd, b->data + off, b->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) err = w < 0 ? errno : EIO;
    if (w > 0) off += (size_t)w;
  }
  if (err == 0 && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && err == 0) err = errno;
  if (err != 0) unlink(path);
  return err;
}

/* The node's error message, or the status when the body says nothing. */
static void print_node_error(const struct report_args *a, long status, const struct blok_buf *b) {
  json_t *j = json_loadb((const char *)b->data, b->len, 0, NULL);
  const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
  fprintf(stderr, "blokauto report: %s: ", a->vin);
  if (msg)
    print_clean(stderr, msg);
  else
    fprintf(stderr, "the node answered with status %ld", status);
  fputc('\n', stderr);
  json_decref(j);
}

/* Checks the downloaded text is a bundle; prints what it holds. */
static int check_download(const struct report_args *a, const struct blok_buf *b) {
  json_t *j = json_loadb((const char *)b->data, b->len, JSON_REJECT_DUPLICATES, NULL);
  const char *format = json_string_value(json_object_get(j, "format"));
  if (format == NULL || strcmp(format, BLOK_REPORT_FORMAT) != 0) {
    fprintf(stderr, "blokauto report: %s: the node's answer is not a %s bundle\n", a->vin,
            BLOK_REPORT_FORMAT);
    json_decref(j);
    return BLOK_EXIT_FAIL;
  }
  const json_t *block = json_object_get(j, "block");
  size_t n = json_array_size(json_object_get(j, "events"));
  printf("report of %s as of block %lld: %zu event%s, written to ", a->vin,
         (long long)json_integer_value(json_object_get(block, "height")), n, n == 1 ? "" : "s");
  print_clean(stdout, a->out);
  printf("\n");
  json_decref(j);
  return BLOK_EXIT_OK;
}

int blok__cmd_report(int argc, char **argv) {
  struct report_args a;
  int code = parse_report_args(argc, argv, &a);
  if (code >= 0) return code;
  struct blok_vin vin;
  struct blok_vin_problem p;
  if (blok_vin_parse(&vin, &p, a.vin, strlen(a.vin)) != BLOK_OK) {
    char why[BLOK_VIN_PROBLEM_MAX];
    blok_vin_problem_describe(why, sizeof why, &p);
    fprintf(stderr, "blokauto report: vin: %s\n", why);
    return report_usage(stderr, BLOK_EXIT_USAGE);
  }
  a.vin = vin.vin;
  struct stat st;
  if (!a.force && lstat(a.out, &st) == 0) {
    fprintf(stderr, "blokauto report: %s: already exists; refusing to overwrite it (--force)\n",
            a.out);
    return BLOK_EXIT_FAIL;
  }
  char path[64];
  snprintf(path, sizeof path, "/v1/vehicles/%s/report", vin.vin);
  struct blok_buf b;
  long status = 0;
  blok_buf_init(&b, BLOK_REPORT_BYTES_MAX);
  code = BLOK_EXIT_FAIL;
  if (blok__http(blok__cli_node_url(a.node), path, NULL, &status, &b) == BLOK_OK) {
    if (status != 200) {
      print_node_error(&a, status, &b);
    } else if ((code = check_download(&a, &b)) == BLOK_EXIT_OK) {
      int err = write_file(a.out, &b, a.force);
      if (err != 0) {
        fprintf(stderr, "blokauto report: %s: %s\n", a.out,
                err == EEXIST ? "already exists; refusing to overwrite it (--force)"
                              : strerror(err));
        code = BLOK_EXIT_FAIL;
      }
    }
  }
  blok_buf_release(&b);
  return code;
}

/* --- verify ------------------------------------------------------------------------------- */

/* Reads a regular file of at most BLOK_REPORT_BYTES_MAX bytes; prints why it cannot. */
static char *read_bundle(const char *path, size_t *len) {
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  const char *why = NULL;
  if (fd < 0)
    why = strerror(errno);
  else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    why = "not a regular file";
  else if ((uint64_t)st.st_size > BLOK_REPORT_BYTES_MAX)
    why = "larger than 64 MiB; not a report bundle";
  char *text = why ? NULL : malloc((size_t)st.st_size + 1);
  size_t n = 0;
  if (!why && text == NULL) why = "out of memory";
  while (!why && n <= (size_t)st.st_size) {
    ssize_t r = read(fd, text + n, (size_t)st.st_size + 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) why = strerror(errno);
    if (r <= 0) break;
    n += (size_t)r;
  }
  if (!why && n > (size_t)st.st_size) why = "the file grew while it was read";
  if (fd >= 0) close(fd);
  if (why) {
    fprintf(stderr, "blokauto verify: %s: %s\n", path, why);
    free(text);
    return NULL;
  }
  *len = n;
  return text;
}

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static void print_line(const char *label, const char *value) {
  printf("  %-10s ", label);
  print_clean(stdout, value);
  printf("\n");
}

static void print_events(const json_t *events) {
  size_t i;
  const json_t *e;
  json_array_foreach(events, i, e) {
    printf("  %4lld  block %-8lld %s  ", (long long)json_integer_value(json_object_get(e, "n")),
           (long long)json_integer_value(json_object_get(e, "height")), jstr(e, "time"));
    print_clean(stdout, jstr(e, "signer"));
    printf(" (%s): ", jstr(e, "role"));
    print_clean(stdout, jstr(e, "text"));
    printf("\n");
  }
}

/* "RC-2025-017: {reason}; remedy: {remedy}; in ECU-1 > MCU-7", or "...; by vin range". */
static void print_recalls(const json_t *list) {
  size_t i, k;
  const json_t *r, *p;
  json_array_foreach(list, i, r) {
    printf("    ");
    print_clean(stdout, jstr(r, "recall"));
    printf(": ");
    print_clean(stdout, jstr(r, "reason"));
    printf("; remedy: ");
    print_clean(stdout, jstr(r, "remedy"));
    const json_t *path = json_object_get(r, "path");
    printf(json_array_size(path) ? "; in " : "; by vin range");
    json_array_foreach(path, k, p) {
      printf("%s", k ? " > " : "");
      print_clean(stdout, json_string_value(p) ? json_string_value(p) : "");
    }
    printf("\n");
  }
}

/* The summary of a verified bundle, for a person. */
static void print_summary(const json_t *s) {
  char buf[256];
  snprintf(buf, sizeof buf, "%lld %s %s",
           (long long)json_integer_value(json_object_get(s, "model_year")), jstr(s, "make"),
           jstr(s, "model"));
  print_line("vehicle", buf);
  print_line("status", jstr(s, "status"));
  const char *counts[] = {"owners", "accidents", "rollbacks"};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(counts); i++) {
    snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(json_object_get(s, counts[i])));
    print_line(counts[i], buf);
  }
  size_t k, n = 0;
  const json_t *b;
  buf[0] = '\0';
  json_array_foreach(json_object_get(s, "brands"), k, b) n +=
      (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", k ? ", " : "", json_string_value(b));
  print_line("brands", buf[0] ? buf : "none");
  const json_t *lien = json_object_get(s, "lien");
  snprintf(buf, sizeof buf, "open, held by %s", jstr(lien, "holder"));
  print_line("lien", json_is_true(json_object_get(lien, "open")) ? buf : "none");
  const json_t *km = json_object_get(s, "odometer_km");
  snprintf(buf, sizeof buf, "%lld km (last reading)", (long long)json_integer_value(km));
  print_line("odometer", json_is_integer(km) ? buf : "no reading");
  const json_t *open = json_object_get(s, "open_recalls");
  snprintf(buf, sizeof buf, "%zu open", json_array_size(open));
  print_line("recalls", json_array_size(open) ? buf : "none open");
  print_recalls(open);
  snprintf(buf, sizeof buf, "%lld",
           (long long)json_integer_value(json_object_get(s, "event_count")));
  print_line("events", buf);
  print_events(json_object_get(s, "events"));
}

static int verified(const char *text, size_t len, const struct blok_report_result *res) {
  char when[BLOK_REPORT_TIME_MAX];
  blok_report_time(when, res->time_ms);
  printf("VERIFIED: %s complete as of block %llu, time %s\n", res->vin,
         (unsigned long long)res->height, when);
  json_t *j = json_loadb(text, len, 0, NULL);
  print_summary(json_object_get(j, "summary"));
  json_decref(j);
  return BLOK_EXIT_OK;
}

int blok__cmd_verify(int argc, char **argv) {
  const char *file = NULL, *genesis = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) return verify_usage(stdout, BLOK_EXIT_OK);
    if (strcmp(argv[i], "--genesis") == 0 && i + 1 < argc && genesis == NULL)
      genesis = argv[++i];
    else if (argv[i][0] != '-' && file == NULL)
      file = argv[i];
    else
      return verify_usage(stderr, BLOK_EXIT_USAGE);
  }
  if (file == NULL || genesis == NULL || genesis[0] == '\0' || strlen(file) > PATH_ARG_MAX ||
      strlen(genesis) > PATH_ARG_MAX) {
    fprintf(stderr, "blokauto verify: a FILE and --genesis GENESIS are required\n");
    return verify_usage(stderr, BLOK_EXIT_USAGE);
  }
  struct blok_registry reg;
  struct blok_genesis g;
  struct blok_why why = {{0}};
  blok_modules_default(&reg);
  memset(&g, 0, sizeof g);
  if (blok_genesis_load(&g, genesis, &reg, &why) != BLOK_OK) {
    fprintf(stderr, "blokauto verify: genesis: %s\n", why.msg[0] ? why.msg : "cannot read it");
    blok_genesis_release(&g);
    return BLOK_EXIT_FAIL;
  }
  size_t len = 0;
  char *text = read_bundle(file, &len);
  int code = BLOK_EXIT_FAIL;
  struct blok_report_result res;
  if (text != NULL && blok_report_verify_text(text, len, &g, &res) == BLOK_OK) {
    code = verified(text, len, &res);
  } else if (text != NULL) {
    printf("NOT VERIFIED: %s: ", blok_report_check_name(res.failed));
    print_clean(stdout, res.why);
    printf("\n");
  }
  free(text);
  blok_genesis_release(&g);
  return code;
}
