/*
 * `blokauto node --config FILE` and `blokauto devnet [--data DIR] [--http HOST:PORT]`.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"
#include "blok/devnet.h"
#include "blok/node.h"
#include "blok/banned.h"

static int node_usage(FILE *out, int code) {
  fprintf(out, "usage: blokauto node --config FILE\n\n"
               "Runs a node from a config file (docs/NODE.md) until SIGINT or SIGTERM.\n");
  return code;
}

int blok__cmd_node(int argc, char **argv) {
  const char *config = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) return node_usage(stdout, BLOK_EXIT_OK);
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && strlen(argv[i + 1]) < PATH_MAX) {
      config = argv[++i];
    } else {
      fprintf(stderr, "blokauto node: unexpected argument '%s'\n", argv[i]);
      return node_usage(stderr, BLOK_EXIT_USAGE);
    }
  }
  if (config == NULL) return node_usage(stderr, BLOK_EXIT_USAGE);
  struct blok_node_config c;
  struct blok_why why = {{0}};
  if (blok_node_config_load(&c, config, &why) != BLOK_OK) {
    fprintf(stderr, "blokauto node: %s\n", why.msg);
    return BLOK_EXIT_FAIL;
  }
  return blok_node_run(&c);
}

static int devnet_usage(FILE *out, int code) {
  fprintf(out,
          "usage: blokauto devnet [--data DIR] [--http HOST:PORT]\n\n"
          "Runs a single-validator development network. On first start it writes DIR (default\n"
          "./devnet): a genesis with one validator and one demo member per role, their keys in\n"
          "DIR/keys (mode 0600) and DIR/node.json. Later starts continue the chain.\n"
          "--http applies to a new DIR (default 127.0.0.1:8080); edit DIR/node.json later.\n");
  return code;
}

int blok__cmd_devnet(int argc, char **argv) {
  const char *dir = "devnet", *http = "127.0.0.1:8080";
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc && strlen(argv[i + 1]) < PATH_MAX - 16;
    if (strcmp(argv[i], "--help") == 0) return devnet_usage(stdout, BLOK_EXIT_OK);
    if (strcmp(argv[i], "--data") == 0 && has) {
      dir = argv[++i];
    } else if (strcmp(argv[i], "--http") == 0 && has && strlen(argv[i + 1]) < 64) {
      http = argv[++i];
    } else {
      fprintf(stderr, "blokauto devnet: unexpected argument '%s'\n", argv[i]);
      return devnet_usage(stderr, BLOK_EXIT_USAGE);
    }
  }
  char config_path[PATH_MAX];
  bool created;
  struct blok_why why = {{0}};
  if (blok_devnet_prepare(dir, http, &created, config_path, sizeof config_path, &why) != BLOK_OK) {
    fprintf(stderr, "blokauto devnet: %s\n", why.msg);
    return BLOK_EXIT_FAIL;
  }
  struct blok_node_config c;
  if (blok_node_config_load(&c, config_path, &why) != BLOK_OK) {
    fprintf(stderr, "blokauto devnet: %s\n", why.msg);
    return BLOK_EXIT_FAIL;
  }
  printf("blokauto devnet: %s %s\n", created ? "created" : "continuing", dir);
  printf("  API and web UI:  http://%s:%u/\n", c.http_host, (unsigned)c.http_port);
  printf("  member keys:     %s/keys/<role>.key (validator: %s/keys/validator.key)\n", dir, dir);
  printf("  genesis:         %s/genesis.json\n", dir);
  printf("  try:             curl -s http://%s:%u/v1/status\n", c.http_host, (unsigned)c.http_port);
  printf("  stop with Ctrl-C; run again to continue the chain\n");
  fflush(stdout);
  return blok_node_run(&c);
}
