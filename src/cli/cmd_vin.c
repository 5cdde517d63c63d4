/*
 * `blokauto vin check [--json] [--vpic-db PATH] VIN...`: validates each VIN (blok/vin.h)
 * and decodes what it can, with the manufacturer and make from the vPIC database when it is
 * there (blok/vpic.h). The output formats and exit codes are specified in docs/VIN.md;
 * tests/cli/vin.sh checks them byte for byte.
 *
 * The database is opened once, on the first VIN that gets far enough to need it. A missing
 * database is not a failure: each VIN then says decoding is unavailable, and the exit
 * status only reflects whether the VINs are valid.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_internal.h"
#include "blok/vin.h"
#include "blok/vpic.h"
#include "blok/banned.h"

/* A VIN is 17 bytes; anything much longer is a mistake, not a VIN to report on. */
#define ARG_BYTES_MAX 256
/* An argument shown back, each byte at most 4 characters (\xNN), with the NUL. */
#define SHOWN_MAX (4 * ARG_BYTES_MAX + 1)

struct options {
  bool json;
  const char *db_path; /* --vpic-db, or NULL */
  char **vins;         /* the VIN arguments, in order */
  size_t vin_count;
};

/* The database, opened on first use. */
struct decoder {
  const char *path;
  bool tried;
  enum blok_err open_err;
  struct blok_vpic vpic;
};

/* Everything known about one argument. */
struct report {
  const char *arg;
  char shown[SHOWN_MAX];
  enum blok_err err;
  struct blok_vin vin;
  struct blok_vin_problem problem;
  bool decoded; /* vin holds decoded fields: valid, or only its check digit is wrong */
  enum blok_err vpic_err;
  struct blok_vpic_wmi wmi;
  const char *vpic_why;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: blokauto vin check [--json] [--vpic-db PATH] [--] VIN...\n"
          "       blokauto vin --help\n\n"
          "Checks each VIN (ISO 3779: 17 characters, 0-9 and A-Z without I, O and Q; the\n"
          "check digit at position 9 is required when the first character is 1-5) and\n"
          "decodes its WMI, region, model year and plant, and with the NHTSA vPIC database\n"
          "its manufacturer, make, country and vehicle type.\n\n"
          "  --json          one JSON object per VIN per line (fields: docs/VIN.md)\n"
          "  --vpic-db PATH  the vPIC database (default: $BLOK_VPIC_DB, else\n"
          "                  %s)\n\n"
          "exit status: 0 every VIN valid, 1 some VIN invalid, 2 usage error\n",
          BLOK_VPIC_DEFAULT_PATH);
}

/* The argument as printable ASCII: other bytes and the backslash written as \xNN. */
static void show_arg(char *out, size_t cap, const char *arg) {
  size_t o = 0;
  BLOK_ASSERT(cap >= 4 * strlen(arg) + 1);
  for (const unsigned char *p = (const unsigned char *)arg; *p != '\0'; p++) {
    if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
      out[o++] = (char)*p;
    } else {
      snprintf(out + o, cap - o, "\\x%02x", (unsigned)*p);
      o += 4;
    }
  }
  out[o] = '\0';
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "blokauto: vin check: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n\n");
  va_end(ap);
  usage(stderr);
  return BLOK_EXIT_USAGE;
}

static bool too_long(const char *arg) {
  return strnlen(arg, ARG_BYTES_MAX + 1) > ARG_BYTES_MAX;
}

/* Takes the path after --vpic-db at argv[*i]; returns -1 to go on or an exit status. */
static int take_path(struct options *o, int argc, char **argv, int *i) {
  if (*i + 1 >= argc || argv[*i + 1][0] == '\0') return usage_error("--vpic-db needs a path");
  o->db_path = argv[++*i];
  if (strnlen(o->db_path, BLOK_VPIC_PATH_MAX + 1) > BLOK_VPIC_PATH_MAX)
    return usage_error("the --vpic-db path is longer than %d bytes", BLOK_VPIC_PATH_MAX);
  return -1;
}

/* Fills *o from argv (argv[0] is "check"); returns -1 to go on or an exit status. */
static int parse_options(struct options *o, int argc, char **argv) {
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (too_long(a))
      return usage_error("argument %d is longer than %d bytes; a VIN has 17", i, ARG_BYTES_MAX);
    if (options_done || a[0] != '-') {
      o->vins[o->vin_count++] = argv[i];
    } else if (strcmp(a, "--") == 0) {
      options_done = true;
    } else if (strcmp(a, "--json") == 0) {
      o->json = true;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return BLOK_EXIT_OK;
    } else if (strcmp(a, "--vpic-db") == 0) {
      int status = take_path(o, argc, argv, &i);
      if (status >= 0) return status;
    } else {
      char shown[SHOWN_MAX];
      show_arg(shown, sizeof shown, a);
      return usage_error("unknown option '%s'", shown);
    }
  }
  if (o->vin_count == 0) return usage_error("no VIN given");
  return -1;
}

static void decoder_lookup(struct decoder *d, struct report *r) {
  if (!d->tried) {
    d->tried = true;
    d->open_err = blok_vpic_open(&d->vpic, d->path);
  }
  if (d->open_err != BLOK_OK) {
    r->vpic_err = BLOK_EUNAVAIL;
    r->vpic_why = d->vpic.why;
    return;
  }
  r->vpic_err = blok_vpic_lookup_vin(&d->vpic, &r->wmi, &r->vin);
}

static void check_one(struct report *r, struct decoder *d, const char *arg) {
  memset(r, 0, sizeof *r);
  r->arg = arg;
  show_arg(r->shown, sizeof r->shown, arg);
  r->err = blok_vin_parse(&r->vin, &r->problem, arg, strlen(arg));
  r->decoded = r->err == BLOK_OK || r->problem.fault == BLOK_VIN_FAULT_CHECK_DIGIT;
  if (r->decoded) decoder_lookup(d, r);
}

/* ---- text output ------------------------------------------------------------------- */

static void print_check_text(const struct blok_vin *v) {
  switch (v->check) {
    case BLOK_VIN_CHECK_MATCHED:
      printf("  check digit: %c (matches)\n", v->check_found);
      break;
    case BLOK_VIN_CHECK_NOT_VERIFIED:
      printf("  check digit: not verified (position 9 is '%c', computed '%c'; only North "
             "American VINs must carry one)\n",
             v->check_found, v->check_expected);
      break;
    case BLOK_VIN_CHECK_MISMATCH:
      printf("  check digit: wrong (expected '%c', found '%c')\n", v->check_expected,
             v->check_found);
      break;
  }
}

static void print_year_text(const struct blok_vin *v) {
  if (v->year_count == 0) {
    printf("  model year: none ('%c' at position 10 is not a year code: U, Z and 0 never are)\n",
           v->year_code);
    return;
  }
  printf("  model year: %u or %u (code %c)", (unsigned)v->years[0], (unsigned)v->years[1],
         v->year_code);
  if (v->year_preferred >= 0)
    printf("; position 7 is a %s, so %u is preferred", v->year_preferred == 0 ? "digit" : "letter",
           (unsigned)v->years[v->year_preferred]);
  printf("\n");
}

static const char *or_none(const char *s) {
  return s[0] != '\0' ? s : "(none)";
}

static void print_vpic_text(const struct report *r) {
  switch (r->vpic_err) {
    case BLOK_OK:
      printf("  manufacturer: %s\n  make: %s\n  country: %s\n  vehicle type: %s\n",
             or_none(r->wmi.manufacturer), or_none(r->wmi.make), or_none(r->wmi.country),
             or_none(r->wmi.vehicle_type));
      break;
    case BLOK_ENOTFOUND:
      printf("  vpic: no entry for WMI %s\n", r->vin.wmi);
      break;
    case BLOK_EUNAVAIL:
      printf("  vpic: decoding unavailable: %s\n", r->vpic_why);
      break;
    default:
      printf("  vpic: lookup failed: %s\n", blok_strerror(r->vpic_err));
      break;
  }
}

static void print_text(const struct report *r) {
  char why[BLOK_VIN_PROBLEM_MAX];
  if (r->err == BLOK_OK) {
    printf("%s: valid\n", r->shown);
  } else {
    blok_vin_problem_describe(why, sizeof why, &r->problem);
    printf("%s: invalid: %s\n", r->shown, why);
  }
  if (!r->decoded) return;
  const struct blok_vin *v = &r->vin;
  if (strcmp(v->vin, r->arg) != 0) printf("  normalised: %s\n", v->vin);
  printf("  wmi: %s (%s%s)\n", v->wmi, blok_vin_region_name(v->region),
         v->small_manufacturer ? "; small manufacturer: positions 1-3 and 12-14" : "");
  printf("  vds: %s\n  vis: %s\n", v->vds, v->vis);
  print_check_text(v);
  print_year_text(v);
  printf("  plant: %c\n", v->plant);
  print_vpic_text(r);
}

/* ---- JSON output ------------------------------------------------------------------- */

/* Sets key to value (NULL when building value failed), noting any failure in *ok. */
static void put(json_t *obj, const char *key, json_t *value, bool *ok) {
  if (value == NULL || json_object_set_new(obj, key, value) != 0) *ok = false;
}

static json_t *char_json(char c) {
  return json_stringn(&c, 1);
}

static json_t *error_json(const struct blok_vin_problem *p, bool *ok) {
  char why[BLOK_VIN_PROBLEM_MAX];
  blok_vin_problem_describe(why, sizeof why, p);
  json_t *e = json_object();
  if (e == NULL) return NULL;
  put(e, "fault", json_string(blok_vin_fault_name(p->fault)), ok);
  put(e, "message", json_string(why), ok);
  if (p->fault == BLOK_VIN_FAULT_LENGTH) {
    put(e, "length", json_integer((json_int_t)p->length_found), ok);
  } else if (p->fault == BLOK_VIN_FAULT_CHARACTER) {
    put(e, "position", json_integer((json_int_t)p->position), ok);
    put(e, "byte", json_integer(p->byte), ok);
  } else {
    put(e, "expected", char_json(p->check_expected), ok);
    put(e, "found", char_json(p->check_found), ok);
  }
  return e;
}

static json_t *check_json(const struct blok_vin *v, bool *ok) {
  json_t *c = json_object();
  if (c == NULL) return NULL;
  put(c, "status", json_string(blok_vin_check_name(v->check)), ok);
  put(c, "expected", char_json(v->check_expected), ok);
  put(c, "found", char_json(v->check_found), ok);
  return c;
}

static json_t *year_json(const struct blok_vin *v, bool *ok) {
  json_t *y = json_object(), *list = json_array();
  if (y == NULL || list == NULL) {
    json_decref(y);
    json_decref(list);
    return NULL;
  }
  for (size_t i = 0; i < v->year_count; i++)
    if (json_array_append_new(list, json_integer(v->years[i])) != 0) *ok = false;
  put(y, "code", char_json(v->year_code), ok);
  put(y, "candidates", list, ok);
  put(y, "preferred",
      v->year_preferred >= 0 ? json_integer(v->years[v->year_preferred]) : json_null(), ok);
  return y;
}

static json_t *vpic_json(const struct report *r, bool *ok) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  const char *status = r->vpic_err == BLOK_OK          ? "found"
                       : r->vpic_err == BLOK_ENOTFOUND ? "not_found"
                       : r->vpic_err == BLOK_EUNAVAIL  ? "unavailable"
                                                       : "error";
  put(o, "status", json_string(status), ok);
  put(o, "wmi", json_string(r->vin.wmi), ok);
  if (r->vpic_err == BLOK_OK) {
    put(o, "manufacturer", json_string(r->wmi.manufacturer), ok);
    put(o, "make", json_string(r->wmi.make), ok);
    put(o, "country", json_string(r->wmi.country), ok);
    put(o, "vehicle_type", json_string(r->wmi.vehicle_type), ok);
  } else if (r->vpic_err == BLOK_EUNAVAIL) {
    put(o, "reason", json_string(r->vpic_why), ok);
  } else if (r->vpic_err != BLOK_ENOTFOUND) {
    put(o, "reason", json_string(blok_strerror(r->vpic_err)), ok);
  }
  return o;
}

static void put_decoded(json_t *o, const struct report *r, bool *ok) {
  const struct blok_vin *v = &r->vin;
  put(o, "vin", json_string(v->vin), ok);
  put(o, "wmi", json_string(v->wmi), ok);
  put(o, "small_manufacturer", json_boolean(v->small_manufacturer), ok);
  put(o, "region", json_string(blok_vin_region_name(v->region)), ok);
  put(o, "vds", json_string(v->vds), ok);
  put(o, "vis", json_string(v->vis), ok);
  put(o, "check_digit", check_json(v, ok), ok);
  put(o, "model_year", year_json(v, ok), ok);
  put(o, "plant", char_json(v->plant), ok);
  put(o, "vpic", vpic_json(r, ok), ok);
}

/* Prints one line; BLOK_ENOMEM when jansson could not build it. */
static enum blok_err print_json(const struct report *r) {
  bool ok = true;
  json_t *o = json_object();
  if (o == NULL) return BLOK_ENOMEM;
  put(o, "input", json_string(r->shown), &ok);
  put(o, "valid", json_boolean(r->err == BLOK_OK), &ok);
  put(o, "error", r->err == BLOK_OK ? json_null() : error_json(&r->problem, &ok), &ok);
  if (r->decoded) put_decoded(o, r, &ok);
  char *line = ok ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (line == NULL) return BLOK_ENOMEM;
  puts(line);
  free(line);
  return BLOK_OK;
}

/* ---- the command ------------------------------------------------------------------- */

static int run_check(const struct options *o) {
  struct decoder d = {.path = o->db_path != NULL ? o->db_path : blok_vpic_default_path()};
  struct report *r = malloc(sizeof *r);
  if (r == NULL) {
    blok__cli_err("vin check", BLOK_ENOMEM);
    return BLOK_EXIT_FAIL;
  }
  int status = BLOK_EXIT_OK;
  for (size_t i = 0; i < o->vin_count; i++) {
    check_one(r, &d, o->vins[i]);
    if (r->err != BLOK_OK) status = BLOK_EXIT_FAIL;
    if (!o->json) {
      print_text(r);
    } else if (print_json(r) != BLOK_OK) {
      blok__cli_err("vin check", BLOK_ENOMEM);
      status = BLOK_EXIT_FAIL;
      break;
    }
  }
  blok_vpic_close(&d.vpic);
  free(r);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    blok__cli_err("vin check: writing the output", BLOK_EIO);
    return BLOK_EXIT_FAIL;
  }
  return status;
}

static int cmd_check(int argc, char **argv) {
  struct options o = {.vins = calloc((size_t)argc, sizeof(char *))};
  if (o.vins == NULL) {
    blok__cli_err("vin check", BLOK_ENOMEM);
    return BLOK_EXIT_FAIL;
  }
  int status = parse_options(&o, argc, argv);
  if (status < 0) status = run_check(&o);
  free(o.vins);
  return status;
}

int blok__cmd_vin(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "blokauto: vin: which subcommand?\n\n");
    usage(stderr);
    return BLOK_EXIT_USAGE;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
    usage(stdout);
    return BLOK_EXIT_OK;
  }
  if (strcmp(sub, "check") == 0) return cmd_check(argc - 1, argv + 1);
  char shown[SHOWN_MAX];
  show_arg(shown, sizeof shown, too_long(sub) ? "..." : sub);
  fprintf(stderr, "blokauto: vin: unknown subcommand '%s'\n\n", shown);
  usage(stderr);
  return BLOK_EXIT_USAGE;
}
