/* `zerodrop login USER` and `zerodrop logout`: the person who acts on this device.
 *
 * login asks the password on the terminal (echo off), or reads the first line of --password-file, sends
 * Login, and keeps the session token the server hands out in DIR/session (mode 0600) for the commands
 * that follow. logout ends that session at the server and removes the file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cmd.h"
#include "rpc.h"
#include "session.h"

#define PASSWORD_MAX 1024

static const char *role_word(int role)
{
    static const char *const words[] = {"unknown",          "clerk",          "head_teacher", "principal",
                                        "township_officer", "county_auditor", "county_admin"};
    return role >= 0 && role <= 6 ? words[role] : "unknown";
}

/* Reads the first line of path into out. Returns 0 or cli_fail's 1. */
static int password_from_file(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return cli_fail("login: cannot read %s: %s", path, strerror(errno));
    int ok = fgets(out, (int)n, f) != NULL;
    fclose(f);
    if (!ok)
        return cli_fail("login: %s is empty", path);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* Asks on the terminal with echo off. Returns 0 or cli_fail's 1. */
static int password_from_tty(const char *user, char *out, size_t n)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (tty == NULL)
        return cli_fail("login: no terminal to ask the password on; use --password-file FILE");
    struct termios old, quiet;
    int have_termios = tcgetattr(fileno(tty), &old) == 0;
    if (have_termios) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    }
    fprintf(tty, "password for %s: ", user);
    fflush(tty);
    int ok = fgets(out, (int)n, tty) != NULL;
    if (have_termios)
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fprintf(tty, "\n");
    fclose(tty);
    if (!ok)
        return cli_fail("login: no password given");
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int run_login(const cli_ctx *ctx, int argc, char **argv)
{
    const char *user = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (argv[i][0] != '-' && user == NULL)
            user = argv[i];
        else
            return cli_fail("login: unexpected argument '%s' (try zerodrop login --help)", argv[i]);
    }
    if (user == NULL)
        return cli_fail("login: name the user (zerodrop login USER)");
    cli_home home;
    if (cli_home_open(ctx, &home) != 0)
        return 1;

    char password[PASSWORD_MAX + 2];
    int rc = file ? password_from_file(file, password, sizeof password)
                  : password_from_tty(user, password, sizeof password);
    if (rc != 0)
        return rc;

    char err[CLI_RPC_ERRLEN];
    cli_rpc *rpc = cli_rpc_open(&home, err);
    if (rpc == NULL) {
        OPENSSL_cleanse(password, sizeof password);
        return cli_fail("%s", err);
    }
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Login login = ZERODROP__V1__LOGIN__INIT;
    login.user = (char *)user;
    login.password = password;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_LOGIN;
    env.login = &login;
    Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, &env, err);
    OPENSSL_cleanse(password, sizeof password);
    if (reply == NULL) {
        cli_rpc_close(rpc);
        return cli_fail("%s", err);
    }
    if (reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR) {
        rc = cli_fail("login refused: %s", reply->error->message);
    } else if (reply->body_case != ZERODROP__V1__ENVELOPE__BODY_LOGIN_RESULT ||
               reply->login_result->session_token.len != CLI_SESSION_TOKEN_BYTES) {
        rc = cli_fail("login: the server answered with something else than a session");
    } else {
        const Zerodrop__V1__LoginResult *r = reply->login_result;
        cli_session s;
        memset(&s, 0, sizeof s);
        snprintf(s.user, sizeof s.user, "%s", r->user);
        memcpy(s.token, r->session_token.data, CLI_SESSION_TOKEN_BYTES);
        s.expires_ms = r->expires_ms;
        char serr[CLI_PATH_MAX + 128];
        if (cli_session_save(&home, &s, serr, sizeof serr) != 0) {
            rc = cli_fail("login: %s", serr);
        } else {
            time_t until = (time_t)(r->expires_ms / 1000);
            struct tm tm;
            char when[32] = "?";
            if (localtime_r(&until, &tm) != NULL)
                strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
            const Zerodrop__V1__Welcome *w = cli_rpc_welcome(rpc);
            printf("logged in as %s (%s at %s %s) until %s\n", r->user, role_word((int)r->role),
                   cli_level_name((int)w->institution->level), w->institution->code, when);
        }
        OPENSSL_cleanse(&s, sizeof s);
    }
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    cli_rpc_close(rpc);
    return rc;
}

static int run_logout(const cli_ctx *ctx, int argc, char **argv)
{
    if (argc > 1)
        return cli_fail("logout: unexpected argument '%s' (try zerodrop logout --help)", argv[1]);
    cli_home home;
    if (cli_home_open(ctx, &home) != 0)
        return 1;
    char err[CLI_RPC_ERRLEN];
    cli_rpc *rpc = cli_rpc_open(&home, err);
    if (rpc == NULL)
        return cli_fail("%s", err);
    int rc = 0;
    cli_session s;
    char ferr[CLI_PATH_MAX + 128];
    if (cli_session_load(&home, &s, ferr, sizeof ferr) == 0) {
        OPENSSL_cleanse(&s, sizeof s);
        Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
        Zerodrop__V1__Logout out = ZERODROP__V1__LOGOUT__INIT;
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_LOGOUT;
        env.logout = &out;
        Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, &env, err);
        if (reply == NULL)
            rc = cli_fail("%s", err);
        else if (reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR &&
                 reply->error->code != ZERODROP__V1__ERROR_CODE__UNAUTHENTICATED)
            rc = cli_fail("logout refused: %s", reply->error->message);
        if (reply)
            zerodrop__v1__envelope__free_unpacked(reply, NULL);
    }
    /* A session the server no longer knows is as good as ended: the file goes either way. */
    cli_rpc_close(rpc);
    if (rc == 0 && cli_session_forget(&home, ferr, sizeof ferr) != 0)
        rc = cli_fail("logout: %s", ferr);
    if (rc == 0)
        printf("logged out\n");
    return rc;
}

const cli_command cli_cmd_login = {
    .name = "login",
    .summary = "log in as USER on this device (password asked, or --password-file)",
    .usage = "usage: zerodrop [--home DIR] login USER [--password-file FILE]\n"
             "\n"
             "Asks USER's password on the terminal (or reads the first line of FILE), logs in at the county\n"
             "server and keeps the session in DIR/session (mode 0600) for the commands that follow. A user\n"
             "logs in only from a device of their own institution; after repeated wrong passwords the\n"
             "server asks to wait before the next try.\n",
    .run = run_login,
};

const cli_command cli_cmd_logout = {
    .name = "logout",
    .summary = "end the session of this device's user",
    .usage = "usage: zerodrop [--home DIR] logout\n"
             "\n"
             "Ends the session kept in DIR/session at the county server and removes the file.\n",
    .run = run_logout,
};
