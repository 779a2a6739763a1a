/* Register (学籍) and household (户籍) imports over the wire, for a county admin.
 *
 * The client streams one CSV file per import: ImportBegin{kind, file_name, total_bytes}, ImportChunk{data}…,
 * ImportEnd. Begin and each Chunk are answered with AdminDone at once; the server gathers the bytes (at most
 * SRV_IMPORT_MAX_BYTES, and one import per session at a time). At End the file's shape is checked here
 * (RFC 4180 quoting, the exact header of HACKING.md, the column count of every row, no NUL bytes) and every
 * shape problem comes back as a (row, column, reason) problem without touching the database; a well-shaped
 * file goes to the database as ONE job — the import batch, COPY into the staging table and the validation
 * function of sql/005 — which applies all rows or none, and End is answered with ImportResult.
 *
 * Rows are numbered as a spreadsheet shows them: the header is row 1. */
#ifndef ZD_SERVER_HANDLERS_IMPORT_H
#define ZD_SERVER_HANDLERS_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "admin.pb-c.h"
#include "buf.h"
#include "db.h"
#include "session.h"

/* Largest file one import may gather. */
#define SRV_IMPORT_MAX_BYTES (64u * 1024u * 1024u)

/* At most this many problems travel back in ImportResult (problems_total counts them all). */
#define SRV_IMPORT_PROBLEMS_MAX 500

/* Handlers (dispatch table). */
void srv_import_begin_handle(srv_request *req);
void srv_import_chunk_handle(srv_request *req);
void srv_import_end_handle(srv_request *req);

/* Releases the import a session was gathering, if any (the session is closing). Safe to call twice. */
void srv_import_session_closed(srv_session *s);

/* One problem found in a file. */
typedef struct srv_import_problem {
    uint64_t row;
    char column[32];
    char reason[200];
} srv_import_problem;

/* The shape check of a CSV file of `kind`, and the canonical copy the database is fed. */
typedef struct srv_import_csv {
    net_buf canon;                 /* every field quoted, "\n" line ends, no header: COPY … (FORMAT csv) */
    uint64_t rows;                 /* data rows (the header not counted) */
    srv_import_problem problems[SRV_IMPORT_PROBLEMS_MAX];
    size_t nproblems;              /* kept in problems[] */
    uint64_t problems_total;       /* found, kept or not */
} srv_import_csv;

/* The header a file of `kind` must start with ("student_id,name,…"), or NULL for an unknown kind. */
const char *srv_import_header(Zerodrop__V1__ImportKind kind);

/* Checks the `len` bytes of `data` as a CSV file of `kind` and writes its canonical form into out->canon
 * (out is initialised here; release with srv_import_csv_finish). Returns 0 when the shape is right (then
 * out->problems_total is 0), 1 when it is not (problems listed), -1 when out of memory. A UTF-8 byte-order
 * mark is skipped; empty lines at the very end are ignored; bad UTF-8 inside a field is left for the
 * database's validation, which names the field. */
int srv_import_csv_check(srv_import_csv *out, Zerodrop__V1__ImportKind kind, const uint8_t *data, size_t len);

void srv_import_csv_finish(srv_import_csv *csv);

#endif
