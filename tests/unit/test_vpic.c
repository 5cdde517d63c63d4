/*
 * vPIC lookups (blok/vpic.h). Two kinds of test:
 *
 * - against the real database (BLOK_VPIC_DB, else the build's default path), with WMIs
 *   whose answers are stable; skipped, saying why, only when that file is absent;
 * - against a tiny database built here with the vPIC schema, which needs nothing fetched and
 *   covers what the real one cannot: names that are too long, control characters, invalid
 *   UTF-8, the make fallback order, files that are not databases.
 */
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "test_util.h"

#include "blok/codec.h"
#include "blok/vpic.h"
#include "blok/banned.h"

static const char *real_db_path(void) {
  return blok_vpic_default_path();
}

/* Opens the real database, or skips the test when the file is absent. */
static void open_real_or_skip(struct blok_vpic *v) {
  const char *path = real_db_path();
  if (access(path, F_OK) != 0) {
    print_message("vPIC database %s is absent (scripts/deps.sh fetches it): skipping\n", path);
    skip();
  }
  enum blok_err err = blok_vpic_open(v, path);
  if (err != BLOK_OK) fail_msg("%s: %s", blok_err_name(err), v->why);
}

static void lookup_ok(struct blok_vpic *v, struct blok_vpic_wmi *w, const char *wmi) {
  enum blok_err err = blok_vpic_lookup(v, w, wmi, strlen(wmi));
  if (err != BLOK_OK) fail_msg("%s: %s", wmi, blok_err_name(err));
  assert_string_equal(w->wmi, wmi);
}

static void test_real_known_wmis(void **state) {
  (void)state;
  struct blok_vpic v;
  open_real_or_skip(&v);
  struct blok_vpic_wmi w;
  lookup_ok(&v, &w, "1HG");
  assert_string_equal(w.manufacturer, "AMERICAN HONDA MOTOR CO., INC.");
  assert_string_equal(w.make, "Honda");
  assert_string_equal(w.country, "UNITED STATES (USA)");
  assert_string_equal(w.vehicle_type, "Passenger Car");
  lookup_ok(&v, &w, "5YJ");
  assert_string_equal(w.manufacturer, "TESLA, INC.");
  assert_string_equal(w.make, "Tesla");
  /* Wmi.MakeId is empty for WVW: the make comes from Wmi_Make. */
  lookup_ok(&v, &w, "WVW");
  assert_string_equal(w.manufacturer, "VOLKSWAGEN AG");
  assert_string_equal(w.make, "Volkswagen");
  assert_string_equal(w.country, "GERMANY");
  /* A small manufacturer's six-character WMI. */
  lookup_ok(&v, &w, "1F9434");
  assert_string_equal(w.manufacturer, "FULMER FABRICATIONS");
  assert_string_equal(w.vehicle_type, "Motorcycle");
  blok_vpic_close(&v);
}

static void test_real_lookup_vin(void **state) {
  (void)state;
  struct blok_vpic v;
  open_real_or_skip(&v);
  struct blok_vin vin;
  struct blok_vpic_wmi w;
  assert_int_equal(blok_vin_parse(&vin, NULL, "1M8GDM9AXKP042788", 17), BLOK_OK);
  assert_int_equal(blok_vpic_lookup_vin(&v, &w, &vin), BLOK_OK);
  assert_string_equal(w.manufacturer, "MOTOR COACH INDUSTRIES, INC.");
  assert_string_equal(w.make, "Motor Coach Industries");
  assert_string_equal(w.vehicle_type, "Bus");
  assert_int_equal(blok_vin_parse(&vin, NULL, "1F9AA11A01A434111", 17), BLOK_OK);
  assert_int_equal(blok_vpic_lookup_vin(&v, &w, &vin), BLOK_OK);
  assert_string_equal(w.wmi, "1F9434");
  assert_string_equal(w.make, "Fulmer Fabrications");
  blok_vpic_close(&v);
}

static void test_real_not_found_and_bad_wmis(void **state) {
  (void)state;
  struct blok_vpic v;
  open_real_or_skip(&v);
  struct blok_vpic_wmi w;
  memset(&w, 'x', sizeof w);
  assert_int_equal(blok_vpic_lookup(&v, &w, "111", 3), BLOK_ENOTFOUND);
  assert_string_equal(w.manufacturer, ""); /* zeroed */
  assert_int_equal(blok_vpic_lookup(&v, &w, "1F9999", 6), BLOK_ENOTFOUND);
  /* Only 3 or 6 characters of 0-9 and A-Z reach SQLite, and then only as a bound value. */
  const char *bad[] = {"", "1H", "1HGC", "1hg", "1H'", "' OR 1=1 --", "1H%", "1H_"};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(bad); i++)
    assert_int_equal(blok_vpic_lookup(&v, &w, bad[i], strlen(bad[i])), BLOK_EINVAL);
  assert_int_equal(blok_vpic_lookup(&v, &w, "1H\0", 3), BLOK_EINVAL);
  /* The statement is reusable after every kind of failure. */
  lookup_ok(&v, &w, "1HG");
  blok_vpic_close(&v);
}

/* ---- a database built by the test ------------------------------------------------------ */

struct scratch {
  char dir[64];
  char path[128];
};

static void exec_sql(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("sqlite: %s", msg);
}

static void make_scratch(struct scratch *s) {
  snprintf(s->dir, sizeof s->dir, "/tmp/blok-vpic-XXXXXX");
  assert_non_null(mkdtemp(s->dir));
  snprintf(s->path, sizeof s->path, "%s/mini.db", s->dir);
}

static void remove_scratch(struct scratch *s) {
  unlink(s->path);
  rmdir(s->dir);
}

/* Writes a vPIC-shaped database with a few awkward rows. */
static void make_mini_db(const char *path) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  exec_sql(db, "CREATE TABLE Wmi (Id INTEGER NOT NULL, Wmi TEXT NOT NULL, ManufacturerId INTEGER,"
               " MakeId INTEGER, VehicleTypeId INTEGER, CountryId INTEGER);"
               "CREATE TABLE Manufacturer (Id INTEGER NOT NULL, Name TEXT NOT NULL);"
               "CREATE TABLE Make (Id INTEGER NOT NULL, Name TEXT NOT NULL);"
               "CREATE TABLE Wmi_Make (WmiId INTEGER NOT NULL, MakeId INTEGER NOT NULL);"
               "CREATE TABLE Country (Id INTEGER NOT NULL, Name TEXT NOT NULL);"
               "CREATE TABLE VehicleType (Id INTEGER NOT NULL, Name TEXT NOT NULL);"
               "INSERT INTO Country VALUES (1, 'GERMANY'), (2, 'FRANCE');"
               "INSERT INTO VehicleType VALUES (2, 'Passenger Car');"
               "INSERT INTO Make VALUES (10, 'Renault'), (11, 'Eagle'), (12, 'Zed'),"
               " (13, 'Trailing  ');"
               /* AAA: MakeId NULL, three makes: the alphabetically first wins. */
               "INSERT INTO Manufacturer VALUES (1, 'RENAULT GROUP');"
               "INSERT INTO Wmi VALUES (1, 'AAA', 1, NULL, 2, 2);"
               "INSERT INTO Wmi_Make VALUES (1, 10), (1, 12), (1, 11);"
               /* BBB: MakeId given, it wins over Wmi_Make; trailing spaces dropped. */
               "INSERT INTO Wmi VALUES (2, 'BBB', 2, 13, 2, 1);"
               "INSERT INTO Wmi_Make VALUES (2, 11);"
               "INSERT INTO Manufacturer VALUES (2, 'TAB' || char(9) || 'AND NEWLINE' ||"
               " char(10) || 'END');"
               /* CCC: nothing but the WMI. */
               "INSERT INTO Wmi VALUES (3, 'CCC', NULL, NULL, NULL, NULL);"
               /* DDD: a 300-byte name of two-byte characters, and invalid UTF-8. */
               "INSERT INTO Wmi VALUES (4, 'DDD', 4, NULL, NULL, 3);"
               "INSERT INTO Manufacturer VALUES (4, replace(hex(zeroblob(150)), '00', "
               " char(233)));"
               "INSERT INTO Country VALUES (3, CAST(x'41ff42c3' AS TEXT));"
               /* EE9123: a small manufacturer. */
               "INSERT INTO Wmi VALUES (5, 'EE9123', 1, 10, 2, 2);");
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_mini_db(void **state) {
  (void)state;
  struct scratch s;
  make_scratch(&s);
  make_mini_db(s.path);
  struct blok_vpic v;
  assert_int_equal(blok_vpic_open(&v, s.path), BLOK_OK);
  assert_string_equal(v.why, "");
  struct blok_vpic_wmi w;
  lookup_ok(&v, &w, "AAA");
  assert_string_equal(w.manufacturer, "RENAULT GROUP");
  assert_string_equal(w.make, "Eagle");
  assert_string_equal(w.country, "FRANCE");
  assert_string_equal(w.vehicle_type, "Passenger Car");
  lookup_ok(&v, &w, "BBB");
  assert_string_equal(w.make, "Trailing");
  assert_string_equal(w.manufacturer, "TAB?AND NEWLINE?END");
  lookup_ok(&v, &w, "CCC");
  assert_string_equal(w.manufacturer, "");
  assert_string_equal(w.make, "");
  assert_string_equal(w.country, "");
  assert_string_equal(w.vehicle_type, "");
  lookup_ok(&v, &w, "DDD");
  /* Cut at a character boundary: 95 two-byte characters fill 190 of the 191 bytes. */
  assert_int_equal(strlen(w.manufacturer), 190);
  assert_true(blok_utf8_valid((const uint8_t *)w.manufacturer, strlen(w.manufacturer)));
  assert_memory_equal(w.manufacturer, "\xc3\xa9\xc3\xa9", 4);
  assert_string_equal(w.country, "A?B?");
  lookup_ok(&v, &w, "EE9123");
  assert_string_equal(w.make, "Renault");
  assert_int_equal(blok_vpic_lookup(&v, &w, "EE9", 3), BLOK_ENOTFOUND);
  blok_vpic_close(&v);
  /* Immutable and read-only: no -wal, -shm or -journal file appears beside it. */
  char side[160];
  snprintf(side, sizeof side, "%s-wal", s.path);
  assert_int_not_equal(access(side, F_OK), 0);
  snprintf(side, sizeof side, "%s-journal", s.path);
  assert_int_not_equal(access(side, F_OK), 0);
  remove_scratch(&s);
}

/* Characters that mean something in a URI ('?', '#', '%', space) are only path here. */
static void test_awkward_path(void **state) {
  (void)state;
  char dir[64];
  snprintf(dir, sizeof dir, "/tmp/blok-vpic-XXXXXX");
  assert_non_null(mkdtemp(dir));
  char path[160];
  snprintf(path, sizeof path, "%s/a b?c=1#d%%20.db", dir);
  make_mini_db(path);
  struct blok_vpic v;
  enum blok_err err = blok_vpic_open(&v, path);
  if (err != BLOK_OK) fail_msg("%s", v.why);
  struct blok_vpic_wmi w;
  lookup_ok(&v, &w, "AAA");
  blok_vpic_close(&v);
  unlink(path);
  rmdir(dir);
}

static void test_unavailable(void **state) {
  (void)state;
  struct blok_vpic v;
  assert_int_equal(blok_vpic_open(&v, "/nonexistent/vpic.lite.db"), BLOK_EUNAVAIL);
  assert_string_equal(v.why,
                      "/nonexistent/vpic.lite.db: no such file (scripts/deps.sh fetches it)");
  assert_null(v.db);
  /* Lookups on a database that is not open say so, and closing is harmless. */
  struct blok_vpic_wmi w;
  assert_int_equal(blok_vpic_lookup(&v, &w, "1HG", 3), BLOK_EUNAVAIL);
  blok_vpic_close(&v);
  blok_vpic_close(&v);
  assert_int_equal(blok_vpic_open(&v, "/tmp"), BLOK_EUNAVAIL);
  assert_string_equal(v.why, "/tmp: not a regular file");
  assert_int_equal(blok_vpic_open(&v, ""), BLOK_EINVAL);
  char *long_path = malloc(BLOK_VPIC_PATH_MAX + 2);
  assert_non_null(long_path);
  memset(long_path, 'a', BLOK_VPIC_PATH_MAX + 1);
  long_path[BLOK_VPIC_PATH_MAX + 1] = '\0';
  assert_int_equal(blok_vpic_open(&v, long_path), BLOK_EINVAL);
  /* A long path that is allowed but absent: the reason is cut, and says so. */
  long_path[0] = '/';
  long_path[600] = '\0';
  assert_int_equal(blok_vpic_open(&v, long_path), BLOK_EUNAVAIL);
  assert_int_equal(strlen(v.why), BLOK_VPIC_WHY_MAX - 1);
  assert_string_equal(v.why + BLOK_VPIC_WHY_MAX - 4, "...");
  free(long_path);
}

/* A file that is not a SQLite database, an empty one, and one without the vPIC tables. */
static void test_not_a_vpic_database(void **state) {
  (void)state;
  struct scratch s;
  make_scratch(&s);
  const char *contents[] = {"this is not a database, just text that is long enough\n", ""};
  for (size_t i = 0; i < BLOK_ARRAY_LEN(contents); i++) {
    FILE *f = fopen(s.path, "wb");
    assert_non_null(f);
    fputs(contents[i], f);
    fclose(f);
    struct blok_vpic v;
    assert_int_equal(blok_vpic_open(&v, s.path), BLOK_EUNAVAIL);
    assert_non_null(strstr(v.why, "not a vPIC database"));
    assert_null(v.db);
  }
  unlink(s.path);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(s.path, &db), SQLITE_OK);
  exec_sql(db, "CREATE TABLE Other (x);");
  sqlite3_close(db);
  struct blok_vpic v;
  assert_int_equal(blok_vpic_open(&v, s.path), BLOK_EUNAVAIL);
  assert_non_null(strstr(v.why, "not a vPIC database (no such table"));
  remove_scratch(&s);
}

static void test_default_path(void **state) {
  (void)state;
  const char *saved = getenv("BLOK_VPIC_DB");
  char keep[4096] = "";
  if (saved != NULL) snprintf(keep, sizeof keep, "%s", saved);
  setenv("BLOK_VPIC_DB", "/somewhere/else.db", 1);
  assert_string_equal(blok_vpic_default_path(), "/somewhere/else.db");
  setenv("BLOK_VPIC_DB", "", 1);
  assert_string_equal(blok_vpic_default_path(), BLOK_VPIC_DEFAULT_PATH);
  unsetenv("BLOK_VPIC_DB");
  assert_string_equal(blok_vpic_default_path(), BLOK_VPIC_DEFAULT_PATH);
  if (saved != NULL) setenv("BLOK_VPIC_DB", keep, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_real_known_wmis),
      cmocka_unit_test(test_real_lookup_vin),
      cmocka_unit_test(test_real_not_found_and_bad_wmis),
      cmocka_unit_test(test_mini_db),
      cmocka_unit_test(test_awkward_path),
      cmocka_unit_test(test_unavailable),
      cmocka_unit_test(test_not_a_vpic_database),
      cmocka_unit_test(test_default_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
