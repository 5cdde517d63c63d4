/*
 * The `blokauto` program's commands. Each command is a function that takes the arguments
 * after its name (argv[0] is the command name) and returns the process exit status:
 * 0 success, 1 the command ran and found a failure (an invalid VIN, a refused proof ...),
 * 2 a usage error. Usage errors print a one-line reason and the command's usage to stderr.
 */
#ifndef BLOK_CLI_INTERNAL_H
#define BLOK_CLI_INTERNAL_H

#include <stdio.h>

#include "blok/err.h"

#define BLOK_EXIT_OK    0
#define BLOK_EXIT_FAIL  1
#define BLOK_EXIT_USAGE 2

int blok__cmd_keygen(int argc, char **argv);
int blok__cmd_key(int argc, char **argv);
int blok__cmd_vin(int argc, char **argv);
int blok__cmd_node(int argc, char **argv);
int blok__cmd_devnet(int argc, char **argv);
int blok__cmd_tx(int argc, char **argv);
int blok__cmd_get(int argc, char **argv);
int blok__cmd_status(int argc, char **argv);
int blok__cmd_report(int argc, char **argv);
int blok__cmd_verify(int argc, char **argv);
int blok__cmd_parts(int argc, char **argv);

/* Prints "blokauto: <what>: <message of err>" to stderr. */
void blok__cli_err(const char *what, enum blok_err err);

#endif
