/* A small synchronous request/response helper over libuv, for commands.
 *
 * cli_rpc_open connects to the server named by the home, does the TLS handshake with the device
 * certificate, sends Hello and waits for Welcome; cli_rpc_call sends one request and waits for its reply.
 * Each wait is bounded by the home's timeout_ms. Every failure comes back as one line in plain words a
 * school clerk can act on ("cannot reach server 127.0.0.1:7443: connection refused", "server refused
 * our certificate: revoked"), ready for stderr. The helper owns its own loop, so a command is a plain
 * sequence of calls. */
#ifndef ZD_CLIENT_RPC_H
#define ZD_CLIENT_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "home.h"

#define CLI_RPC_ERRLEN 1024

typedef struct cli_rpc cli_rpc;

/* Opens a session: connect, TLS, Hello, Welcome. Returns the helper, or NULL with err filled
 * (CLI_RPC_ERRLEN bytes). A Welcome-less refusal (Error from the server) is reported as
 * "server refused the session: <its message>". */
cli_rpc *cli_rpc_open(const cli_home *home, char err[CLI_RPC_ERRLEN]);

/* The Welcome the server sent. Owned by rpc. */
const Zerodrop__V1__Welcome *cli_rpc_welcome(const cli_rpc *rpc);

/* Sends env (its request_id is set here) and waits for the reply with the same id. Returns the reply,
 * which the caller frees with zerodrop__v1__envelope__free_unpacked(reply, NULL), or NULL with err. An
 * Error reply is a reply (returned, not NULL): the caller decides what it means. env stays the caller's. */
Zerodrop__V1__Envelope *cli_rpc_call(cli_rpc *rpc, Zerodrop__V1__Envelope *env, char err[CLI_RPC_ERRLEN]);

/* Closes the session politely (close_notify) and frees everything. NULL is a no-op. */
void cli_rpc_close(cli_rpc *rpc);

/* The wire level as a word: "school", "township", "county" ("unknown" otherwise). */
const char *cli_level_name(int level);

#endif
