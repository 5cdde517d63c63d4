/*
 * NHTSA vPIC lookups (blok/vpic.h). One prepared statement, bound per call, finds a WMI and
 * joins its manufacturer, make, country and vehicle type. The database is opened through a
 * URI with immutable=1: it is never written, so SQLite needs no locks and creates no -wal
 * or -shm files beside it (the corgi copy is in WAL mode, which would otherwise need them).
 *
 * Every name is copied into a fixed buffer: cut at a UTF-8 character boundary when too
 * long, with invalid UTF-8 and control characters replaced by '?', so what leaves this file
 * is safe to print and to put in JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "blok/codec.h"
#include "blok/vpic.h"
#include "blok/banned.h"

/*
 * The vPIC tables have no indexes (and an immutable file cannot get any), so every lookup
 * scans. Correlated subqueries that stop at their first match, with automatic indexes off,
 * cost about 2 ms; joins made SQLite build four automatic indexes per lookup, ten times that.
 * A duplicated Id resolves to its first row. The make comes from Wmi.MakeId when it names
 * one, else from the alphabetically first make of Wmi_Make (ties broken by id), so the
 * answer never depends on row order.
 */
static const char lookup_sql[] =
    "SELECT "
    "(SELECT Name FROM Manufacturer WHERE Id = w.ManufacturerId ORDER BY rowid LIMIT 1), "
    "COALESCE((SELECT Name FROM Make WHERE Id = w.MakeId ORDER BY rowid LIMIT 1), "
    "(SELECT k.Name FROM Wmi_Make x JOIN Make k ON k.Id = x.MakeId WHERE x.WmiId = w.Id "
    "ORDER BY k.Name, k.Id LIMIT 1)), "
    "(SELECT Name FROM Country WHERE Id = w.CountryId ORDER BY rowid LIMIT 1), "
    "(SELECT Name FROM VehicleType WHERE Id = w.VehicleTypeId ORDER BY rowid LIMIT 1) "
    "FROM Wmi w WHERE w.Wmi = ?1 ORDER BY w.Id LIMIT 1";

/* Room for "file://" + every path byte as %XX + "?immutable=1" + NUL. */
#define URI_MAX (7 + 3 * BLOK_VPIC_PATH_MAX + 12 + 1)

const char *blok_vpic_default_path(void) {
  const char *env = getenv("BLOK_VPIC_DB");
  if (env != NULL && env[0] != '\0') return env;
  return BLOK_VPIC_DEFAULT_PATH;
}

static void set_why(struct blok_vpic *v, const char *path, const char *what) {
  int n = snprintf(v->why, sizeof v->why, "%s: %s", path, what);
  /* Only a path of thousands of bytes is cut; say that it was. */
  if (n < 0 || (size_t)n >= sizeof v->why) memcpy(v->why + sizeof v->why - 4, "...", 4);
}

static bool uri_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '/';
}

/* "file:" URI for path (RFC 3986 percent-encoding), read-only and immutable. An absolute
 * path gets an empty authority ("file:///..."), so one starting with "//" stays a path. */
static void build_uri(char *out, size_t cap, const char *path) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0, len = strlen(path);
  BLOK_ASSERT(len <= BLOK_VPIC_PATH_MAX && cap >= URI_MAX);
  const char *prefix = path[0] == '/' ? "file://" : "file:";
  memcpy(out, prefix, strlen(prefix));
  n = strlen(prefix);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)path[i];
    if (uri_unreserved(c)) {
      out[n++] = (char)c;
    } else {
      out[n++] = '%';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 0x0F];
    }
  }
  memcpy(out + n, "?immutable=1", sizeof "?immutable=1");
}

/* Why stat failed, in lowercase (strerror is neither lowercase nor thread-safe). */
static const char *stat_error(int err) {
  switch (err) {
    case ENOENT:
      return "no such file (scripts/deps.sh fetches it)";
    case EACCES:
      return "permission denied";
    case ENOTDIR:
      return "a component of the path is not a folder";
    case ENAMETOOLONG:
      return "file name too long";
    case ELOOP:
      return "too many symbolic links";
    default:
      return "cannot read the file's status";
  }
}

/* Refuses what SQLite would only report vaguely: a missing file, a folder. */
static enum blok_err check_file(struct blok_vpic *v, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    set_why(v, path, stat_error(errno));
    return BLOK_EUNAVAIL;
  }
  if (!S_ISREG(st.st_mode)) {
    set_why(v, path, "not a regular file");
    return BLOK_EUNAVAIL;
  }
  return BLOK_OK;
}

/* Opens the connection and prepares the lookup; on failure leaves v->db for the caller to
 * close and v->why set. */
static enum blok_err open_db(struct blok_vpic *v, const char *path) {
  char uri[URI_MAX];
  build_uri(uri, sizeof uri, path);
  int rc = sqlite3_open_v2(uri, &v->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
  if (rc == SQLITE_NOMEM || v->db == NULL) {
    set_why(v, path, "out of memory");
    return BLOK_ENOMEM;
  }
  if (rc != SQLITE_OK) {
    set_why(v, path, sqlite3_errmsg(v->db));
    return BLOK_EUNAVAIL;
  }
  /* A hostile file cannot make us run functions with side effects from its schema. */
  sqlite3_db_config(v->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
  sqlite3_db_config(v->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
  if (sqlite3_exec(v->db, "PRAGMA automatic_index = OFF", NULL, NULL, NULL) != SQLITE_OK) {
    set_why(v, path, sqlite3_errmsg(v->db));
    return BLOK_EUNAVAIL;
  }
  rc = sqlite3_prepare_v2(v->db, lookup_sql, (int)sizeof lookup_sql, &v->lookup, NULL);
  if (rc == SQLITE_NOMEM) {
    set_why(v, path, "out of memory");
    return BLOK_ENOMEM;
  }
  if (rc != SQLITE_OK) {
    char what[BLOK_VPIC_WHY_MAX];
    snprintf(what, sizeof what, "not a vPIC database (%s)", sqlite3_errmsg(v->db));
    set_why(v, path, what);
    return BLOK_EUNAVAIL;
  }
  return BLOK_OK;
}

enum blok_err blok_vpic_open(struct blok_vpic *v, const char *path) {
  BLOK_ASSERT(v != NULL && path != NULL);
  memset(v, 0, sizeof *v);
  if (path[0] == '\0' || strlen(path) > BLOK_VPIC_PATH_MAX) {
    set_why(v, "vPIC database", path[0] == '\0' ? "empty path" : "path too long");
    return BLOK_EINVAL;
  }
  enum blok_err err = check_file(v, path);
  if (err == BLOK_OK) err = open_db(v, path);
  if (err != BLOK_OK) {
    /* Close what open_db left, keeping the reason (close zeroes v). */
    char why[BLOK_VPIC_WHY_MAX];
    memcpy(why, v->why, sizeof why);
    blok_vpic_close(v);
    memcpy(v->why, why, sizeof why);
  }
  return err;
}

void blok_vpic_close(struct blok_vpic *v) {
  BLOK_ASSERT(v != NULL);
  sqlite3_finalize(v->lookup); /* harmless on NULL */
  sqlite3_close(v->db);        /* likewise; nothing else is open on it */
  memset(v, 0, sizeof *v);
}

/* Length of the valid UTF-8 character at s[0..n), or 0 when it is not one. */
static size_t utf8_char_len(const unsigned char *s, size_t n) {
  size_t k = s[0] < 0x80 ? 1 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
  if (k == 0 || k > n || !blok_utf8_valid(s, k)) return 0;
  return k;
}

/* Copies text[0..n) into out (cap bytes with the NUL) as blok/vpic.h promises, dropping
 * trailing spaces (vPIC has a few). */
static void copy_name(char *out, size_t cap, const unsigned char *text, size_t n) {
  size_t o = 0, i = 0;
  while (i < n) {
    size_t k = utf8_char_len(text + i, n - i);
    bool bad = k == 0 || (k == 1 && (text[i] < 0x20 || text[i] == 0x7F));
    size_t emit = bad ? 1 : k;
    if (o + emit > cap - 1) break;
    if (bad)
      out[o] = '?';
    else
      memcpy(out + o, text + i, k);
    o += emit;
    i += k == 0 ? 1 : k;
  }
  while (o > 0 && out[o - 1] == ' ')
    o--;
  out[o] = '\0';
}

/* Copies result column col; BLOK_ENOMEM when SQLite could not produce its text. */
static enum blok_err column_name(char *out, size_t cap, sqlite3_stmt *st, int col) {
  const unsigned char *text = sqlite3_column_text(st, col);
  int n = sqlite3_column_bytes(st, col);
  if (text == NULL) {
    out[0] = '\0';
    return sqlite3_column_type(st, col) == SQLITE_NULL ? BLOK_OK : BLOK_ENOMEM;
  }
  copy_name(out, cap, text, n > 0 ? (size_t)n : 0);
  return BLOK_OK;
}

static enum blok_err read_row(struct blok_vpic_wmi *out, sqlite3_stmt *st) {
  BLOK_TRY(column_name(out->manufacturer, sizeof out->manufacturer, st, 0));
  BLOK_TRY(column_name(out->make, sizeof out->make, st, 1));
  BLOK_TRY(column_name(out->country, sizeof out->country, st, 2));
  return column_name(out->vehicle_type, sizeof out->vehicle_type, st, 3);
}

static bool wmi_ok(const char *wmi, size_t len) {
  if (len != 3 && len != BLOK_VIN_WMI_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = wmi[i];
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

static enum blok_err run_lookup(struct blok_vpic *v, struct blok_vpic_wmi *out) {
  sqlite3_stmt *st = v->lookup;
  if (sqlite3_bind_text(st, 1, out->wmi, -1, SQLITE_STATIC) != SQLITE_OK) return BLOK_EIO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) return BLOK_ENOTFOUND;
  if (rc == SQLITE_NOMEM) return BLOK_ENOMEM;
  if (rc != SQLITE_ROW) return BLOK_EIO;
  return read_row(out, st);
}

enum blok_err blok_vpic_lookup(struct blok_vpic *v, struct blok_vpic_wmi *out, const char *wmi,
                               size_t wmi_len) {
  BLOK_ASSERT(v != NULL && out != NULL && (wmi != NULL || wmi_len == 0));
  memset(out, 0, sizeof *out);
  if (!wmi_ok(wmi, wmi_len)) return BLOK_EINVAL;
  if (v->db == NULL || v->lookup == NULL) return BLOK_EUNAVAIL;
  memcpy(out->wmi, wmi, wmi_len);
  enum blok_err err = run_lookup(v, out);
  /* Reset ends the read transaction; clearing drops the pointer to out->wmi. */
  sqlite3_reset(v->lookup);
  sqlite3_clear_bindings(v->lookup);
  if (err != BLOK_OK) memset(out, 0, sizeof *out);
  return err;
}

enum blok_err blok_vpic_lookup_vin(struct blok_vpic *v, struct blok_vpic_wmi *out,
                                   const struct blok_vin *vin) {
  BLOK_ASSERT(vin != NULL);
  return blok_vpic_lookup(v, out, vin->wmi, strnlen(vin->wmi, sizeof vin->wmi));
}
