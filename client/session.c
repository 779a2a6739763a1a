/* The login session file of the client home; see session.h. */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cli_session_save(const cli_home *home, const cli_session *s, char *err, size_t errlen)
{
    char tmp[CLI_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", home->session);
    unlink(tmp);
    /* 0600 from the start: the token is a password while it lasts */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    char text[256], hex[2 * CLI_SESSION_TOKEN_BYTES + 1];
    for (int i = 0; i < CLI_SESSION_TOKEN_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", s->token[i]);
    int n = snprintf(text, sizeof text, "user=%s\ntoken=%s\nexpires_ms=%lld\n", s->user, hex,
                     (long long)s->expires_ms);
    int ok = n > 0 && (size_t)n < sizeof text && write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    OPENSSL_cleanse(text, sizeof text);
    OPENSSL_cleanse(hex, sizeof hex);
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, home->session) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", home->session, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int cli_session_load(const cli_home *home, cli_session *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(home->session, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "cannot read %s: %s", home->session, strerror(errno));
        return -1;
    }
    char line[256];
    int have_user = 0, have_token = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "user=", 5) == 0 && strlen(line + 5) < sizeof s->user) {
            snprintf(s->user, sizeof s->user, "%s", line + 5);
            have_user = s->user[0] != '\0';
        } else if (strncmp(line, "token=", 6) == 0 && strlen(line + 6) == 2 * CLI_SESSION_TOKEN_BYTES) {
            have_token = 1;
            for (int i = 0; i < CLI_SESSION_TOKEN_BYTES; i++) {
                int hi = hexval(line[6 + 2 * i]), lo = hexval(line[7 + 2 * i]);
                if (hi < 0 || lo < 0)
                    have_token = 0;
                else
                    s->token[i] = (uint8_t)(hi << 4 | lo);
            }
        } else if (strncmp(line, "expires_ms=", 11) == 0) {
            s->expires_ms = strtoll(line + 11, NULL, 10);
        }
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    if (!have_user || !have_token) {
        snprintf(err, errlen, "%s is not a session file; log in again (zerodrop login USER)", home->session);
        return -1;
    }
    return 0;
}

int cli_session_forget(const cli_home *home, char *err, size_t errlen)
{
    if (unlink(home->session) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove %s: %s", home->session, strerror(errno));
        return -1;
    }
    return 0;
}

int cli_session_attach(cli_rpc *rpc, const cli_home *home, char err[CLI_RPC_ERRLEN])
{
    cli_session s;
    char ferr[CLI_PATH_MAX + 128];
    if (cli_session_load(home, &s, ferr, sizeof ferr) != 0)
        return 0; /* nobody logged in here (or the file is unreadable: the login command rewrites it) */
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Login login = ZERODROP__V1__LOGIN__INIT;
    login.user = s.user;
    login.session_token.data = s.token;
    login.session_token.len = sizeof s.token;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_LOGIN;
    env.login = &login;
    Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, &env, err);
    OPENSSL_cleanse(&s, sizeof s);
    if (reply == NULL)
        return -1;
    /* Refused (ended, expired, disabled): the session stays anonymous; the request that needs a login
     * will say so in its own words. */
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return 0;
}
