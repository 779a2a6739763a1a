/* `zerodrop admin import-register FILE.csv` and `admin import-household FILE.csv`: stream a register file to
 * the county server and show what it found.
 *
 * The file goes as ImportBegin, ImportChunk… (each well under the frame limit), ImportEnd; the server checks
 * and applies it all or nothing and answers with ImportResult. Every problem is printed as the clerk will
 * look for it in the spreadsheet: "row 812, column grade: 11 is not a grade (1–9)". The exit status is 1
 * whenever nothing was applied, so scripts can stop on it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "rpc.h"

/* Kept well under the server's default max_frame_bytes (1 MiB) with the envelope around it. */
#define CHUNK_BYTES (256u * 1024u)
/* What the server gathers at most (server/handlers_import.h). */
#define FILE_MAX (64u * 1024u * 1024u)

/* Reads the whole file (at most FILE_MAX bytes) into *out (caller frees). 0, or 1 after cli_fail. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cli_fail("cannot open %s", path);
    size_t cap = 1u << 20, n = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        goto oom;
    for (;;) {
        if (n == cap) {
            if (cap >= FILE_MAX + 1u)
                break;
            size_t bigger = cap * 2 > FILE_MAX + 1u ? FILE_MAX + 1u : cap * 2;
            uint8_t *p = realloc(buf, bigger);
            if (p == NULL)
                goto oom;
            buf = p;
            cap = bigger;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return cli_fail("cannot read %s", path);
    }
    if (n > FILE_MAX) {
        free(buf);
        return cli_fail("%s is larger than %u MiB; split it into several files", path, FILE_MAX >> 20);
    }
    *out = buf;
    *len = n;
    return 0;
oom:
    fclose(f);
    free(buf);
    return cli_fail("out of memory reading %s", path);
}

/* Sends env and expects AdminDone. 0, or 1 after printing why. */
static int call_done(cli_rpc *rpc, Zerodrop__V1__Envelope *env, const char *what)
{
    char err[CLI_RPC_ERRLEN];
    Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, env, err);
    if (reply == NULL)
        return cli_fail("%s: %s", what, err);
    int rc = reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE ? 0 : cli_fail_reply(what, reply);
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return rc;
}

static void print_json(const Zerodrop__V1__ImportResult *r)
{
    printf("{\"applied\":%s,\"rows\":%" PRIu64 ",\"inserted\":%" PRIu64 ",\"changed\":%" PRIu64
           ",\"unchanged\":%" PRIu64 ",\"problems_total\":%" PRIu64 ",\"problems\":[",
           r->applied ? "true" : "false", r->rows, r->inserted, r->changed, r->unchanged, r->problems_total);
    for (size_t i = 0; i < r->n_problems; i++) {
        const Zerodrop__V1__ImportProblem *p = r->problems[i];
        printf("%s{\"row\":%" PRIu64 ",\"column\":", i ? "," : "", p->row);
        cli_json_str(stdout, p->column);
        printf(",\"reason\":");
        cli_json_str(stdout, p->reason);
        printf("}");
    }
    printf("]}\n");
}

static void print_text(const Zerodrop__V1__ImportResult *r, const char *path)
{
    for (size_t i = 0; i < r->n_problems; i++) {
        const Zerodrop__V1__ImportProblem *p = r->problems[i];
        if (p->column[0] != '\0')
            printf("row %" PRIu64 ", column %s: %s\n", p->row, p->column, p->reason);
        else
            printf("row %" PRIu64 ": %s\n", p->row, p->reason);
    }
    if (r->problems_total > r->n_problems)
        printf("… and %" PRIu64 " more problems (the first %zu are shown)\n", r->problems_total - r->n_problems,
               r->n_problems);
    if (r->applied)
        printf("%s: applied, %" PRIu64 " rows: %" PRIu64 " new, %" PRIu64 " changed, %" PRIu64 " unchanged\n", path,
               r->rows, r->inserted, r->changed, r->unchanged);
}

static int run_import(const cli_ctx *ctx, int argc, char **argv, Zerodrop__V1__ImportKind kind)
{
    const char *path = NULL, *as_user = NULL, *as_pw = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_admin_as_option(argc, argv, &i, &as_user, &as_pw))
            continue;
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (path == NULL && argv[i][0] != '-')
            path = argv[i];
        else
            return cli_fail("%s: unexpected argument '%s' (try zerodrop admin --help)", argv[0], argv[i]);
    }
    if (path == NULL)
        return cli_fail("%s: name the CSV file to import", argv[0]);
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_file(path, &data, &len) != 0)
        return 1;
    char err[CLI_RPC_ERRLEN];
    cli_rpc *rpc = cli_admin_open(ctx, argv[0], as_user, as_pw, NULL);
    if (rpc == NULL) {
        free(data);
        return 1;
    }
    int rc = 1;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__ImportBegin begin = ZERODROP__V1__IMPORT_BEGIN__INIT;
    begin.kind = kind;
    begin.file_name = (char *)base;
    begin.total_bytes = len;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_IMPORT_BEGIN;
    env.import_begin = &begin;
    if (call_done(rpc, &env, argv[0]) != 0)
        goto out;
    for (size_t off = 0; off < len; off += CHUNK_BYTES) {
        Zerodrop__V1__ImportChunk chunk = ZERODROP__V1__IMPORT_CHUNK__INIT;
        chunk.data.data = data + off;
        chunk.data.len = len - off < CHUNK_BYTES ? len - off : CHUNK_BYTES;
        env = (Zerodrop__V1__Envelope)ZERODROP__V1__ENVELOPE__INIT;
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_IMPORT_CHUNK;
        env.import_chunk = &chunk;
        if (call_done(rpc, &env, argv[0]) != 0)
            goto out;
    }
    Zerodrop__V1__ImportEnd end = ZERODROP__V1__IMPORT_END__INIT;
    env = (Zerodrop__V1__Envelope)ZERODROP__V1__ENVELOPE__INIT;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_IMPORT_END;
    env.import_end = &end;
    Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, &env, err);
    if (reply == NULL) {
        rc = cli_fail("%s: %s", argv[0], err);
        goto out;
    }
    if (reply->body_case != ZERODROP__V1__ENVELOPE__BODY_IMPORT_RESULT || reply->import_result == NULL) {
        rc = cli_fail_reply(argv[0], reply);
    } else {
        const Zerodrop__V1__ImportResult *r = reply->import_result;
        if (json)
            print_json(r);
        else
            print_text(r, path);
        if (r->applied)
            rc = 0;
        else
            rc = cli_fail("%s: nothing was applied: %" PRIu64 " problem%s in %s", argv[0], r->problems_total,
                          r->problems_total == 1 ? "" : "s", path);
    }
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
out:
    cli_rpc_close(rpc);
    free(data);
    return rc;
}

static int run_register(const cli_ctx *ctx, int argc, char **argv)
{
    return run_import(ctx, argc, argv, ZERODROP__V1__IMPORT_KIND__IMPORT_REGISTER);
}

static int run_household(const cli_ctx *ctx, int argc, char **argv)
{
    return run_import(ctx, argc, argv, ZERODROP__V1__IMPORT_KIND__IMPORT_HOUSEHOLD);
}

const cli_command cli_admin_import_register = {
    .name = "import-register",
    .summary = "import the student register (学籍) from a CSV file",
    .usage = "usage: zerodrop admin import-register FILE.csv [--json] [--as USER --as-password-file F]\n",
    .run = run_register,
};

const cli_command cli_admin_import_household = {
    .name = "import-household",
    .summary = "import the household extract (户籍) from a CSV file",
    .usage = "usage: zerodrop admin import-household FILE.csv [--json] [--as USER --as-password-file F]\n",
    .run = run_household,
};
