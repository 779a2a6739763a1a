/* Register and household imports: gathering the streamed file, checking its shape, and the one database job
 * that applies it all or nothing; see handlers_import.h.
 *
 * Why the server re-writes the CSV before COPY: COPY reads a few things its own way (an unquoted `\.` line
 * ends the data, line endings must not mix, NUL cannot be stored), and a COPY error fails the whole file with
 * one message about a "line" that is not the spreadsheet's row. Parsing here turns every shape problem into
 * a row and column the clerk can find, and the canonical copy (every field quoted, "\n" line ends) is one COPY
 * reads exactly as we parsed it. The bytes inside the fields are passed unchanged: the database validation
 * (sql/005, staged as LATIN1) reports bad UTF-8 on its own row and column. */
#include "handlers_import.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "handlers.h"
#include "log.h"
#include "server.h"

/* What one session is gathering. */
typedef struct import_upload {
    Zerodrop__V1__ImportKind kind;
    net_buf data;
    int running; /* ImportEnd's job is in the database */
} import_upload;

static const char *const register_columns[] = {"student_id", "name",       "birth_date",   "sex",  "school_code",
                                               "grade",      "class_name", "household_id", "flags"};
static const char *const household_columns[] = {"person_id", "name", "birth_date", "sex", "township_code"};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const *columns_of(Zerodrop__V1__ImportKind kind, size_t *n)
{
    switch (kind) {
    case ZERODROP__V1__IMPORT_KIND__IMPORT_REGISTER:
        *n = NCOLS(register_columns);
        return register_columns;
    case ZERODROP__V1__IMPORT_KIND__IMPORT_HOUSEHOLD:
        *n = NCOLS(household_columns);
        return household_columns;
    default:
        *n = 0;
        return NULL;
    }
}

const char *srv_import_header(Zerodrop__V1__ImportKind kind)
{
    switch (kind) {
    case ZERODROP__V1__IMPORT_KIND__IMPORT_REGISTER:
        return "student_id,name,birth_date,sex,school_code,grade,class_name,household_id,flags";
    case ZERODROP__V1__IMPORT_KIND__IMPORT_HOUSEHOLD:
        return "person_id,name,birth_date,sex,township_code";
    default:
        return NULL;
    }
}

/* ---- the shape check ------------------------------------------------------------------------------ */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void problem_add(srv_import_csv *csv, uint64_t row, const char *column, const char *fmt, ...)
{
    csv->problems_total++;
    if (csv->nproblems == SRV_IMPORT_PROBLEMS_MAX)
        return;
    srv_import_problem *p = &csv->problems[csv->nproblems++];
    p->row = row;
    snprintf(p->column, sizeof(p->column), "%s", column);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
    va_end(ap);
}

/* The header as read, kept only to compare it with the expected one. */
#define HEADER_FIELDS 16
#define HEADER_FIELD_MAX 64

typedef struct parser {
    const uint8_t *p, *end;
    srv_import_csv *csv;
    const char *const *names;
    size_t ncols;
    uint64_t row;
    uint8_t *out; /* canonical output; NULL while reading the header */
    size_t outlen;
    char header[HEADER_FIELDS][HEADER_FIELD_MAX];
} parser;

static const char *column_name(const parser *ps, size_t i)
{
    return i < ps->ncols ? ps->names[i] : "(extra)";
}

static void emit(parser *ps, uint8_t c)
{
    if (ps->out != NULL)
        ps->out[ps->outlen++] = c;
}

/* Reads one field at ps->p; returns 1 when the record goes on (a comma followed), 0 when it ended. */
static int read_field(parser *ps, size_t index)
{
    size_t hlen = 0;
    int nul = 0, junk = 0;
    char *h = (ps->out == NULL && index < HEADER_FIELDS) ? ps->header[index] : NULL;
    emit(ps, '"');
#define TAKE(c)                                                                                                \
    do {                                                                                                       \
        uint8_t c_ = (c);                                                                                      \
        if (c_ == 0) {                                                                                         \
            nul = 1;                                                                                           \
        } else {                                                                                               \
            if (c_ == '"')                                                                                     \
                emit(ps, '"');                                                                                 \
            emit(ps, c_);                                                                                      \
            if (h != NULL && hlen + 1 < HEADER_FIELD_MAX)                                                      \
                h[hlen++] = (char)c_;                                                                          \
        }                                                                                                      \
    } while (0)
    int quoted = ps->p < ps->end && *ps->p == '"';
    if (quoted) {
        ps->p++;
        for (;;) {
            if (ps->p == ps->end) {
                problem_add(ps->csv, ps->row, column_name(ps, index),
                            "a quoted field is not closed (a \" is missing)");
                goto done;
            }
            uint8_t c = *ps->p++;
            if (c == '"') {
                if (ps->p < ps->end && *ps->p == '"') {
                    ps->p++;
                    TAKE('"');
                    continue;
                }
                break;
            }
            TAKE(c);
        }
    }
    /* Unquoted text, or what follows a closing quote (which should be nothing: it is kept, and reported). */
    for (;;) {
        if (ps->p == ps->end)
            goto done;
        uint8_t c = *ps->p;
        if (c == ',') {
            ps->p++;
            if (h)
                h[hlen] = '\0';
            emit(ps, '"');
            emit(ps, ',');
            if (nul)
                problem_add(ps->csv, ps->row, column_name(ps, index), "contains a NUL byte (bad encoding)");
            if (junk)
                problem_add(ps->csv, ps->row, column_name(ps, index), "has text after its closing quote");
            return 1;
        }
        if (c == '\n' || (c == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n'))
            goto done;
        ps->p++;
        junk |= quoted;
        TAKE(c);
    }
#undef TAKE
done:
    if (h)
        h[hlen] = '\0';
    emit(ps, '"');
    if (nul)
        problem_add(ps->csv, ps->row, column_name(ps, index), "contains a NUL byte (bad encoding)");
    if (junk)
        problem_add(ps->csv, ps->row, column_name(ps, index), "has text after its closing quote");
    return 0;
}

/* Skips the line end at ps->p ("\n" or "\r\n"), if any. */
static void skip_line_end(parser *ps)
{
    if (ps->p < ps->end && *ps->p == '\r')
        ps->p++;
    if (ps->p < ps->end && *ps->p == '\n')
        ps->p++;
}

/* True when nothing but line ends is left. */
static int only_line_ends_left(const parser *ps)
{
    for (const uint8_t *q = ps->p; q < ps->end; q++)
        if (*q != '\r' && *q != '\n')
            return 0;
    return 1;
}

/* Reads one record; returns its number of fields. Was it an empty line? *empty says. */
static size_t read_record(parser *ps, int *empty)
{
    const uint8_t *start = ps->p;
    size_t n = 0;
    while (read_field(ps, n))
        n++;
    n++;
    *empty = n == 1 && ps->p == start;
    skip_line_end(ps);
    if (ps->out != NULL)
        emit(ps, '\n');
    return n;
}

int srv_import_csv_check(srv_import_csv *out, Zerodrop__V1__ImportKind kind, const uint8_t *data, size_t len)
{
    memset(out, 0, sizeof(*out));
    net_buf_init(&out->canon, len * 3 + 16);
    parser ps = {.p = data, .end = data + len, .csv = out, .row = 1};
    ps.names = columns_of(kind, &ps.ncols);
    if (ps.names == NULL) {
        problem_add(out, 0, "", "unknown kind of import");
        return 1;
    }
    if (len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF)
        ps.p += 3; /* the byte-order mark spreadsheets write */
    if (only_line_ends_left(&ps)) {
        problem_add(out, 1, "", "the file is empty; its first row must be the header %s", srv_import_header(kind));
        return 1;
    }

    int empty;
    size_t n = read_record(&ps, &empty);
    if (out->problems_total > 0)
        return 1;
    if (n != ps.ncols) {
        problem_add(out, 1, "", "the header has %zu columns, expected %zu: %s", n, ps.ncols, srv_import_header(kind));
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(ps.header[i], ps.names[i]) != 0)
            problem_add(out, 1, ps.names[i], "the header says \"%.60s\" here, expected \"%s\"", ps.header[i],
                        ps.names[i]);
    if (out->problems_total > 0)
        return 1;

    /* Quoting every field at most triples a byte (a lone comma becomes `"",`); one more per line end. */
    ps.out = net_buf_reserve(&out->canon, len * 3 + 16);
    if (ps.out == NULL)
        return -1;
    while (!only_line_ends_left(&ps)) {
        ps.row++;
        n = read_record(&ps, &empty);
        if (empty)
            problem_add(out, ps.row, "", "the row is empty (expected %zu columns)", ps.ncols);
        else if (n != ps.ncols)
            problem_add(out, ps.row, n < ps.ncols ? ps.names[n] : "(extra)", "the row has %zu columns, expected %zu",
                        n, ps.ncols);
    }
    net_buf_commit(&out->canon, ps.outlen);
    out->rows = ps.row - 1;
    if (out->rows == 0)
        problem_add(out, 2, "", "the file has a header but no rows");
    return out->problems_total > 0 ? 1 : 0;
}

void srv_import_csv_finish(srv_import_csv *csv)
{
    net_buf_finish(&csv->canon);
}

/* ---- the session's upload ------------------------------------------------------------------------- */

static void upload_free(import_upload *u)
{
    if (u == NULL)
        return;
    net_buf_finish(&u->data);
    free(u);
}

void srv_import_session_closed(srv_session *s)
{
    upload_free(s->import);
    s->import = NULL;
}

static void reply_done(srv_request *req, const char *what)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__AdminDone d = ZERODROP__V1__ADMIN_DONE__INIT;
    d.what = (char *)what;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE;
    e.admin_done = &d;
    srv_request_reply(req, &e);
}

void srv_import_begin_handle(srv_request *req)
{
    srv_session *s = srv_request_session(req);
    const Zerodrop__V1__ImportBegin *b = srv_request_envelope(req)->import_begin;
    if (s->import != NULL) {
        srv_request_fail(req, ZD_ECONFLICT, "import_begin",
                         "an import is already in progress in this session; finish it first");
        return;
    }
    if (b == NULL || srv_import_header(b->kind) == NULL) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "import_begin.kind", "say what the file is: register or household");
        return;
    }
    if (b->total_bytes > SRV_IMPORT_MAX_BYTES) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the file has %" PRIu64 " bytes; at most %u MiB can be imported at once",
                 b->total_bytes, SRV_IMPORT_MAX_BYTES >> 20);
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "import_begin.total_bytes", msg);
        return;
    }
    import_upload *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    u->kind = b->kind;
    net_buf_init(&u->data, SRV_IMPORT_MAX_BYTES);
    s->import = u;
    reply_done(req, "import_begin");
}

void srv_import_chunk_handle(srv_request *req)
{
    srv_session *s = srv_request_session(req);
    import_upload *u = s->import;
    const Zerodrop__V1__ImportChunk *c = srv_request_envelope(req)->import_chunk;
    if (u == NULL) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "import_chunk", "no import is in progress; send ImportBegin first");
        return;
    }
    if (u->running) {
        srv_request_fail(req, ZD_ECONFLICT, "import_chunk", "the import is already being applied");
        return;
    }
    if (c != NULL && c->data.len > 0 && net_buf_append(&u->data, c->data.data, c->data.len) != 0) {
        srv_import_session_closed(s);
        char msg[160];
        snprintf(msg, sizeof(msg), "the file is larger than %u MiB; the import is abandoned",
                 SRV_IMPORT_MAX_BYTES >> 20);
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "import_chunk.data", msg);
        return;
    }
    reply_done(req, "import_chunk");
}

/* Answers End with ImportResult: applied or not, the counts, the problems kept and their total. */
static void reply_result(srv_request *req, int applied, uint64_t rows, uint64_t inserted, uint64_t changed,
                         const srv_import_problem *problems, size_t n, uint64_t total)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__ImportResult r = ZERODROP__V1__IMPORT_RESULT__INIT;
    Zerodrop__V1__ImportProblem *items = NULL;
    Zerodrop__V1__ImportProblem **ptrs = NULL;
    if (n > 0) {
        items = calloc(n, sizeof(*items));
        ptrs = calloc(n, sizeof(*ptrs));
        if (items == NULL || ptrs == NULL) {
            free(items);
            free(ptrs);
            srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        zerodrop__v1__import_problem__init(&items[i]);
        items[i].row = problems[i].row;
        items[i].column = (char *)problems[i].column;
        items[i].reason = (char *)problems[i].reason;
        ptrs[i] = &items[i];
    }
    r.applied = applied != 0;
    r.rows = rows;
    r.inserted = inserted;
    r.changed = changed;
    r.unchanged = applied && rows >= inserted + changed ? rows - inserted - changed : 0;
    r.n_problems = n;
    r.problems = ptrs;
    r.problems_total = total;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_IMPORT_RESULT;
    e.import_result = &r;
    srv_request_reply(req, &e);
    free(items);
    free(ptrs);
}

/* Statements of the import job (0 is the scope). */
enum { STMT_BATCH = 1, STMT_COPY = 2, STMT_VALIDATE = 3, STMT_COUNTS = 4 };

static uint64_t value_u64(const srv_db_job *job, size_t stmt, int row, int col)
{
    const char *v = srv_db_job_value(job, stmt, row, col);
    return v != NULL ? strtoull(v, NULL, 10) : 0;
}

static void on_import_done(srv_db_job *job, void *data)
{
    srv_request *req = data;
    srv_session *s = srv_request_session(req);
    /* The upload ends here whatever happened (it may be gone already if the session closed). */
    srv_import_session_closed(s);
    if (srv_db_job_status(job) != ZD_OK) {
        srv_handler_job_fail(req, job);
        return;
    }
    int n = srv_db_job_rows(job, STMT_VALIDATE);
    srv_import_problem *problems = n > 0 ? calloc((size_t)n, sizeof(*problems)) : NULL;
    if (n > 0 && problems == NULL) {
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    uint64_t total = n > 0 ? value_u64(job, STMT_VALIDATE, 0, 0) : 0;
    for (int i = 0; i < n; i++) {
        const char *col = srv_db_job_value(job, STMT_VALIDATE, i, 2);
        const char *why = srv_db_job_value(job, STMT_VALIDATE, i, 3);
        problems[i].row = value_u64(job, STMT_VALIDATE, i, 1);
        snprintf(problems[i].column, sizeof(problems[i].column), "%s", col ? col : "");
        snprintf(problems[i].reason, sizeof(problems[i].reason), "%s", why ? why : "");
    }
    const char *applied = srv_db_job_value(job, STMT_COUNTS, 0, 0);
    int ok = applied != NULL && strcmp(applied, "t") == 0 && n == 0;
    uint64_t rows = value_u64(job, STMT_COUNTS, 0, 1);
    srv_log(SRV_LOG_INFO, "import", "conn=%llu batch=%s applied=%s rows=%" PRIu64 " problems=%" PRIu64,
            (unsigned long long)s->id, srv_db_job_value(job, STMT_BATCH, 0, 0) ? srv_db_job_value(job, STMT_BATCH, 0, 0) : "-",
            ok ? "yes" : "no", rows, total);
    reply_result(req, ok, rows, value_u64(job, STMT_COUNTS, 0, 2), value_u64(job, STMT_COUNTS, 0, 3), problems,
                 (size_t)n, total);
    free(problems);
}

#define STR_(x) #x
#define STR(x) STR_(x)

static const char sql_register_copy[] =
    "COPY zd.register_stage (student_id, name, birth_date, sex, school_code, grade, class_name, household_id, "
    "flags) FROM STDIN WITH (FORMAT csv, ENCODING 'LATIN1')";
static const char sql_household_copy[] =
    "COPY zd.household_stage (person_id, name, birth_date, sex, township_code) FROM STDIN WITH (FORMAT csv, "
    "ENCODING 'LATIN1')";
/* The total travels on every row (window before LIMIT), so a cut list still says how many there were. */
static const char sql_register_validate[] =
    "SELECT count(*) OVER (), row_no, column_name, reason FROM "
    "zd.register_import(current_setting('zd.import_batch')::bigint, $1::date) LIMIT " STR(SRV_IMPORT_PROBLEMS_MAX);
static const char sql_household_validate[] =
    "SELECT count(*) OVER (), row_no, column_name, reason FROM "
    "zd.household_import(current_setting('zd.import_batch')::bigint, $1::date) LIMIT " STR(SRV_IMPORT_PROBLEMS_MAX);
static const char sql_counts[] =
    "SELECT applied, rows_staged, coalesce(inserted, 0), coalesce(updated, 0) FROM zd.import_batch "
    "WHERE id = current_setting('zd.import_batch')::bigint";

void srv_import_end_handle(srv_request *req)
{
    srv_session *s = srv_request_session(req);
    import_upload *u = s->import;
    if (u == NULL) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "import_end", "no import is in progress; send ImportBegin first");
        return;
    }
    if (u->running) {
        srv_request_fail(req, ZD_ECONFLICT, "import_end", "the import is already being applied");
        return;
    }
    srv_import_csv *csv = malloc(sizeof(*csv));
    if (csv == NULL) {
        srv_import_session_closed(s);
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    int shape = srv_import_csv_check(csv, u->kind, net_buf_bytes(&u->data), net_buf_len(&u->data));
    int is_register = u->kind == ZERODROP__V1__IMPORT_KIND__IMPORT_REGISTER;
    net_buf_finish(&u->data); /* the canonical copy is what goes on */
    if (shape != 0) {
        srv_import_session_closed(s);
        if (shape < 0)
            srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        else
            reply_result(req, 0, csv->rows, 0, 0, csv->problems, csv->nproblems, csv->problems_total);
        srv_import_csv_finish(csv);
        free(csv);
        return;
    }
    srv_db_job *job = srv_handler_job_create(req, on_import_done);
    if (job == NULL) {
        srv_import_session_closed(s);
        srv_import_csv_finish(csv);
        free(csv);
        return;
    }
    char today[16];
    uint32_t d = srv_clock_date(srv_clock_now_ms());
    snprintf(today, sizeof(today), "%04u-%02u-%02u", d / 10000, d / 100 % 100, d % 100);
    const char *params[] = {today};
    const char *kind_param[] = {is_register ? "register" : "household"};
    /* Appends keep their error in the job, which then completes with it. */
    (void)srv_db_job_add_sql(job, "SELECT zd.import_batch_begin($1)", 1, kind_param);
    (void)srv_db_job_add_copy(job, is_register ? sql_register_copy : sql_household_copy,
                              net_buf_bytes(&csv->canon), net_buf_len(&csv->canon));
    (void)srv_db_job_add_sql(job, is_register ? sql_register_validate : sql_household_validate, 1, params);
    (void)srv_db_job_add_sql(job, sql_counts, 0, NULL);
    srv_import_csv_finish(csv);
    free(csv);
    u->running = 1;
    srv_db_job_submit(job);
}
