/*
 * The consortium module: who the members are, their roles and keys (and, for manufacturers,
 * the WMI codes they own), and the permission rule every transaction passes: the sender's key
 * must belong to a member with a role the transaction kind allows. The genesis document's
 * "consortium" section lists the members; governance transactions come with a later issue.
 */
#ifndef BLOK_CONSORTIUM_H
#define BLOK_CONSORTIUM_H

#include "blok/module.h"

#define BLOK_ROLE_MAP(X)                                                                           \
  X(MANUFACTURER, "manufacturer")                                                                  \
  X(SUPPLIER, "supplier")                                                                          \
  X(DEALER, "dealer")                                                                              \
  X(SERVICE, "service")                                                                            \
  X(INSURER, "insurer")                                                                            \
  X(REGISTRY, "registry")                                                                          \
  X(LENDER, "lender")                                                                              \
  X(FLEET, "fleet")                                                                                \
  X(ENERGY, "energy")                                                                              \
  X(RECYCLER, "recycler")                                                                          \
  X(AUDITOR, "auditor")

enum blok_role {
#define BLOK__ROLE_ENUM(id, name) BLOK_ROLE_##id,
  BLOK_ROLE_MAP(BLOK__ROLE_ENUM)
#undef BLOK__ROLE_ENUM
      BLOK_ROLE_COUNT
};

#define BLOK_MEMBER_KEYS_MAX 16
#define BLOK_MEMBER_WMI_MAX  64
#define BLOK_MEMBERS_MAX     1000

struct blok_member {
  char name[BLOK_NAME_MAX + 1];
  uint16_t roles; /* bit (1 << enum blok_role) per role */
  size_t key_count;
  uint8_t keys[BLOK_MEMBER_KEYS_MAX][32];
  size_t wmi_count;
  char wmi[BLOK_MEMBER_WMI_MAX][4];
};

extern const struct blok_module blok_consortium_module;

const char *blok_role_name(enum blok_role r);
/* BLOK_EINVAL for a name that is not a role. */
BLOK_WUR enum blok_err blok_role_parse(const char *name, enum blok_role *out);

/* The member holding key, as of the execution. BLOK_ENOTFOUND for a key of no member. */
BLOK_WUR enum blok_err blok_consortium_member_by_key(struct blok_exec *x, const uint8_t pk[32],
                                                     struct blok_member *out);
/* The same from committed state (for queries): in a read transaction. */
BLOK_WUR enum blok_err blok_consortium_member_by_key_at(struct blok_txn *t, const uint8_t pk[32],
                                                        struct blok_member *out);
/* The registry's authorizer (blok_authorize_fn). */
enum blok_err blok_consortium_authorize(struct blok_exec *x, const struct blok_tx *tx,
                                        const struct blok_tx_kind *kind, struct blok_why *why);

BLOK_WUR enum blok_err blok_member_encode(struct blok_buf *out, const struct blok_member *m);
BLOK_WUR enum blok_err blok_member_decode(const uint8_t *data, size_t len, struct blok_member *m);
json_t *blok_member_to_json(const struct blok_member *m);

#endif
