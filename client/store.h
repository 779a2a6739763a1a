/* The client's local store: `store.sqlite` in the client home.
 *
 * It holds what a school needs to work for days without the server: the roster cache (classes and
 * students, pulled incrementally by cursor), the outbox of signed records, the cursor of each stream, the
 * receipts the server gave for accepted records, and the last successful contact with the server (which
 * makes offline capture times credible, DESIGN point 9).
 *
 * Durability is the point of the outbox: the database runs in WAL mode with synchronous=FULL, so when
 * cli_store_outbox_enqueue returns the record is on disk and survives the process being killed or the
 * power failing. A record is never deleted: once the server answers it moves to a final state
 * (accepted, duplicate or rejected with the reason) and stays there.
 *
 * Several client processes may open the store at once (a command while a sync runs); SQLite's locking
 * serializes them, with a busy timeout so a short wait is not an error. A cli_store is not thread-safe.
 * Every SQLite failure is translated into net/err.h codes at one helper; cli_store_errmsg says more. */
#ifndef ZD_CLIENT_STORE_H
#define ZD_CLIENT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "record.h"
#include "roster.pb-c.h"

/* The schema version this program writes; older stores are migrated forward when opened. */
#define CLI_STORE_SCHEMA_VERSION 1

#define CLI_CODE_MAX 64
#define CLI_NAME_MAX 192
#define CLI_TEXT_MAX 512

typedef struct cli_store cli_store;

/* Where a record stands. The numbers are stored on disk: never renumber. */
typedef enum cli_outbox_state {
    CLI_OUTBOX_PENDING = 0,   /* captured, not yet sent */
    CLI_OUTBOX_SENT = 1,      /* sent at least once, no answer yet: it is sent again */
    CLI_OUTBOX_ACCEPTED = 2,  /* final: stored by the server */
    CLI_OUTBOX_DUPLICATE = 3, /* final: the server had it already with the same bytes (success) */
    CLI_OUTBOX_REJECTED = 4,  /* final: refused, with code and plain-words reason */
} cli_outbox_state;

#define CLI_OUTBOX_STATE_COUNT 5

/* "pending", "sent", "accepted", "duplicate", "rejected"; "unknown" otherwise. Static storage. */
const char *cli_outbox_state_name(int state);

/* Opens the store at path, creating it (mode 0600: it holds students' names) and its schema if absent and
 * migrating an older schema forward, into *out (a heap object the caller destroys). Returns ZD_OK;
 * ZD_EUNSUPPORTED_VERSION when the file was written by a newer program (it is left untouched); ZD_EOVERLOADED
 * when the file is locked past the busy timeout or memory ran out; ZD_EINTERNAL when it cannot be opened or
 * is not a store. */
zd_err cli_store_create(const char *path, cli_store **out);

/* As cli_store_create with `store.sqlite` in the client home dir. */
zd_err cli_store_create_in_home(const char *home, cli_store **out);

/* Closes the store; NULL is a no-op. Nothing is lost by not calling it (see the crash test). */
void cli_store_destroy(cli_store *s);

/* The schema version of the open store (CLI_STORE_SCHEMA_VERSION after a successful create). */
int cli_store_schema_version(cli_store *s);

/* SQLite's message for the last failure on this store, for logs; never NULL. Borrowed until the next
 * call on the store. */
const char *cli_store_errmsg(cli_store *s);

/* ---- outbox ---------------------------------------------------------------------------------------- */

/* One outbox entry as read back. Owns body and signature (cli_outbox_row_finish frees them). */
typedef struct cli_outbox_row {
    int64_t seq; /* capture order: increases with every enqueue, never reused */
    uint8_t uuid[CLI_UUID_BYTES];
    int kind; /* Zerodrop__V1__RecordKind */
    char subject[CLI_SUBJECT_MAX];
    uint32_t date;
    bool has_corrects;
    uint8_t corrects[CLI_UUID_BYTES];
    uint8_t *body;
    size_t body_len;
    uint8_t *signature;
    size_t signature_len;
    int64_t capture_ms;
    cli_outbox_state state;
    int code;                      /* zd_err of a rejection, 0 otherwise */
    char field[CLI_CODE_MAX];      /* the offending field of a rejection, if the server named one */
    char reason[CLI_TEXT_MAX];     /* plain words of a rejection */
    char flags[CLI_TEXT_MAX];      /* server flags ("late", ...) joined by '\n'; empty when none */
    char notes[CLI_TEXT_MAX];      /* server notes joined by '\n' (truncated to fit) */
    int attempts;                  /* times it was sent */
    char last_error[CLI_TEXT_MAX]; /* why the last attempt did not get an answer; empty if it did */
    int64_t result_ms;             /* local time the final answer was stored, 0 before */
} cli_outbox_row;

typedef struct cli_outbox_list {
    cli_outbox_row *rows;
    size_t count;
} cli_outbox_list;

/* Frees what row owns and zeroes it; a zeroed row is fine. */
void cli_outbox_row_finish(cli_outbox_row *row);

/* Points wire at row's kind, body and signature without copying, ready for a Submit: wire borrows from
 * row and must not outlive it nor be freed with __free_unpacked. */
void cli_outbox_row_wire(const cli_outbox_row *row, Zerodrop__V1__SignedRecord *wire);
/* Frees every row and the array; a zeroed list is fine. */
void cli_outbox_list_finish(cli_outbox_list *list);

/* Appends r to the outbox as pending, in one durable transaction: on ZD_OK it is on disk. Enqueueing
 * the same uuid with the same kind and body again is ZD_OK and changes nothing, the first signature
 * kept (a retried command does not double a record; ECDSA signatures differ each time, the body does
 * not); the same uuid with other bytes is ZD_ECONFLICT. A record without body or signature is
 * ZD_EINVALID_ARGUMENT. r is only read. */
zd_err cli_store_outbox_enqueue(cli_store *s, const cli_record *r);

/* Which rows cli_store_outbox_list returns: a bit set of (1 << state), 0 meaning every state; kind 0
 * every kind; subject NULL or "" every subject; date 0 every date. */
typedef struct cli_outbox_filter {
    unsigned states;
    int kind;
    const char *subject;
    uint32_t date;
} cli_outbox_filter;

/* Fills *out (caller-owned, finish it) with the matching rows in capture order, at most limit of them
 * (0: no limit). Returns ZD_OK (possibly with none) or a store error (then *out is empty). */
zd_err cli_store_outbox_list(cli_store *s, const cli_outbox_filter *filter, size_t limit,
                             cli_outbox_list *out);

/* The records still to send (pending and sent-but-unanswered) in capture order, at most limit. */
zd_err cli_store_outbox_pending(cli_store *s, size_t limit, cli_outbox_list *out);

/* Reads the record with this uuid into *row (finish it). ZD_ENOT_FOUND when there is none. */
zd_err cli_store_outbox_get(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], cli_outbox_row *row);

/* The latest record (by capture order) of this kind, subject and date that the server has not rejected,
 * e.g. the roll call of class 7-2 on 20260304 that a correction must name. ZD_ENOT_FOUND when none. */
zd_err cli_store_outbox_latest(cli_store *s, int kind, const char *subject, uint32_t date,
                               cli_outbox_row *row);

/* Notes that the record was handed to the server: attempts + 1, state sent (unless it is final already,
 * then nothing changes), last_error cleared. ZD_ENOT_FOUND for an unknown uuid. */
zd_err cli_store_outbox_mark_sent(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES]);

/* Notes that an attempt got no answer (connection lost, server overloaded): a record that is not final
 * goes back to pending with error as last_error; a final one is left alone. ZD_ENOT_FOUND if unknown. */
zd_err cli_store_outbox_mark_failed(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], const char *error);

/* Applies the server's answer for one record, with its receipt when present, in one transaction, and
 * stamps it with now_ms. The first final answer wins: applying the same result again, or any result to
 * a record already final, changes nothing and returns ZD_OK. A result with an unspecified status or a
 * uuid that is not 16 bytes is ZD_EINVALID_ARGUMENT; an unknown uuid ZD_ENOT_FOUND. *changed (may be
 * NULL) says whether the store moved. The result is only read. */
zd_err cli_store_outbox_mark_result(cli_store *s, const Zerodrop__V1__RecordResult *result, int64_t now_ms,
                                    bool *changed);

/* As cli_store_outbox_mark_result for every result of one Submit's answer, all in one transaction (one
 * disk sync for the batch). Any result that mark_result would refuse (malformed, unknown uuid) rolls the
 * whole batch back and is returned; the records are then simply sent again, which dedup makes harmless.
 * *changed (may be NULL) gets how many records moved. */
zd_err cli_store_outbox_mark_submit(cli_store *s, const Zerodrop__V1__SubmitResult *res, int64_t now_ms,
                                    size_t *changed);

/* cli_store_outbox_mark_sent for every row of list, in one transaction. */
zd_err cli_store_outbox_mark_sent_list(cli_store *s, const cli_outbox_list *list);

/* Counts by state, for `status`. */
typedef struct cli_outbox_counts {
    int64_t by_state[CLI_OUTBOX_STATE_COUNT];
    int64_t flagged;          /* final records the server flagged */
    int64_t oldest_unsent_ms; /* capture time of the oldest pending/sent record, 0 when none */
} cli_outbox_counts;

zd_err cli_store_outbox_counts(cli_store *s, cli_outbox_counts *out);

/* ---- receipts -------------------------------------------------------------------------------------- */

typedef struct cli_receipt {
    uint64_t chain_seq;
    uint8_t chain_hash[64];
    size_t chain_hash_len;
    int64_t received_ms; /* the server's receipt time */
} cli_receipt;

/* Keeps the receipt for uuid; the first one kept stays (the chain position of a record never changes),
 * a second put with the same values is ZD_OK, with different ones ZD_ECONFLICT. A hash over 64 bytes is
 * ZD_EINVALID_ARGUMENT. */
zd_err cli_store_receipt_put(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], const cli_receipt *r);

/* ZD_ENOT_FOUND when no receipt is held for uuid. */
zd_err cli_store_receipt_get(cli_store *s, const uint8_t uuid[CLI_UUID_BYTES], cli_receipt *out);

/* ---- cursors and contact --------------------------------------------------------------------------- */

/* The position of stream ("roster", "cases", "notices"); 0 when never set. */
zd_err cli_store_cursor_get(cli_store *s, const char *stream, uint64_t *position);

/* Sets the position of stream. Cursors only move forward: a smaller position is ignored (ZD_OK), so a
 * late or repeated chunk cannot make the next pull start over. */
zd_err cli_store_cursor_set(cli_store *s, const char *stream, uint64_t position);

/* Records a successful exchange with the server: its clock (Welcome.server_time_ms) and ours. */
zd_err cli_store_contact_set(cli_store *s, int64_t server_ms, int64_t local_ms);

/* The last successful contact; ZD_ENOT_FOUND when the server was never reached. */
zd_err cli_store_contact_get(cli_store *s, int64_t *server_ms, int64_t *local_ms);

/* ---- roster cache ---------------------------------------------------------------------------------- */

typedef struct cli_class {
    char code[CLI_CODE_MAX];
    char school_code[CLI_CODE_MAX];
    uint32_t grade;
    char name[CLI_NAME_MAX];
    uint32_t school_year;
} cli_class;

/* Risk flags as bits, in the order of roster.proto's RiskFlags fields. */
enum {
    CLI_FLAG_LEFT_BEHIND = 1 << 0,
    CLI_FLAG_SINGLE_PARENT = 1 << 1,
    CLI_FLAG_POOR = 1 << 2,
    CLI_FLAG_LEARNING_DIFFICULTY = 1 << 3,
    CLI_FLAG_DISABILITY = 1 << 4,
    CLI_FLAG_HOME_TAUGHT = 1 << 5,
    CLI_FLAG_MIGRANT = 1 << 6,
};

typedef struct cli_student {
    char student_id[CLI_CODE_MAX];
    char name[CLI_NAME_MAX];
    uint32_t birth_date;
    char sex[4];
    char class_code[CLI_CODE_MAX];
    unsigned flags; /* CLI_FLAG_* */
    bool enrolled;
    uint64_t version;
} cli_student;

/* Applies one pulled chunk in one transaction: classes are upserted (a code's latest school year wins,
 * class codes repeat every year); a student row replaces the cached
 * one only when its version is newer (an older or repeated chunk changes nothing); then the "roster"
 * cursor moves to next_cursor. A crash mid-pull therefore resumes from the last applied chunk. Strings
 * over the limits above are ZD_EINVALID_ARGUMENT and nothing of the chunk is applied. */
zd_err cli_store_roster_apply(cli_store *s, const Zerodrop__V1__RosterChunk *chunk);

/* ZD_ENOT_FOUND when the class or student is not in the cache. */
zd_err cli_store_class_get(cli_store *s, const char *code, cli_class *out);
zd_err cli_store_student_get(cli_store *s, const char *student_id, cli_student *out);

/* Every cached class ordered by grade, then name, at most max of them; *count gets how many were
 * written (and *total, if not NULL, how many there are). */
zd_err cli_store_class_list(cli_store *s, cli_class *out, size_t max, size_t *count, size_t *total);

/* The enrolled students of a class (empty code: all enrolled), ordered by name then id; heap array in
 * *out (free() it), count in *count. */
zd_err cli_store_student_list(cli_store *s, const char *class_code, cli_student **out, size_t *count);

#endif
