/*
 * Reading a JSON file from outside (genesis, node config, a payload for the command line) with
 * a size limit, so no file makes us read or allocate without bound, and a reason a person can
 * act on when it is refused.
 */
#ifndef BLOK_JSONFILE_H
#define BLOK_JSONFILE_H

#include "blok/module.h"

/* Parses the regular file at path, at most size_bytes_max bytes, with jansson flags (e.g.
 * JSON_REJECT_DUPLICATES). BLOK_EIO when it cannot be read, BLOK_ETOOLONG when it is larger
 * or not a regular file, BLOK_EFORMAT (with line and column) when it is not JSON, BLOK_ENOMEM.
 * On success *out is a new reference. */
BLOK_WUR enum blok_err blok_json_load_file(const char *path, size_t size_bytes_max, size_t flags,
                                           json_t **out, struct blok_why *why);

#endif
