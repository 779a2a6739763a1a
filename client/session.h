/* The login session kept in the client home: DIR/session (mode 0600), written by `zerodrop login` and
 * read by every command that acts as the user.
 *
 * The file holds the user name, the session token the server handed out (hex) and its expiry:
 *     user=clerk1
 *     token=<64 hex digits>
 *     expires_ms=1788050400000
 * cli_rpc_open sends Login with the token after Welcome (cli_session_attach); the server checks that it
 * belongs to this device and has not ended. */
#ifndef ZD_CLIENT_SESSION_H
#define ZD_CLIENT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "home.h"
#include "rpc.h"

#define CLI_SESSION_TOKEN_BYTES 32

typedef struct cli_session {
    char user[65];
    uint8_t token[CLI_SESSION_TOKEN_BYTES];
    int64_t expires_ms;
} cli_session;

/* Writes s to home's session file, replacing it (a fresh file of mode 0600, renamed into place).
 * Returns 0, or -1 with one line in err (errlen bytes). */
int cli_session_save(const cli_home *home, const cli_session *s, char *err, size_t errlen);

/* Reads home's session file into s. Returns 0; 1 when there is none (not logged in); -1 with err when it
 * cannot be read or is not a session file. */
int cli_session_load(const cli_home *home, cli_session *s, char *err, size_t errlen);

/* Removes home's session file (logout). Returns 0 (also when there was none), or -1 with err. */
int cli_session_forget(const cli_home *home, char *err, size_t errlen);

/* Acts as the user of home's session file on rpc's session: sends Login with the token. cli_rpc_open
 * calls it after Welcome, so every command acts as whoever logged in on this device. No file, a bad one,
 * or a token the server no longer takes leave the session anonymous (requests that need a login are then
 * answered "log in first"): 0 all the same. Returns -1 with err only when the connection failed. */
int cli_session_attach(cli_rpc *rpc, const cli_home *home, char err[CLI_RPC_ERRLEN]);

#endif
