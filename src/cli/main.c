/*
 * `blokauto`: one program, subcommands dispatched from a table. Each command lives in its
 * own src/cli/cmd_*.c file; this file only routes and prints the overall help.
 */
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"
#include "blok/banned.h"

struct cmd {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
};

static const struct cmd commands[] = {
    {"keygen", blok__cmd_keygen, "keygen --out FILE      write a new Ed25519 key file (mode 0600)"},
    {"key", blok__cmd_key, "key show FILE          print a key file's public key in hex"},
    {"devnet", blok__cmd_devnet,
     "devnet [--data DIR] [--http HOST:PORT]  run a one-node development network"},
    {"node", blok__cmd_node, "node --config FILE     run a node from a config file"},
    {"tx", blok__cmd_tx, "tx sign|submit ...      sign (and submit) a transaction"},
    {"get", blok__cmd_get, "get tx|block|state ...  read from a node"},
    {"status", blok__cmd_status, "status [--node URL]    a node's chain status"},
    {"report", blok__cmd_report,
     "report VIN --out FILE [--force] [--node URL]  download a vehicle's verifiable report"},
    {"verify", blok__cmd_verify,
     "verify FILE --genesis GENESIS  check a report offline: VERIFIED or NOT VERIFIED"},
    {"vin", blok__cmd_vin, "vin check [--json] VIN...  validate and decode VINs (ISO 3779)"},
    {"parts", blok__cmd_parts,
     "parts part|history|batch|recall|vehicle ID  parts provenance and recall reach"},
};

static void usage(FILE *out) {
  fprintf(out, "blokauto %s - a permissioned ledger for the whole life of a vehicle\n\n",
          BLOK_VERSION);
  fprintf(out, "usage: blokauto COMMAND [ARGS...]\n\ncommands:\n");
  for (size_t i = 0; i < BLOK_ARRAY_LEN(commands); i++)
    fprintf(out, "  %s\n", commands[i].summary);
  fprintf(out, "  --help                 this text\n  --version              print the version\n");
  fprintf(out, "\nexit status: 0 success, 1 failure, 2 usage error\n");
}

void blok__cli_err(const char *what, enum blok_err err) {
  fprintf(stderr, "blokauto: %s: %s\n", what, blok_strerror(err));
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return BLOK_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
    usage(stdout);
    return BLOK_EXIT_OK;
  }
  if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
    printf("blokauto %s\n", BLOK_VERSION);
    return BLOK_EXIT_OK;
  }
  for (size_t i = 0; i < BLOK_ARRAY_LEN(commands); i++)
    if (strcmp(name, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "blokauto: unknown command '%s'\n\n", name);
  usage(stderr);
  return BLOK_EXIT_USAGE;
}
