/* The client's commands: one table (commands.c) from name to handler, each command in its own file
 * (client/cmd_NAME.c) defining one `const cli_command cli_cmd_NAME`.
 *
 * To add a command: write client/cmd_NAME.c with its cli_command, declare it below, add one line to the
 * table in commands.c and one line to client/meson.build. main.c handles --home, --help and --version,
 * and `zerodrop COMMAND --help` (prints the command's usage); a command parses the rest of its own
 * arguments. A command with sub-commands ("case list") takes the sub-command as its first argument. */
#ifndef ZD_CLIENT_CMD_H
#define ZD_CLIENT_CMD_H

#include <stdio.h>

#include "envelope.pb-c.h"
#include "home.h"

typedef struct cli_ctx {
    const char *home_dir;   /* --home, or the default ~/.zerodrop */
} cli_ctx;

typedef struct cli_command {
    const char *name;       /* "ping" */
    const char *summary;    /* one line for `zerodrop --help` */
    const char *usage;      /* the whole `zerodrop ping --help` text, ending with a newline */
    /* argv[0] is the command's name; returns the exit status (0 on success). */
    int (*run)(const cli_ctx *ctx, int argc, char **argv);
} cli_command;

/* The table, ending with a NULL name. */
extern const cli_command *const cli_commands[];

/* The command called name, or NULL. */
const cli_command *cli_command_find(const char *name);

/* Prints "zerodrop: <reason>" (printf-style, one line) on stderr and returns 1: `return cli_fail(...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
int cli_fail(const char *fmt, ...);

/* Loads ctx's home into h, or prints why not (cli_fail) and returns 1. */
int cli_home_open(const cli_ctx *ctx, cli_home *h);

/* Writes s as a JSON string (with quotes), escaping what JSON requires. */
void cli_json_str(FILE *out, const char *s);

/* The commands (one per cmd_*.c). */
extern const cli_command cli_cmd_ping;
extern const cli_command cli_cmd_roster;
extern const cli_command cli_cmd_absent;
extern const cli_command cli_cmd_present;
extern const cli_command cli_cmd_report;
extern const cli_command cli_cmd_status;
extern const cli_command cli_cmd_sync;
extern const cli_command cli_cmd_login;
extern const cli_command cli_cmd_logout;
extern const cli_command cli_cmd_admin;

/* Sub-commands of `admin` (cmd_admin.c lists them): argv[0] is the sub-command's name. */
extern const cli_command cli_admin_import_register;
extern const cli_command cli_admin_import_household;
extern const cli_command cli_admin_calendar;
extern const cli_command cli_admin_settings;
extern const cli_command cli_admin_user;   /* cmd_admin_users.c: user add|disable|passwd */
extern const cli_command cli_admin_device; /* cmd_admin_users.c: device add|revoke|list */
extern const cli_command cli_admin_stats;  /* cmd_admin_users.c */

/* Opens a session for an admin sub-command `what` and logs in: as as_user with the password on the first
 * line of as_password_file (--as USER --as-password-file F), or, when as_user is NULL, by the session token
 * kept in the home (zerodrop login). Returns the session (cli_rpc_close it), or NULL after one line on
 * stderr ("WHAT: login refused: …"). login_code (may be NULL) gets the code of the server's refusal of the
 * login (ZD_EUNAVAILABLE: retry later), 0 otherwise. */
struct cli_rpc;
struct cli_rpc *cli_admin_open(const cli_ctx *ctx, const char *what, const char *as_user,
                               const char *as_password_file, int *login_code);

/* Reads the first line of path (a password file) into out (n bytes), without its line end. Returns 0, or
 * non-zero after cli_fail ("WHAT: cannot read PATH", or the file holds no password). */
int cli_password_file_read(const char *what, const char *path, char *out, size_t n);

/* If argv[*i] is --as or --as-password-file with its value, stores the value, moves *i past it and returns 1;
 * otherwise returns 0. */
int cli_admin_as_option(int argc, char **argv, int *i, const char **as_user, const char **as_password_file);

/* Prints the server's Error reply as one line on stderr ("zerodrop: WHAT: message (field F)") and returns 1. */
int cli_fail_reply(const char *what, const Zerodrop__V1__Envelope *reply);

#endif
