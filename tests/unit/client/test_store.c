/* client/store: the local store keeps what a school captured through crashes and repeats.
 *
 * Create and reopen (schema version, WAL, a store from a newer program refused untouched); enqueue and
 * crash safety (a child process enqueues and _exits without closing, another is SIGKILLed in the middle
 * of a run of enqueues: every record whose enqueue returned is there); capture order and limits;
 * idempotent result marking (the first final answer wins); cursors that only move forward; receipts;
 * last contact; the roster cache upserted by version. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "helpers.h"
#include "store.h"

static char dir[256];
static char db_path[512];

/* A record as the store sees it: the store neither parses nor verifies bodies, so fixed bytes do. */
static void fake_record(cli_record *r, unsigned n, int kind, const char *subject, uint32_t date,
                        int64_t capture)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < CLI_UUID_BYTES; i++)
        r->uuid[i] = (uint8_t)(0xa0 + i);
    r->uuid[14] = (uint8_t)(n >> 8);
    r->uuid[15] = (uint8_t)n;
    r->kind = (Zerodrop__V1__RecordKind)kind;
    snprintf(r->subject, sizeof(r->subject), "%s", subject);
    r->date = date;
    r->capture_ms = capture;
    r->body_len = 12;
    r->body = malloc(r->body_len);
    CHECK(r->body != NULL);
    snprintf((char *)r->body, r->body_len, "body-%06u", n);
    r->signature_len = 8;
    r->signature = malloc(r->signature_len);
    CHECK(r->signature != NULL);
    memcpy(r->signature, "sig-sig!", 8);
}

static void enqueue_fake(cli_store *s, unsigned n, int kind, const char *subject, uint32_t date,
                         int64_t capture)
{
    cli_record r;
    fake_record(&r, n, kind, subject, date, capture);
    CHECK_INT_EQ(cli_store_outbox_enqueue(s, &r), ZD_OK);
    cli_record_finish(&r);
}

static void uuid_of(unsigned n, uint8_t out[CLI_UUID_BYTES])
{
    cli_record r;
    fake_record(&r, n, 1, "x", 0, 0);
    memcpy(out, r.uuid, CLI_UUID_BYTES);
    cli_record_finish(&r);
}

static cli_store *open_store(void)
{
    cli_store *s = NULL;
    CHECK_INT_EQ(cli_store_create_in_home(dir, &s), ZD_OK);
    CHECK(s != NULL);
    return s;
}

static void raw_exec(const char *sql)
{
    sqlite3 *db;
    CHECK_INT_EQ(sqlite3_open(db_path, &db), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_create_reopen(void)
{
    cli_store *s = open_store();
    CHECK_INT_EQ(cli_store_schema_version(s), CLI_STORE_SCHEMA_VERSION);
    cli_store_destroy(s);
    cli_store_destroy(NULL);
    struct stat sb;
    CHECK_INT_EQ(stat(db_path, &sb), 0);
    CHECK_INT_EQ(sb.st_mode & 0777, 0600); /* students' names: the device's user only */

    /* What is on disk: WAL journal, version row. */
    sqlite3 *db;
    sqlite3_stmt *st;
    CHECK_INT_EQ(sqlite3_open(db_path, &db), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_step(st), SQLITE_ROW);
    CHECK_STR_EQ((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    CHECK_INT_EQ(sqlite3_prepare_v2(db, "SELECT count(*), max(version) FROM schema_version", -1, &st, NULL),
                 SQLITE_OK);
    CHECK_INT_EQ(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT_EQ(sqlite3_column_int(st, 0), 1);
    CHECK_INT_EQ(sqlite3_column_int(st, 1), CLI_STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* Reopening keeps the one version row and the data. */
    s = open_store();
    enqueue_fake(s, 900, 1, "S43010101-7-1", 20260302, 1000);
    cli_store_destroy(s);
    s = open_store();
    cli_outbox_counts c;
    CHECK_INT_EQ(cli_store_outbox_counts(s, &c), ZD_OK);
    CHECK_INT_EQ(c.by_state[CLI_OUTBOX_PENDING], 1);
    cli_store_destroy(s);

    /* A newer program's store is refused and left alone. */
    raw_exec("UPDATE schema_version SET version = 99");
    s = NULL;
    CHECK_INT_EQ(cli_store_create_in_home(dir, &s), ZD_EUNSUPPORTED_VERSION);
    CHECK(s == NULL);
    raw_exec("UPDATE schema_version SET version = 1");
    s = open_store();
    CHECK_INT_EQ(cli_store_outbox_counts(s, &c), ZD_OK);
    CHECK_INT_EQ(c.by_state[CLI_OUTBOX_PENDING], 1);
    cli_store_destroy(s);

    /* Not a store, and a folder that does not exist. */
    char path[600];
    snprintf(path, sizeof(path), "%s/not-a-store", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (int i = 0; i < 200; i++)
        fputs("this is not sqlite at all ", f);
    CHECK_INT_EQ(fclose(f), 0);
    CHECK_INT_EQ(cli_store_create(path, &s), ZD_EINTERNAL);
    snprintf(path, sizeof(path), "%s/no/such/folder/store.sqlite", dir);
    CHECK_INT_EQ(cli_store_create(path, &s), ZD_EINTERNAL);
    CHECK_INT_EQ(cli_store_create(NULL, &s), ZD_EINVALID_ARGUMENT);
}

/* A child enqueues one record and leaves without closing the store or running any exit handler. */
static void test_crash_exit(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        cli_store *s = NULL;
        if (cli_store_create_in_home(dir, &s) != ZD_OK)
            _exit(2);
        cli_record r;
        fake_record(&r, 901, 1, "S43010101-7-2", 20260303, 2000);
        _exit(cli_store_outbox_enqueue(s, &r) == ZD_OK ? 0 : 3);
    }
    int status = 0;
    CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_INT_EQ(WEXITSTATUS(status), 0);

    cli_store *s = open_store();
    uint8_t uuid[CLI_UUID_BYTES];
    uuid_of(901, uuid);
    cli_outbox_row row;
    CHECK_INT_EQ(cli_store_outbox_get(s, uuid, &row), ZD_OK);
    CHECK_INT_EQ(row.state, CLI_OUTBOX_PENDING);
    CHECK_STR_EQ(row.subject, "S43010101-7-2");
    CHECK_INT_EQ(row.date, 20260303);
    CHECK_INT_EQ(row.capture_ms, 2000);
    CHECK_INT_EQ(row.body_len, 12);
    CHECK_MEM_EQ(row.body, "body-000901", 12);
    CHECK_INT_EQ(row.signature_len, 8);
    CHECK_MEM_EQ(row.signature, "sig-sig!", 8);
    cli_outbox_row_finish(&row);
    cli_store_destroy(s);
}

/* A child enqueues records one after another and reports each that returned; it is SIGKILLed part way.
 * Every reported record must be there, and what is there is a gapless prefix of the run. */
static void test_crash_kill(void)
{
    enum { RUN = 400, KILL_AFTER = 25, BASE = 1000 };
    int fds[2];
    CHECK_INT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        cli_store *s = NULL;
        if (cli_store_create_in_home(dir, &s) != ZD_OK)
            _exit(2);
        for (unsigned i = 0; i < RUN; i++) {
            cli_record r;
            fake_record(&r, BASE + i, 1, "S43010101-8-1", 20260304, 3000 + i);
            if (cli_store_outbox_enqueue(s, &r) != ZD_OK)
                _exit(3);
            cli_record_finish(&r);
            unsigned char b = 1;
            if (write(fds[1], &b, 1) != 1)
                _exit(4);
        }
        _exit(0);
    }
    close(fds[1]);
    unsigned acked = 0;
    unsigned char b;
    while (acked < KILL_AFTER && read(fds[0], &b, 1) == 1)
        acked++;
    CHECK_INT_EQ(acked, KILL_AFTER);
    CHECK_INT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
    /* Acknowledgements already in the pipe when the kill landed count too. */
    while (read(fds[0], &b, 1) == 1)
        acked++;
    close(fds[0]);

    cli_store *s = open_store();
    cli_outbox_filter f = {0, 0, "S43010101-8-1", 0};
    cli_outbox_list list;
    CHECK_INT_EQ(cli_store_outbox_list(s, &f, 0, &list), ZD_OK);
    CHECK(list.count >= acked);
    CHECK(list.count <= RUN);
    for (size_t i = 0; i < list.count; i++) {
        uint8_t uuid[CLI_UUID_BYTES];
        uuid_of(BASE + (unsigned)i, uuid);
        CHECK_MEM_EQ(list.rows[i].uuid, uuid, CLI_UUID_BYTES);
        CHECK_INT_EQ(list.rows[i].capture_ms, 3000 + (int64_t)i);
    }
    fprintf(stderr, "crash-kill: %u acknowledged, %zu on disk\n", acked, list.count);
    cli_outbox_list_finish(&list);
    /* The store is still writable after the crash. */
    enqueue_fake(s, 950, 1, "S43010101-8-2", 20260304, 1);
    cli_store_destroy(s);
}

/* Two processes write at once (a command while a sync runs), both starting on a home with no store yet:
 * the write lock serializes creation and writes, the busy timeout makes the wait no error, and every
 * record of both is there once. */
static void test_two_writers(void)
{
    enum { EACH = 60 };
    char home[300];
    snprintf(home, sizeof(home), "%s/two", dir);
    CHECK_INT_EQ(mkdir(home, 0700), 0);
    pid_t pids[2];
    for (int w = 0; w < 2; w++) {
        pids[w] = fork();
        CHECK(pids[w] >= 0);
        if (pids[w] == 0) {
            cli_store *s = NULL;
            if (cli_store_create_in_home(home, &s) != ZD_OK)
                _exit(2);
            for (unsigned i = 0; i < EACH; i++) {
                cli_record r;
                fake_record(&r, 2000 + (unsigned)w * 100 + i, 1, w ? "S43010101-9-2" : "S43010101-9-1",
                            20260305, 100 + i);
                zd_err rc = cli_store_outbox_enqueue(s, &r);
                cli_record_finish(&r);
                if (rc != ZD_OK)
                    _exit(3);
                /* A reader in between, as `status` would be. */
                cli_outbox_counts c;
                if (cli_store_outbox_counts(s, &c) != ZD_OK)
                    _exit(4);
            }
            cli_store_destroy(s);
            _exit(0);
        }
    }
    for (int w = 0; w < 2; w++) {
        int status = 0;
        CHECK_INT_EQ(waitpid(pids[w], &status, 0), pids[w]);
        CHECK(WIFEXITED(status));
        CHECK_INT_EQ(WEXITSTATUS(status), 0);
    }
    cli_store *s = NULL;
    CHECK_INT_EQ(cli_store_create_in_home(home, &s), ZD_OK);
    for (int w = 0; w < 2; w++) {
        cli_outbox_filter f = {0, 0, w ? "S43010101-9-2" : "S43010101-9-1", 0};
        cli_outbox_list list;
        CHECK_INT_EQ(cli_store_outbox_list(s, &f, 0, &list), ZD_OK);
        CHECK_INT_EQ(list.count, EACH);
        for (size_t i = 0; i < list.count; i++)
            CHECK_INT_EQ(list.rows[i].capture_ms, 100 + (int64_t)i); /* each writer's own order is kept */
        cli_outbox_list_finish(&list);
    }
    cli_store_destroy(s);
}

static void test_ordering_and_dedup(cli_store *s)
{
    /* Captured in this order, with device clocks that went backwards: capture order is enqueue order. */
    for (unsigned i = 0; i < 5; i++)
        enqueue_fake(s, 10 + i, ZERODROP__V1__RECORD_KIND__RECORD_DAILY_REPORT, "S43010199", 20260310 + i,
                     9000 - (int64_t)i);
    cli_outbox_filter f = {0, ZERODROP__V1__RECORD_KIND__RECORD_DAILY_REPORT, "S43010199", 0};
    cli_outbox_list list;
    CHECK_INT_EQ(cli_store_outbox_list(s, &f, 3, &list), ZD_OK);
    CHECK_INT_EQ(list.count, 3);
    for (size_t i = 0; i < 3; i++) {
        uint8_t uuid[CLI_UUID_BYTES];
        uuid_of(10 + (unsigned)i, uuid);
        CHECK_MEM_EQ(list.rows[i].uuid, uuid, CLI_UUID_BYTES);
        CHECK_INT_EQ(list.rows[i].date, 20260310 + i);
        CHECK_INT_EQ(list.rows[i].state, CLI_OUTBOX_PENDING);
        CHECK_INT_EQ(list.rows[i].attempts, 0);
        if (i > 0)
            CHECK(list.rows[i].seq > list.rows[i - 1].seq);
    }
    cli_outbox_list_finish(&list);
    f.date = 20260313;
    CHECK_INT_EQ(cli_store_outbox_list(s, &f, 0, &list), ZD_OK);
    CHECK_INT_EQ(list.count, 1);
    CHECK_INT_EQ(list.rows[0].capture_ms, 8997);
    cli_outbox_list_finish(&list);

    /* The same record again: nothing changes, even with another (ECDSA) signature. */
    cli_record r;
    fake_record(&r, 12, ZERODROP__V1__RECORD_KIND__RECORD_DAILY_REPORT, "S43010199", 20260312, 8998);
    r.signature[0] = 'S';
    CHECK_INT_EQ(cli_store_outbox_enqueue(s, &r), ZD_OK);
    /* The same uuid with other bytes: a conflict. */
    r.body[0] = 'B';
    CHECK_INT_EQ(cli_store_outbox_enqueue(s, &r), ZD_ECONFLICT);
    free(r.signature);
    r.signature = NULL;
    CHECK_INT_EQ(cli_store_outbox_enqueue(s, &r), ZD_EINVALID_ARGUMENT);
    cli_record_finish(&r);
    f.date = 0;
    CHECK_INT_EQ(cli_store_outbox_list(s, &f, 0, &list), ZD_OK);
    CHECK_INT_EQ(list.count, 5);
    CHECK_MEM_EQ(list.rows[2].body, "body-000012", 12);
    CHECK_MEM_EQ(list.rows[2].signature, "sig-sig!", 8);
    Zerodrop__V1__SignedRecord wire;
    cli_outbox_row_wire(&list.rows[2], &wire);
    CHECK_INT_EQ(wire.kind, ZERODROP__V1__RECORD_KIND__RECORD_DAILY_REPORT);
    CHECK(wire.body.data == list.rows[2].body && wire.body.len == 12);
    CHECK(wire.signature.data == list.rows[2].signature && wire.signature.len == 8);
    cli_outbox_list_finish(&list);

    /* latest: the last non-rejected record of one kind, subject and day. */
    enqueue_fake(s, 20, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL, "S43010199-7-1", 20260310, 1);
    enqueue_fake(s, 21, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL, "S43010199-7-1", 20260310, 2);
    enqueue_fake(s, 22, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL, "S43010199-7-1", 20260311, 3);
    cli_outbox_row row;
    CHECK_INT_EQ(cli_store_outbox_latest(s, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL, "S43010199-7-1",
                                         20260310, &row),
                 ZD_OK);
    uint8_t u21[CLI_UUID_BYTES];
    uuid_of(21, u21);
    CHECK_MEM_EQ(row.uuid, u21, CLI_UUID_BYTES);
    cli_outbox_row_finish(&row);
    CHECK_INT_EQ(cli_store_outbox_latest(s, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL, "S43010199-7-1",
                                         20260312, &row),
                 ZD_ENOT_FOUND);
}

static Zerodrop__V1__RecordResult result_for(uint8_t *uuid, Zerodrop__V1__RecordStatus status)
{
    Zerodrop__V1__RecordResult r = ZERODROP__V1__RECORD_RESULT__INIT;
    r.uuid = (ProtobufCBinaryData){CLI_UUID_BYTES, uuid};
    r.status = status;
    return r;
}

static void test_results(cli_store *s)
{
    uint8_t u10[CLI_UUID_BYTES], u11[CLI_UUID_BYTES], u13[CLI_UUID_BYTES], u20[CLI_UUID_BYTES],
        unknown[CLI_UUID_BYTES];
    uuid_of(10, u10);
    uuid_of(11, u11);
    uuid_of(13, u13);
    uuid_of(20, u20);
    uuid_of(4000, unknown);

    /* sent → failed → sent again: attempts count, the record stays to be sent. */
    CHECK_INT_EQ(cli_store_outbox_mark_sent(s, u10), ZD_OK);
    cli_outbox_row row;
    CHECK_INT_EQ(cli_store_outbox_get(s, u10, &row), ZD_OK);
    CHECK_INT_EQ(row.state, CLI_OUTBOX_SENT);
    CHECK_INT_EQ(row.attempts, 1);
    cli_outbox_row_finish(&row);
    CHECK_INT_EQ(cli_store_outbox_mark_failed(s, u10, "the connection was lost"), ZD_OK);
    CHECK_INT_EQ(cli_store_outbox_get(s, u10, &row), ZD_OK);
    CHECK_INT_EQ(row.state, CLI_OUTBOX_PENDING);
    CHECK_STR_EQ(row.last_error, "the connection was lost");
    cli_outbox_row_finish(&row);
    CHECK_INT_EQ(cli_store_outbox_mark_sent(s, u10), ZD_OK);
    CHECK_INT_EQ(cli_store_outbox_mark_sent(s, unknown), ZD_ENOT_FOUND);
    CHECK_INT_EQ(cli_store_outbox_mark_failed(s, unknown, "x"), ZD_ENOT_FOUND);

    /* Accepted with a receipt, twice: the second changes nothing. */
    uint8_t hash[32];
    for (int i = 0; i < 32; i++)
        hash[i] = (uint8_t)(i * 7);
    Zerodrop__V1__Receipt wr = ZERODROP__V1__RECEIPT__INIT;
    wr.chain_seq = 77;
    wr.chain_hash = (ProtobufCBinaryData){32, hash};
    wr.received_ms = 1772600000999LL;
    Zerodrop__V1__RecordResult res = result_for(u10, ZERODROP__V1__RECORD_STATUS__RECORD_ACCEPTED);
    res.receipt = &wr;
    bool changed = false;
    CHECK_INT_EQ(cli_store_outbox_mark_result(s, &res, 5000, &changed), ZD_OK);
    CHECK(changed);
    CHECK_INT_EQ(cli_store_outbox_mark_result(s, &res, 6000, &changed), ZD_OK);
    CHECK(!changed);
    /* A later, different answer does not overwrite the first final one. */
    Zerodrop__V1__Error err = ZERODROP__V1__ERROR__INIT;
    err.code = ZERODROP__V1__ERROR_CODE__CONFLICT;
    err.message = "late answer";
    Zerodrop__V1__RecordResult other = result_for(u10, ZERODROP__V1__RECORD_STATUS__RECORD_REJECTED);
    other.error = &err;
    CHECK_INT_EQ(cli_store_outbox_mark_result(s, &other, 7000, &changed), ZD_OK);
    CHECK(!changed);
    /* Nor do sent/failed touch a final record. */
    CHECK_INT_EQ(cli_store_outbox_mark_sent(s, u10), ZD_OK);
    CHECK_INT_EQ(cli_store_outbox_mark_failed(s, u10, "ignored"), ZD_OK);
    CHECK_INT_EQ(cli_store_outbox_get(s, u10, &row), ZD_OK);
    CHECK_INT_EQ(row.state, CLI_OUTBOX_ACCEPTED);
    CHECK_INT_EQ(row.attempts, 2);
    CHECK_INT_EQ(row.code, 0);
    CHECK_STR_EQ(row.reason, "");
    CHECK_STR_EQ(row.last_error, "");
    CHECK_INT_EQ(row.result_ms, 5000);
    cli_outbox_row_finish(&row);
    cli_receipt rec;
    CHECK_INT_EQ(cli_store_receipt_get(s, u10, &rec), ZD_OK);
    CHECK_INT_EQ(rec.chain_seq, 77);
    CHECK_INT_EQ(rec.chain_hash_len, 32);
    CHECK_MEM_EQ(rec.chain_hash, hash, 32);
    CHECK_INT_EQ(rec.received_ms, 1772600000999LL);

    /* Rejected, in plain words, with the field. */
    Zerodrop__V1__Error why = ZERODROP__V1__ERROR__INIT;
    why.code = ZERODROP__V1__ERROR_CODE__INVALID_ARGUMENT;
    why.field = "absences[0].student_id";
    why.message = "student G430101201301010011 is not in class 7-2 on 2026-03-04";
    Zerodrop__V1__RecordResult rej = result_for(u20, ZERODROP__V1__RECORD_STATUS__RECORD_REJECTED);
    rej.error = &why;
    CHECK_INT_EQ(cli_store_outbox_mark_result(s, &rej, 5100, &changed), ZD_OK);
    CHECK(changed);
    CHECK_INT_EQ(cli_store_outbox_get(s, u20, &row), ZD_OK);
    CHECK_INT_EQ(row.state, CLI_OUTBOX_REJECTED);
    CHECK_INT_EQ(row.code, ZD_EINVALID_ARGUMENT);
    CHECK_STR_EQ(row.field, "absences[0].student_id");
    CHECK_STR_EQ(row.reason, "student G430101201301010011 is not in class 7-2 on 2026-03-04");
    cli_outbox_row_finish(&row);
    CHECK_INT_EQ(cli_store_receipt_get(s, u20, &rec), ZD_ENOT_FOUND);
    /* A rejection the server sent without words still gets some. */
    Zerodrop__V1__RecordResult bare = result_for(u13, ZERODROP__V1__RECORD_STATUS__RECORD_REJECTED);
    CHECK_INT_EQ(cli_store_outbox_mark_result(s, &bare, 5200, &changed), ZD_OK);
    CHECK_INT_EQ(cli_store_outbox_get(s, u13, &row), ZD_OK);
    CHECK_INT_EQ(row.code, ZD_EINVALID_ARGUMENT);
    CHECK_STR_EQ(row.reason, zd_err_text(ZD_EINVALID_ARGUMENT));
    cli_outbox_row_finish(&row);

    /* Duplicate (success) with the server's flags and notes. */
    char *flags[] = {"late", "contradicts_attendance"};
    char *notes[] = {"G430101201301010011 absent unexcused 3 school days"};
    Zerodrop__V1__RecordResult dup = result_for(u11, ZERODROP__V1__RECORD_STATUS__RECORD_DUPLICATE);
    dup.flags = flags;
    dup.n_flags = 2;
    dup.notes = notes;
    dup.n_notes = 1;
    CHECK_INT_EQ(cli_store_outbox_mark_result(s, &dup, 5300, NULL), ZD_OK);
    CHECK_INT_EQ(cli_store_outbox_get(s, u11, &row), ZD_OK);
    CHECK_INT_EQ(row.state, CLI_OUTBOX_DUPLICATE);
    CHECK_STR_EQ(row.flags, "late\ncontradicts_attendance");
    CHECK_STR_EQ(row.notes, "G430101201301010011 absent unexcused 3 school days");
    cli_outbox_row_finish(&row);

    /* Bad results. */
    Zerodrop__V1__RecordResult bad = result_for(unknown, ZERODROP__V1__RECORD_STATUS__RECORD_ACCEPTED);
    CHECK_INT_EQ(cli_store_outbox_mark_result(s, &bad, 1, &changed), ZD_ENOT_FOUND);
    bad = result_for(u13, ZERODROP__V1__RECORD_STATUS__RECORD_STATUS_UNSPECIFIED);
    CHECK_INT_EQ(cli_store_outbox_mark_result(s, &bad, 1, &changed), ZD_EINVALID_ARGUMENT);
    bad = result_for(u13, ZERODROP__V1__RECORD_STATUS__RECORD_ACCEPTED);
    bad.uuid.len = 15;
    CHECK_INT_EQ(cli_store_outbox_mark_result(s, &bad, 1, &changed), ZD_EINVALID_ARGUMENT);

    /* A rejected roll call no longer counts as the latest of its day. */
    cli_outbox_row latest;
    CHECK_INT_EQ(cli_store_outbox_latest(s, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL, "S43010199-7-1",
                                         20260310, &latest),
                 ZD_OK);
    uint8_t u21[CLI_UUID_BYTES];
    uuid_of(21, u21);
    CHECK_MEM_EQ(latest.uuid, u21, CLI_UUID_BYTES);
    cli_outbox_row_finish(&latest);

    /* Pending: what is left to send, in capture order; nothing final is ever deleted. */
    cli_outbox_list list;
    CHECK_INT_EQ(cli_store_outbox_pending(s, 0, &list), ZD_OK);
    size_t n_daily = 0;
    for (size_t i = 0; i < list.count; i++) {
        CHECK(list.rows[i].state == CLI_OUTBOX_PENDING || list.rows[i].state == CLI_OUTBOX_SENT);
        if (list.rows[i].kind == ZERODROP__V1__RECORD_KIND__RECORD_DAILY_REPORT)
            n_daily++;
    }
    CHECK_INT_EQ(n_daily, 2); /* 12 and 14 */
    cli_outbox_list_finish(&list);

    cli_outbox_counts c;
    CHECK_INT_EQ(cli_store_outbox_counts(s, &c), ZD_OK);
    CHECK_INT_EQ(c.by_state[CLI_OUTBOX_ACCEPTED], 1);
    CHECK_INT_EQ(c.by_state[CLI_OUTBOX_DUPLICATE], 1);
    CHECK_INT_EQ(c.by_state[CLI_OUTBOX_REJECTED], 2);
    CHECK_INT_EQ(c.by_state[CLI_OUTBOX_SENT], 0);
    CHECK_INT_EQ(c.flagged, 1);
    /* 12, 14, 21, 22 of this test and whatever the earlier tests left pending */
    CHECK(c.by_state[CLI_OUTBOX_PENDING] >= 4);
    CHECK_INT_EQ(c.oldest_unsent_ms, 1); /* the crash test's last record was captured at 1 */
    CHECK_STR_EQ(cli_outbox_state_name(CLI_OUTBOX_DUPLICATE), "duplicate");
    CHECK_STR_EQ(cli_outbox_state_name(9), "unknown");
}

/* A whole Submit's answer applied at once; a batch with one bad result is rolled back whole. */
static void test_batch(cli_store *s)
{
    for (unsigned i = 0; i < 4; i++)
        enqueue_fake(s, 60 + i, 1, "S43010101-5-1", 20260306, 500 + i);
    cli_outbox_filter f = {0, 0, "S43010101-5-1", 0};
    cli_outbox_list list;
    CHECK_INT_EQ(cli_store_outbox_list(s, &f, 0, &list), ZD_OK);
    CHECK_INT_EQ(list.count, 4);
    CHECK_INT_EQ(cli_store_outbox_mark_sent_list(s, &list), ZD_OK);
    cli_outbox_list_finish(&list);

    uint8_t u[5][CLI_UUID_BYTES];
    for (unsigned i = 0; i < 5; i++)
        uuid_of(60 + i, u[i]); /* u[4] was never enqueued */
    uint8_t hash[32] = {9};
    Zerodrop__V1__Receipt wr = ZERODROP__V1__RECEIPT__INIT;
    wr.chain_seq = 1001;
    wr.chain_hash = (ProtobufCBinaryData){32, hash};
    wr.received_ms = 77;
    Zerodrop__V1__Error why = ZERODROP__V1__ERROR__INIT;
    why.code = ZERODROP__V1__ERROR_CODE__FORBIDDEN;
    why.message = "class 5-1 belongs to another school";
    Zerodrop__V1__RecordResult r0 = result_for(u[0], ZERODROP__V1__RECORD_STATUS__RECORD_ACCEPTED),
                               r1 = result_for(u[1], ZERODROP__V1__RECORD_STATUS__RECORD_DUPLICATE),
                               r2 = result_for(u[2], ZERODROP__V1__RECORD_STATUS__RECORD_REJECTED),
                               r3 = result_for(u[3], ZERODROP__V1__RECORD_STATUS__RECORD_ACCEPTED),
                               rx = result_for(u[4], ZERODROP__V1__RECORD_STATUS__RECORD_ACCEPTED);
    r0.receipt = &wr;
    r2.error = &why;
    Zerodrop__V1__RecordResult *bad_batch[] = {&r3, &rx};
    Zerodrop__V1__SubmitResult res = ZERODROP__V1__SUBMIT_RESULT__INIT;
    res.results = bad_batch;
    res.n_results = 2;
    size_t changed = 99;
    CHECK_INT_EQ(cli_store_outbox_mark_submit(s, &res, 10, &changed), ZD_ENOT_FOUND);
    CHECK_INT_EQ(changed, 0);
    cli_outbox_row row;
    CHECK_INT_EQ(cli_store_outbox_get(s, u[3], &row), ZD_OK);
    CHECK_INT_EQ(row.state, CLI_OUTBOX_SENT); /* rolled back with the bad one */
    CHECK_INT_EQ(row.attempts, 1);
    cli_outbox_row_finish(&row);

    Zerodrop__V1__RecordResult *batch[] = {&r0, &r1, &r2};
    res.results = batch;
    res.n_results = 3;
    CHECK_INT_EQ(cli_store_outbox_mark_submit(s, &res, 11, &changed), ZD_OK);
    CHECK_INT_EQ(changed, 3);
    CHECK_INT_EQ(cli_store_outbox_mark_submit(s, &res, 12, &changed), ZD_OK);
    CHECK_INT_EQ(changed, 0); /* the same answer again changes nothing */
    CHECK_INT_EQ(cli_store_outbox_list(s, &f, 0, &list), ZD_OK);
    CHECK_INT_EQ(list.count, 4);
    CHECK_INT_EQ(list.rows[0].state, CLI_OUTBOX_ACCEPTED);
    CHECK_INT_EQ(list.rows[0].result_ms, 11);
    CHECK_INT_EQ(list.rows[1].state, CLI_OUTBOX_DUPLICATE);
    CHECK_INT_EQ(list.rows[2].state, CLI_OUTBOX_REJECTED);
    CHECK_INT_EQ(list.rows[2].code, ZD_EFORBIDDEN);
    CHECK_STR_EQ(list.rows[2].reason, "class 5-1 belongs to another school");
    CHECK_INT_EQ(list.rows[3].state, CLI_OUTBOX_SENT);
    cli_outbox_list_finish(&list);
    cli_receipt rec;
    CHECK_INT_EQ(cli_store_receipt_get(s, u[0], &rec), ZD_OK);
    CHECK_INT_EQ(rec.chain_seq, 1001);
    CHECK_INT_EQ(rec.received_ms, 77);
    CHECK_INT_EQ(cli_store_receipt_get(s, u[1], &rec), ZD_ENOT_FOUND);
}

static void test_receipts_cursors_contact(cli_store *s)
{
    uint8_t u[CLI_UUID_BYTES];
    uuid_of(3000, u);
    cli_receipt r = {.chain_seq = 5, .chain_hash = {1, 2, 3}, .chain_hash_len = 3, .received_ms = 9};
    cli_receipt got;
    CHECK_INT_EQ(cli_store_receipt_get(s, u, &got), ZD_ENOT_FOUND);
    CHECK_INT_EQ(cli_store_receipt_put(s, u, &r), ZD_OK);
    CHECK_INT_EQ(cli_store_receipt_put(s, u, &r), ZD_OK);
    cli_receipt other = r;
    other.chain_seq = 6;
    CHECK_INT_EQ(cli_store_receipt_put(s, u, &other), ZD_ECONFLICT);
    CHECK_INT_EQ(cli_store_receipt_get(s, u, &got), ZD_OK);
    CHECK_INT_EQ(got.chain_seq, 5);
    CHECK_INT_EQ(got.chain_hash_len, 3);
    CHECK_MEM_EQ(got.chain_hash, "\1\2\3", 3);

    uint64_t pos = 99;
    CHECK_INT_EQ(cli_store_cursor_get(s, "roster", &pos), ZD_OK);
    CHECK_INT_EQ(pos, 0);
    CHECK_INT_EQ(cli_store_cursor_set(s, "cases", 10), ZD_OK);
    CHECK_INT_EQ(cli_store_cursor_set(s, "cases", 5), ZD_OK); /* backwards: ignored */
    CHECK_INT_EQ(cli_store_cursor_get(s, "cases", &pos), ZD_OK);
    CHECK_INT_EQ(pos, 10);
    CHECK_INT_EQ(cli_store_cursor_set(s, "cases", 12), ZD_OK);
    CHECK_INT_EQ(cli_store_cursor_get(s, "cases", &pos), ZD_OK);
    CHECK_INT_EQ(pos, 12);
    CHECK_INT_EQ(cli_store_cursor_get(s, "notices", &pos), ZD_OK);
    CHECK_INT_EQ(pos, 0);
    CHECK_INT_EQ(cli_store_cursor_set(s, "", 1), ZD_EINVALID_ARGUMENT);

    int64_t server_ms = 1, local_ms = 1;
    CHECK_INT_EQ(cli_store_contact_get(s, &server_ms, &local_ms), ZD_ENOT_FOUND);
    CHECK_INT_EQ(cli_store_contact_set(s, 1772600000000LL, 1772600000500LL), ZD_OK);
    CHECK_INT_EQ(cli_store_contact_set(s, 1772686400000LL, 1772686400250LL), ZD_OK);
    CHECK_INT_EQ(cli_store_contact_get(s, &server_ms, &local_ms), ZD_OK);
    CHECK_INT_EQ(server_ms, 1772686400000LL);
    CHECK_INT_EQ(local_ms, 1772686400250LL);
}

static void test_roster(cli_store *s)
{
    Zerodrop__V1__SchoolClass c1 = ZERODROP__V1__SCHOOL_CLASS__INIT, c2 = ZERODROP__V1__SCHOOL_CLASS__INIT;
    c1.code = "S43010101-7-2";
    c1.school_code = "S43010101";
    c1.grade = 7;
    c1.name = "7-2";
    c1.school_year = 2025;
    c2.code = "S43010101-1-1";
    c2.school_code = "S43010101";
    c2.grade = 1;
    c2.name = "1-1";
    c2.school_year = 2025;
    Zerodrop__V1__RiskFlags fl = ZERODROP__V1__RISK_FLAGS__INIT;
    fl.left_behind = 1;
    fl.poor = 1;
    Zerodrop__V1__Student a = ZERODROP__V1__STUDENT__INIT, b = ZERODROP__V1__STUDENT__INIT,
                          c = ZERODROP__V1__STUDENT__INIT;
    a.student_id = "G430101201301010011";
    a.name = "王小明";
    a.birth_date = 20130101;
    a.sex = "M";
    a.class_code = "S43010101-7-2";
    a.flags = &fl;
    a.enrolled = 1;
    a.version = 1;
    b = a;
    b.student_id = "G430101201302020022";
    b.name = "李小红";
    b.sex = "F";
    b.flags = NULL;
    b.version = 2;
    c = b;
    c.student_id = "G430101201903030033";
    c.name = "张三";
    c.class_code = "S43010101-1-1";
    c.version = 3;
    Zerodrop__V1__SchoolClass *classes[] = {&c1, &c2};
    Zerodrop__V1__Student *students[] = {&a, &b, &c};
    Zerodrop__V1__RosterChunk chunk = ZERODROP__V1__ROSTER_CHUNK__INIT;
    chunk.classes = classes;
    chunk.n_classes = 2;
    chunk.students = students;
    chunk.n_students = 3;
    chunk.next_cursor = 3;
    CHECK_INT_EQ(cli_store_roster_apply(s, &chunk), ZD_OK);

    uint64_t pos = 0;
    CHECK_INT_EQ(cli_store_cursor_get(s, "roster", &pos), ZD_OK);
    CHECK_INT_EQ(pos, 3);
    cli_class cl;
    CHECK_INT_EQ(cli_store_class_get(s, "S43010101-7-2", &cl), ZD_OK);
    CHECK_STR_EQ(cl.school_code, "S43010101");
    CHECK_INT_EQ(cl.grade, 7);
    CHECK_STR_EQ(cl.name, "7-2");
    CHECK_INT_EQ(cl.school_year, 2025);
    CHECK_INT_EQ(cli_store_class_get(s, "S43010101-9-9", &cl), ZD_ENOT_FOUND);
    cli_class list[4];
    size_t n = 0, total = 0;
    CHECK_INT_EQ(cli_store_class_list(s, list, 4, &n, &total), ZD_OK);
    CHECK_INT_EQ(n, 2);
    CHECK_INT_EQ(total, 2);
    CHECK_STR_EQ(list[0].code, "S43010101-1-1"); /* by grade */
    CHECK_STR_EQ(list[1].code, "S43010101-7-2");
    /* Last school year's 7-2, arriving late, does not replace this year's. */
    Zerodrop__V1__SchoolClass last_year = c1;
    last_year.school_year = 2024;
    last_year.name = "6-2";
    last_year.grade = 6;
    Zerodrop__V1__SchoolClass *old_classes[] = {&last_year};
    Zerodrop__V1__RosterChunk old_chunk = ZERODROP__V1__ROSTER_CHUNK__INIT;
    old_chunk.classes = old_classes;
    old_chunk.n_classes = 1;
    CHECK_INT_EQ(cli_store_roster_apply(s, &old_chunk), ZD_OK);
    CHECK_INT_EQ(cli_store_class_get(s, "S43010101-7-2", &cl), ZD_OK);
    CHECK_INT_EQ(cl.school_year, 2025);
    CHECK_INT_EQ(cl.grade, 7);
    CHECK_INT_EQ(cli_store_class_list(s, list, 1, &n, &total), ZD_OK);
    CHECK_INT_EQ(n, 1);
    CHECK_INT_EQ(total, 2);

    cli_student st;
    CHECK_INT_EQ(cli_store_student_get(s, "G430101201301010011", &st), ZD_OK);
    CHECK_STR_EQ(st.name, "王小明");
    CHECK_INT_EQ(st.birth_date, 20130101);
    CHECK_STR_EQ(st.sex, "M");
    CHECK_STR_EQ(st.class_code, "S43010101-7-2");
    CHECK_INT_EQ(st.flags, CLI_FLAG_LEFT_BEHIND | CLI_FLAG_POOR);
    CHECK(st.enrolled);
    CHECK_INT_EQ(st.version, 1);
    cli_student *rows = NULL;
    CHECK_INT_EQ(cli_store_student_list(s, "S43010101-7-2", &rows, &n), ZD_OK);
    CHECK_INT_EQ(n, 2);
    free(rows);

    /* An older chunk replayed changes nothing and does not move the cursor back; a newer version of a
     * student moves her to another class; a student who left stays, marked, out of the class list. */
    Zerodrop__V1__Student a_old = a, b_new = b, a_left = a;
    a_old.name = "旧名字";
    a_old.version = 1;
    b_new.class_code = "S43010101-1-1";
    b_new.version = 5;
    a_left.enrolled = 0;
    a_left.version = 6;
    Zerodrop__V1__Student *later[] = {&a_old, &b_new};
    Zerodrop__V1__RosterChunk chunk2 = ZERODROP__V1__ROSTER_CHUNK__INIT;
    chunk2.students = later;
    chunk2.n_students = 2;
    chunk2.next_cursor = 2;
    CHECK_INT_EQ(cli_store_roster_apply(s, &chunk2), ZD_OK);
    CHECK_INT_EQ(cli_store_student_get(s, "G430101201301010011", &st), ZD_OK);
    CHECK_STR_EQ(st.name, "王小明");
    CHECK_INT_EQ(cli_store_student_get(s, "G430101201302020022", &st), ZD_OK);
    CHECK_STR_EQ(st.class_code, "S43010101-1-1");
    CHECK_INT_EQ(st.version, 5);
    CHECK_INT_EQ(cli_store_cursor_get(s, "roster", &pos), ZD_OK);
    CHECK_INT_EQ(pos, 3);
    Zerodrop__V1__Student *left[] = {&a_left};
    chunk2.students = left;
    chunk2.n_students = 1;
    chunk2.next_cursor = 6;
    CHECK_INT_EQ(cli_store_roster_apply(s, &chunk2), ZD_OK);
    CHECK_INT_EQ(cli_store_student_get(s, "G430101201301010011", &st), ZD_OK);
    CHECK(!st.enrolled);
    CHECK_INT_EQ(cli_store_student_list(s, "S43010101-7-2", &rows, &n), ZD_OK);
    CHECK_INT_EQ(n, 0);
    free(rows);
    CHECK_INT_EQ(cli_store_student_list(s, "", &rows, &n), ZD_OK);
    CHECK_INT_EQ(n, 2);
    CHECK_STR_EQ(rows[0].name, "张三"); /* by name (UTF-8 byte order) */
    CHECK_STR_EQ(rows[1].name, "李小红");
    free(rows);

    /* A bad chunk is refused whole: the good class in it is not applied, the cursor does not move. */
    char long_name[CLI_NAME_MAX + 1];
    memset(long_name, 'n', CLI_NAME_MAX);
    long_name[CLI_NAME_MAX] = '\0';
    Zerodrop__V1__SchoolClass c3 = c1;
    c3.code = "S43010101-9-1";
    Zerodrop__V1__Student bad = c;
    bad.name = long_name;
    bad.version = 9;
    Zerodrop__V1__SchoolClass *cls3[] = {&c3};
    Zerodrop__V1__Student *bads[] = {&bad};
    Zerodrop__V1__RosterChunk chunk3 = ZERODROP__V1__ROSTER_CHUNK__INIT;
    chunk3.classes = cls3;
    chunk3.n_classes = 1;
    chunk3.students = bads;
    chunk3.n_students = 1;
    chunk3.next_cursor = 9;
    CHECK_INT_EQ(cli_store_roster_apply(s, &chunk3), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(cli_store_class_get(s, "S43010101-9-1", &cl), ZD_ENOT_FOUND);
    CHECK_INT_EQ(cli_store_cursor_get(s, "roster", &pos), ZD_OK);
    CHECK_INT_EQ(pos, 6);
}

int main(void)
{
    helper_tmpdir(dir, sizeof(dir));
    int w = snprintf(db_path, sizeof(db_path), "%s/store.sqlite", dir);
    CHECK(w > 0 && (size_t)w < sizeof(db_path));

    test_create_reopen();
    test_crash_exit();
    test_crash_kill();
    test_two_writers();
    cli_store *s = open_store();
    test_ordering_and_dedup(s);
    test_results(s);
    test_batch(s);
    test_receipts_cursors_contact(s);
    test_roster(s);
    cli_store_destroy(s);

    helper_rmdir(dir);
    puts("client-store: ok");
    return 0;
}
