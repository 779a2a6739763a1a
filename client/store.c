/* The client's local store over SQLite: schema and forward migrations, outbox, receipts, cursors,
 * contact and roster cache.
 *
 * Statements are prepared per call: a client does a handful per command, and keeping no prepared
 * statements means a cli_store holds nothing but the connection. Writes that must be all-or-nothing run
 * in BEGIN IMMEDIATE transactions, which take the write lock up front, so two processes never both read
 * "not there yet" and then collide on the insert. */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a process waits for another one's write lock before reporting the store as busy. */
#define BUSY_TIMEOUT_MS 5000

struct cli_store {
    sqlite3 *db;
    int version;
};

/* Forward migrations: entry i takes the schema from version i to i + 1. A shipped entry is never
 * edited; a change is a new entry. */
static const char *const migrations[] = {
    /* 0 → 1: the first schema. */
    "CREATE TABLE outbox ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  uuid BLOB NOT NULL UNIQUE CHECK (length(uuid) = 16),"
    "  kind INTEGER NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  day INTEGER NOT NULL,"
    "  corrects BLOB,"
    "  body BLOB NOT NULL,"
    "  signature BLOB NOT NULL,"
    "  capture_ms INTEGER NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 4),"
    "  code INTEGER NOT NULL DEFAULT 0,"
    "  field TEXT NOT NULL DEFAULT '',"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  flags TEXT NOT NULL DEFAULT '',"
    "  notes TEXT NOT NULL DEFAULT '',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  result_ms INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX outbox_by_state ON outbox (state, seq);"
    "CREATE INDEX outbox_by_subject ON outbox (kind, subject, day, seq);"
    "CREATE TABLE receipt ("
    "  uuid BLOB PRIMARY KEY,"
    "  chain_seq INTEGER NOT NULL,"
    "  chain_hash BLOB NOT NULL,"
    "  received_ms INTEGER NOT NULL"
    ");"
    "CREATE TABLE cursor (stream TEXT PRIMARY KEY, position INTEGER NOT NULL);"
    "CREATE TABLE contact ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  server_ms INTEGER NOT NULL,"
    "  local_ms INTEGER NOT NULL"
    ");"
    "CREATE TABLE class ("
    "  code TEXT PRIMARY KEY,"
    "  school_code TEXT NOT NULL,"
    "  grade INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  school_year INTEGER NOT NULL"
    ");"
    "CREATE TABLE student ("
    "  student_id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  birth_date INTEGER NOT NULL,"
    "  sex TEXT NOT NULL,"
    "  class_code TEXT NOT NULL,"
    "  flags INTEGER NOT NULL,"
    "  enrolled INTEGER NOT NULL,"
    "  version INTEGER NOT NULL"
    ");"
    "CREATE INDEX student_by_class ON student (class_code, name);",
};

#define MIGRATION_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(MIGRATION_COUNT == CLI_STORE_SCHEMA_VERSION, "one migration per schema version");

/* The one translation of SQLite results into our vocabulary. */
static zd_err sqlerr(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return ZD_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
        return ZD_EOVERLOADED;
    case SQLITE_CONSTRAINT:
        return ZD_ECONFLICT;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        return ZD_EINVALID_ARGUMENT;
    default:
        return ZD_EINTERNAL;
    }
}

const char *cli_outbox_state_name(int state)
{
    static const char *const names[CLI_OUTBOX_STATE_COUNT] = {"pending", "sent", "accepted", "duplicate",
                                                              "rejected"};
    if (state < 0 || state >= CLI_OUTBOX_STATE_COUNT)
        return "unknown";
    return names[state];
}

const char *cli_store_errmsg(cli_store *s)
{
    return s && s->db ? sqlite3_errmsg(s->db) : "no store";
}

int cli_store_schema_version(cli_store *s)
{
    return s ? s->version : 0;
}

static zd_err exec(cli_store *s, const char *sql)
{
    return sqlerr(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

static zd_err prepare(cli_store *s, const char *sql, sqlite3_stmt **st)
{
    *st = NULL;
    return sqlerr(sqlite3_prepare_v2(s->db, sql, -1, st, NULL));
}

/* Steps a statement that returns no rows, and finalizes it. */
static zd_err run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? ZD_OK : sqlerr(rc);
}

static zd_err begin(cli_store *s)
{
    return exec(s, "BEGIN IMMEDIATE");
}

/* Commits when rc is ZD_OK (and reports a failed commit), rolls back otherwise; returns the outcome. */
static zd_err end(cli_store *s, zd_err rc)
{
    if (rc == ZD_OK) {
        rc = exec(s, "COMMIT");
        if (rc == ZD_OK)
            return ZD_OK;
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void copy_text(char *dst, size_t n, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static zd_err migrate(cli_store *s)
{
    zd_err rc = begin(s);
    if (rc != ZD_OK)
        return rc;
    rc = exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    if (rc != ZD_OK)
        return end(s, rc);

    sqlite3_stmt *st;
    int version = 0;
    bool have_row = false;
    rc = prepare(s, "SELECT version FROM schema_version", &st);
    if (rc != ZD_OK)
        return end(s, rc);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
        have_row = true;
    } else if (step != SQLITE_DONE) {
        rc = sqlerr(step);
    }
    sqlite3_finalize(st);
    if (rc != ZD_OK)
        return end(s, rc);
    /* A newer program wrote this store: we cannot know what its rows mean, so we touch nothing. */
    if (version > CLI_STORE_SCHEMA_VERSION || version < 0)
        return end(s, ZD_EUNSUPPORTED_VERSION);

    for (int v = version; v < MIGRATION_COUNT; v++) {
        rc = exec(s, migrations[v]);
        if (rc != ZD_OK)
            return end(s, rc);
    }
    if (version != CLI_STORE_SCHEMA_VERSION || !have_row) {
        rc = prepare(s,
                     have_row ? "UPDATE schema_version SET version = ?1"
                              : "INSERT INTO schema_version (version) VALUES (?1)",
                     &st);
        if (rc != ZD_OK)
            return end(s, rc);
        sqlite3_bind_int(st, 1, CLI_STORE_SCHEMA_VERSION);
        rc = run(st);
    }
    rc = end(s, rc);
    if (rc == ZD_OK)
        s->version = CLI_STORE_SCHEMA_VERSION;
    return rc;
}

/* Switches the store to WAL. Changing the journal mode needs the file to itself, and SQLite reports a
 * second process opening the same fresh store at that moment as busy without calling the busy handler;
 * so we wait here, in short steps, for as long as the busy timeout would have. */
static zd_err set_wal(cli_store *s)
{
    for (int tries = 0;; tries++) {
        int rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if ((rc & 0xff) != SQLITE_BUSY || tries >= BUSY_TIMEOUT_MS / 10)
            return sqlerr(rc);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

zd_err cli_store_create(const char *path, cli_store **out)
{
    if (path == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    cli_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ZD_EOVERLOADED;
    struct stat before;
    bool fresh = stat(path, &before) != 0;
    zd_err rc = sqlerr(sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL));
    if (rc != ZD_OK) {
        /* A failed open still hands back a handle (for its message); a missing folder is not "busy". */
        rc = rc == ZD_EOVERLOADED ? rc : ZD_EINTERNAL;
        goto fail;
    }
    /* The store holds students' names: only the device's user may read it. SQLite gives the -wal and
     * -shm files the main file's mode, so setting it before the first write covers them too. */
    if (fresh) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fchmod(fd, 0600) != 0) {
            if (fd >= 0)
                close(fd);
            rc = ZD_EINTERNAL;
            goto fail;
        }
        close(fd);
    }
    /* Another process (a sync next to a command) may hold the write lock for a moment. */
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* WAL: readers never block the writer, and a commit is one append; FULL: the WAL is synced at every
     * commit, so an enqueued record survives a power cut, not only a crash of this process. */
    rc = set_wal(s);
    if (rc == ZD_OK)
        rc = exec(s, "PRAGMA synchronous = FULL");
    if (rc == ZD_OK)
        rc = migrate(s);
    if (rc != ZD_OK)
        goto fail;
    *out = s;
    return ZD_OK;
fail:
    sqlite3_close(s->db);
    free(s);
    return rc;
}

zd_err cli_store_create_in_home(const char *home, cli_store **out)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/store.sqlite", home ? home : "");
    if (home == NULL || n < 0 || (size_t)n >= sizeof(path))
        return ZD_EINVALID_ARGUMENT;
    return cli_store_create(path, out);
}

void cli_store_destroy(cli_store *s)
{
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    free(s);
}

/* ---- outbox ---------------------------------------------------------------------------------------- */

#define ROW_COLUMNS                                                                                          \
    "seq, uuid, kind, subject, day, corrects, body, signature, capture_ms, state, code, field, reason, "     \
    "flags, notes, attempts, last_error, result_ms"

void cli_outbox_row_finish(cli_outbox_row *row)
{
    if (row == NULL)
        return;
    free(row->body);
    free(row->signature);
    memset(row, 0, sizeof(*row));
}

void cli_outbox_row_wire(const cli_outbox_row *row, Zerodrop__V1__SignedRecord *wire)
{
    zerodrop__v1__signed_record__init(wire);
    wire->kind = (Zerodrop__V1__RecordKind)row->kind;
    wire->body = (ProtobufCBinaryData){row->body_len, row->body};
    wire->signature = (ProtobufCBinaryData){row->signature_len, row->signature};
}

void cli_outbox_list_finish(cli_outbox_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        cli_outbox_row_finish(&list->rows[i]);
    free(list->rows);
    list->rows = NULL;
    list->count = 0;
}

static uint8_t *dup_blob(sqlite3_stmt *st, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    uint8_t *copy = malloc(n ? n : 1);
    if (copy == NULL)
        return NULL;
    if (n)
        memcpy(copy, p, n);
    *len = n;
    return copy;
}

/* Reads the current row of a statement selecting ROW_COLUMNS. */
static zd_err read_row(sqlite3_stmt *st, cli_outbox_row *row)
{
    memset(row, 0, sizeof(*row));
    row->seq = sqlite3_column_int64(st, 0);
    if (sqlite3_column_bytes(st, 1) != CLI_UUID_BYTES)
        return ZD_EINTERNAL;
    memcpy(row->uuid, sqlite3_column_blob(st, 1), CLI_UUID_BYTES);
    row->kind = sqlite3_column_int(st, 2);
    copy_text(row->subject, sizeof(row->subject), st, 3);
    row->date = (uint32_t)sqlite3_column_int64(st, 4);
    if (sqlite3_column_bytes(st, 5) == CLI_UUID_BYTES) {
        row->has_corrects = true;
        memcpy(row->corrects, sqlite3_column_blob(st, 5), CLI_UUID_BYTES);
    }
    row->body = dup_blob(st, 6, &row->body_len);
    row->signature = dup_blob(st, 7, &row->signature_len);
    if (row->body == NULL || row->signature == NULL) {
        cli_outbox_row_finish(row);
        return ZD_EOVERLOADED;
    }
    row->capture_ms = sqlite3_column_int64(st, 8);
    row->state = (cli_outbox_state)sqlite3_column_int(st, 9);
    row->code = sqlite3_column_int(st, 10);
    copy_text(row->field, sizeof(row->field), st, 11);
    copy_text(row->reason, sizeof(row->reason), st, 12);
    copy_text(row->flags, sizeof(row->flags), st, 13);
    copy_text(row->notes, sizeof(row->notes), st, 14);
    row->attempts = sqlite3_column_int(st, 15);
    copy_text(row->last_error, sizeof(row->last_error), st, 16);
    row->result_ms = sqlite3_column_int64(st, 17);
    return ZD_OK;
}

/* Steps st to its end, collecting rows into out (emptied on failure); finalizes st. */
static zd_err collect(sqlite3_stmt *st, cli_outbox_list *out)
{
    zd_err rc = ZD_OK;
    size_t alloc = 0;
    out->rows = NULL;
    out->count = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->count == alloc) {
            size_t grow = alloc ? alloc * 2 : 16;
            cli_outbox_row *rows = realloc(out->rows, grow * sizeof(*rows));
            if (rows == NULL) {
                rc = ZD_EOVERLOADED;
                break;
            }
            out->rows = rows;
            alloc = grow;
        }
        rc = read_row(st, &out->rows[out->count]);
        if (rc != ZD_OK)
            break;
        out->count++;
    }
    if (rc == ZD_OK && step != SQLITE_DONE)
        rc = sqlerr(step);
    sqlite3_finalize(st);
    if (rc != ZD_OK)
        cli_outbox_list_finish(out);
    return rc;
}

/* Reads at most one row of st into *row; ZD_ENOT_FOUND when there is none. Finalizes st. */
static zd_err one_row(sqlite3_stmt *st, cli_outbox_row *row)
{
    int step = sqlite3_step(st);
    zd_err rc;
    if (step == SQLITE_ROW)
        rc = read_row(st, row);
    else
        rc = step == SQLITE_DONE ? ZD_ENOT_FOUND : sqlerr(step);
    sqlite3_finalize(st);
    return rc;
}

zd_err cli_store_outbox_enqueue(cli_store *s, const cli_record *r)
{
    if (s == NULL || r == NULL || r->body == NULL || r->signature == NULL || r->signature_len == 0)
        return ZD_EINVALID_ARGUMENT;
    zd_err rc = begin(s);
    if (rc != ZD_OK)
        return rc;

    sqlite3_stmt *st;
    rc = prepare(s, "SELECT kind, body FROM outbox WHERE uuid = ?1", &st);
    if (rc != ZD_OK)
        return end(s, rc);
    sqlite3_bind_blob(st, 1, r->uuid, CLI_UUID_BYTES, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        /* Already captured: the same record again is harmless, another record under its uuid is not. */
        bool same = sqlite3_column_int(st, 0) == (int)r->kind &&
                    (size_t)sqlite3_column_bytes(st, 1) == r->body_len &&
                    (r->body_len == 0 || memcmp(sqlite3_column_blob(st, 1), r->body, r->body_len) == 0);
        sqlite3_finalize(st);
        end(s, ZD_ECONFLICT); /* nothing to write either way: roll back */
        return same ? ZD_OK : ZD_ECONFLICT;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return end(s, sqlerr(step));

    rc = prepare(s,
                 "INSERT INTO outbox (uuid, kind, subject, day, corrects, body, signature, capture_ms) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                 &st);
    if (rc != ZD_OK)
        return end(s, rc);
    sqlite3_bind_blob(st, 1, r->uuid, CLI_UUID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)r->kind);
    sqlite3_bind_text(st, 3, r->subject, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, r->date);
    if (r->has_corrects)
        sqlite3_bind_blob(st, 5, r->corrects, CLI_UUID_BYTES, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_blob(st, 6, r->body_len ? (const void *)r->body : "", (int)r->body_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 7, r->signature, (int)r->signature_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, r->capture_ms);
    return end(s, run(st));
}

zd_err cli_store_outbox_list(cli_store *s, const cli_outbox_filter *filter, size_t limit,
                             cli_outbox_list *out)
{
    if (s == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    out->rows = NULL;
    out->count = 0;
    cli_outbox_filter all = {0, 0, NULL, 0};
    if (filter == NULL)
        filter = &all;
    sqlite3_stmt *st;
    zd_err rc = prepare(s,
                        "SELECT " ROW_COLUMNS " FROM outbox"
                        " WHERE (?1 = 0 OR ((1 << state) & ?1) != 0) AND (?2 = 0 OR kind = ?2)"
                        "   AND (?3 = '' OR subject = ?3) AND (?4 = 0 OR day = ?4)"
                        " ORDER BY seq LIMIT ?5",
                        &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_int64(st, 1, filter->states);
    sqlite3_bind_int(st, 2, filter->kind);
    sqlite3_bind_text(st, 3, filter->subject ? filter->subject : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, filter->date);
    sqlite3_bind_int64(st, 5, limit == 0 || limit > INT64_MAX ? -1 : (sqlite3_int64)limit);
    return collect(st, out);
}

zd_err cli_store_outbox_pending(cli_store *s, size_t limit, cli_outbox_list *out)
{
    cli_outbox_filter f = {(1u << CLI_OUTBOX_PENDING) | (1u << CLI_OUTBOX_SENT), 0, NULL, 0};
    return cli_store_outbox_list(s, &f, limit, out);
}

zd_err cli_store_outbox_get(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], cli_outbox_row *row)
{
    if (s == NULL || uuid == NULL || row == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc = prepare(s, "SELECT " ROW_COLUMNS " FROM outbox WHERE uuid = ?1", &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_blob(st, 1, uuid, CLI_UUID_BYTES, SQLITE_STATIC);
    return one_row(st, row);
}

zd_err cli_store_outbox_latest(cli_store *s, int kind, const char *subject, uint32_t date,
                               cli_outbox_row *row)
{
    if (s == NULL || subject == NULL || row == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc = prepare(s,
                        "SELECT " ROW_COLUMNS " FROM outbox WHERE kind = ?1 AND subject = ?2 AND day = ?3"
                        " AND state != 4 ORDER BY seq DESC LIMIT 1",
                        &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_text(st, 2, subject, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, date);
    return one_row(st, row);
}

/* ZD_OK when the outbox holds uuid, ZD_ENOT_FOUND when it does not. */
static zd_err outbox_has(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES])
{
    sqlite3_stmt *st;
    zd_err rc = prepare(s, "SELECT 1 FROM outbox WHERE uuid = ?1", &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_blob(st, 1, uuid, CLI_UUID_BYTES, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step == SQLITE_ROW)
        return ZD_OK;
    return step == SQLITE_DONE ? ZD_ENOT_FOUND : sqlerr(step);
}

/* Runs an UPDATE on one not-final record (?1 is the uuid); when it touched nothing, tells an unknown
 * uuid (ZD_ENOT_FOUND) from a final record (ZD_OK, nothing to do). */
static zd_err update_unfinished(cli_store *s, sqlite3_stmt *st, const uint8_t uuid[CLI_UUID_BYTES])
{
    zd_err rc = run(st);
    if (rc != ZD_OK || sqlite3_changes(s->db) > 0)
        return rc;
    return outbox_has(s, uuid);
}

zd_err cli_store_outbox_mark_sent(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES])
{
    if (s == NULL || uuid == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc = prepare(s,
                        "UPDATE outbox SET state = 1, attempts = attempts + 1, last_error = ''"
                        " WHERE uuid = ?1 AND state IN (0, 1)",
                        &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_blob(st, 1, uuid, CLI_UUID_BYTES, SQLITE_TRANSIENT);
    return update_unfinished(s, st, uuid);
}

zd_err cli_store_outbox_mark_failed(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], const char *error)
{
    if (s == NULL || uuid == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc =
        prepare(s, "UPDATE outbox SET state = 0, last_error = ?2 WHERE uuid = ?1 AND state IN (0, 1)", &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_blob(st, 1, uuid, CLI_UUID_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, error ? error : "", -1, SQLITE_TRANSIENT);
    return update_unfinished(s, st, uuid);
}

/* Joins n strings with '\n' into a heap string (free() it); NULL when memory ran out. */
static char *join_lines(char **items, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(items[i] ? items[i] : "") + 1;
    char *out = malloc(len);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = items[i] ? items[i] : "";
        size_t l = strlen(t);
        if (i > 0)
            out[o++] = '\n';
        memcpy(out + o, t, l);
        o += l;
    }
    out[o] = '\0';
    return out;
}

static zd_err put_receipt(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], const cli_receipt *r);

/* Applies one result inside the caller's transaction; *moved says whether the record changed state. */
static zd_err apply_result(cli_store *s, const Zerodrop__V1__RecordResult *result, int64_t now_ms,
                           bool *moved)
{
    *moved = false;
    if (result == NULL || result->uuid.len != CLI_UUID_BYTES)
        return ZD_EINVALID_ARGUMENT;
    cli_outbox_state state;
    switch (result->status) {
    case ZERODROP__V1__RECORD_STATUS__RECORD_ACCEPTED:
        state = CLI_OUTBOX_ACCEPTED;
        break;
    case ZERODROP__V1__RECORD_STATUS__RECORD_DUPLICATE:
        state = CLI_OUTBOX_DUPLICATE;
        break;
    case ZERODROP__V1__RECORD_STATUS__RECORD_REJECTED:
        state = CLI_OUTBOX_REJECTED;
        break;
    default:
        return ZD_EINVALID_ARGUMENT;
    }
    cli_receipt receipt;
    const Zerodrop__V1__Receipt *wr = result->receipt;
    if (wr != NULL) {
        if (wr->chain_hash.len > sizeof(receipt.chain_hash))
            return ZD_EINVALID_ARGUMENT;
        receipt.chain_seq = wr->chain_seq;
        receipt.chain_hash_len = wr->chain_hash.len;
        if (wr->chain_hash.len)
            memcpy(receipt.chain_hash, wr->chain_hash.data, wr->chain_hash.len);
        receipt.received_ms = wr->received_ms;
    }
    const uint8_t *uuid = result->uuid.data;

    int code = 0;
    const char *field = "", *reason = "";
    if (state == CLI_OUTBOX_REJECTED) {
        const Zerodrop__V1__Error *e = result->error;
        code = e && e->code != ZERODROP__V1__ERROR_CODE__OK ? (int)e->code : ZD_EINVALID_ARGUMENT;
        field = e && e->field ? e->field : "";
        /* A rejection always carries words for the teacher, even when the server sent none. */
        reason = e && e->message && *e->message ? e->message : zd_err_text(code);
    }
    char *flags = join_lines(result->flags, result->n_flags);
    char *notes = join_lines(result->notes, result->n_notes);
    zd_err rc = ZD_EOVERLOADED;
    if (flags == NULL || notes == NULL)
        goto out;

    sqlite3_stmt *st;
    rc = prepare(s,
                 "UPDATE outbox SET state = ?2, code = ?3, field = ?4, reason = ?5, flags = ?6, notes = ?7,"
                 " last_error = '', result_ms = ?8 WHERE uuid = ?1 AND state IN (0, 1)",
                 &st);
    if (rc != ZD_OK)
        goto out;
    sqlite3_bind_blob(st, 1, uuid, CLI_UUID_BYTES, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)state);
    sqlite3_bind_int(st, 3, code);
    sqlite3_bind_text(st, 4, field, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, flags, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, notes, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now_ms);
    rc = run(st);
    bool changed = rc == ZD_OK && sqlite3_changes(s->db) > 0;
    if (rc == ZD_OK && !changed) {
        /* Final already (the first answer wins) or unknown. */
        rc = outbox_has(s, uuid);
    }
    /* A receipt is kept with the answer that moved the record; a repeated answer adds nothing. */
    if (rc == ZD_OK && changed && wr != NULL)
        rc = put_receipt(s, uuid, &receipt);
    if (rc == ZD_OK)
        *moved = changed;
out:
    free(flags);
    free(notes);
    return rc;
}

zd_err cli_store_outbox_mark_result(cli_store *s, const Zerodrop__V1__RecordResult *result, int64_t now_ms,
                                    bool *changed)
{
    if (changed)
        *changed = false;
    if (s == NULL || result == NULL)
        return ZD_EINVALID_ARGUMENT;
    zd_err rc = begin(s);
    if (rc != ZD_OK)
        return rc;
    bool moved = false;
    rc = end(s, apply_result(s, result, now_ms, &moved));
    if (rc == ZD_OK && changed)
        *changed = moved;
    return rc;
}

zd_err cli_store_outbox_mark_submit(cli_store *s, const Zerodrop__V1__SubmitResult *res, int64_t now_ms,
                                    size_t *changed)
{
    if (changed)
        *changed = 0;
    if (s == NULL || res == NULL)
        return ZD_EINVALID_ARGUMENT;
    zd_err rc = begin(s);
    if (rc != ZD_OK)
        return rc;
    size_t n = 0;
    for (size_t i = 0; i < res->n_results && rc == ZD_OK; i++) {
        bool moved = false;
        rc = apply_result(s, res->results[i], now_ms, &moved);
        n += moved;
    }
    rc = end(s, rc);
    if (rc == ZD_OK && changed)
        *changed = n;
    return rc;
}

zd_err cli_store_outbox_mark_sent_list(cli_store *s, const cli_outbox_list *list)
{
    if (s == NULL || list == NULL)
        return ZD_EINVALID_ARGUMENT;
    zd_err rc = begin(s);
    if (rc != ZD_OK)
        return rc;
    for (size_t i = 0; i < list->count && rc == ZD_OK; i++)
        rc = cli_store_outbox_mark_sent(s, list->rows[i].uuid);
    return end(s, rc);
}

zd_err cli_store_outbox_counts(cli_store *s, cli_outbox_counts *out)
{
    if (s == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st;
    zd_err rc = prepare(s,
                        "SELECT state, count(*), sum(flags != '' AND state >= 2),"
                        " min(CASE WHEN state < 2 THEN capture_ms END) FROM outbox GROUP BY state",
                        &st);
    if (rc != ZD_OK)
        return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int state = sqlite3_column_int(st, 0);
        if (state < 0 || state >= CLI_OUTBOX_STATE_COUNT)
            continue;
        out->by_state[state] = sqlite3_column_int64(st, 1);
        out->flagged += sqlite3_column_int64(st, 2);
        if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
            int64_t t = sqlite3_column_int64(st, 3);
            if (out->oldest_unsent_ms == 0 || t < out->oldest_unsent_ms)
                out->oldest_unsent_ms = t;
        }
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        memset(out, 0, sizeof(*out));
        return sqlerr(step);
    }
    return ZD_OK;
}

/* ---- receipts -------------------------------------------------------------------------------------- */

/* Inserts a receipt, or compares it with the one held; runs inside the caller's transaction or alone. */
static zd_err put_receipt(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], const cli_receipt *r)
{
    if (r->chain_seq > INT64_MAX || r->chain_hash_len > sizeof(r->chain_hash))
        return ZD_EINVALID_ARGUMENT;
    cli_receipt held;
    zd_err rc = cli_store_receipt_get(s, uuid, &held);
    if (rc == ZD_OK) {
        bool same = held.chain_seq == r->chain_seq && held.received_ms == r->received_ms &&
                    held.chain_hash_len == r->chain_hash_len &&
                    memcmp(held.chain_hash, r->chain_hash, r->chain_hash_len) == 0;
        return same ? ZD_OK : ZD_ECONFLICT;
    }
    if (rc != ZD_ENOT_FOUND)
        return rc;
    sqlite3_stmt *st;
    rc = prepare(s, "INSERT INTO receipt (uuid, chain_seq, chain_hash, received_ms) VALUES (?1, ?2, ?3, ?4)",
                 &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_blob(st, 1, uuid, CLI_UUID_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->chain_seq);
    sqlite3_bind_blob(st, 3, r->chain_hash_len ? (const void *)r->chain_hash : "", (int)r->chain_hash_len,
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, r->received_ms);
    return run(st);
}

zd_err cli_store_receipt_put(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], const cli_receipt *r)
{
    if (s == NULL || uuid == NULL || r == NULL)
        return ZD_EINVALID_ARGUMENT;
    zd_err rc = begin(s);
    if (rc != ZD_OK)
        return rc;
    return end(s, put_receipt(s, uuid, r));
}

zd_err cli_store_receipt_get(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], cli_receipt *out)
{
    if (s == NULL || uuid == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc = prepare(s, "SELECT chain_seq, chain_hash, received_ms FROM receipt WHERE uuid = ?1", &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_blob(st, 1, uuid, CLI_UUID_BYTES, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        if (n > sizeof(out->chain_hash)) {
            rc = ZD_EINTERNAL;
        } else {
            memset(out, 0, sizeof(*out));
            out->chain_seq = (uint64_t)sqlite3_column_int64(st, 0);
            if (n)
                memcpy(out->chain_hash, sqlite3_column_blob(st, 1), n);
            out->chain_hash_len = n;
            out->received_ms = sqlite3_column_int64(st, 2);
        }
    } else {
        rc = step == SQLITE_DONE ? ZD_ENOT_FOUND : sqlerr(step);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- cursors and contact --------------------------------------------------------------------------- */

zd_err cli_store_cursor_get(cli_store *s, const char *stream, uint64_t *position)
{
    if (s == NULL || stream == NULL || position == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc = prepare(s, "SELECT position FROM cursor WHERE stream = ?1", &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_text(st, 1, stream, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *position = (uint64_t)sqlite3_column_int64(st, 0);
    else if (step == SQLITE_DONE)
        *position = 0;
    else
        rc = sqlerr(step);
    sqlite3_finalize(st);
    return rc;
}

/* The statement behind cursor_set, also used inside roster_apply's transaction. */
static zd_err set_cursor(cli_store *s, const char *stream, uint64_t position)
{
    if (position > INT64_MAX)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc =
        prepare(s,
                "INSERT INTO cursor (stream, position) VALUES (?1, ?2) ON CONFLICT (stream)"
                " DO UPDATE SET position = excluded.position WHERE excluded.position > cursor.position",
                &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_text(st, 1, stream, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)position);
    return run(st);
}

zd_err cli_store_cursor_set(cli_store *s, const char *stream, uint64_t position)
{
    if (s == NULL || stream == NULL || *stream == '\0')
        return ZD_EINVALID_ARGUMENT;
    return set_cursor(s, stream, position);
}

zd_err cli_store_contact_set(cli_store *s, int64_t server_ms, int64_t local_ms)
{
    if (s == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc =
        prepare(s, "INSERT OR REPLACE INTO contact (id, server_ms, local_ms) VALUES (1, ?1, ?2)", &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_int64(st, 1, server_ms);
    sqlite3_bind_int64(st, 2, local_ms);
    return run(st);
}

zd_err cli_store_contact_get(cli_store *s, int64_t *server_ms, int64_t *local_ms)
{
    if (s == NULL || server_ms == NULL || local_ms == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc = prepare(s, "SELECT server_ms, local_ms FROM contact WHERE id = 1", &st);
    if (rc != ZD_OK)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *server_ms = sqlite3_column_int64(st, 0);
        *local_ms = sqlite3_column_int64(st, 1);
    } else {
        rc = step == SQLITE_DONE ? ZD_ENOT_FOUND : sqlerr(step);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- roster cache ---------------------------------------------------------------------------------- */

static bool fits(const char *t, size_t max)
{
    return t == NULL || strlen(t) < max;
}

static const char *str(const char *t)
{
    return t ? t : "";
}

static unsigned flag_bits(const Zerodrop__V1__RiskFlags *f)
{
    if (f == NULL)
        return 0;
    return (f->left_behind ? CLI_FLAG_LEFT_BEHIND : 0u) | (f->single_parent ? CLI_FLAG_SINGLE_PARENT : 0u) |
           (f->poor ? CLI_FLAG_POOR : 0u) | (f->learning_difficulty ? CLI_FLAG_LEARNING_DIFFICULTY : 0u) |
           (f->disability ? CLI_FLAG_DISABILITY : 0u) | (f->home_taught ? CLI_FLAG_HOME_TAUGHT : 0u) |
           (f->migrant ? CLI_FLAG_MIGRANT : 0u);
}

/* A class code is unique within a school year (S43010101-7-2 exists every year), so the cache keeps the
 * latest school year's class of each code and an older year's row arriving later does not replace it. */
static zd_err apply_chunk(cli_store *s, const Zerodrop__V1__RosterChunk *chunk)
{
    sqlite3_stmt *st;
    zd_err rc;
    for (size_t i = 0; i < chunk->n_classes; i++) {
        const Zerodrop__V1__SchoolClass *c = chunk->classes[i];
        rc = prepare(
            s,
            "INSERT INTO class (code, school_code, grade, name, school_year) VALUES (?1, ?2, ?3, ?4, ?5)"
            " ON CONFLICT (code) DO UPDATE SET school_code = excluded.school_code,"
            " grade = excluded.grade, name = excluded.name, school_year = excluded.school_year"
            " WHERE excluded.school_year >= class.school_year",
            &st);
        if (rc != ZD_OK)
            return rc;
        sqlite3_bind_text(st, 1, str(c->code), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, str(c->school_code), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, c->grade);
        sqlite3_bind_text(st, 4, str(c->name), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, c->school_year);
        rc = run(st);
        if (rc != ZD_OK)
            return rc;
    }
    for (size_t i = 0; i < chunk->n_students; i++) {
        const Zerodrop__V1__Student *p = chunk->students[i];
        rc = prepare(
            s,
            "INSERT INTO student (student_id, name, birth_date, sex, class_code, flags, enrolled, version)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (student_id) DO UPDATE SET"
            " name = excluded.name, birth_date = excluded.birth_date, sex = excluded.sex,"
            " class_code = excluded.class_code, flags = excluded.flags, enrolled = excluded.enrolled,"
            " version = excluded.version WHERE excluded.version > student.version",
            &st);
        if (rc != ZD_OK)
            return rc;
        sqlite3_bind_text(st, 1, str(p->student_id), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, str(p->name), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, p->birth_date);
        sqlite3_bind_text(st, 4, str(p->sex), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, str(p->class_code), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, flag_bits(p->flags));
        sqlite3_bind_int(st, 7, p->enrolled ? 1 : 0);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)p->version);
        rc = run(st);
        if (rc != ZD_OK)
            return rc;
    }
    return set_cursor(s, "roster", chunk->next_cursor);
}

zd_err cli_store_roster_apply(cli_store *s, const Zerodrop__V1__RosterChunk *chunk)
{
    if (s == NULL || chunk == NULL || chunk->next_cursor > INT64_MAX)
        return ZD_EINVALID_ARGUMENT;
    /* Check everything before writing anything, so a bad chunk leaves the cache as it was. */
    for (size_t i = 0; i < chunk->n_classes; i++) {
        const Zerodrop__V1__SchoolClass *c = chunk->classes[i];
        if (c == NULL || c->code == NULL || *c->code == '\0' || !fits(c->code, CLI_CODE_MAX) ||
            !fits(c->school_code, CLI_CODE_MAX) || !fits(c->name, CLI_NAME_MAX))
            return ZD_EINVALID_ARGUMENT;
    }
    for (size_t i = 0; i < chunk->n_students; i++) {
        const Zerodrop__V1__Student *p = chunk->students[i];
        if (p == NULL || p->student_id == NULL || *p->student_id == '\0' ||
            !fits(p->student_id, CLI_CODE_MAX) || !fits(p->name, CLI_NAME_MAX) || !fits(p->sex, 4) ||
            !fits(p->class_code, CLI_CODE_MAX) || p->version > INT64_MAX)
            return ZD_EINVALID_ARGUMENT;
    }
    zd_err rc = begin(s);
    if (rc != ZD_OK)
        return rc;
    return end(s, apply_chunk(s, chunk));
}

static void read_class(sqlite3_stmt *st, cli_class *c)
{
    memset(c, 0, sizeof(*c));
    copy_text(c->code, sizeof(c->code), st, 0);
    copy_text(c->school_code, sizeof(c->school_code), st, 1);
    c->grade = (uint32_t)sqlite3_column_int64(st, 2);
    copy_text(c->name, sizeof(c->name), st, 3);
    c->school_year = (uint32_t)sqlite3_column_int64(st, 4);
}

static void read_student(sqlite3_stmt *st, cli_student *p)
{
    memset(p, 0, sizeof(*p));
    copy_text(p->student_id, sizeof(p->student_id), st, 0);
    copy_text(p->name, sizeof(p->name), st, 1);
    p->birth_date = (uint32_t)sqlite3_column_int64(st, 2);
    copy_text(p->sex, sizeof(p->sex), st, 3);
    copy_text(p->class_code, sizeof(p->class_code), st, 4);
    p->flags = (unsigned)sqlite3_column_int64(st, 5);
    p->enrolled = sqlite3_column_int(st, 6) != 0;
    p->version = (uint64_t)sqlite3_column_int64(st, 7);
}

#define CLASS_COLUMNS "code, school_code, grade, name, school_year"
#define STUDENT_COLUMNS "student_id, name, birth_date, sex, class_code, flags, enrolled, version"

zd_err cli_store_class_get(cli_store *s, const char *code, cli_class *out)
{
    if (s == NULL || code == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc = prepare(s, "SELECT " CLASS_COLUMNS " FROM class WHERE code = ?1", &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read_class(st, out);
    else
        rc = step == SQLITE_DONE ? ZD_ENOT_FOUND : sqlerr(step);
    sqlite3_finalize(st);
    return rc;
}

zd_err cli_store_student_get(cli_store *s, const char *student_id, cli_student *out)
{
    if (s == NULL || student_id == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    sqlite3_stmt *st;
    zd_err rc = prepare(s, "SELECT " STUDENT_COLUMNS " FROM student WHERE student_id = ?1", &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_text(st, 1, student_id, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read_student(st, out);
    else
        rc = step == SQLITE_DONE ? ZD_ENOT_FOUND : sqlerr(step);
    sqlite3_finalize(st);
    return rc;
}

zd_err cli_store_class_list(cli_store *s, cli_class *out, size_t max, size_t *count, size_t *total)
{
    if (s == NULL || count == NULL || (out == NULL && max > 0))
        return ZD_EINVALID_ARGUMENT;
    *count = 0;
    sqlite3_stmt *st;
    zd_err rc = prepare(s, "SELECT " CLASS_COLUMNS " FROM class ORDER BY grade, name, code", &st);
    if (rc != ZD_OK)
        return rc;
    size_t seen = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (seen < max)
            read_class(st, &out[seen]);
        seen++;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return sqlerr(step);
    *count = seen < max ? seen : max;
    if (total)
        *total = seen;
    return ZD_OK;
}

zd_err cli_store_student_list(cli_store *s, const char *class_code, cli_student **out, size_t *count)
{
    if (s == NULL || out == NULL || count == NULL)
        return ZD_EINVALID_ARGUMENT;
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st;
    zd_err rc = prepare(s,
                        "SELECT " STUDENT_COLUMNS " FROM student WHERE enrolled = 1"
                        " AND (?1 = '' OR class_code = ?1) ORDER BY name, student_id",
                        &st);
    if (rc != ZD_OK)
        return rc;
    sqlite3_bind_text(st, 1, class_code ? class_code : "", -1, SQLITE_TRANSIENT);
    cli_student *rows = NULL;
    size_t n = 0, alloc = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == alloc) {
            size_t grow = alloc ? alloc * 2 : 64;
            cli_student *bigger = realloc(rows, grow * sizeof(*bigger));
            if (bigger == NULL) {
                rc = ZD_EOVERLOADED;
                break;
            }
            rows = bigger;
            alloc = grow;
        }
        read_student(st, &rows[n++]);
    }
    if (rc == ZD_OK && step != SQLITE_DONE)
        rc = sqlerr(step);
    sqlite3_finalize(st);
    if (rc != ZD_OK) {
        free(rows);
        return rc;
    }
    *out = rows;
    *count = n;
    return ZD_OK;
}
