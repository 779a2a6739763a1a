/* The sync engine: sends the outbox to the county server and pulls the roster, over one session.
 *
 * A sync opens a session (cli_rpc), logs in (the session token in the home's `session` file, or a user and
 * password given by the caller), notes the contact (server clock and ours, for honest capture times), then
 * sends the pending records in capture order, in batches of at most CLI_SYNC_BATCH, each batch marked sent
 * before it leaves and its per-record answers applied in one store transaction when they come back. A
 * batch that gets no answer (connection lost) is simply sent again next time: the server stores each UUID
 * once, so at-least-once delivery is safe. Then the roster is pulled chunk by chunk from the stored cursor.
 *
 * Everything is bounded: at most CLI_SYNC_MAX_ROUNDS batches and roster chunks per sync, each wait bounded
 * by the home's timeout_ms. */
#ifndef ZD_CLIENT_SYNC_H
#define ZD_CLIENT_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "home.h"
#include "store.h"

#define CLI_SYNC_BATCH 100
#define CLI_SYNC_MAX_ROUNDS 1000
#define CLI_SYNC_ERRLEN 1024

typedef struct cli_sync_options {
    const char *user;          /* NULL: log in with the home's session token */
    const char *password;      /* with user */
    bool skip_roster;          /* do not pull the roster (a quick sync after a capture) */
} cli_sync_options;

/* What a sync did. */
typedef struct cli_sync_report {
    size_t sent;         /* records handed to the server */
    size_t accepted;
    size_t duplicate;
    size_t rejected;
    size_t roster_rows;  /* classes and students applied */
} cli_sync_report;

/* Runs one sync against the server named by home, on store (the caller's). Returns 0 when every step
 * completed (rejections are answers, not failures), -1 with err filled (one line in plain words) when the
 * server could not be reached or a step failed; what completed before stays done. */
int cli_sync_run(const cli_home *home, cli_store *store, const cli_sync_options *opt, cli_sync_report *rep,
                 char err[CLI_SYNC_ERRLEN]);

/* The quick sync every capture command tries after saving: at most CLI_SYNC_QUICK_MS per wait, no roster
 * pull. Prints one line on out: what the server answered, or "saved, will be sent when the server can be
 * reached" (offline is not an error for a capture). Returns the number of records the server rejected. */
#define CLI_SYNC_QUICK_MS 2000
size_t cli_sync_quick(const cli_home *home, cli_store *store, FILE *out);

#endif
