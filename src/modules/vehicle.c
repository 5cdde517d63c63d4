/*
 * The vehicle module (blok/vehicle.h; docs/PROTOCOL.md, "Vehicles"): who may send each of the
 * twelve kinds, what applying one does to the vehicle's record, the event chain and history
 * index every applied transaction extends, and the history walk the API and reports read.
 *
 * A transaction goes through two steps here. authorize runs at admission and decides whether
 * the sender may send this kind for this VIN: a member by its roles (and, for a manufacturer,
 * the WMI), a key that is no member by what the record says of it (the owner, the key an
 * offer names, the vehicle's own key). A key that is no member is also held to every state
 * rule at admission, so its transaction is either applied or never in a block: keys cost
 * nothing to make, and they must not be able to fill blocks with refusals. apply then runs
 * the same rules (rules()) on the record and, when they pass, writes the record and the event.
 * Both read only the execution context, so every node reaches the same verdict.
 */
#include <string.h>

#include "blok/consortium.h"
#include "blok/ledger.h"
#include "blok/vin.h"
#include "vehicle_internal.h"
#include "blok/banned.h"

#define MODULE BLOK_VEHICLE_MODULE

static unsigned events_table;
static bool events_table_open;

/* Everything one transaction's authorize or apply looks at. */
struct vctx {
  struct blok_exec *x;
  const struct blok_tx *tx;
  enum blok__vkind k;
  struct blok__vpay p;
  const struct blok_member *m; /* NULL: the sender is no member */
  bool found;
  struct blok_vehicle_record r; /* as committed so far, when found */
};

/* What an event records beside the transaction (the history index's extra fields). */
struct vnote {
  bool rollback;
  uint64_t previous_high_km;
};

static const struct blok_tx_kind kinds[BLOK__VK_COUNT];

/* --- the record in state ------------------------------------------------------------------ */

static enum blok_err load(struct vctx *c) {
  uint8_t k[19];
  const uint8_t *v;
  size_t n;
  blok_vehicle_state_key(k, c->p.vin);
  enum blok_err rc = blok_exec_get(c->x, MODULE, k, sizeof k, &v, &n);
  c->found = rc == BLOK_OK;
  if (rc == BLOK_ENOTFOUND) return BLOK_OK;
  BLOK_TRY(rc);
  /* The record was written by this module: one that does not decode is a broken store. */
  return blok_vehicle_record_decode(v, n, &c->r) == BLOK_OK ? BLOK_OK : BLOK_ESTORE;
}

/* The refusal every kind but register gives on a VIN that is not registered or is retired. */
static enum blok_err status_check(const struct vctx *c, struct blok_why *why) {
  if (c->k == BLOK__VK_REGISTER) return BLOK_OK;
  if (!c->found) return blok_refuse(why, BLOK_ENOTFOUND, "vin %s is not registered", c->p.vin);
  if (c->r.status == BLOK_VEHICLE_RETIRED)
    return blok_refuse(why, BLOK_EREFUSED,
                       "vin %s was retired at height %llu; nothing more can be recorded on it",
                       c->p.vin, (unsigned long long)c->r.retired_height);
  return BLOK_OK;
}

/* --- the rules of each kind, on a record that exists and is active (or, for register, on
 * none): they change *r and say why they refuse. ------------------------------------------- */

static void copy_text(char *out, const struct blok__vtext *t) {
  memcpy(out, t->s, t->len);
  out[t->len] = '\0';
}

static void sat_inc(uint32_t *v) {
  if (*v < UINT32_MAX) (*v)++;
}

static enum blok_err rule_register(const struct vctx *c, struct blok_vehicle_record *r,
                                   struct blok_why *why) {
  if (c->found && c->r.status == BLOK_VEHICLE_RETIRED)
    return blok_refuse(why, BLOK_EEXIST,
                       "vin %s was registered at height %llu and retired at height %llu; a "
                       "retired vin is never registered again",
                       c->p.vin, (unsigned long long)c->r.registered_height,
                       (unsigned long long)c->r.retired_height);
  if (c->found)
    return blok_refuse(why, BLOK_EEXIST, "vin %s is already registered (at height %llu)", c->p.vin,
                       (unsigned long long)c->r.registered_height);
  memset(r, 0, sizeof *r);
  r->version = BLOK_VEHICLE_RECORD_VERSION;
  memcpy(r->vin, c->p.vin, sizeof r->vin);
  r->status = BLOK_VEHICLE_ACTIVE;
  r->model_year = c->p.model_year;
  copy_text(r->make, &c->p.make);
  copy_text(r->model, &c->p.model);
  memcpy(r->owner, c->p.owner, 32);
  r->has_vehicle_key = c->p.has_vehicle_key;
  memcpy(r->vehicle_key, c->p.vehicle_key, 32);
  r->owners = 1;
  r->registered_height = blok_exec_height(c->x);
  return BLOK_OK;
}

static enum blok_err lien_blocks_transfer(const struct blok_vehicle_record *r,
                                          struct blok_why *why) {
  if (!r->lien_open) return BLOK_OK;
  return blok_refuse(why, BLOK_EREFUSED,
                     "a lien held by %s is open on vin %s; release it before transferring",
                     r->lien_holder, r->vin);
}

static enum blok_err rule_offer(const struct vctx *c, struct blok_vehicle_record *r,
                                struct blok_why *why) {
  uint64_t h = blok_exec_height(c->x);
  BLOK_TRY(lien_blocks_transfer(r, why));
  if (memcmp(c->p.new_owner, r->owner, 32) == 0)
    return blok_refuse(why, BLOK_EINVAL, "the new owner offered is already the owner of vin %s",
                       r->vin);
  if (c->p.expiry_height < h)
    return blok_refuse(why, BLOK_EEXPIRED,
                       "the offer's expiry height %llu has passed: the block is at height %llu",
                       (unsigned long long)c->p.expiry_height, (unsigned long long)h);
  r->has_offer = true;
  memcpy(r->offer_to, c->p.new_owner, 32);
  r->offer_expiry_height = c->p.expiry_height;
  return BLOK_OK;
}

static enum blok_err rule_accept(const struct vctx *c, struct blok_vehicle_record *r,
                                 struct blok_why *why) {
  uint64_t h = blok_exec_height(c->x);
  if (!r->has_offer)
    return blok_refuse(why, BLOK_EREFUSED, "vin %s has no pending transfer offer", r->vin);
  if (h > r->offer_expiry_height)
    return blok_refuse(why, BLOK_EEXPIRED,
                       "the transfer offer of vin %s expired at height %llu: the block is at "
                       "height %llu; the owner can make a new one",
                       r->vin, (unsigned long long)r->offer_expiry_height, (unsigned long long)h);
  BLOK_TRY(lien_blocks_transfer(r, why));
  memcpy(r->owner, r->offer_to, 32);
  sat_inc(&r->owners);
  r->has_offer = false;
  memset(r->offer_to, 0, 32);
  r->offer_expiry_height = 0;
  return BLOK_OK;
}

static bool has_role(const struct blok_member *m, enum blok_role role) {
  return m != NULL && (m->roles & (1u << role)) != 0;
}

static enum blok_err rule_lien(const struct vctx *c, struct blok_vehicle_record *r,
                               struct blok_why *why) {
  if (c->m == NULL) /* authorize admits members only; this guards another authorizer */
    return blok_refuse(why, BLOK_ENOTPERMITTED, "liens are placed and released by members");
  if (c->p.action == BLOK__LIEN_PLACE) {
    if (r->lien_open)
      return blok_refuse(why, BLOK_EEXIST,
                         "a lien held by %s is already open on vin %s; it must be released "
                         "before another is placed",
                         r->lien_holder, r->vin);
    r->lien_open = true;
    snprintf(r->lien_holder, sizeof r->lien_holder, "%s", c->m->name);
    return BLOK_OK;
  }
  if (!r->lien_open) return blok_refuse(why, BLOK_EREFUSED, "no lien is open on vin %s", r->vin);
  if (strcmp(r->lien_holder, c->m->name) != 0 && !has_role(c->m, BLOK_ROLE_REGISTRY))
    return blok_refuse(why, BLOK_ENOTPERMITTED,
                       "the lien on vin %s is held by %s; only %s or a registry member may "
                       "release it, not %s",
                       r->vin, r->lien_holder, r->lien_holder, c->m->name);
  r->lien_open = false;
  memset(r->lien_holder, 0, sizeof r->lien_holder);
  return BLOK_OK;
}

static enum blok_err rule_brand(const struct vctx *c, struct blok_vehicle_record *r,
                                struct blok_why *why) {
  uint8_t bit = (uint8_t)(1u << (c->p.brand - 1));
  if (r->brands & bit)
    return blok_refuse(why, BLOK_EEXIST, "vin %s already carries the %s brand; brands are for good",
                       r->vin, blok__vbrand_name(c->p.brand));
  r->brands |= bit;
  return BLOK_OK;
}

/* An odometer reading: never refused; below the highest so far it is flagged. */
static void reading(struct blok_vehicle_record *r, uint64_t km, struct vnote *n) {
  if (km < r->odometer_high_km) {
    n->rollback = true;
    sat_inc(&r->rollbacks);
  } else {
    r->odometer_high_km = km;
  }
  r->odometer_last_km = km;
}

static enum blok_err rules(const struct vctx *c, struct blok_vehicle_record *r, struct vnote *n,
                           struct blok_why *why) {
  const struct blok__vpay *p = &c->p;
  n->previous_high_km = r->odometer_high_km;
  switch (c->k) {
    case BLOK__VK_REGISTER:
      return rule_register(c, r, why);
    case BLOK__VK_ROTATE_KEY:
      r->has_vehicle_key = p->has_vehicle_key;
      memcpy(r->vehicle_key, p->vehicle_key, 32);
      return BLOK_OK;
    case BLOK__VK_TRANSFER_OFFER:
      return rule_offer(c, r, why);
    case BLOK__VK_TRANSFER_ACCEPT:
      return rule_accept(c, r, why);
    case BLOK__VK_LIEN:
      return rule_lien(c, r, why);
    case BLOK__VK_BRAND:
      return rule_brand(c, r, why);
    case BLOK__VK_ODOMETER:
    case BLOK__VK_INSPECTION:
      reading(r, p->km, n);
      return BLOK_OK;
    case BLOK__VK_CLUSTER_REPLACE:
      r->odometer_high_km = r->odometer_last_km = p->new_km;
      return BLOK_OK;
    case BLOK__VK_ACCIDENT:
      sat_inc(&r->accidents);
      return BLOK_OK;
    case BLOK__VK_END_OF_LIFE:
      r->status = BLOK_VEHICLE_RETIRED;
      r->retired_height = blok_exec_height(c->x);
      r->has_offer = false;
      memset(r->offer_to, 0, 32);
      r->offer_expiry_height = 0;
      return BLOK_OK;
    default: /* service, repair: recorded, nothing else changes */
      return BLOK_OK;
  }
}

/* The status check and the rules on a copy of the record, writing nothing. */
static enum blok_err vet(const struct vctx *c, struct blok_why *why) {
  struct blok_vehicle_record r = c->r;
  struct vnote n = {0};
  BLOK_TRY(status_check(c, why));
  return rules(c, &r, &n, why);
}

/* --- the event ---------------------------------------------------------------------------- */

static const char *first_role(const struct blok_member *m) {
  for (unsigned i = 0; i < BLOK_ROLE_COUNT; i++)
    if (m->roles & (1u << i)) return blok_role_name((enum blok_role)i);
  return "member";
}

static enum blok_err event_value(const struct vctx *c, const struct vnote *n, struct blok_buf *b) {
  const char *name = c->m ? c->m->name : "";
  const char *role = c->m ? first_role(c->m) : c->k == BLOK__VK_ODOMETER ? "vehicle" : "owner";
  BLOK_TRY(blok_enc_u64(b, blok_exec_height(c->x)));
  BLOK_TRY(blok_enc_u64(b, blok_exec_time_ms(c->x)));
  BLOK_TRY(blok_enc_u32(b, blok_exec_tx_position(c->x)));
  BLOK_TRY(blok_enc_fixed(b, c->tx->id, 32));
  BLOK_TRY(blok_enc_fixed(b, c->tx->sender, 32));
  BLOK_TRY(blok_enc_text(b, name, strlen(name), BLOK_NAME_MAX));
  BLOK_TRY(blok_enc_text(b, role, strlen(role), BLOK__VEHICLE_ROLE_MAX));
  BLOK_TRY(blok_enc_bool(b, n->rollback));
  return blok_enc_u64(b, n->previous_high_km);
}

static void event_key(uint8_t out[BLOK__VEHICLE_EVENT_KEY_LEN], const char vin[17], uint64_t n) {
  memcpy(out, vin, BLOK_VIN_LEN);
  blok_store_u64_key(out + BLOK_VIN_LEN, n);
}

/* Extends the chain, writes the record and the history index entry. */
static enum blok_err record_event(const struct vctx *c, struct blok_vehicle_record *r,
                                  const struct vnote *n) {
  uint8_t rec[BLOK__VEHICLE_RECORD_MAX], val[BLOK__VEHICLE_EVENT_MAX];
  uint8_t k[19], ek[BLOK__VEHICLE_EVENT_KEY_LEN];
  struct blok_buf rb = {.data = rec, .cap = sizeof rec, .size_bytes_max = sizeof rec};
  struct blok_buf vb = {.data = val, .cap = sizeof val, .size_bytes_max = sizeof val};
  BLOK_ASSERT(events_table_open);
  r->event_count++;
  blok_vehicle_chain_next(r->chain_head, c->tx->id, blok_exec_height(c->x),
                          blok_exec_time_ms(c->x));
  BLOK_ASSERT(blok_vehicle_record_encode(&rb, r) == BLOK_OK);
  BLOK_ASSERT(event_value(c, n, &vb) == BLOK_OK);
  blok_vehicle_state_key(k, r->vin);
  event_key(ek, r->vin, r->event_count);
  BLOK_TRY(blok_exec_put(c->x, MODULE, k, sizeof k, rb.data, rb.len));
  return blok_exec_index_put(c->x, events_table, ek, sizeof ek, vb.data, vb.len);
}

/* --- authorize ---------------------------------------------------------------------------- */

static void roles_text(char *out, size_t cap, const char *const *roles) {
  size_t used = 0, count = 0;
  out[0] = '\0';
  while (roles[count])
    count++;
  for (size_t i = 0; i < count && used < cap; i++) {
    const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
    int w = snprintf(out + used, cap - used, "%s%s", sep, roles[i]);
    if (w > 0) used += (size_t)w;
  }
}

static bool has_any_role(const struct blok_member *m, const char *const *roles) {
  for (size_t i = 0; m != NULL && roles[i]; i++) {
    enum blok_role role;
    BLOK_ASSERT(blok_role_parse(roles[i], &role) == BLOK_OK);
    if (has_role(m, role)) return true;
  }
  return false;
}

static enum blok_err auth_roles(const struct vctx *c, struct blok_why *why) {
  const char *const *roles = kinds[c->k].roles;
  char list[96];
  if (has_any_role(c->m, roles)) return BLOK_OK;
  roles_text(list, sizeof list, roles);
  if (c->m == NULL)
    return blok_refuse(why, BLOK_ENOTPERMITTED,
                       "sender key belongs to no member; vehicle/%s is sent by a %s member",
                       c->tx->type, list);
  return blok_refuse(why, BLOK_ENOTPERMITTED, "member %s has no role that may send vehicle/%s (%s)",
                     c->m->name, c->tx->type, list);
}

static enum blok_err auth_manufacturer(const struct vctx *c, struct blok_why *why) {
  const char *what = c->k == BLOK__VK_REGISTER ? "register" : "rotate the key of";
  if (c->m == NULL)
    return blok_refuse(why, BLOK_ENOTPERMITTED,
                       "sender key belongs to no member; only a manufacturer owning wmi %.3s may "
                       "%s vin %s",
                       c->p.vin, what, c->p.vin);
  if (!has_role(c->m, BLOK_ROLE_MANUFACTURER))
    return blok_refuse(why, BLOK_ENOTPERMITTED,
                       "member %s is no manufacturer; only a manufacturer owning wmi %.3s may %s "
                       "vin %s",
                       c->m->name, c->p.vin, what, c->p.vin);
  for (size_t i = 0; i < c->m->wmi_count; i++)
    if (memcmp(c->m->wmi[i], c->p.vin, 3) == 0) return BLOK_OK;
  return blok_refuse(why, BLOK_ENOTPERMITTED,
                     "member %s does not own wmi %.3s, so it may not %s vin %s", c->m->name,
                     c->p.vin, what, c->p.vin);
}

enum who { WHO_OWNER, WHO_OFFERED, WHO_VEHICLE };

static enum blok_err not_that_key(const struct vctx *c, enum who w, struct blok_why *why) {
  const char *v = c->p.vin;
  switch (w) {
    case WHO_OWNER:
      return blok_refuse(why, BLOK_ENOTPERMITTED,
                         "only the owner of vin %s, or a dealer member with the owner's consent, "
                         "may offer it for transfer",
                         v);
    case WHO_OFFERED:
      if (!c->r.has_offer)
        return blok_refuse(why, BLOK_ENOTPERMITTED, "vin %s has no pending transfer offer", v);
      return blok_refuse(why, BLOK_ENOTPERMITTED,
                         "only the key the transfer offer of vin %s names may accept it", v);
    default:
      return blok_refuse(why, BLOK_ENOTPERMITTED,
                         "only the vehicle's own key, or a service or registry member, may "
                         "record the odometer of vin %s%s",
                         v, c->r.has_vehicle_key ? "" : " (it has no key now)");
  }
}

/* A sender that the record names: the owner, the key an offer names, the vehicle's key. */
static enum blok_err auth_key(struct vctx *c, enum who w, struct blok_why *why) {
  BLOK_TRY(load(c));
  if (!c->found || c->r.status == BLOK_VEHICLE_RETIRED)
    return c->m ? BLOK_OK /* apply records the refusal */ : status_check(c, why);
  const uint8_t *want = w == WHO_OWNER     ? c->r.owner
                        : w == WHO_OFFERED ? (c->r.has_offer ? c->r.offer_to : NULL)
                                           : (c->r.has_vehicle_key ? c->r.vehicle_key : NULL);
  if (want == NULL || memcmp(want, c->tx->sender, 32) != 0) return not_that_key(c, w, why);
  return c->m ? BLOK_OK : vet(c, why);
}

/* A dealer's offer: the consent must be the owner's signature over this very offer. */
static enum blok_err auth_consent(struct vctx *c, struct blok_why *why) {
  if (!has_role(c->m, BLOK_ROLE_DEALER))
    return blok_refuse(why, BLOK_ENOTPERMITTED,
                       "an offer with the owner's consent is sent by a dealer member; the owner "
                       "sends an offer without consent");
  BLOK_TRY(load(c));
  if (!c->found || c->r.status == BLOK_VEHICLE_RETIRED) return BLOK_OK;
  uint8_t m[BLOK__VEHICLE_CONSENT_MSG_LEN];
  blok__vehicle_consent_message(m, c->p.vin, c->p.new_owner, c->p.expiry_height);
  if (blok_verify_domain(c->p.consent, c->r.owner, BLOK_VEHICLE_CONSENT_TAG, c->tx->chain_id, m,
                         sizeof m) != BLOK_OK)
    return blok_refuse(why, BLOK_ENOTPERMITTED,
                       "the consent is not the signature of vin %s's owner over this offer "
                       "(vin, new_owner, expiry_height)",
                       c->p.vin);
  return BLOK_OK;
}

static enum blok_err ctx_init(struct vctx *c, struct blok_exec *x, const struct blok_tx *tx,
                              const struct blok_member *m, struct blok_why *why) {
  memset(c, 0, sizeof *c);
  c->x = x;
  c->tx = tx;
  c->m = m;
  c->k = blok__vkind_of(tx->type);
  BLOK_ASSERT(c->k < BLOK__VK_COUNT && strcmp(kinds[c->k].type, tx->type) == 0);
  return blok__vpay_decode(c->k, tx->payload, tx->payload_len, &c->p, why);
}

static enum blok_err authorize(struct blok_exec *x, const struct blok_tx *tx,
                               const struct blok_member *m, struct blok_why *why) {
  struct vctx c;
  BLOK_TRY(ctx_init(&c, x, tx, m, why));
  switch (c.k) {
    case BLOK__VK_REGISTER:
    case BLOK__VK_ROTATE_KEY:
      return auth_manufacturer(&c, why);
    case BLOK__VK_TRANSFER_OFFER:
      return c.p.has_consent ? auth_consent(&c, why) : auth_key(&c, WHO_OWNER, why);
    case BLOK__VK_TRANSFER_ACCEPT:
      return auth_key(&c, WHO_OFFERED, why);
    case BLOK__VK_ODOMETER:
      if (has_any_role(m, kinds[c.k].roles)) return BLOK_OK;
      return auth_key(&c, WHO_VEHICLE, why);
    default:
      return auth_roles(&c, why);
  }
}

/* --- apply -------------------------------------------------------------------------------- */

static enum blok_err apply(struct blok_exec *x, const struct blok_tx *tx, struct blok_why *why) {
  struct blok_member member;
  enum blok_err rc = blok_consortium_member_by_key(x, tx->sender, &member);
  if (rc != BLOK_OK && rc != BLOK_ENOTFOUND) return rc;
  struct vctx c;
  BLOK_TRY(ctx_init(&c, x, tx, rc == BLOK_OK ? &member : NULL, why));
  BLOK_TRY(load(&c));
  BLOK_TRY(status_check(&c, why));
  struct blok_vehicle_record r = c.r;
  struct vnote n = {0};
  BLOK_TRY(rules(&c, &r, &n, why));
  return record_event(&c, &r, &n);
}

/* --- history ------------------------------------------------------------------------------ */

static enum blok_err event_decode(const struct blok_kv *kv, struct blok_vehicle_event *e) {
  struct blok_reader rd;
  const char *s;
  size_t n;
  memset(e, 0, sizeof *e);
  e->n = blok_store_u64_from_key(kv->key + BLOK_VIN_LEN);
  blok_reader_init(&rd, kv->val, kv->val_len);
  BLOK_TRY(blok_dec_u64(&rd, &e->height));
  BLOK_TRY(blok_dec_u64(&rd, &e->time_ms));
  BLOK_TRY(blok_dec_u32(&rd, &e->position));
  BLOK_TRY(blok_dec_fixed(&rd, e->tx_id, 32));
  BLOK_TRY(blok_dec_fixed(&rd, e->signer, 32));
  BLOK_TRY(blok_dec_text(&rd, &s, &n, BLOK_NAME_MAX));
  memcpy(e->signer_name, s, n);
  BLOK_TRY(blok_dec_text(&rd, &s, &n, BLOK__VEHICLE_ROLE_MAX));
  memcpy(e->signer_role, s, n);
  BLOK_TRY(blok_dec_bool(&rd, &e->rollback));
  BLOK_TRY(blok_dec_u64(&rd, &e->previous_high_km));
  return blok_dec_end(&rd);
}

static bool same_vin(const struct blok_kv *kv, const char *vin) {
  return kv->key_len == BLOK__VEHICLE_EVENT_KEY_LEN && memcmp(kv->key, vin, BLOK_VIN_LEN) == 0;
}

/* Puts the cursor on the page's first entry (or reports there is none). */
static enum blok_err history_start(struct blok_cursor *cur, const char *vin, uint64_t cursor,
                                   bool descending, struct blok_kv *kv) {
  uint8_t k[BLOK__VEHICLE_EVENT_KEY_LEN];
  if (!descending) {
    if (cursor == UINT64_MAX) return BLOK_ENOTFOUND;
    event_key(k, vin, cursor + 1);
    return blok_cursor_seek(cur, k, sizeof k, kv);
  }
  /* Descending: the last entry below the cursor (n never reaches UINT64_MAX). */
  event_key(k, vin, cursor == 0 ? UINT64_MAX : cursor);
  enum blok_err rc = blok_cursor_seek(cur, k, sizeof k, kv);
  if (rc == BLOK_OK) return blok_cursor_prev(cur, kv);
  return rc == BLOK_ENOTFOUND ? blok_cursor_last(cur, kv) : rc;
}

static enum blok_err history_walk(struct blok_cursor *cur, const char *vin, uint64_t cursor,
                                  size_t limit, bool descending, struct blok_vehicle_event *out,
                                  size_t *count, uint64_t *next_cursor) {
  struct blok_kv kv;
  enum blok_err rc = history_start(cur, vin, cursor, descending, &kv);
  while (rc == BLOK_OK && same_vin(&kv, vin)) {
    if (*count == limit) {
      *next_cursor = out[limit - 1].n;
      return BLOK_OK;
    }
    if (event_decode(&kv, &out[*count]) != BLOK_OK) return BLOK_EFORMAT;
    (*count)++;
    rc = descending ? blok_cursor_prev(cur, &kv) : blok_cursor_next(cur, &kv);
  }
  return rc == BLOK_ENOTFOUND ? BLOK_OK : rc;
}

enum blok_err blok_vehicle_history(struct blok_txn *t, const char vin[17], uint64_t cursor,
                                   size_t limit, bool descending, struct blok_vehicle_event *out,
                                   size_t *count, uint64_t *next_cursor) {
  struct blok_vin v;
  struct blok_cursor *cur;
  *count = 0;
  *next_cursor = 0;
  if (limit == 0 || limit > BLOK_VEHICLE_HISTORY_PAGE_MAX || out == NULL) return BLOK_EINVAL;
  if (!events_table_open) return BLOK_EUNAVAIL;
  BLOK_TRY(blok_vin_parse(&v, NULL, vin, BLOK_VIN_LEN));
  BLOK_TRY(blok_cursor_open(t, events_table, &cur));
  enum blok_err rc = history_walk(cur, v.vin, cursor, limit, descending, out, count, next_cursor);
  blok_cursor_close(cur);
  if (rc != BLOK_OK) {
    *count = 0;
    *next_cursor = 0;
  }
  return rc;
}

/* --- the module --------------------------------------------------------------------------- */

static enum blok_err state_key(const char *text, struct blok_buf *out, struct blok_why *why) {
  struct blok_vin v;
  struct blok_vin_problem prob;
  char desc[BLOK_VIN_PROBLEM_MAX];
  if (strncmp(text, "v/", 2) != 0)
    return blok_refuse(why, BLOK_EINVAL, "vehicle keys are v/VIN (17 characters)");
  if (blok_vin_parse(&v, &prob, text + 2, strlen(text + 2)) != BLOK_OK) {
    (void)blok_vin_problem_describe(desc, sizeof desc, &prob);
    return blok_refuse(why, BLOK_EVIN, "v/VIN: %s", desc);
  }
  uint8_t k[19];
  blok_vehicle_state_key(k, v.vin);
  return blok_buf_append(out, k, sizeof k);
}

static json_t *state_to_json(const uint8_t *key, size_t key_len, const uint8_t *val,
                             size_t val_len) {
  struct blok_vehicle_record r;
  if (key_len != 19 || memcmp(key, "v/", 2) != 0) return NULL;
  if (blok_vehicle_record_decode(val, val_len, &r) != BLOK_OK) return NULL;
  return blok_vehicle_record_to_json(&r);
}

static enum blok_err open_tables(struct blok_store *s) {
  BLOK_TRY(blok_store_table_shared(s, BLOK_VEHICLE_EVENTS_TABLE, &events_table));
  events_table_open = true;
  return BLOK_OK;
}

/* The three payload hooks, for every kind: the kind's tag is its enum blok__vkind. */
static enum blok_err check(const struct blok_tx_kind *k, const uint8_t *p, size_t len,
                           struct blok_why *why) {
  struct blok__vpay v;
  return blok__vpay_decode((enum blok__vkind)k->tag, p, len, &v, why);
}

static enum blok_err from_json(const struct blok_tx_kind *k, const json_t *j, struct blok_buf *out,
                               struct blok_why *why) {
  return blok__vpay_from_json((enum blok__vkind)k->tag, j, out, why);
}

static json_t *to_json(const struct blok_tx_kind *k, const uint8_t *p, size_t len) {
  return blok__vpay_to_json((enum blok__vkind)k->tag, p, len);
}

static const char *const r_manufacturer[] = {"manufacturer", NULL};
static const char *const r_dealer[] = {"dealer", NULL};
static const char *const r_none[] = {NULL}; /* only the key the offer names */
static const char *const r_lien[] = {"lender", "registry", NULL};
static const char *const r_brand[] = {"insurer", "registry", NULL};
static const char *const r_reading[] = {"service", "registry", NULL};
static const char *const r_service[] = {"service", NULL};
static const char *const r_repair[] = {"service", "insurer", NULL};
static const char *const r_accident[] = {"insurer", "service", "registry", NULL};
static const char *const r_end[] = {"recycler", "registry", NULL};

#define KIND(K, name, r)                                                                           \
  [K] = {.type = #name,                                                                            \
         .roles = r,                                                                               \
         .tag = K,                                                                                 \
         .check = check,                                                                           \
         .from_json = from_json,                                                                   \
         .to_json = to_json,                                                                       \
         .apply = apply,                                                                           \
         .authorize = authorize}

static const struct blok_tx_kind kinds[BLOK__VK_COUNT] = {
    KIND(BLOK__VK_REGISTER, register, r_manufacturer),
    KIND(BLOK__VK_ROTATE_KEY, rotate_key, r_manufacturer),
    KIND(BLOK__VK_TRANSFER_OFFER, transfer_offer, r_dealer),
    KIND(BLOK__VK_TRANSFER_ACCEPT, transfer_accept, r_none),
    KIND(BLOK__VK_LIEN, lien, r_lien),
    KIND(BLOK__VK_BRAND, brand, r_brand),
    KIND(BLOK__VK_ODOMETER, odometer, r_reading),
    KIND(BLOK__VK_CLUSTER_REPLACE, cluster_replace, r_service),
    KIND(BLOK__VK_SERVICE, service, r_service),
    KIND(BLOK__VK_REPAIR, repair, r_repair),
    KIND(BLOK__VK_ACCIDENT, accident, r_accident),
    KIND(BLOK__VK_INSPECTION, inspection, r_reading),
    KIND(BLOK__VK_END_OF_LIFE, end_of_life, r_end),
};

const struct blok_module blok_vehicle_module = {
    .name = MODULE,
    .kinds = kinds,
    .kind_count = BLOK__VK_COUNT,
    .open = open_tables,
    .state_key = state_key,
    .state_to_json = state_to_json,
};
