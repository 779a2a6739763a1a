/* zerodrop: the client's entry point.
 *
 * `zerodrop [--home DIR] COMMAND [ARGS]`: global options first, then a command from the table in
 * commands.c. Exit status 0 on success; otherwise non-zero with one line on stderr saying why. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "home.h"
#include "version.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: zerodrop [--home DIR] COMMAND [ARGS]    (COMMAND --help for its own options)\n"
                 "       zerodrop --version | --help\n"
                 "\n"
                 "  --home DIR   the client home: certificate, key, CA, settings, local store\n"
                 "               (default ~/.zerodrop)\n"
                 "\n"
                 "commands:\n");
    for (size_t i = 0; cli_commands[i] != NULL; i++)
        fprintf(out, "  %-18s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
}

int main(int argc, char **argv)
{
    char home_default[CLI_PATH_MAX];
    cli_ctx ctx = {.home_dir = NULL};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0) {
            printf("zerodrop %s\n", cli_version());
            return 0;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--home") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0')
                return cli_fail("--home needs a folder");
            ctx.home_dir = argv[++i];
        } else if (strncmp(a, "--home=", 7) == 0 && a[7] != '\0') {
            ctx.home_dir = a + 7;
        } else {
            return cli_fail("unknown option '%s' (try zerodrop --help)", a);
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const cli_command *cmd = cli_command_find(argv[i]);
    if (cmd == NULL)
        return cli_fail("unknown command '%s' (try zerodrop --help)", argv[i]);
    for (int k = i + 1; k < argc; k++) {
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            fputs(cmd->usage, stdout);
            return 0;
        }
    }
    if (ctx.home_dir == NULL) {
        if (cli_home_default(home_default, sizeof(home_default)) != 0)
            return cli_fail("HOME is not set; name the client home with --home DIR");
        ctx.home_dir = home_default;
    }
    return cmd->run(&ctx, argc - i, argv + i);
}
