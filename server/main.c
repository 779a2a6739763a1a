/* zerodropd: the county server's entry point.
 *
 * `zerodropd [--config FILE]` serves; `zerodropd SUBCOMMAND ...` runs one of the subcommands below (each
 * owns its own options and --help); --help and --version answer at once. Everything real lives in
 * libzdserver so that unit tests link the same code. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "enroll.h"
#include "log.h"
#include "migrate.h"
#include "server.h"
#include "version.h"

/* ---- Subcommands ------------------------------------------------------------------------------------
 * One line per subcommand. `run` gets argv from the subcommand's own name on (argv[0] == name) and
 * returns the exit status. The data engineer adds here, from server/migrate.h:
 *     {"migrate", srv_migrate_main, "apply the numbered migrations in sql/ (--config FILE)"},
 * ----------------------------------------------------------------------------------------------------- */
typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"migrate", srv_migrate_main, "apply the numbered migrations in sql/ (--config FILE)"},
    {"enroll", srv_enroll_main, "register a device certificate or create a user (--config FILE ...)"},
    {NULL, NULL, NULL}, /* end */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: zerodropd --config FILE      serve the county (see HACKING.md for the keys)\n"
            "       zerodropd COMMAND [ARGS]     run a command (COMMAND --help for its options)\n"
            "       zerodropd --version | --help\n");
    if (subcommands[0].name != NULL) {
        fprintf(out, "commands:\n");
        for (const subcommand *s = subcommands; s->name; s++)
            fprintf(out, "  %-12s %s\n", s->name, s->summary);
    }
    fprintf(out, "signals: TERM/INT finish what is in flight and exit; HUP reloads the CRL (and test clock)\n");
}

static int serve(const char *path)
{
    srv_config cfg;
    char err[SRV_CONFIG_ERRBUF];
    if (srv_config_load(path, &cfg, err) != 0) {
        fprintf(stderr, "zerodropd: %s\n", err);
        return 2;
    }
    srv_log_level_set((srv_log_level)cfg.log_level);
    int rc = srv_server_run(&cfg);
    srv_config_finish(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "--version") == 0) {
        printf("zerodropd %s\n", srv_version());
        return 0;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(arg, "--config") == 0 || strncmp(arg, "--config=", 9) == 0) {
        const char *path = arg[8] == '=' ? arg + 9 : (argc > 2 ? argv[2] : NULL);
        int used = arg[8] == '=' ? 2 : 3;
        if (path == NULL || path[0] == '\0') {
            fprintf(stderr, "zerodropd: --config needs a file\n");
            return 2;
        }
        if (argc > used) {
            fprintf(stderr, "zerodropd: unexpected argument '%s'\n", argv[used]);
            return 2;
        }
        return serve(path);
    }
    for (const subcommand *s = subcommands; s->name; s++)
        if (strcmp(arg, s->name) == 0)
            return s->run(argc - 1, argv + 1);
    fprintf(stderr, "zerodropd: unknown command or option '%s' (try --help)\n", arg);
    return 2;
}
