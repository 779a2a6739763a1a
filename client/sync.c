/* The sync engine; see sync.h. */
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "rpc.h"
#include "session.h"

/* With a user and password: logs in on rpc and keeps the session in the home (as `zerodrop login` does),
 * so later commands and their quick syncs act as that user. Without: cli_rpc_open has already attached
 * the home's session, if there is one. */
static int login(cli_rpc *rpc, const cli_home *home, const cli_sync_options *opt, char err[CLI_SYNC_ERRLEN])
{
    if (opt == NULL || opt->user == NULL)
        return 0;
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Login lg = ZERODROP__V1__LOGIN__INIT;
    lg.user = (char *)opt->user;
    lg.password = (char *)(opt->password ? opt->password : "");
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_LOGIN;
    env.login = &lg;
    char rerr[CLI_RPC_ERRLEN];
    Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, &env, rerr);
    if (reply == NULL) {
        snprintf(err, CLI_SYNC_ERRLEN, "%s", rerr);
        return -1;
    }
    int rc = 0;
    if (reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR) {
        snprintf(err, CLI_SYNC_ERRLEN, "the server refused the login: %s", reply->error->message);
        rc = -1;
    } else if (reply->body_case != ZERODROP__V1__ENVELOPE__BODY_LOGIN_RESULT ||
               reply->login_result->session_token.len != CLI_SESSION_TOKEN_BYTES) {
        snprintf(err, CLI_SYNC_ERRLEN, "the server answered the login with something else");
        rc = -1;
    } else {
        cli_session s;
        memset(&s, 0, sizeof(s));
        snprintf(s.user, sizeof(s.user), "%s", reply->login_result->user);
        memcpy(s.token, reply->login_result->session_token.data, CLI_SESSION_TOKEN_BYTES);
        s.expires_ms = reply->login_result->expires_ms;
        char serr[512];
        /* best effort: without the file later commands only cannot sync until someone logs in */
        (void)cli_session_save(home, &s, serr, sizeof(serr));
    }
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return rc;
}

/* One batch: 1 sent and answered, 0 nothing left, -1 failure (err). */
static int send_batch(cli_rpc *rpc, cli_store *store, cli_sync_report *rep, char err[CLI_SYNC_ERRLEN])
{
    cli_outbox_list list = {0};
    zd_err e = cli_store_outbox_pending(store, CLI_SYNC_BATCH, &list);
    if (e != ZD_OK) {
        snprintf(err, CLI_SYNC_ERRLEN, "cannot read the outbox: %s", cli_store_errmsg(store));
        return -1;
    }
    if (list.count == 0)
        return 0;
    int rc = -1;
    Zerodrop__V1__SignedRecord *wire = calloc(list.count, sizeof(*wire));
    Zerodrop__V1__SignedRecord **ptrs = calloc(list.count, sizeof(*ptrs));
    Zerodrop__V1__Envelope *reply = NULL;
    if (wire == NULL || ptrs == NULL) {
        snprintf(err, CLI_SYNC_ERRLEN, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < list.count; i++) {
        cli_outbox_row_wire(&list.rows[i], &wire[i]);
        ptrs[i] = &wire[i];
    }
    if (cli_store_outbox_mark_sent_list(store, &list) != ZD_OK) {
        snprintf(err, CLI_SYNC_ERRLEN, "cannot write the outbox: %s", cli_store_errmsg(store));
        goto out;
    }
    Zerodrop__V1__Submit sub = ZERODROP__V1__SUBMIT__INIT;
    sub.n_records = list.count;
    sub.records = ptrs;
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    char rerr[CLI_RPC_ERRLEN];
    reply = cli_rpc_call(rpc, &env, rerr);
    if (reply == NULL) {
        for (size_t i = 0; i < list.count; i++)
            (void)cli_store_outbox_mark_failed(store, list.rows[i].uuid, rerr);
        snprintf(err, CLI_SYNC_ERRLEN, "%s", rerr);
        goto out;
    }
    if (reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR) {
        for (size_t i = 0; i < list.count; i++)
            (void)cli_store_outbox_mark_failed(store, list.rows[i].uuid, reply->error->message);
        snprintf(err, CLI_SYNC_ERRLEN, "the server did not take the records: %s", reply->error->message);
        goto out;
    }
    if (reply->body_case != ZERODROP__V1__ENVELOPE__BODY_SUBMIT_RESULT) {
        snprintf(err, CLI_SYNC_ERRLEN, "the server answered the records with something else");
        goto out;
    }
    const Zerodrop__V1__SubmitResult *res = reply->submit_result;
    int whole = 1;
    if (cli_store_outbox_mark_submit(store, res, cli_now_ms(), NULL) != ZD_OK) {
        whole = 0;
        /* One answer the store refuses (a record the server could not even name) must not keep the
         * others from being applied, or the batch would be resent forever: apply them one by one. */
        size_t applied = 0;
        for (size_t i = 0; i < res->n_results; i++)
            if (cli_store_outbox_mark_result(store, res->results[i], cli_now_ms(), NULL) == ZD_OK)
                applied++;
        if (applied == 0) {
            snprintf(err, CLI_SYNC_ERRLEN, "cannot store the server's answers: %s", cli_store_errmsg(store));
            goto out;
        }
    }
    rep->sent += list.count;
    for (size_t i = 0; i < res->n_results; i++) {
        switch (res->results[i]->status) {
        case ZERODROP__V1__RECORD_STATUS__RECORD_ACCEPTED:
            rep->accepted++;
            break;
        case ZERODROP__V1__RECORD_STATUS__RECORD_DUPLICATE:
            rep->duplicate++;
            break;
        default:
            rep->rejected++;
        }
    }
    /* A short answer would leave records pending forever in this loop: stop, they go next time. */
    rc = whole && res->n_results == list.count ? 1 : 0;
out:
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    free(ptrs);
    free(wire);
    cli_outbox_list_finish(&list);
    return rc;
}

/* Pulls roster chunks until done. A server without a roster handler answers Error: not a failure of the
 * sync (records are what matters), so 0 is returned then. */
static int pull_roster(cli_rpc *rpc, cli_store *store, cli_sync_report *rep, char err[CLI_SYNC_ERRLEN])
{
    for (int round = 0; round < CLI_SYNC_MAX_ROUNDS; round++) {
        uint64_t cursor = 0;
        if (cli_store_cursor_get(store, "roster", &cursor) != ZD_OK) {
            snprintf(err, CLI_SYNC_ERRLEN, "cannot read the roster cursor: %s", cli_store_errmsg(store));
            return -1;
        }
        Zerodrop__V1__RosterPull pull = ZERODROP__V1__ROSTER_PULL__INIT;
        pull.cursor = cursor;
        Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_ROSTER_PULL;
        env.roster_pull = &pull;
        char rerr[CLI_RPC_ERRLEN];
        Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, &env, rerr);
        if (reply == NULL) {
            snprintf(err, CLI_SYNC_ERRLEN, "%s", rerr);
            return -1;
        }
        int done = 1;
        if (reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ROSTER_CHUNK) {
            const Zerodrop__V1__RosterChunk *c = reply->roster_chunk;
            if (cli_store_roster_apply(store, c) != ZD_OK) {
                snprintf(err, CLI_SYNC_ERRLEN, "cannot store the roster: %s", cli_store_errmsg(store));
                zerodrop__v1__envelope__free_unpacked(reply, NULL);
                return -1;
            }
            rep->roster_rows += c->n_classes + c->n_students;
            done = c->done || c->next_cursor <= cursor;
        }
        zerodrop__v1__envelope__free_unpacked(reply, NULL);
        if (done)
            return 0;
    }
    return 0;
}

int cli_sync_run(const cli_home *home, cli_store *store, const cli_sync_options *opt, cli_sync_report *rep,
                 char err[CLI_SYNC_ERRLEN])
{
    memset(rep, 0, sizeof(*rep));
    char rerr[CLI_RPC_ERRLEN];
    cli_rpc *rpc = cli_rpc_open(home, rerr);
    if (rpc == NULL) {
        snprintf(err, CLI_SYNC_ERRLEN, "%s", rerr);
        return -1;
    }
    int rc = -1;
    const Zerodrop__V1__Welcome *w = cli_rpc_welcome(rpc);
    if (cli_store_contact_set(store, w->server_time_ms, cli_now_ms()) != ZD_OK) {
        snprintf(err, CLI_SYNC_ERRLEN, "cannot write the store: %s", cli_store_errmsg(store));
        goto out;
    }
    if (login(rpc, home, opt, err) != 0)
        goto out;
    for (int round = 0;; round++) {
        if (round >= CLI_SYNC_MAX_ROUNDS)
            break;
        int b = send_batch(rpc, store, rep, err);
        if (b < 0)
            goto out;
        if (b == 0)
            break;
    }
    if (opt == NULL || !opt->skip_roster)
        if (pull_roster(rpc, store, rep, err) != 0)
            goto out;
    rc = 0;
out:
    cli_rpc_close(rpc);
    return rc;
}

size_t cli_sync_quick(const cli_home *home, cli_store *store, FILE *out)
{
    cli_home quick = *home;
    if (quick.timeout_ms == 0 || quick.timeout_ms > CLI_SYNC_QUICK_MS)
        quick.timeout_ms = CLI_SYNC_QUICK_MS;
    cli_sync_options opt = {.skip_roster = true};
    cli_sync_report rep;
    char err[CLI_SYNC_ERRLEN];
    if (cli_sync_run(&quick, store, &opt, &rep, err) != 0) {
        fprintf(out, "saved, will be sent when the server can be reached (%s)\n", err);
        return 0;
    }
    fprintf(out, "sent %zu: %zu accepted, %zu duplicate, %zu rejected\n", rep.sent, rep.accepted, rep.duplicate,
            rep.rejected);
    return rep.rejected;
}
