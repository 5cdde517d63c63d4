/*
 * `blokauto node --config FILE` and `blokauto devnet [--data DIR] [--http HOST:PORT] [--demo]`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_internal.h"
#include "blok/demo.h"
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
          "usage: blokauto devnet [--data DIR] [--http HOST:PORT] [--demo [--seed N]]\n"
          "       blokauto devnet --validators N [--observers M] [--data DIR] [--http HOST:PORT]\n"
          "                       [--p2p-port P] [--demo [--seed N]]\n\n"
          "Runs a single-validator development network. On first start it writes DIR (default\n"
          "./devnet): a genesis with one validator and demo members (one per role, three\n"
          "manufacturers), their keys in DIR/keys (mode 0600) and DIR/node.json. Later starts\n"
          "continue the chain. --http applies to a new DIR (default 127.0.0.1:8080); edit\n"
          "DIR/node.json later.\n"
          "--demo fills a new chain with demo data through the API: %d vehicles and years of\n"
          "their history, signed by the demo members, owners and vehicles; the same --seed\n"
          "(default %d) gives the same data. --demo-vehicles N changes the count (1..%d).\n"
          "A chain that is not new is left as it is.\n\n"
          "--validators N (2..16) runs N validators instead, one process and folder each\n"
          "(DIR/v0 .. DIR/vN-1) agreeing by BFT consensus (docs/CONSENSUS.md): validator K serves\n"
          "the API on PORT+K and talks to the others on 127.0.0.1:P+K (default P 9100).\n"
          "--observers M (0..4) adds M observers (DIR/o0 ..): nodes that follow the chain from\n"
          "the validators and serve the API on PORT+N+K, without voting. Ctrl-C stops them all;\n"
          "a DIR that is not new runs the nodes it holds. With --demo the demo loads through\n"
          "validator 0's API (its PORT must not be 0), and the others follow by consensus.\n",
          BLOK_DEMO_VEHICLES_DEFAULT, BLOK_DEMO_SEED_DEFAULT, BLOK_DEMO_VEHICLES_MAX);
  return code;
}

struct devnet_args {
  const char *dir, *http;
  bool demo;
  uint64_t seed;
  size_t vehicles;
  size_t validators, observers;
  unsigned p2p_port;
};

static bool parse_count(const char *s, uint64_t max, uint64_t *out) {
  char *end;
  errno = 0;
  if (s[0] < '0' || s[0] > '9') return false;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max) return false;
  *out = v;
  return true;
}

/* -1 when the command should go on; otherwise the exit status. */
static int parse_devnet_args(int argc, char **argv, struct devnet_args *a) {
  *a = (struct devnet_args){.dir = "devnet",
                            .http = "127.0.0.1:8080",
                            .seed = BLOK_DEMO_SEED_DEFAULT,
                            .vehicles = BLOK_DEMO_VEHICLES_DEFAULT,
                            .validators = 1,
                            .p2p_port = 9100};
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc && strlen(argv[i + 1]) < PATH_MAX - 16;
    uint64_t n;
    if (strcmp(argv[i], "--help") == 0) return devnet_usage(stdout, BLOK_EXIT_OK);
    if (strcmp(argv[i], "--data") == 0 && has) {
      a->dir = argv[++i];
    } else if (strcmp(argv[i], "--http") == 0 && has && strlen(argv[i + 1]) < 64) {
      a->http = argv[++i];
    } else if (strcmp(argv[i], "--demo") == 0) {
      a->demo = true;
    } else if (strcmp(argv[i], "--seed") == 0 && has && parse_count(argv[i + 1], UINT64_MAX, &n)) {
      a->seed = n;
      i++;
    } else if (strcmp(argv[i], "--demo-vehicles") == 0 && has &&
               parse_count(argv[i + 1], BLOK_DEMO_VEHICLES_MAX, &n) && n > 0) {
      a->vehicles = (size_t)n;
      i++;
    } else if (strcmp(argv[i], "--validators") == 0 && has &&
               parse_count(argv[i + 1], BLOK_DEVNET_VALIDATORS_MAX, &n) && n > 0) {
      a->validators = (size_t)n;
      i++;
    } else if (strcmp(argv[i], "--observers") == 0 && has &&
               parse_count(argv[i + 1], BLOK_DEVNET_OBSERVERS_MAX, &n)) {
      a->observers = (size_t)n;
      i++;
    } else if (strcmp(argv[i], "--p2p-port") == 0 && has && parse_count(argv[i + 1], 65535, &n) &&
               n > 0) {
      a->p2p_port = (unsigned)n;
      i++;
    } else {
      fprintf(stderr, "blokauto devnet: unexpected argument '%s'\n", argv[i]);
      return devnet_usage(stderr, BLOK_EXIT_USAGE);
    }
  }
  if (a->observers > 0 && a->validators < 2) {
    fprintf(stderr, "blokauto devnet: --observers goes with --validators N (2 or more)\n");
    return BLOK_EXIT_USAGE;
  }
  return -1;
}

/* --- several validators: one child process each ------------------------------------------- */

static volatile sig_atomic_t devnet_stop;

static void on_stop_signal(int sig) {
  (void)sig;
  devnet_stop = 1;
}

#define DEVNET_NODES_MAX (BLOK_DEVNET_VALIDATORS_MAX + BLOK_DEVNET_OBSERVERS_MAX)

struct devnet_node {
  char name[8]; /* vK or oK: the node's folder in DIR */
  pid_t pid;
};

/* The nodes a devnet folder holds: vK/node.json and oK/node.json as they exist (a folder that
 * is not new keeps the counts it was made with). */
static size_t devnet_nodes(const char *dir, struct devnet_node *nodes) {
  size_t count = 0;
  for (int kind = 0; kind < 2; kind++)
    for (size_t k = 0; k < (kind ? BLOK_DEVNET_OBSERVERS_MAX : BLOK_DEVNET_VALIDATORS_MAX); k++) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s/%c%zu/node.json", dir, kind ? 'o' : 'v', k);
      if (access(path, F_OK) != 0) break;
      snprintf(nodes[count].name, sizeof nodes[count].name, "%c%zu", kind ? 'o' : 'v', k);
      nodes[count++].pid = 0;
    }
  return count;
}

static pid_t devnet_spawn(const char *self, const char *dir, const struct devnet_node *d,
                          const char *config) {
  char logf[PATH_MAX];
  snprintf(logf, sizeof logf, "%s/%s/node.log", dir, d->name);
  pid_t pid = fork();
  if (pid == 0) {
    FILE *f = freopen(logf, "a", stderr);
    (void)f;
    execl(self, "blokauto", "node", "--config", config, (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* Waits for a signal or for every node to end; then stops the rest. */
static int devnet_supervise(struct devnet_node *nodes, size_t count) {
  size_t alive = 0;
  for (size_t k = 0; k < count; k++)
    alive += nodes[k].pid > 0;
  while (alive > 0 && !devnet_stop) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (size_t k = 0; k < count; k++)
      if (nodes[k].pid == pid) {
        nodes[k].pid = 0;
        alive--;
        fprintf(stderr, "blokauto devnet: %s (pid %d) stopped (%s %d)\n", nodes[k].name, (int)pid,
                WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
      }
  }
  int code = BLOK_EXIT_OK;
  for (size_t k = 0; k < count; k++)
    if (nodes[k].pid > 0) kill(nodes[k].pid, SIGTERM);
  for (size_t k = 0; k < count; k++)
    if (nodes[k].pid > 0) {
      int status;
      while (waitpid(nodes[k].pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) code = BLOK_EXIT_FAIL;
    }
  return code;
}

static int start_demo(const struct devnet_args *a, struct blok_node_config *c,
                      struct blok_demo **demo);

/* The demo's thread must not take the SIGINT and SIGTERM meant for the supervisor, which waits
 * for them in waitpid: it starts with both blocked (a thread inherits the mask). */
static int start_demo_quiet(const struct devnet_args *a, struct blok_node_config *c,
                            struct blok_demo **demo) {
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, &old);
  int rc = start_demo(a, c, demo);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

static int devnet_validators(const struct devnet_args *a) {
  bool created;
  struct blok_why why = {{0}};
  struct blok_devnet_validators o = {.validators = a->validators,
                                     .observers = a->observers,
                                     .http = a->http,
                                     .p2p_port = a->p2p_port};
  if (blok_devnet_prepare_validators(a->dir, &o, &created, &why) != BLOK_OK) {
    fprintf(stderr, "blokauto devnet: %s\n", why.msg);
    return BLOK_EXIT_FAIL;
  }
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) {
    fprintf(stderr, "blokauto devnet: cannot find this program: %s\n", strerror(errno));
    return BLOK_EXIT_FAIL;
  }
  self[len] = '\0';
  struct sigaction sa = {.sa_handler = on_stop_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  static struct devnet_node nodes[DEVNET_NODES_MAX];
  size_t count = devnet_nodes(a->dir, nodes);
  struct blok_node_config first; /* validator 0's, for the demo */
  bool has_first = false;
  printf("blokauto devnet: %s %s with %zu nodes\n", created ? "created" : "continuing", a->dir,
         count);
  for (size_t k = 0; k < count && !devnet_stop; k++) {
    char config[PATH_MAX];
    snprintf(config, sizeof config, "%s/%s/node.json", a->dir, nodes[k].name);
    struct blok_node_config c;
    if (blok_node_config_load(&c, config, &why) != BLOK_OK) {
      fprintf(stderr, "blokauto devnet: %s: %s\n", config, why.msg);
      devnet_stop = 1;
      break;
    }
    if (k == 0) {
      first = c;
      has_first = true;
    }
    nodes[k].pid = devnet_spawn(self, a->dir, &nodes[k], config);
    printf("  %s %zu: pid %d, API http://%s:%u/, log %s/%s/node.log\n",
           c.observer ? "observer " : "validator", (size_t)strtoul(nodes[k].name + 1, NULL, 10),
           (int)nodes[k].pid, c.http_host, (unsigned)c.http_port, a->dir, nodes[k].name);
  }
  printf("  genesis:     %s/genesis.json; member keys in %s/keys\n", a->dir, a->dir);
  printf("  stop with Ctrl-C; run again to continue the chain\n");
  struct blok_demo *demo = NULL;
  bool demo_failed = false;
  if (a->demo && !created) {
    printf("demo: skipped: %s already holds a chain; the demo fills a new one only (start with "
           "another --data, or remove %s)\n",
           a->dir, a->dir);
  } else if (a->demo && has_first && !devnet_stop) {
    if (first.http_port == 0)
      fprintf(stderr, "blokauto devnet: --demo: validator 0's API has port 0; give --http a "
                      "port\n");
    demo_failed = first.http_port == 0 || start_demo_quiet(a, &first, &demo) != 0;
    if (demo_failed) devnet_stop = 1; /* said why; the nodes started are stopped */
  }
  fflush(stdout);
  int code = devnet_supervise(nodes, count);
  if (demo) (void)blok_demo_finish(demo);
  return demo_failed ? BLOK_EXIT_FAIL : code;
}

/* The demo talks to the node over HTTP, so it needs the port before the node runs: for port 0 it
 * takes a free one from the kernel now. (Another process could take it before the node binds it;
 * then the node fails to start and says so.) */
static int resolve_port(struct blok_node_config *c) {
  if (c->http_port != 0) return 0;
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int ok = fd >= 0 && inet_pton(AF_INET, c->http_host, &sa.sin_addr) == 1 &&
           bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
           getsockname(fd, (struct sockaddr *)&sa, &len) == 0;
  if (fd >= 0) close(fd);
  if (!ok) {
    fprintf(stderr, "blokauto devnet: no free port on %s: %s\n", c->http_host, strerror(errno));
    return -1;
  }
  c->http_port = ntohs(sa.sin_port);
  return 0;
}

static int start_demo(const struct devnet_args *a, struct blok_node_config *c,
                      struct blok_demo **demo) {
  char url[128], genesis[PATH_MAX], keys[PATH_MAX], list[PATH_MAX];
  if (resolve_port(c) != 0) return -1;
  /* An API bound to every address is reached on loopback. */
  const char *host = strcmp(c->http_host, "0.0.0.0") == 0 ? "127.0.0.1" : c->http_host;
  snprintf(url, sizeof url, "http://%s:%u", host, (unsigned)c->http_port);
  snprintf(genesis, sizeof genesis, "%s", c->genesis_path);
  snprintf(keys, sizeof keys, "%s/keys", a->dir);
  if (snprintf(list, sizeof list, "%s/demo-vehicles.tsv", a->dir) >= (int)sizeof list) {
    fprintf(stderr, "blokauto devnet: --data: the path is too long for the demo\n");
    return -1;
  }
  struct blok_demo_opts o = {.node_url = url,
                             .genesis_path = genesis,
                             .keys_dir = keys,
                             .vehicles_path = list,
                             .seed = a->seed,
                             .vehicles = a->vehicles,
                             .out = stdout,
                             .tty = isatty(STDOUT_FILENO) == 1};
  struct blok_why why = {{0}};
  if (blok_demo_start(demo, &o, &why) != BLOK_OK) {
    fprintf(stderr, "blokauto devnet: %s\n", why.msg);
    return -1;
  }
  return 0;
}

static void banner(const char *dir, bool created, const struct blok_node_config *c) {
  printf("blokauto devnet: %s %s\n", created ? "created" : "continuing", dir);
  printf("  API and web UI:  http://%s:%u/\n", c->http_host, (unsigned)c->http_port);
  printf("  member keys:     %s/keys/<role>.key (validator: %s/keys/validator.key)\n", dir, dir);
  printf("  genesis:         %s/genesis.json\n", dir);
  printf("  try:             curl -s http://%s:%u/v1/status\n", c->http_host,
         (unsigned)c->http_port);
  printf("  stop with Ctrl-C; run again to continue the chain\n");
}

int blok__cmd_devnet(int argc, char **argv) {
  struct devnet_args a;
  int code = parse_devnet_args(argc, argv, &a);
  if (code >= 0) return code;
  if (a.validators > 1) return devnet_validators(&a);
  char config_path[PATH_MAX];
  bool created;
  struct blok_why why = {{0}};
  if (blok_devnet_prepare(a.dir, a.http, &created, config_path, sizeof config_path, &why) !=
      BLOK_OK) {
    fprintf(stderr, "blokauto devnet: %s\n", why.msg);
    return BLOK_EXIT_FAIL;
  }
  struct blok_node_config c;
  if (blok_node_config_load(&c, config_path, &why) != BLOK_OK) {
    fprintf(stderr, "blokauto devnet: %s\n", why.msg);
    return BLOK_EXIT_FAIL;
  }
  struct blok_demo *demo = NULL;
  if (a.demo && created && start_demo(&a, &c, &demo) != 0) return BLOK_EXIT_FAIL;
  banner(a.dir, created, &c);
  if (a.demo && !created)
    printf("demo: skipped: %s already holds a chain; the demo fills a new one only (start with "
           "another --data, or remove %s)\n",
           a.dir, a.dir);
  fflush(stdout);
  code = blok_node_run(&c);
  if (demo) (void)blok_demo_finish(demo);
  return code;
}
