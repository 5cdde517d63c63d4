/*
 * The ledger engine end to end with the consortium and anchor modules: genesis, admission
 * refusals (each with its code), a module refusal recorded in the block with its nonce used,
 * the header's roots, the certificate, state proofs against the header, reopening the store,
 * refusing another chain's data folder, and the same state root from a replay.
 */
#include <signal.h>
#include <unistd.h>

#include "test_util.h"

#include "blok/anchor.h"
#include "blok/consortium.h"
#include "blok/hex.h"
#include "blok/ledger.h"
#include "blok/merkle.h"
#include "blok/sha256.h"
#include "blok/banned.h"

struct world {
  char dir[64];
  struct blok_sign_keypair validator, maker, dealer, outsider;
  struct blok_registry reg;
  struct blok_genesis g;
  struct blok_store *store;
  struct blok_ledger *l;
  size_t map_size_bytes; /* 0: the default */
};

static void keypair(struct blok_sign_keypair *kp, uint8_t seed_byte) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof seed);
  assert_int_equal(blok_sign_keypair_from_seed(kp, seed), BLOK_OK);
}

static json_t *hexj(const uint8_t pk[32]) {
  char h[65];
  blok_hex_encode(h, sizeof h, pk, 32);
  return json_string(h);
}

static json_t *genesis_doc(struct world *w, const char *chain) {
  return json_pack(
      "{s:s, s:I, s:[{s:s, s:o}], s:{s:[{s:s, s:[s], s:[o], s:[s]}, {s:s, s:[s], s:[o]}]}}",
      "chain_id", chain, "genesis_time_ms", (json_int_t)1700000000000, "validators", "name",
      "validator-0", "public_key", hexj(w->validator.pk), "consortium", "members", "name",
      "Acme Motors", "roles", "manufacturer", "keys", hexj(w->maker.pk), "wmi", "1HG", "name",
      "Main Street Dealer", "roles", "dealer", "keys", hexj(w->dealer.pk));
}

/* A module for the tests of state storage: kv/set puts or deletes one key. Payload: u8 op (1
 * put, 2 delete), u8 key length, the key, then the value (a put's). */
static enum blok_err kv_check(const struct blok_tx_kind *kind, const uint8_t *p, size_t len,
                              struct blok_why *why) {
  (void)kind;
  if (len < 3 || (p[0] != 1 && p[0] != 2) || p[1] == 0 || len < 2u + p[1])
    return blok_refuse(why, BLOK_EFORMAT, "kv: bad payload");
  return BLOK_OK;
}

static enum blok_err kv_from_json(const struct blok_tx_kind *kind, const json_t *j,
                                  struct blok_buf *out, struct blok_why *why) {
  (void)kind, (void)j, (void)out;
  return blok_refuse(why, BLOK_EINVAL, "kv: no JSON form");
}

static json_t *kv_to_json(const struct blok_tx_kind *kind, const uint8_t *p, size_t len) {
  (void)kind, (void)p, (void)len;
  return json_object();
}

static enum blok_err kv_apply(struct blok_exec *x, const struct blok_tx *tx, struct blok_why *why) {
  (void)why;
  const uint8_t *p = tx->payload;
  if (p[0] == 2) return blok_exec_del(x, "kv", p + 2, p[1]);
  return blok_exec_put(x, "kv", p + 2, p[1], p + 2 + p[1], tx->payload_len - 2 - p[1]);
}

static const struct blok_tx_kind kv_kinds[] = {{.type = "set",
                                                .check = kv_check,
                                                .from_json = kv_from_json,
                                                .to_json = kv_to_json,
                                                .apply = kv_apply}};
static const struct blok_module kv_module = {.name = "kv", .kinds = kv_kinds, .kind_count = 1};

static void open_world(struct world *w, const char *chain, enum blok_err want) {
  blok_registry_init(&w->reg);
  assert_int_equal(blok_registry_add(&w->reg, &blok_consortium_module), BLOK_OK);
  assert_int_equal(blok_registry_add(&w->reg, &blok_anchor_module), BLOK_OK);
  assert_int_equal(blok_registry_add(&w->reg, &kv_module), BLOK_OK);
  w->reg.authorize = blok_consortium_authorize;
  struct blok_why why = {{0}};
  json_t *doc = genesis_doc(w, chain);
  assert_int_equal(blok_genesis_parse(&w->g, doc, &w->reg, &why), BLOK_OK);
  json_decref(doc);
  struct blok_store_opts o = {.dir = w->dir, .map_size_bytes = w->map_size_bytes};
  assert_int_equal(blok_store_open(&w->store, &o), BLOK_OK);
  enum blok_err rc = blok_ledger_open(&w->l, w->store, &w->reg, &w->g, &why);
  if (rc != want) fail_msg("ledger open: %s (%s)", blok_err_name(rc), why.msg);
  if (rc != BLOK_OK) w->l = NULL;
}

static void close_world(struct world *w) {
  blok_ledger_close(w->l);
  blok_store_close(w->store);
  blok_genesis_release(&w->g);
}

static void setup(struct world *w) {
  memset(w, 0, sizeof *w);
  snprintf(w->dir, sizeof w->dir, "/tmp/blok-ledger-XXXXXX");
  assert_non_null(mkdtemp(w->dir));
  keypair(&w->validator, 1);
  keypair(&w->maker, 2);
  keypair(&w->dealer, 3);
  keypair(&w->outsider, 4);
}

static void teardown(struct world *w) {
  char p[128];
  snprintf(p, sizeof p, "%s/data.mdb", w->dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", w->dir);
  unlink(p);
  rmdir(w->dir);
}

/* A signed module/type transaction in buf (which, like payload, must outlive tx). */
static void sign_tx(struct blok_tx *tx, struct blok_buf *buf, const struct blok_sign_keypair *kp,
                    const char *chain, const char *module, const char *type, uint64_t nonce,
                    const uint8_t *payload, size_t len) {
  memset(tx, 0, sizeof *tx);
  tx->version = BLOK_TX_VERSION;
  snprintf(tx->chain_id, sizeof tx->chain_id, "%s", chain);
  snprintf(tx->module, sizeof tx->module, "%s", module);
  snprintf(tx->type, sizeof tx->type, "%s", type);
  tx->nonce = nonce;
  tx->expiry_height = 100;
  tx->payload = payload;
  tx->payload_len = len;
  assert_int_equal(blok_tx_sign(tx, kp, buf), BLOK_OK);
}

/* A signed anchor/record transaction in buf (which must outlive tx). */
static void anchor_tx(struct blok_tx *tx, struct blok_buf *buf, struct blok_buf *payload,
                      const struct blok_sign_keypair *kp, const char *chain, uint64_t nonce,
                      const char *doc) {
  uint8_t hash[32];
  blok_sha256(hash, doc, strlen(doc));
  blok_buf_clear(payload);
  blok_buf_clear(buf);
  assert_int_equal(blok_anchor_payload(payload, hash, doc), BLOK_OK);
  sign_tx(tx, buf, kp, chain, "anchor", "record", nonce, payload->data, payload->len);
}

static void sign_qc(struct world *w, const struct blok_header *h, struct blok_qc *qc) {
  memset(qc, 0, sizeof *qc);
  qc->vote.height = h->height;
  qc->vote.round = h->round;
  assert_int_equal(blok_header_hash(h, qc->vote.block_hash), BLOK_OK);
  qc->validator_count = 1;
  qc->signers[0] = 1;
  qc->sig_count = 1;
  assert_int_equal(blok_vote_sign(qc->sigs[0], w->g.chain_id, &qc->vote, &w->validator), BLOK_OK);
}

static enum blok_err try_tx(struct blok_exec *x, const struct blok_tx *tx, bool sig_checked,
                            struct blok_tx_result *res) {
  struct blok_why why;
  return blok_exec_tx(x, tx, sig_checked, res, &why);
}

/* Block 1: two accepted anchors, one module refusal, and every admission refusal. */
static void block_one(struct world *w, struct blok_header *out) {
  struct blok_exec *x;
  struct blok_tx tx;
  struct blok_tx_result res;
  struct blok_buf buf, pl;
  blok_buf_init(&buf, BLOK_TX_ENCODED_MAX);
  blok_buf_init(&pl, BLOK_TX_PAYLOAD_MAX);
  assert_int_equal(blok_exec_begin(w->l, w->g.time_ms + 1000, w->validator.pk, 1, &x), BLOK_OK);

  anchor_tx(&tx, &buf, &pl, &w->maker, "blokauto-test", 1, "invoice 1");
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_OK);
  assert_int_equal(res.code, BLOK_OK);
  anchor_tx(&tx, &buf, &pl, &w->dealer, "blokauto-test", 1, "invoice 2");
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_OK);
  /* The same document again: included, refused by the module, nonce used. */
  anchor_tx(&tx, &buf, &pl, &w->maker, "blokauto-test", 2, "invoice 1");
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_OK);
  assert_int_equal(res.code, BLOK_EEXIST);
  assert_non_null(strstr(res.msg, "already anchored"));
  uint64_t next;
  assert_int_equal(blok_exec_next_nonce(x, w->maker.pk, &next), BLOK_OK);
  assert_int_equal(next, 3);

  anchor_tx(&tx, &buf, &pl, &w->maker, "blokauto-test", 2, "stale");
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_ESTALE);
  anchor_tx(&tx, &buf, &pl, &w->maker, "blokauto-test", 5, "gap");
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_EGAP);
  anchor_tx(&tx, &buf, &pl, &w->outsider, "blokauto-test", 1, "outsider");
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_ENOTPERMITTED);
  anchor_tx(&tx, &buf, &pl, &w->maker, "other-chain", 3, "wrong chain");
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_EBADTAG);
  anchor_tx(&tx, &buf, &pl, &w->maker, "blokauto-test", 3, "bad sig");
  tx.sig[10] ^= 1;
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_EBADSIG);
  anchor_tx(&tx, &buf, &pl, &w->maker, "blokauto-test", 3, "unknown kind");
  snprintf(tx.type, sizeof tx.type, "nope");
  assert_int_equal(try_tx(x, &tx, true, &res), BLOK_EUNKNOWNKIND);
  assert_int_equal(blok_exec_tx_count(x), 3);

  struct blok_header h;
  struct blok_qc qc;
  assert_int_equal(blok_exec_finish(x, &h), BLOK_OK);
  sign_qc(w, &h, &qc);
  assert_int_equal(blok_ledger_commit(w->l, x, &qc), BLOK_OK);
  blok_exec_free(x);
  blok_buf_release(&buf);
  blok_buf_release(&pl);
  *out = h;
}

static void check_block_one(struct world *w, const struct blok_header *h) {
  struct blok_buf block, qcb;
  blok_buf_init(&block, BLOK_BLOCK_BYTES_MAX);
  blok_buf_init(&qcb, 1 << 16);
  assert_int_equal(blok_ledger_block(w->l, 1, &block, &qcb), BLOK_OK);
  struct blok_block_view *v = malloc(sizeof *v);
  assert_int_equal(blok_block_parse(v, block.data, block.len), BLOK_OK);
  assert_int_equal(v->tx_count, 3);
  uint8_t hash[32], head_hash[32];
  assert_int_equal(blok_header_hash(&v->header, hash), BLOK_OK);
  blok_ledger_head(w->l, NULL, head_hash);
  assert_memory_equal(hash, head_hash, 32);
  assert_memory_equal(v->header.state_root, h->state_root, 32);
  /* The certificate verifies against the genesis validators, and not against others. */
  struct blok_qc qc;
  struct blok_reader r;
  blok_reader_init(&r, qcb.data, qcb.len);
  assert_int_equal(blok_qc_decode(&r, &qc), BLOK_OK);
  assert_int_equal(blok_qc_verify(&qc, "blokauto-test", w->g.validators[0], 1), BLOK_OK);
  assert_int_equal(blok_qc_verify(&qc, "blokauto-test", w->maker.pk, 1), BLOK_EBADSIG);
  /* Each transaction's location and result; its id is a leaf of the header's tx root. */
  uint8_t leaves[3 * 32];
  for (size_t i = 0; i < 3; i++) {
    struct blok_tx tx;
    struct blok_tx_location loc;
    assert_int_equal(blok_tx_decode(&tx, v->txs[i], v->tx_lens[i]), BLOK_OK);
    assert_int_equal(blok_ledger_tx(w->l, tx.id, &loc), BLOK_OK);
    assert_int_equal(loc.height, 1);
    assert_int_equal(loc.position, i);
    assert_int_equal(loc.result.code, i == 2 ? BLOK_EEXIST : BLOK_OK);
    blok_merkle_leaf_hash(leaves + 32 * i, tx.id, 32);
  }
  uint8_t root[32];
  blok_merkle_root(root, leaves, 3);
  assert_memory_equal(root, v->header.tx_root, 32);
  free(v);
  blok_buf_release(&block);
  blok_buf_release(&qcb);
}

static void check_state_proof(struct world *w, const struct blok_header *h) {
  uint8_t hash[32], k[36], tk[32], vh[32];
  blok_sha256(hash, "invoice 1", 9);
  memcpy(k, "doc/", 4);
  memcpy(k + 4, hash, 32);
  assert_int_equal(blok_state_key(tk, "anchor", k, sizeof k), BLOK_OK);
  struct blok_txn *t;
  struct blok_smt_store s;
  static struct blok_smt_proof p;
  const uint8_t *val;
  size_t n;
  assert_int_equal(blok_store_read_begin(w->store, &t), BLOK_OK);
  assert_int_equal(blok_state_get(t, tk, &val, &n), BLOK_OK);
  blok_sha256(vh, val, n);
  blok_txn_smt_store(t, &s);
  assert_int_equal(blok_smt_prove(&s, h->state_root, tk, &p), BLOK_OK);
  assert_int_equal(blok_smt_verify(h->state_root, tk, vh, &p), BLOK_OK);
  /* "invoice 2" was anchored by the dealer; "stale" never was. */
  blok_sha256(hash, "stale", 5);
  memcpy(k + 4, hash, 32);
  assert_int_equal(blok_state_key(tk, "anchor", k, sizeof k), BLOK_OK);
  assert_int_equal(blok_smt_prove(&s, h->state_root, tk, &p), BLOK_OK);
  assert_int_equal(blok_smt_verify(h->state_root, tk, NULL, &p), BLOK_OK);
  blok_store_read_end(t);
}

/* The API's reads: a state value with its proof, and a transaction with its inclusion proof. */
static void check_reads(struct world *w, const struct blok_header *h1) {
  uint8_t hash[32], k[36], tk[32], vh[32];
  blok_sha256(hash, "invoice 2", 9);
  memcpy(k, "doc/", 4);
  memcpy(k + 4, hash, 32);
  struct blok_buf val, txb;
  blok_buf_init(&val, 1 << 16);
  blok_buf_init(&txb, BLOK_TX_ENCODED_MAX);
  static struct blok_smt_proof p;
  struct blok_header at;
  bool found;
  assert_int_equal(blok_ledger_state(w->l, "anchor", k, sizeof k, &found, &val, &p, &at), BLOK_OK);
  assert_true(found);
  assert_int_equal(at.height, h1->height);
  assert_int_equal(blok_state_key(tk, "anchor", k, sizeof k), BLOK_OK);
  blok_sha256(vh, val.data, val.len);
  assert_int_equal(blok_smt_verify(at.state_root, tk, vh, &p), BLOK_OK);
  k[5] ^= 1;
  blok_buf_clear(&val);
  assert_int_equal(blok_ledger_state(w->l, "anchor", k, sizeof k, &found, &val, &p, &at), BLOK_OK);
  assert_false(found);
  assert_int_equal(blok_state_key(tk, "anchor", k, sizeof k), BLOK_OK);
  assert_int_equal(blok_smt_verify(at.state_root, tk, NULL, &p), BLOK_OK);

  /* The block's second transaction, proven against the header's tx_root. */
  struct blok_buf block, qcb;
  blok_buf_init(&block, BLOK_BLOCK_BYTES_MAX);
  blok_buf_init(&qcb, 1 << 16);
  assert_int_equal(blok_ledger_block(w->l, 1, &block, &qcb), BLOK_OK);
  struct blok_block_view *v = malloc(sizeof *v);
  assert_int_equal(blok_block_parse(v, block.data, block.len), BLOK_OK);
  struct blok_tx tx;
  assert_int_equal(blok_tx_decode(&tx, v->txs[1], v->tx_lens[1]), BLOK_OK);
  struct blok_tx_location loc;
  uint8_t proof[BLOK_MERKLE_PROOF_MAX][32], leaf[32];
  size_t plen;
  assert_int_equal(blok_ledger_tx_proof(w->l, tx.id, &loc, &txb, proof, &plen, &at), BLOK_OK);
  assert_int_equal(loc.position, 1);
  assert_int_equal(txb.len, v->tx_lens[1]);
  blok_merkle_leaf_hash(leaf, tx.id, 32);
  assert_int_equal(blok_merkle_verify_inclusion(leaf, 1, at.tx_count, proof[0], plen, at.tx_root),
                   BLOK_OK);
  uint8_t unknown[32] = {9};
  assert_int_equal(blok_ledger_tx_proof(w->l, unknown, &loc, &txb, proof, &plen, &at),
                   BLOK_ENOTFOUND);
  free(v);
  blok_buf_release(&block);
  blok_buf_release(&qcb);
  blok_buf_release(&val);
  blok_buf_release(&txb);
}

static void test_ledger(void **state) {
  (void)state;
  static struct world w;
  setup(&w);
  open_world(&w, "blokauto-test", BLOK_OK);
  struct blok_header head;
  blok_ledger_head(w.l, &head, NULL);
  assert_int_equal(head.height, 0);
  struct blok_header h1;
  block_one(&w, &h1);
  check_block_one(&w, &h1);
  check_state_proof(&w, &h1);
  check_reads(&w, &h1);
  /* A timestamp not after the head's is refused. */
  struct blok_exec *x;
  assert_int_equal(blok_exec_begin(w.l, h1.timestamp_ms, w.validator.pk, 2, &x), BLOK_EINVAL);
  close_world(&w);

  /* Reopened, the chain continues from height 1; another genesis is refused. */
  open_world(&w, "blokauto-test", BLOK_OK);
  blok_ledger_head(w.l, &head, NULL);
  assert_int_equal(head.height, 1);
  assert_memory_equal(head.state_root, h1.state_root, 32);
  uint64_t next;
  assert_int_equal(blok_ledger_next_nonce(w.l, w.maker.pk, &next), BLOK_OK);
  assert_int_equal(next, 3); /* nonces 1 and 2 were used, the second by a refused anchor */
  assert_int_equal(blok_ledger_next_nonce(w.l, w.outsider.pk, &next), BLOK_OK);
  assert_int_equal(next, 1);
  close_world(&w);
  open_world(&w, "blokauto-other", BLOK_EINVAL);
  blok_store_close(w.store);
  blok_genesis_release(&w.g);
  teardown(&w);

  /* A replay in a fresh folder reaches the same state root and block hash. */
  static struct world w2;
  setup(&w2);
  open_world(&w2, "blokauto-test", BLOK_OK);
  struct blok_header h1b;
  block_one(&w2, &h1b);
  assert_memory_equal(h1b.state_root, h1.state_root, 32);
  uint8_t a[32], b[32];
  assert_int_equal(blok_header_hash(&h1, a), BLOK_OK);
  assert_int_equal(blok_header_hash(&h1b, b), BLOK_OK);
  assert_memory_equal(a, b, 32);
  close_world(&w2);
  teardown(&w2);
}

/* One anchor of doc by kp with nonce on x: the module applies it. */
static void spec_anchor(struct blok_exec *x, const struct blok_sign_keypair *kp, uint64_t nonce,
                        const char *doc) {
  struct blok_tx tx;
  struct blok_tx_result res;
  struct blok_buf buf, pl;
  blok_buf_init(&buf, BLOK_TX_ENCODED_MAX);
  blok_buf_init(&pl, BLOK_TX_PAYLOAD_MAX);
  anchor_tx(&tx, &buf, &pl, kp, "blokauto-test", nonce, doc);
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_OK);
  assert_int_equal(res.code, BLOK_OK);
  blok_buf_release(&buf);
  blok_buf_release(&pl);
}

static struct blok_exec *spec_block(struct world *w, struct blok_exec *parent, uint64_t t,
                                    uint64_t round) {
  struct blok_exec *x;
  assert_int_equal(blok_exec_begin_on(w->l, parent, t, w->validator.pk, round, &x), BLOK_OK);
  return x;
}

static void commit_spec(struct world *w, struct blok_exec *x, const struct blok_header *h) {
  struct blok_qc qc;
  sign_qc(w, h, &qc);
  assert_int_equal(blok_ledger_commit(w->l, x, &qc), BLOK_OK);
}

static void encode(struct blok_exec *x, struct blok_buf *b) {
  blok_buf_init(b, BLOK_BLOCK_BYTES_MAX);
  assert_int_equal(blok_exec_encode(x, b), BLOK_OK);
}

/*
 * Speculative execution: blocks 2 and 3 built on uncommitted parents read their parents'
 * writes (nonces, anchors), another node re-executes them from their bytes to the same
 * hashes, commits go parent first, a branch that lost is refused, and a freed parent leaves
 * its children unusable.
 */
static void test_speculative(void **state) {
  (void)state;
  static struct world w, v;
  setup(&w);
  setup(&v);
  open_world(&w, "blokauto-test", BLOK_OK);
  open_world(&v, "blokauto-test", BLOK_OK);
  struct blok_header h;
  uint64_t t0 = w.g.time_ms;

  struct blok_exec *a = spec_block(&w, NULL, t0 + 1000, 1);
  spec_anchor(a, &w.maker, 1, "spec a");
  struct blok_header ha, hb, hc;
  assert_int_equal(blok_exec_finish(a, &ha), BLOK_OK);
  struct blok_exec *b = spec_block(&w, a, t0 + 2000, 2);
  /* b sees a's nonce and a's anchor: the same document again is refused by the module. */
  uint64_t next;
  assert_int_equal(blok_exec_next_nonce(b, w.maker.pk, &next), BLOK_OK);
  assert_int_equal(next, 2);
  spec_anchor(b, &w.maker, 2, "spec b");
  assert_int_equal(blok_exec_finish(b, &hb), BLOK_OK);
  struct blok_exec *c = spec_block(&w, b, t0 + 3000, 3);
  spec_anchor(c, &w.maker, 3, "spec c");
  spec_anchor(c, &w.dealer, 1, "spec c dealer");
  assert_int_equal(blok_exec_finish(c, &hc), BLOK_OK);
  assert_int_equal(hc.height, 3);
  /* Not on a parent that is not finished, nor before the parent's time. */
  struct blok_exec *bad;
  assert_int_equal(blok_exec_begin_on(w.l, c, t0 + 3000, w.validator.pk, 4, &bad), BLOK_EINVAL);

  /* Another node re-executes the three from their bytes, each on the one before. */
  struct blok_buf ba, bb, bc;
  encode(a, &ba);
  encode(b, &bb);
  encode(c, &bc);
  struct blok_why why = {{0}};
  struct blok_exec *va, *vb, *vc;
  assert_int_equal(blok_exec_block(v.l, NULL, ba.data, ba.len, NULL, NULL, &va, &why), BLOK_OK);
  assert_int_equal(blok_exec_block(v.l, va, bb.data, bb.len, NULL, NULL, &vb, &why), BLOK_OK);
  assert_int_equal(blok_exec_block(v.l, vb, bc.data, bc.len, NULL, NULL, &vc, &why), BLOK_OK);
  uint8_t h1[32], h2[32];
  blok_exec_hash(c, h1);
  blok_exec_hash(vc, h2);
  assert_memory_equal(h1, h2, 32);
  /* On the wrong parent, or with a changed state root, it is refused with the reason. */
  struct blok_exec *vx;
  assert_int_equal(blok_exec_block(v.l, va, bc.data, bc.len, NULL, NULL, &vx, &why),
                   BLOK_EBADPROOF);
  bc.data[bc.len - 1] ^= 1; /* a byte of c's last transaction: its signature */
  why.msg[0] = '\0';
  assert_int_equal(blok_exec_block(v.l, vb, bc.data, bc.len, NULL, NULL, &vx, &why),
                   BLOK_EBADPROOF);
  assert_non_null(strstr(why.msg, "may not be in the block"));
  bc.data[bc.len - 1] ^= 1;
  struct blok_header ch = hc;
  struct blok_buf forged;
  blok_buf_init(&forged, BLOK_BLOCK_BYTES_MAX);
  ch.state_root[0] ^= 1;
  assert_int_equal(blok_header_encode(&forged, &ch), BLOK_OK);
  {
    struct blok_reader r;
    struct blok_header skip;
    blok_reader_init(&r, bc.data, bc.len);
    assert_int_equal(blok_header_decode(&r, &skip), BLOK_OK);
    assert_int_equal(blok_buf_append(&forged, bc.data + r.pos, bc.len - r.pos), BLOK_OK);
  }
  why.msg[0] = '\0';
  assert_int_equal(blok_exec_block(v.l, vb, forged.data, forged.len, NULL, NULL, &vx, &why),
                   BLOK_EBADPROOF);
  assert_non_null(strstr(why.msg, "state_root"));
  blok_buf_release(&forged);

  /* Commits go parent first: c before a is refused. */
  struct blok_qc qc;
  sign_qc(&w, &hc, &qc);
  assert_int_equal(blok_ledger_commit(w.l, c, &qc), BLOK_EINVAL);
  commit_spec(&w, a, &ha);
  commit_spec(&w, b, &hb);
  /* A branch off a that lost (b is committed): nothing can build on it any more. */
  commit_spec(&v, va, &ha);
  struct blok_exec *fork = spec_block(&v, NULL, t0 + 2500, 5);
  assert_int_equal(blok_exec_finish(fork, &h), BLOK_OK);
  commit_spec(&v, vb, &hb);
  assert_int_equal(blok_exec_begin_on(v.l, fork, t0 + 4000, v.validator.pk, 6, &bad), BLOK_EINVAL);
  assert_int_equal(blok_ledger_commit(v.l, fork, &qc), BLOK_EINVAL);
  blok_exec_free(fork);
  commit_spec(&w, c, &hc);
  commit_spec(&v, vc, &hc);
  struct blok_header hw, hv;
  blok_ledger_head(w.l, &hw, h1);
  blok_ledger_head(v.l, &hv, h2);
  assert_int_equal(hw.height, 3);
  assert_memory_equal(h1, h2, 32);
  assert_memory_equal(hw.state_root, hv.state_root, 32);
  /* What c wrote is committed state now. */
  assert_int_equal(blok_ledger_next_nonce(w.l, w.maker.pk, &next), BLOK_OK);
  assert_int_equal(next, 4);

  /* A block built on the committed c still works, also after c is freed. */
  blok_exec_free(a);
  blok_exec_free(b);
  struct blok_exec *d = spec_block(&w, c, t0 + 4000, 4);
  blok_exec_free(c);
  spec_anchor(d, &w.dealer, 2, "spec d");
  struct blok_exec *e;
  assert_int_equal(blok_exec_finish(d, &h), BLOK_OK);
  e = spec_block(&w, d, t0 + 5000, 5);
  /* Freeing d uncommitted: e built on it can no longer finish or commit. */
  blok_exec_free(d);
  assert_int_equal(blok_exec_finish(e, &h), BLOK_EINVAL);
  blok_exec_free(e);

  blok_exec_free(va);
  blok_exec_free(vb);
  blok_exec_free(vc);
  blok_buf_release(&ba);
  blok_buf_release(&bb);
  blok_buf_release(&bc);
  close_world(&w);
  close_world(&v);
  teardown(&w);
  teardown(&v);
}

struct big_put {
  unsigned table;
  struct blok_buf *value;
};

static enum blok_err big_put_fn(struct blok_txn *t, void *arg) {
  const struct big_put *p = arg;
  return blok_txn_put(t, p->table, "big", 3, p->value->data, p->value->len);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "test_grow_with_open_views: the write waited for itself\n";
  if (write(2, msg, sizeof msg - 1) < 0) _exit(2);
  _exit(1);
}

/*
 * A write on the execution thread while executions hold read views (the node writes its
 * consensus records between a proposal's execution and its commit) must grow a full map
 * instead of waiting forever for those views: the ledger ends them through the store's grow
 * hook. A deadlock here ends the test by SIGALRM.
 */
static void test_grow_with_open_views(void **state) {
  (void)state;
  static struct world w;
  setup(&w);
  w.map_size_bytes = 256 << 10;
  open_world(&w, "blokauto-test", BLOK_OK);
  unsigned table;
  assert_int_equal(blok_store_table(w.store, "test.big", &table), BLOK_OK);
  struct blok_exec *a = spec_block(&w, NULL, w.g.time_ms + 1000, 1);
  spec_anchor(a, &w.maker, 1, "view open");
  struct blok_header ha;
  assert_int_equal(blok_exec_finish(a, &ha), BLOK_OK);
  struct blok_exec *b = spec_block(&w, a, w.g.time_ms + 2000, 2);
  uint64_t next;
  assert_int_equal(blok_exec_next_nonce(b, w.maker.pk, &next), BLOK_OK); /* b's view opens */
  struct blok_buf value;
  blok_buf_init(&value, 4 << 20);
  static uint8_t chunk[4096];
  for (size_t i = 0; i < 256; i++)
    assert_int_equal(blok_buf_append(&value, chunk, sizeof chunk), BLOK_OK); /* 1 MiB > map */
  size_t before = blok_store_map_size(w.store);
  signal(SIGALRM, on_alarm);
  alarm(30);
  struct big_put p = {table, &value};
  assert_int_equal(blok_store_write(w.store, big_put_fn, &p), BLOK_OK);
  alarm(0);
  assert_true(blok_store_map_size(w.store) > before);
  /* The executions go on after their views ended: b reads again and everything commits. */
  assert_int_equal(blok_exec_next_nonce(b, w.maker.pk, &next), BLOK_OK);
  assert_int_equal(next, 2);
  spec_anchor(b, &w.maker, 2, "after the growth");
  struct blok_header hb;
  assert_int_equal(blok_exec_finish(b, &hb), BLOK_OK);
  commit_spec(&w, a, &ha);
  commit_spec(&w, b, &hb);
  blok_exec_free(a);
  blok_exec_free(b);
  blok_buf_release(&value);
  close_world(&w);
  teardown(&w);
}

/* Overwrites the stored state-tree node (version, hash) with one whose left child differs. */
struct damage {
  uint64_t version;
  uint8_t hash[32];
};

static enum blok_err damage_fn(struct blok_txn *t, void *arg) {
  const struct damage *d = arg;
  uint8_t k[8];
  const uint8_t *old;
  size_t n;
  blok_store_u64_key(k, d->version);
  BLOK_TRY(blok_txn_get(t, BLOK_TABLE_SMT, k, sizeof k, &old, &n));
  uint8_t *v = malloc(n); /* the version's nodes: u32 count, then 121-byte records */
  BLOK_ASSERT(v != NULL && n > 4);
  memcpy(v, old, n);
  size_t at = 4;
  while (at + 121 <= n && memcmp(v + at, d->hash, 32) != 0)
    at += 121;
  BLOK_ASSERT(at + 121 <= n);
  v[at + 33] ^= 1; /* the first byte of the first hash it holds */
  enum blok_err rc = blok_txn_put(t, BLOK_TABLE_SMT, k, sizeof k, v, n);
  free(v);
  return rc;
}

/*
 * LMDB keeps no checksums: a state-tree node read from disk must hash to the hash it was asked
 * for. With the committed root node damaged on disk (and the ledger reopened, so that it is
 * not also in memory), the next block's execution stops with BLOK_EFORMAT instead of computing
 * a root from it, and so does a proof.
 */
static void test_damaged_node(void **state) {
  (void)state;
  static struct world w;
  setup(&w);
  open_world(&w, "blokauto-test", BLOK_OK);
  struct blok_exec *a = spec_block(&w, NULL, w.g.time_ms + 1000, 1);
  spec_anchor(a, &w.maker, 1, "before the damage");
  struct blok_header ha;
  assert_int_equal(blok_exec_finish(a, &ha), BLOK_OK);
  commit_spec(&w, a, &ha);
  blok_exec_free(a);
  close_world(&w); /* a ledger just opened holds no recent nodes in memory: all come from disk */
  open_world(&w, "blokauto-test", BLOK_OK);
  struct damage d = {.version = 1};
  memcpy(d.hash, ha.state_root, 32);
  assert_int_equal(blok_store_write(w.store, damage_fn, &d), BLOK_OK);
  struct blok_exec *b = spec_block(&w, NULL, w.g.time_ms + 2000, 2);
  spec_anchor(b, &w.maker, 2, "after the damage");
  struct blok_header hb;
  assert_int_equal(blok_exec_finish(b, &hb), BLOK_EFORMAT);
  blok_exec_free(b);
  struct blok_txn *t;
  struct blok_smt_store s;
  static struct blok_smt_proof p;
  uint8_t key[32] = {1};
  assert_int_equal(blok_store_read_begin(w.store, &t), BLOK_OK);
  blok_txn_smt_store(t, &s);
  assert_int_equal(blok_smt_prove(&s, ha.state_root, key, &p), BLOK_EFORMAT);
  blok_store_read_end(t);
  close_world(&w);
  teardown(&w);
}

/* The id of the anchor transaction spec_anchor makes for (kp, nonce, doc). */
static void anchor_id(const struct blok_sign_keypair *kp, uint64_t nonce, const char *doc,
                      uint8_t id[32]) {
  struct blok_tx tx;
  struct blok_buf buf, pl;
  blok_buf_init(&buf, BLOK_TX_ENCODED_MAX);
  blok_buf_init(&pl, BLOK_TX_PAYLOAD_MAX);
  anchor_tx(&tx, &buf, &pl, kp, "blokauto-test", nonce, doc);
  memcpy(id, tx.id, 32);
  blok_buf_release(&buf);
  blok_buf_release(&pl);
}

static size_t count_runs(struct world *w, unsigned table, uint64_t *lowest) {
  struct blok_txn *t;
  struct blok_cursor *c;
  struct blok_kv kv;
  static const uint8_t first[8];
  size_t n = 0;
  assert_int_equal(blok_store_read_begin(w->store, &t), BLOK_OK);
  assert_int_equal(blok_cursor_open(t, table, &c), BLOK_OK);
  enum blok_err rc = blok_cursor_seek(c, first, sizeof first, &kv);
  for (; rc == BLOK_OK; rc = blok_cursor_next(c, &kv))
    if (n++ == 0) *lowest = blok_store_u64_from_key(kv.key);
  assert_int_equal(rc, BLOK_ENOTFOUND);
  blok_cursor_close(c);
  blok_store_read_end(t);
  return n;
}

struct run_damage {
  unsigned table;
  uint64_t height;
  size_t cut;     /* bytes taken off the run's end */
  uint32_t count; /* when not 0, the count the run says it has */
};

static enum blok_err damage_run_fn(struct blok_txn *t, void *arg) {
  const struct run_damage *d = arg;
  uint8_t k[8], copy[4096];
  const uint8_t *v;
  size_t n;
  blok_store_u64_key(k, d->height);
  BLOK_TRY(blok_txn_get(t, d->table, k, 8, &v, &n));
  if (n > sizeof copy || n < d->cut || n < 4) return BLOK_ETOOLONG;
  memcpy(copy, v, n);
  if (d->count) blok_u32le_put(copy, d->count);
  return blok_txn_put(t, d->table, k, 8, copy, n - d->cut);
}

/*
 * The transaction index in two levels: 40 blocks of one to three transactions; each block's
 * entries wait in a run until a height divisible by 16 moves them into txidx, so after height
 * 40 only the runs of 33..40 are left, and every transaction is found at its height and
 * position, from a run or from txidx, also after reopening. A damaged run is BLOK_EFORMAT, not
 * a wrong location.
 */
static void test_txidx_runs(void **state) {
  (void)state;
  static struct world w;
  setup(&w);
  open_world(&w, "blokauto-test", BLOK_OK);
  enum { BLOCKS = 40, PER_MAX = 3 };
  static uint8_t ids[BLOCKS][PER_MAX][32];
  uint64_t nonce = 1;
  for (uint64_t h = 1; h <= BLOCKS; h++) {
    struct blok_exec *x = spec_block(&w, NULL, w.g.time_ms + 1000 * h, h);
    for (size_t i = 0; i < 1 + h % PER_MAX; i++, nonce++) {
      char doc[32];
      snprintf(doc, sizeof doc, "run %llu.%zu", (unsigned long long)h, i);
      spec_anchor(x, &w.maker, nonce, doc);
      anchor_id(&w.maker, nonce, doc, ids[h - 1][i]);
    }
    struct blok_header hh;
    assert_int_equal(blok_exec_finish(x, &hh), BLOK_OK);
    commit_spec(&w, x, &hh);
    blok_exec_free(x);
    uint64_t lowest = 0;
    size_t runs = count_runs(&w, BLOK_TABLE_TXRUN, &lowest);
    assert_int_equal(runs, h % 16);
    if (runs) assert_int_equal(lowest, h - h % 16 + 1);
  }
  for (int pass = 0; pass < 2; pass++) {
    for (uint64_t h = 1; h <= BLOCKS; h++)
      for (size_t i = 0; i < 1 + h % PER_MAX; i++) {
        struct blok_tx_location loc;
        assert_int_equal(blok_ledger_tx(w.l, ids[h - 1][i], &loc), BLOK_OK);
        assert_int_equal(loc.height, h);
        assert_int_equal(loc.position, i);
        assert_int_equal(loc.result.code, BLOK_OK);
      }
    uint8_t unknown[32] = {7};
    struct blok_tx_location loc;
    assert_int_equal(blok_ledger_tx(w.l, unknown, &loc), BLOK_ENOTFOUND);
    close_world(&w);
    open_world(&w, "blokauto-test", BLOK_OK);
  }
  struct run_damage d = {.table = BLOK_TABLE_TXRUN, .height = 38, .cut = 3};
  assert_int_equal(blok_store_write(w.store, damage_run_fn, &d), BLOK_OK);
  struct blok_tx_location loc;
  assert_int_equal(blok_ledger_tx(w.l, ids[37][2], &loc), BLOK_EFORMAT); /* the last entry */
  close_world(&w);
  teardown(&w);
}

/* A kv/set transaction by kp on x: op 1 puts val under key, op 2 deletes key. */
static void spec_kv(struct blok_exec *x, const struct blok_sign_keypair *kp, uint64_t nonce,
                    uint8_t op, const char *key, const char *val) {
  uint8_t pl[256];
  size_t kl = strlen(key), vl = val ? strlen(val) : 0;
  assert_true(2 + kl + vl <= sizeof pl);
  pl[0] = op;
  pl[1] = (uint8_t)kl;
  memcpy(pl + 2, key, kl);
  if (vl) memcpy(pl + 2 + kl, val, vl);
  struct blok_tx tx;
  struct blok_buf buf;
  blok_buf_init(&buf, BLOK_TX_ENCODED_MAX);
  sign_tx(&tx, &buf, kp, "blokauto-test", "kv", "set", nonce, pl, 2 + kl + vl);
  struct blok_tx_result res;
  assert_int_equal(try_tx(x, &tx, false, &res), BLOK_OK);
  if (res.code != BLOK_OK) fail_msg("kv/set %s refused: %s", key, res.msg);
  blok_buf_release(&buf);
}

/* The ledger's value of kv key is want (NULL: none), and the head's state root proves it. */
static void check_kv(struct world *w, const char *key, const char *want) {
  bool found;
  struct blok_buf v;
  static struct blok_smt_proof p;
  struct blok_header h;
  uint8_t tk[32], vh[32];
  blok_buf_init(&v, BLOK_STATE_VALUE_MAX);
  assert_int_equal(blok_ledger_state(w->l, "kv", key, strlen(key), &found, &v, &p, &h), BLOK_OK);
  assert_int_equal(blok_state_key(tk, "kv", key, strlen(key)), BLOK_OK);
  if (want == NULL) {
    if (found) fail_msg("kv %s: found %.*s, none wanted", key, (int)v.len, (const char *)v.data);
    assert_int_equal(blok_smt_verify(h.state_root, tk, NULL, &p), BLOK_OK);
  } else {
    if (!found) fail_msg("kv %s: none found, %s wanted", key, want);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.data, want, v.len);
    blok_sha256(vh, v.data, v.len);
    assert_int_equal(blok_smt_verify(h.state_root, tk, vh, &p), BLOK_OK);
  }
  blok_buf_release(&v);
}

/*
 * The state values in two levels: 40 blocks put and delete keys of a pool of eight; each
 * block's writes wait in a run until a height divisible by 16 moves them into the state table,
 * so after height 40 only the runs of 33..40 are left. At every height every key reads as a
 * model of the writes says, agreeing with the state root's proof, also after reopening: a put
 * or a delete in a run hides the table's older value, a key put and deleted again between two
 * merges is gone. The senders' nonces are read through the runs too (a wrong one would refuse
 * the next transaction). A damaged run is BLOK_EFORMAT, not a wrong value.
 */
static void test_state_runs(void **state) {
  (void)state;
  static struct world w;
  setup(&w);
  open_world(&w, "blokauto-test", BLOK_OK);
  enum { BLOCKS = 40, KEYS = 8 };
  char model[KEYS][16], merged[KEYS][16], key[KEYS][8];
  bool has[KEYS] = {false}, had[KEYS] = {false}, put_since[KEYS] = {false};
  size_t hides_put = 0, hides_del = 0, gone = 0;
  for (int k = 0; k < KEYS; k++) snprintf(key[k], sizeof key[k], "key%d", k);
  uint64_t nonce = 1;
  for (uint64_t h = 1; h <= BLOCKS; h++) {
    struct blok_exec *x = spec_block(&w, NULL, w.g.time_ms + 1000 * h, h);
    for (size_t i = 0; i < 1 + h % 3; i++, nonce++) {
      int k = (int)((h * 3 + i) % KEYS);
      if ((h * 5 + i) % 4 == 0) {
        spec_kv(x, &w.maker, nonce, 2, key[k], NULL);
        has[k] = false;
      } else {
        snprintf(model[k], sizeof model[k], "v%llu.%zu", (unsigned long long)h, i);
        spec_kv(x, &w.maker, nonce, 1, key[k], model[k]);
        has[k] = put_since[k] = true;
      }
    }
    struct blok_header hh;
    assert_int_equal(blok_exec_finish(x, &hh), BLOK_OK);
    commit_spec(&w, x, &hh);
    blok_exec_free(x);
    uint64_t lowest = 0;
    size_t runs = count_runs(&w, BLOK_TABLE_STATERUN, &lowest);
    assert_int_equal(runs, h % 16);
    if (runs) assert_int_equal(lowest, h - h % 16 + 1);
    for (int k = 0; k < KEYS; k++) {
      check_kv(&w, key[k], has[k] ? model[k] : NULL);
      if (runs && had[k] && !has[k]) hides_del++;
      if (runs && had[k] && has[k] && strcmp(model[k], merged[k]) != 0) hides_put++;
      if (runs && !had[k] && !has[k] && put_since[k]) gone++;
    }
    if (h % 16 == 0)
      for (int k = 0; k < KEYS; k++) {
        had[k] = has[k];
        put_since[k] = false;
        memcpy(merged[k], model[k], sizeof merged[k]);
      }
  }
  assert_true(hides_put > 0 && hides_del > 0 && gone > 0); /* the schedule has all three */
  close_world(&w);
  open_world(&w, "blokauto-test", BLOK_OK);
  for (int k = 0; k < KEYS; k++) check_kv(&w, key[k], has[k] ? model[k] : NULL);
  struct run_damage d = {.table = BLOK_TABLE_STATERUN, .height = 40, .count = 1000};
  assert_int_equal(blok_store_write(w.store, damage_run_fn, &d), BLOK_OK);
  bool found;
  struct blok_buf v;
  static struct blok_smt_proof p;
  struct blok_header h;
  blok_buf_init(&v, BLOK_STATE_VALUE_MAX);
  assert_int_equal(blok_ledger_state(w.l, "kv", "key0", 4, &found, &v, &p, &h), BLOK_EFORMAT);
  blok_buf_release(&v);
  close_world(&w);
  teardown(&w);
}

static enum blok_err set_format(struct blok_txn *t, void *arg) {
  return blok_txn_put(t, BLOK_TABLE_META, "format", 6, arg, 1);
}

/* A folder of storage format 2 (state-tree nodes one per LMDB entry) is refused, not misread;
 * one of format 3, 4 or 5 (3 and 4: sorted node values, no slots; 3: no transaction index
 * runs; none of them state runs) opens and is marked 6. */
static void test_store_format(void **state) {
  (void)state;
  static struct world w;
  setup(&w);
  open_world(&w, "blokauto-test", BLOK_OK);
  uint8_t f = 2;
  assert_int_equal(blok_store_write(w.store, set_format, &f), BLOK_OK);
  close_world(&w);
  open_world(&w, "blokauto-test", BLOK_EINVAL);
  blok_store_close(w.store);
  blok_genesis_release(&w.g);
  struct blok_store_opts o = {.dir = w.dir};
  assert_int_equal(blok_store_open(&w.store, &o), BLOK_OK);
  for (f = 3; f <= 5; f++) {
    assert_int_equal(blok_store_write(w.store, set_format, &f), BLOK_OK);
    blok_store_close(w.store);
    open_world(&w, "blokauto-test", BLOK_OK);
    struct blok_txn *t;
    const uint8_t *v;
    size_t n;
    assert_int_equal(blok_store_read_begin(w.store, &t), BLOK_OK);
    assert_int_equal(blok_txn_get(t, BLOK_TABLE_META, "format", 6, &v, &n), BLOK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0], 6);
    blok_store_read_end(t);
    close_world(&w);
    assert_int_equal(blok_store_open(&w.store, &o), BLOK_OK);
  }
  blok_store_close(w.store);
  teardown(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_store_format), cmocka_unit_test(test_damaged_node),
      cmocka_unit_test(test_txidx_runs),   cmocka_unit_test(test_state_runs),
      cmocka_unit_test(test_ledger),
      cmocka_unit_test(test_speculative),  cmocka_unit_test(test_grow_with_open_views),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
