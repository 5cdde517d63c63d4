/*
 * The node's config file: defaults, paths relative to the file's folder, every field's limits,
 * unknown fields refused by name, and the size limit.
 */
#include <unistd.h>

#include "test_util.h"

#include "blok/log.h"
#include "blok/node.h"
#include "blok/banned.h"

static char dir[64], path[128];

static enum blok_err load(const char *text, struct blok_node_config *c, struct blok_why *why) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  memset(why, 0, sizeof *why);
  return blok_node_config_load(c, path, why);
}

#define K64 "abababababababababababababababababababababababababababababababab"

static void test_config(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/blok-config-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/node.json", dir);
  struct blok_node_config c;
  struct blok_why why;
  const char *base =
      "\"data_dir\": \"data\", \"genesis\": \"g.json\", \"validator_key\": \"/k/v.key\"";
  char text[2048];

  snprintf(text, sizeof text, "{%s}", base);
  assert_int_equal(load(text, &c, &why), BLOK_OK);
  char want[256];
  snprintf(want, sizeof want, "%s/data", dir);
  assert_string_equal(c.data_dir, want);
  assert_string_equal(c.key_path, "/k/v.key"); /* absolute stays */
  assert_string_equal(c.http_host, "127.0.0.1");
  assert_int_equal(c.http_port, 8080);
  assert_int_equal(c.empty_block_interval_ms, 2000);
  assert_int_equal(c.block_txs_max, 5000);
  assert_int_equal(c.log_level, BLOK_LOG_INFO);
  assert_false(c.unsynced_for_bench);

  snprintf(text, sizeof text,
           "{%s, \"http\": \"127.0.0.1:0\", \"block_txs_max\": 10, \"log_level\": \"warn\", "
           "\"mempool\": {\"workers\": 3, \"nonce_window\": 16}, \"unsynced_for_bench\": true}",
           base);
  assert_int_equal(load(text, &c, &why), BLOK_OK);
  assert_int_equal(c.http_port, 0);
  assert_int_equal(c.block_txs_max, 10);
  assert_int_equal(c.mempool.workers, 3);
  assert_int_equal(c.mempool.nonce_window, 16);
  assert_true(c.unsynced_for_bench);

  struct {
    const char *extra, *reason;
  } bad[] = {
      {", \"colour\": 1", "unknown field colour"},
      {", \"http\": \"localhost:80\"", "not an IPv4 address"},
      {", \"http\": \"127.0.0.1:70000\"", "port"},
      {", \"http\": 8080", "HOST:PORT"},
      {", \"block_txs_max\": 0", "block_txs_max"},
      {", \"block_txs_max\": 20000", "block_txs_max"},
      {", \"empty_block_interval_ms\": \"2000\"", "empty_block_interval_ms"},
      {", \"mempool\": {\"size\": 1}", "unknown field size"},
      {", \"log_level\": \"loud\"", "log_level"},
      {", \"unsynced_for_bench\": 1", "unsynced_for_bench"},
      {", \"observer_key\": \"o.key\"", "not both"},
      {", \"observers\": [\"00\"]", "observers[0]: 64 hex digits"},
      {", \"peers\": [{\"public_key\": \"" K64 "\"}]", "peers[0].address"},
      {", \"peers\": [{\"public_key\": \"" K64 "\", \"address\": \"1.2.3.4:5\", \"x\": 1}]",
       "peers[0]: unknown field x"},
      {", \"round_timeout_ms\": 50", "round_timeout_ms"},
  };
  for (size_t i = 0; i < BLOK_ARRAY_LEN(bad); i++) {
    snprintf(text, sizeof text, "{%s%s}", base, bad[i].extra);
    assert_int_not_equal(load(text, &c, &why), BLOK_OK);
    if (strstr(why.msg, bad[i].reason) == NULL) fail_msg("%s: got '%s'", bad[i].extra, why.msg);
  }
  assert_int_not_equal(load("{\"genesis\": \"g.json\"}", &c, &why), BLOK_OK); /* required */

  /* Consensus: the round timeout follows the empty-block interval unless given; peers and
   * admitted observers; an observer's own key, which needs peers and admits nobody. */
  snprintf(text, sizeof text,
           "{%s, \"empty_block_interval_ms\": 300, \"p2p\": \"127.0.0.1:9100\", \"peers\": "
           "[{\"public_key\": \"" K64
           "\", \"address\": \"127.0.0.1:9101\"}], \"observers\": [\"" K64 "\"]}",
           base);
  assert_int_equal(load(text, &c, &why), BLOK_OK);
  assert_false(c.observer);
  assert_int_equal(c.round_timeout_ms, 600);
  assert_true(c.has_p2p);
  assert_int_equal(c.p2p_port, 9100);
  assert_int_equal(c.peer_count, 1);
  assert_int_equal(c.peers[0].port, 9101);
  assert_int_equal(c.peers[0].pk[0], 0xab);
  assert_int_equal(c.observer_count, 1);
  const char *obase =
      "\"data_dir\": \"data\", \"genesis\": \"g.json\", \"observer_key\": \"o.key\"";
  snprintf(text, sizeof text,
           "{%s, \"peers\": [{\"public_key\": \"" K64 "\", \"address\": \"127.0.0.1:9101\"}]}",
           obase);
  assert_int_equal(load(text, &c, &why), BLOK_OK);
  assert_true(c.observer);
  snprintf(want, sizeof want, "%s/o.key", dir);
  assert_string_equal(c.key_path, want);
  snprintf(text, sizeof text, "{%s}", obase);
  assert_int_not_equal(load(text, &c, &why), BLOK_OK);
  assert_non_null(strstr(why.msg, "an observer needs peers"));
  snprintf(text, sizeof text,
           "{%s, \"peers\": [{\"public_key\": \"" K64
           "\", \"address\": \"127.0.0.1:9101\"}], \"observers\": [\"" K64 "\"]}",
           obase);
  assert_int_not_equal(load(text, &c, &why), BLOK_OK);
  assert_non_null(strstr(why.msg, "only a validator admits observers"));
  assert_int_not_equal(load("{\"data_dir\": \"a\", \"data_dir\": \"b\"}", &c, &why), BLOK_OK);
  assert_int_not_equal(load("[]", &c, &why), BLOK_OK);

  /* Larger than 64 KiB: refused before parsing. */
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "{%s, \"web_dir\": \"", base);
  for (int i = 0; i < 70000; i++)
    fputc('a', f);
  fputs("\"}", f);
  fclose(f);
  assert_int_equal(blok_node_config_load(&c, path, &why), BLOK_ETOOLONG);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_config)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
