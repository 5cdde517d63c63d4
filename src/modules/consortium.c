/*
 * The consortium module (blok/consortium.h).
 *
 * State (module "consortium"):
 *   "member/" || name   -> member record (docs/PROTOCOL.md, "Consortium")
 *   "key/" || pk[32]    -> member name
 * Index table "consortium.members": name -> member record, for listing.
 */
#include <string.h>

#include "blok/consortium.h"
#include "blok/hex.h"
#include "blok/ledger.h"
#include "blok/banned.h"

#define MODULE "consortium"
#define MEMBER_RECORD_MAX                                                                          \
  (4 + BLOK_NAME_MAX + 2 + 4 + 32 * BLOK_MEMBER_KEYS_MAX + 4 + 7 * BLOK_MEMBER_WMI_MAX)

static const char *const role_names[BLOK_ROLE_COUNT] = {
#define BLOK__ROLE_NAME(id, name) name,
    BLOK_ROLE_MAP(BLOK__ROLE_NAME)
#undef BLOK__ROLE_NAME
};

static unsigned members_table;

const char *blok_role_name(enum blok_role r) {
  return (unsigned)r < BLOK_ROLE_COUNT ? role_names[r] : "unknown";
}

enum blok_err blok_role_parse(const char *name, enum blok_role *out) {
  for (unsigned i = 0; i < BLOK_ROLE_COUNT; i++)
    if (strcmp(name, role_names[i]) == 0) {
      *out = (enum blok_role)i;
      return BLOK_OK;
    }
  return BLOK_EINVAL;
}

/* A WMI as members declare it: three characters of the VIN alphabet (no I, O, Q). */
static bool wmi_valid(const char *w) {
  if (strlen(w) != 3) return false;
  for (int i = 0; i < 3; i++) {
    char c = w[i];
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
    if (!ok || c == 'I' || c == 'O' || c == 'Q') return false;
  }
  return true;
}

enum blok_err blok_member_encode(struct blok_buf *out, const struct blok_member *m) {
  BLOK_TRY(blok_enc_text(out, m->name, strlen(m->name), BLOK_NAME_MAX));
  BLOK_TRY(blok_enc_u16(out, m->roles));
  BLOK_TRY(blok_enc_count(out, m->key_count, BLOK_MEMBER_KEYS_MAX));
  for (size_t i = 0; i < m->key_count; i++)
    BLOK_TRY(blok_enc_fixed(out, m->keys[i], 32));
  BLOK_TRY(blok_enc_count(out, m->wmi_count, BLOK_MEMBER_WMI_MAX));
  for (size_t i = 0; i < m->wmi_count; i++)
    BLOK_TRY(blok_enc_text(out, m->wmi[i], 3, 3));
  return BLOK_OK;
}

enum blok_err blok_member_decode(const uint8_t *data, size_t len, struct blok_member *m) {
  struct blok_reader r;
  const char *s;
  size_t n;
  memset(m, 0, sizeof *m);
  blok_reader_init(&r, data, len);
  BLOK_TRY(blok_dec_text(&r, &s, &n, BLOK_NAME_MAX));
  memcpy(m->name, s, n);
  BLOK_TRY(blok_dec_u16(&r, &m->roles));
  BLOK_TRY(blok_dec_count(&r, &m->key_count, BLOK_MEMBER_KEYS_MAX));
  for (size_t i = 0; i < m->key_count; i++)
    BLOK_TRY(blok_dec_fixed(&r, m->keys[i], 32));
  BLOK_TRY(blok_dec_count(&r, &m->wmi_count, BLOK_MEMBER_WMI_MAX));
  for (size_t i = 0; i < m->wmi_count; i++) {
    BLOK_TRY(blok_dec_text(&r, &s, &n, 3));
    memcpy(m->wmi[i], s, n);
  }
  return blok_dec_end(&r);
}

json_t *blok_member_to_json(const struct blok_member *m) {
  json_t *roles = json_array(), *keys = json_array(), *wmi = json_array();
  for (unsigned i = 0; i < BLOK_ROLE_COUNT; i++)
    if (m->roles & (1u << i)) json_array_append_new(roles, json_string(role_names[i]));
  for (size_t i = 0; i < m->key_count; i++) {
    char hex[65];
    blok_hex_encode(hex, sizeof hex, m->keys[i], 32);
    json_array_append_new(keys, json_string(hex));
  }
  for (size_t i = 0; i < m->wmi_count; i++)
    json_array_append_new(wmi, json_string(m->wmi[i]));
  return json_pack("{s:s, s:o, s:o, s:o}", "name", m->name, "roles", roles, "keys", keys, "wmi",
                   wmi);
}

/* --- genesis ------------------------------------------------------------------------------ */

static enum blok_err parse_strings(const json_t *arr, size_t max, const char *what, size_t i,
                                   struct blok_why *why) {
  if (arr == NULL) return BLOK_OK;
  if (!json_is_array(arr) || json_array_size(arr) > max)
    return blok_refuse(why, BLOK_EFORMAT, "consortium.members[%zu].%s: an array of at most %zu", i,
                       what, max);
  size_t k;
  json_t *v;
  json_array_foreach(arr, k, v) if (!json_is_string(v)) return blok_refuse(
      why, BLOK_EFORMAT, "consortium.members[%zu].%s[%zu]: a string is required", i, what, k);
  return BLOK_OK;
}

static enum blok_err member_from_json(const json_t *j, size_t i, struct blok_member *m,
                                      struct blok_why *why) {
  memset(m, 0, sizeof *m);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)(uintptr_t)j, key, v) {
    if (strcmp(key, "name") && strcmp(key, "roles") && strcmp(key, "keys") && strcmp(key, "wmi"))
      return blok_refuse(why, BLOK_EFORMAT, "consortium.members[%zu]: unknown field %s", i, key);
  }
  const char *name = json_string_value(json_object_get(j, "name"));
  if (name == NULL || strlen(name) == 0 || strlen(name) > BLOK_NAME_MAX ||
      !blok_utf8_valid((const uint8_t *)name, strlen(name)))
    return blok_refuse(why, BLOK_EFORMAT, "consortium.members[%zu].name: 1..%d bytes of text", i,
                       BLOK_NAME_MAX);
  memcpy(m->name, name, strlen(name));
  const json_t *roles = json_object_get(j, "roles"), *keys = json_object_get(j, "keys");
  const json_t *wmi = json_object_get(j, "wmi");
  BLOK_TRY(parse_strings(roles, BLOK_ROLE_COUNT, "roles", i, why));
  BLOK_TRY(parse_strings(keys, BLOK_MEMBER_KEYS_MAX, "keys", i, why));
  BLOK_TRY(parse_strings(wmi, BLOK_MEMBER_WMI_MAX, "wmi", i, why));
  if (json_array_size(roles) == 0 || json_array_size(keys) == 0)
    return blok_refuse(why, BLOK_EFORMAT, "consortium.members[%zu]: roles and keys are required",
                       i);
  size_t k;
  json_array_foreach(roles, k, v) {
    enum blok_role r;
    if (blok_role_parse(json_string_value(v), &r) != BLOK_OK)
      return blok_refuse(why, BLOK_EFORMAT, "consortium.members[%zu].roles: unknown role %s", i,
                         json_string_value(v));
    m->roles |= (uint16_t)(1u << r);
  }
  json_array_foreach(keys, k, v) {
    const char *hex = json_string_value(v);
    if (blok_hex_decode_exact(m->keys[k], 32, hex, strlen(hex)) != BLOK_OK ||
        blok_sign_check_pk(m->keys[k]) != BLOK_OK)
      return blok_refuse(why, BLOK_EBADKEY, "consortium.members[%zu].keys[%zu]: not a valid key", i,
                         k);
  }
  m->key_count = json_array_size(keys);
  json_array_foreach(wmi, k, v) {
    if (!wmi_valid(json_string_value(v)))
      return blok_refuse(why, BLOK_EFORMAT, "consortium.members[%zu].wmi[%zu]: not a wmi", i, k);
    memcpy(m->wmi[k], json_string_value(v), 3);
  }
  m->wmi_count = json_array_size(wmi);
  if (m->wmi_count > 0 && !(m->roles & (1u << BLOK_ROLE_MANUFACTURER)))
    return blok_refuse(why, BLOK_EFORMAT, "consortium.members[%zu]: only manufacturers own wmi", i);
  return BLOK_OK;
}

static enum blok_err put_member(struct blok_exec *x, const struct blok_member *m,
                                struct blok_why *why) {
  uint8_t mem[MEMBER_RECORD_MAX];
  struct blok_buf b = {.data = mem, .cap = sizeof mem, .size_bytes_max = sizeof mem};
  BLOK_TRY(blok_member_encode(&b, m));
  char k[7 + BLOK_NAME_MAX];
  size_t n = strlen(m->name);
  const uint8_t *v;
  size_t vl;
  memcpy(k, "member/", 7);
  memcpy(k + 7, m->name, n);
  if (blok_exec_get(x, MODULE, k, 7 + n, &v, &vl) == BLOK_OK)
    return blok_refuse(why, BLOK_EEXIST, "consortium: member %s listed twice", m->name);
  BLOK_TRY(blok_exec_put(x, MODULE, k, 7 + n, b.data, b.len));
  BLOK_TRY(blok_exec_index_put(x, members_table, m->name, n, b.data, b.len));
  for (size_t i = 0; i < m->key_count; i++) {
    uint8_t kk[4 + 32];
    memcpy(kk, "key/", 4);
    memcpy(kk + 4, m->keys[i], 32);
    if (blok_exec_get(x, MODULE, kk, sizeof kk, &v, &vl) == BLOK_OK)
      return blok_refuse(why, BLOK_EEXIST, "consortium: a key of %s belongs to another member",
                         m->name);
    BLOK_TRY(blok_exec_put(x, MODULE, kk, sizeof kk, m->name, n));
  }
  return BLOK_OK;
}

static enum blok_err genesis(struct blok_exec *x, const json_t *doc, struct blok_why *why) {
  const json_t *sec = json_object_get(doc, MODULE);
  const json_t *members = json_object_get(sec, "members");
  if (!json_is_object(sec) || json_object_size(sec) != 1 || !json_is_array(members) ||
      json_array_size(members) == 0 || json_array_size(members) > BLOK_MEMBERS_MAX)
    return blok_refuse(why, BLOK_EFORMAT,
                       "consortium: {\"members\": [...]} with 1..%d members is required",
                       BLOK_MEMBERS_MAX);
  size_t i;
  json_t *j;
  json_array_foreach(members, i, j) {
    struct blok_member m;
    if (!json_is_object(j))
      return blok_refuse(why, BLOK_EFORMAT, "consortium.members[%zu]: an object is required", i);
    BLOK_TRY(member_from_json(j, i, &m, why));
    BLOK_TRY(put_member(x, &m, why));
  }
  return BLOK_OK;
}

/* --- lookups and the authorizer ----------------------------------------------------------- */

enum blok_err blok_consortium_member_by_key(struct blok_exec *x, const uint8_t pk[32],
                                            struct blok_member *out) {
  uint8_t kk[4 + 32];
  char k[7 + BLOK_NAME_MAX];
  const uint8_t *v;
  size_t n;
  memcpy(kk, "key/", 4);
  memcpy(kk + 4, pk, 32);
  BLOK_TRY(blok_exec_get(x, MODULE, kk, sizeof kk, &v, &n));
  if (n == 0 || n > BLOK_NAME_MAX) return BLOK_EFORMAT;
  memcpy(k, "member/", 7);
  memcpy(k + 7, v, n);
  BLOK_TRY(blok_exec_get(x, MODULE, k, 7 + n, &v, &n));
  return blok_member_decode(v, n, out);
}

enum blok_err blok_consortium_member_by_key_at(struct blok_txn *t, const uint8_t pk[32],
                                               struct blok_member *out) {
  uint8_t kk[4 + 32], tk[32];
  char k[7 + BLOK_NAME_MAX];
  const uint8_t *v;
  size_t n;
  memcpy(kk, "key/", 4);
  memcpy(kk + 4, pk, 32);
  BLOK_TRY(blok_state_key(tk, MODULE, kk, sizeof kk));
  BLOK_TRY(blok_state_get(t, tk, &v, &n));
  if (n == 0 || n > BLOK_NAME_MAX) return BLOK_EFORMAT;
  memcpy(k, "member/", 7);
  memcpy(k + 7, v, n);
  BLOK_TRY(blok_state_key(tk, MODULE, k, 7 + n));
  BLOK_TRY(blok_state_get(t, tk, &v, &n));
  return blok_member_decode(v, n, out);
}

enum blok_err blok_consortium_authorize(struct blok_exec *x, const struct blok_tx *tx,
                                        const struct blok_tx_kind *kind, struct blok_why *why) {
  struct blok_member m;
  enum blok_err rc = blok_consortium_member_by_key(x, tx->sender, &m);
  if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
  if (kind->authorize) return kind->authorize(x, tx, rc == BLOK_OK ? &m : NULL, why);
  if (rc == BLOK_ENOTFOUND)
    return blok_refuse(why, BLOK_ENOTPERMITTED, "sender key belongs to no member");
  if (kind->roles == NULL) return BLOK_OK;
  for (const char *const *r = kind->roles; *r; r++) {
    enum blok_role role;
    BLOK_ASSERT(blok_role_parse(*r, &role) == BLOK_OK);
    if (m.roles & (1u << role)) return BLOK_OK;
  }
  return blok_refuse(why, BLOK_ENOTPERMITTED, "member %s has no role that may send %s/%s", m.name,
                     tx->module, tx->type);
}

/* --- state queries ------------------------------------------------------------------------ */

/* "member/NAME" or "key/HEX" in a URL. */
static enum blok_err state_key(const char *text, struct blok_buf *out, struct blok_why *why) {
  if (strncmp(text, "member/", 7) == 0 && strlen(text) > 7 && strlen(text) <= 7 + BLOK_NAME_MAX)
    return blok_buf_append(out, text, strlen(text));
  if (strncmp(text, "key/", 4) == 0) {
    uint8_t pk[32];
    if (blok_hex_decode_exact(pk, 32, text + 4, strlen(text + 4)) != BLOK_OK)
      return blok_refuse(why, BLOK_EHEX, "key/: 64 hex digits expected");
    BLOK_TRY(blok_buf_append(out, "key/", 4));
    return blok_buf_append(out, pk, 32);
  }
  return blok_refuse(why, BLOK_EINVAL, "consortium keys are member/NAME or key/HEX");
}

static json_t *state_to_json(const uint8_t *key, size_t key_len, const uint8_t *val,
                             size_t val_len) {
  if (key_len > 4 && memcmp(key, "key/", 4) == 0)
    return json_pack("{s:s#}", "member", (const char *)val, val_len);
  struct blok_member m;
  if (blok_member_decode(val, val_len, &m) != BLOK_OK) return NULL;
  return blok_member_to_json(&m);
}

static enum blok_err open_tables(struct blok_store *s) {
  return blok_store_table_shared(s, "consortium.members", &members_table);
}

const struct blok_module blok_consortium_module = {
    .name = MODULE,
    .kinds = NULL,
    .kind_count = 0,
    .open = open_tables,
    .genesis = genesis,
    .state_key = state_key,
    .state_to_json = state_to_json,
};
