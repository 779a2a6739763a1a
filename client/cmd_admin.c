/* `zerodrop admin SUBCOMMAND …`: the county's administration, one table of sub-commands.
 *
 * Each sub-command is a cli_command of its own, defined in the file of its family (cmd_import.c,
 * cmd_calendar.c, …) and listed once in the table below; `admin` only picks one by its first argument. Add a
 * family's lines here and its usage lines to the text below. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "rpc.h"

int cli_password_file_read(const char *what, const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return cli_fail("%s: cannot read %s", what, path);
    int ok = fgets(out, (int)n, f) != NULL;
    fclose(f);
    if (ok)
        out[strcspn(out, "\r\n")] = '\0';
    if (!ok || out[0] == '\0')
        return cli_fail("%s: %s holds no password on its first line", what, path);
    return 0;
}

cli_rpc *cli_admin_open(const cli_ctx *ctx, const char *what, const char *as_user, const char *as_password_file,
                        int *login_code)
{
    if (login_code != NULL)
        *login_code = 0;
    cli_home home;
    if (cli_home_open(ctx, &home) != 0)
        return NULL;
    char err[CLI_RPC_ERRLEN];
    char password[1100];
    Zerodrop__V1__Login login = ZERODROP__V1__LOGIN__INIT;
    if (as_user != NULL) {
        if (as_password_file == NULL) {
            cli_fail("%s: --as needs --as-password-file", what);
            return NULL;
        }
        if (cli_password_file_read(what, as_password_file, password, sizeof(password)) != 0)
            return NULL;
        login.user = (char *)as_user;
        login.password = password;
    } else if (access(home.session, F_OK) != 0) {
        cli_fail("%s: log in first (zerodrop login USER), or pass --as USER --as-password-file F", what);
        return NULL;
    }
    /* cli_rpc_open already resumes the login kept in DIR/session; a second Login with that token
     * would end the session it resumes (a new Login logs the session out first). */
    cli_rpc *rpc = cli_rpc_open(&home, err);
    if (rpc == NULL) {
        memset(password, 0, sizeof(password));
        cli_fail("%s", err);
        return NULL;
    }
    if (as_user == NULL)
        return rpc;
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_LOGIN;
    env.login = &login;
    Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, &env, err);
    memset(password, 0, sizeof(password));
    if (reply == NULL) {
        cli_fail("%s: %s", what, err);
        cli_rpc_close(rpc);
        return NULL;
    }
    int ok = reply->body_case == ZERODROP__V1__ENVELOPE__BODY_LOGIN_RESULT;
    if (!ok && login_code != NULL && reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR && reply->error)
        *login_code = (int)reply->error->code;
    if (!ok)
        cli_fail("%s: login refused: %s", what,
                 reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR && reply->error ? reply->error->message
                                                                                       : "unexpected answer");
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    if (!ok) {
        cli_rpc_close(rpc);
        return NULL;
    }
    return rpc;
}

int cli_admin_as_option(int argc, char **argv, int *i, const char **as_user, const char **as_password_file)
{
    if (*i + 1 >= argc)
        return 0;
    if (strcmp(argv[*i], "--as") == 0)
        *as_user = argv[++*i];
    else if (strcmp(argv[*i], "--as-password-file") == 0)
        *as_password_file = argv[++*i];
    else
        return 0;
    return 1;
}

static const cli_command *const admin_commands[] = {
    &cli_admin_import_register,
    &cli_admin_import_household,
    &cli_admin_calendar,
    &cli_admin_settings,
    &cli_admin_user,
    &cli_admin_device,
    &cli_admin_stats,
    /* one line per admin sub-command */
    NULL,
};

static int run(const cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2)
        return cli_fail("admin: name a sub-command (try zerodrop admin --help)");
    for (size_t i = 0; admin_commands[i] != NULL; i++)
        if (strcmp(admin_commands[i]->name, argv[1]) == 0)
            return admin_commands[i]->run(ctx, argc - 1, argv + 1);
    return cli_fail("admin: unknown sub-command '%s' (try zerodrop admin --help)", argv[1]);
}

const cli_command cli_cmd_admin = {
    .name = "admin",
    .summary = "county administration: register imports, calendar, settings, users, devices, stats",
    .usage = "usage: zerodrop [--home DIR] admin SUBCOMMAND [ARGS]   (a county admin, logged in, on a county device)\n"
             "Every sub-command acts as the login kept in DIR/session (zerodrop login), or logs in first with\n"
             "--as USER --as-password-file F (the password on the file's first line).\n"
             "\n"
             "  import-register FILE.csv [--json]    stream the student register (学籍) and apply it all or nothing\n"
             "  import-household FILE.csv [--json]   the same for the household extract (户籍)\n"
             "      The file is UTF-8 CSV with the header of HACKING.md. Every problem is printed as\n"
             "      `row 812, column grade: 11 is not a grade (1–9)`; when there is any, nothing is applied\n"
             "      and the exit status is 1. --json prints {\"applied\":…,\"rows\":…,\"inserted\":…,\"changed\":…,\n"
             "      \"unchanged\":…,\"problems_total\":…,\"problems\":[{\"row\":…,\"column\":…,\"reason\":…}]}.\n"
             "\n"
             "  calendar set DATE[..DATE] KIND [SCHOOL] [--note TEXT]\n"
             "  calendar set --file FILE.csv\n"
             "      KIND is school_day, holiday, term_start (the note names the term) or closure (SCHOOL, the\n"
             "      note is the reason). Dates are YYYY-MM-DD; DATE..DATE sets every day of the range. FILE.csv\n"
             "      has the header date,kind,school_code,note; tests/gen-county's calendar.csv\n"
             "      (date,weekday,school_day,kind,note) and closures.csv (school_code,date,reason) also work.\n"
             "  calendar show [FROM [TO]] [--json | --csv]\n"
             "\n"
             "  settings set KEY=VALUE …     all or nothing; an unknown key or a bad value names the key\n"
             "  settings show [--json | --csv]\n"
             "      keys: timezone, report_deadline (HH:MM), streak_contact_days, streak_suspected_days,\n"
             "      streak_dropout_days, transfer_limbo_days, stage_days_{contact,notice,visits,report,township,\n"
             "      county} (days), commendation_rate, veto_class_rate, veto_grade6_loss (0 … 1)\n"
             "\n"
             "  user add NAME --role ROLE --institution CODE --password-file F [--display-name TEXT]\n"
             "  user disable NAME\n"
             "  user passwd NAME --password-file F\n"
             "      ROLE: clerk, head_teacher, principal (school), township_officer, county_auditor, county_admin.\n"
             "      F holds the new password on its first line (8 to 1024 characters).\n"
             "  device add (FINGERPRINT | --cert CERT.pem) --institution CODE [--label TEXT]\n"
             "  device revoke (FINGERPRINT | --cert CERT.pem)       drops the device's open sessions at once\n"
             "  device list [--institution CODE] [--json | --csv]\n"
             "      FINGERPRINT: the certificate's SHA-256 (openssl x509 -noout -fingerprint -sha256).\n"
             "  stats [--json | --csv]    connections, handshakes, requests by type/code, pool, p50/p99 latency\n"
             "  user, device and stats act as the login kept in DIR/session, or as --as USER\n"
             "  --as-password-file F (a county admin on a county device). They exit 75 when the server answered\n"
             "  UNAVAILABLE (its database is away: the same command may be run again), 1 on other failures.\n",
    .run = run,
};
