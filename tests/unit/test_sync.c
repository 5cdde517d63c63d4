/*
 * Block sync (blok/sync.h) between two ledgers of a four-validator chain: a reply carries the
 * committed blocks with their certificates and the other ledger commits them to the same head;
 * it refuses a certificate with too few signers, one signed by keys outside the validator set,
 * one that names another block, and a block whose transactions are not what its header says;
 * it skips what it has and stops at a block that does not extend its head.
 */
#include <unistd.h>

#include "test_util.h"

#include "blok/anchor.h"
#include "blok/consortium.h"
#include "blok/sha256.h"
#include "blok/sync.h"
#include "blok/banned.h"

#define VALIDATORS 4
#define BLOCKS     5

struct side {
  char dir[64];
  struct blok_store *store;
  struct blok_ledger *l;
};

static struct blok_sign_keypair validators[VALIDATORS], outsiders[VALIDATORS], member;
static struct blok_registry reg;
static struct blok_genesis genesis;

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

static void world(void) {
  for (int i = 0; i < VALIDATORS; i++) {
    keypair(&validators[i], (uint8_t)(10 + i));
    keypair(&outsiders[i], (uint8_t)(20 + i));
  }
  keypair(&member, 30);
  blok_registry_init(&reg);
  assert_int_equal(blok_registry_add(&reg, &blok_consortium_module), BLOK_OK);
  assert_int_equal(blok_registry_add(&reg, &blok_anchor_module), BLOK_OK);
  reg.authorize = blok_consortium_authorize;
  json_t *vs = json_array();
  for (int i = 0; i < VALIDATORS; i++) {
    char name[16];
    snprintf(name, sizeof name, "v%d", i);
    json_array_append_new(
        vs, json_pack("{s:s, s:o}", "name", name, "public_key", hexj(validators[i].pk)));
  }
  json_t *doc =
      json_pack("{s:s, s:I, s:o, s:{s:[{s:s, s:[s], s:[o]}]}}", "chain_id", "blokauto-sync",
                "genesis_time_ms", (json_int_t)1700000000000, "validators", vs, "consortium",
                "members", "name", "Fleet", "roles", "fleet", "keys", hexj(member.pk));
  struct blok_why why = {{0}};
  assert_int_equal(blok_genesis_parse(&genesis, doc, &reg, &why), BLOK_OK);
  json_decref(doc);
}

static void side_open(struct side *s) {
  snprintf(s->dir, sizeof s->dir, "/tmp/blok-sync-XXXXXX");
  assert_non_null(mkdtemp(s->dir));
  struct blok_store_opts o = {.dir = s->dir};
  struct blok_why why = {{0}};
  assert_int_equal(blok_store_open(&s->store, &o), BLOK_OK);
  assert_int_equal(blok_ledger_open(&s->l, s->store, &reg, &genesis, &why), BLOK_OK);
}

static void side_close(struct side *s) {
  char p[128];
  blok_ledger_close(s->l);
  blok_store_close(s->store);
  snprintf(p, sizeof p, "%s/data.mdb", s->dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", s->dir);
  unlink(p);
  rmdir(s->dir);
}

/* A certificate for h signed by keys[0..signers-1], as validators 0.. of the set. */
static void sign_qc(const struct blok_header *h, const struct blok_sign_keypair *keys,
                    size_t signers, struct blok_qc *qc) {
  memset(qc, 0, sizeof *qc);
  qc->vote.height = h->height;
  qc->vote.round = h->round;
  assert_int_equal(blok_header_hash(h, qc->vote.block_hash), BLOK_OK);
  qc->validator_count = VALIDATORS;
  for (size_t i = 0; i < signers; i++) {
    qc->signers[i / 8] |= (uint8_t)(1u << (i % 8));
    assert_int_equal(blok_vote_sign(qc->sigs[i], genesis.chain_id, &qc->vote, &keys[i]), BLOK_OK);
  }
  qc->sig_count = (uint16_t)signers;
}

/* Block `height` on s's head with one anchor, committed with a quorum of three. */
static void commit_block(struct side *s, uint64_t height) {
  struct blok_exec *x;
  assert_int_equal(
      blok_exec_begin(s->l, genesis.time_ms + 1000 * height, validators[0].pk, height, &x),
      BLOK_OK);
  char doc[32];
  uint8_t hash[32];
  snprintf(doc, sizeof doc, "sync doc %llu", (unsigned long long)height);
  blok_sha256(hash, doc, strlen(doc));
  struct blok_buf pl, raw;
  blok_buf_init(&pl, 256);
  blok_buf_init(&raw, BLOK_TX_ENCODED_MAX);
  struct blok_tx tx = {.version = BLOK_TX_VERSION, .nonce = height, .expiry_height = 1000};
  snprintf(tx.chain_id, sizeof tx.chain_id, "%s", genesis.chain_id);
  snprintf(tx.module, sizeof tx.module, "anchor");
  snprintf(tx.type, sizeof tx.type, "record");
  assert_int_equal(blok_anchor_payload(&pl, hash, doc), BLOK_OK);
  tx.payload = pl.data;
  tx.payload_len = pl.len;
  assert_int_equal(blok_tx_sign(&tx, &member, &raw), BLOK_OK);
  struct blok_tx_result res;
  struct blok_why why = {{0}};
  assert_int_equal(blok_exec_tx(x, &tx, false, &res, &why), BLOK_OK);
  assert_int_equal(res.code, BLOK_OK);
  struct blok_header h;
  assert_int_equal(blok_exec_finish(x, &h), BLOK_OK);
  static struct blok_qc qc;
  sign_qc(&h, validators, 3, &qc);
  assert_int_equal(blok_ledger_commit(s->l, x, &qc), BLOK_OK);
  blok_exec_free(x);
  blok_buf_release(&pl);
  blok_buf_release(&raw);
}

/* A's reply from height `from`, decoded into m (which points into frame). */
static void reply(struct side *a, uint64_t from, struct blok_buf *frame, struct blok_wire_msg *m) {
  uint32_t count;
  blok_buf_clear(frame);
  assert_int_equal(blok_sync_reply(a->l, from, frame, &count), BLOK_OK);
  assert_int_equal(blok_wire_decode(m, frame->data, frame->len), BLOK_OK);
  assert_int_equal(m->count, count);
}

static uint64_t head_height(struct side *s, uint8_t hash[32]) {
  struct blok_header h;
  blok_ledger_head(s->l, &h, hash);
  return h.height;
}

/* Replaces item i's certificate with qc's encoding (kept in store). */
static void swap_qc(struct blok_wire_msg *m, size_t i, const struct blok_qc *qc,
                    struct blok_buf *store) {
  blok_buf_clear(store);
  assert_int_equal(blok_qc_encode(store, qc), BLOK_OK);
  m->qcs[i] = store->data;
  m->qc_lens[i] = store->len;
}

static void refused(struct side *b, const struct blok_wire_msg *m, enum blok_err want) {
  size_t done = 99;
  static struct blok_qc last;
  assert_int_equal(blok_sync_apply(b->l, m, NULL, &done, &last), want);
  assert_int_equal(done, 0);
  assert_int_equal(head_height(b, NULL), 0);
}

static void test_sync(void **state) {
  (void)state;
  world();
  static struct side a, b;
  side_open(&a);
  side_open(&b);
  for (uint64_t h = 1; h <= BLOCKS; h++)
    commit_block(&a, h);
  struct blok_buf frame, qcbuf;
  blok_buf_init(&frame, BLOK_WIRE_FRAME_MAX);
  blok_buf_init(&qcbuf, 1 << 16);
  static struct blok_wire_msg m;
  static struct blok_qc qc, last;
  reply(&a, 1, &frame, &m);
  assert_int_equal(m.count, BLOCKS);

  /* Too few signers, the right number of the wrong keys, or a certificate of block 2 on 1. */
  struct blok_header h1;
  struct blok_reader rd;
  blok_reader_init(&rd, m.items[0], m.item_lens[0]);
  assert_int_equal(blok_header_decode(&rd, &h1), BLOK_OK);
  const uint8_t *qc0 = m.qcs[0];
  size_t qc0_len = m.qc_lens[0];
  sign_qc(&h1, validators, 2, &qc);
  swap_qc(&m, 0, &qc, &qcbuf);
  refused(&b, &m, BLOK_EBADPROOF);
  sign_qc(&h1, outsiders, 3, &qc);
  swap_qc(&m, 0, &qc, &qcbuf);
  refused(&b, &m, BLOK_EBADPROOF);
  m.qcs[0] = m.qcs[1];
  m.qc_lens[0] = m.qc_lens[1];
  refused(&b, &m, BLOK_EBADPROOF);
  m.qcs[0] = qc0;
  m.qc_lens[0] = qc0_len;

  /* A block whose transaction was changed (its header, and so its certificate, unchanged). */
  uint8_t *body = (uint8_t *)(uintptr_t)m.items[0];
  body[m.item_lens[0] - 1] ^= 1;
  refused(&b, &m, BLOK_EBADPROOF);
  body[m.item_lens[0] - 1] ^= 1;

  /* Blocks 3.. do not extend an empty ledger: nothing is committed, nothing is wrong. */
  static struct blok_wire_msg later;
  struct blok_buf later_frame;
  blok_buf_init(&later_frame, BLOK_WIRE_FRAME_MAX);
  reply(&a, 3, &later_frame, &later);
  refused(&b, &later, BLOK_OK);

  /* The real reply: every block, to A's head; again, nothing more. */
  size_t done;
  assert_int_equal(blok_sync_apply(b.l, &m, NULL, &done, &last), BLOK_OK);
  assert_int_equal(done, BLOCKS);
  assert_int_equal(last.vote.height, BLOCKS);
  uint8_t ha[32], hb[32];
  assert_int_equal(head_height(&a, ha), BLOCKS);
  assert_int_equal(head_height(&b, hb), BLOCKS);
  assert_memory_equal(ha, hb, 32);
  assert_int_equal(blok_sync_apply(b.l, &m, NULL, &done, &last), BLOK_OK);
  assert_int_equal(done, 0);
  /* Nothing after the head: an empty reply. */
  uint32_t count = 1;
  blok_buf_clear(&frame);
  assert_int_equal(blok_sync_reply(a.l, BLOCKS + 1, &frame, &count), BLOK_OK);
  assert_int_equal(count, 0);

  blok_buf_release(&frame);
  blok_buf_release(&later_frame);
  blok_buf_release(&qcbuf);
  side_close(&a);
  side_close(&b);
  blok_genesis_release(&genesis);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sync),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
