/* server/authz: every cell of the matrix — every body case of the Envelope (read from the generated
 * descriptor, so a case added to envelope.proto fails here until someone decides it) × every role ×
 * every level, with "not logged in" and out-of-range roles and levels — against the expectation below,
 * which is written out by hand and never consults the server's table. Then every kind of signed record
 * inside a Submit, the same way. */
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "check.h"
#include "envelope.pb-c.h"
#include "err.h"
#include "record.pb-c.h"
#include "session.pb-c.h"

/* Who may send each body: "public" (no login needed), "never" (a client may not send it), or the
 * role@level pairs allowed, separated by spaces. Keyed by the envelope's field name. */
typedef struct expectation {
    const char *body;
    const char *who;
} expectation;

#define STAFF "clerk@school head_teacher@school principal@school"
#define ALL STAFF " township_officer@township county_auditor@county county_admin@county"

static const expectation bodies[] = {
    {"hello", "public"},
    {"welcome", "never"},
    {"login", "public"},
    {"login_result", "never"},
    {"logout", ALL},
    {"ping", "public"},
    {"pong", "never"},
    {"error", "never"},
    {"roster_pull", STAFF " township_officer@township county_auditor@county county_admin@county"},
    {"roster_chunk", "never"},
    {"submit", STAFF " township_officer@township county_auditor@county"},
    {"submit_result", "never"},
    {"attendance_show", STAFF " township_officer@township county_auditor@county"},
    {"attendance_state", "never"},
    {"report_status_request", STAFF},
    {"report_status", "never"},
    {"case_list_request", STAFF " township_officer@township county_auditor@county"},
    {"case_list", "never"},
    {"case_show_request", STAFF " township_officer@township county_auditor@county"},
    {"case_detail", "never"},
    {"township_summary_request", "township_officer@township county_auditor@county county_admin@county"},
    {"township_summary", "never"},
    {"county_audit_request", "county_auditor@county"},
    {"county_audit", "never"},
    {"chain_verify_request", "county_auditor@county"},
    {"chain_verify_result", "never"},
    {"user_add", "county_admin@county"},
    {"user_disable", "county_admin@county"},
    {"user_passwd", "county_admin@county"},
    {"device_add", "county_admin@county"},
    {"device_revoke", "county_admin@county"},
    {"device_list_request", "county_admin@county county_auditor@county"},
    {"device_list", "never"},
    {"import_begin", "county_admin@county"},
    {"import_chunk", "county_admin@county"},
    {"import_end", "county_admin@county"},
    {"import_result", "never"},
    {"calendar_set", "county_admin@county"},
    {"calendar_show_request", ALL},
    {"calendar", "never"},
    {"settings_set", "county_admin@county"},
    {"settings_get_request", "county_admin@county county_auditor@county"},
    {"settings", "never"},
    {"stats_request", "county_admin@county"},
    {"stats", "never"},
    {"admin_done", "never"},
    {"notice", "never"},
    {"notices_pull", ALL},
    {"notices", "never"},
};

/* The same for the records a Submit carries, keyed by the RecordKind value name. */
static const expectation records[] = {
    {"RECORD_KIND_UNSPECIFIED", "never"},
    {"RECORD_ROLL_CALL", STAFF},
    {"RECORD_DAILY_REPORT", STAFF},
    {"RECORD_CASE_OPEN", STAFF " township_officer@township"},
    {"RECORD_CASE_ACTION", STAFF " township_officer@township county_auditor@county"},
};

/* Roles and levels by the names used above; index = wire value. Index 0 is "not logged in" / "no
 * level"; the last is a value outside the enum. */
static const char *const role_names[] = {"(none)",           "clerk",          "head_teacher", "principal",
                                         "township_officer", "county_auditor", "county_admin", "(role 7)"};
static const char *const level_names[] = {"(none)", "school", "township", "county", "(level 4)"};
#define ROLES (int)(sizeof role_names / sizeof role_names[0])
#define LEVELS (int)(sizeof level_names / sizeof level_names[0])

static int cells_checked;

static int lists(const char *who, const char *role, const char *level)
{
    char pair[64];
    snprintf(pair, sizeof pair, "%s@%s", role, level);
    size_t n = strlen(pair);
    for (const char *p = who; (p = strstr(p, pair)) != NULL; p += n)
        if ((p == who || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static zd_err expected(const char *who, int role, int level)
{
    if (strcmp(who, "never") == 0)
        return ZD_EFORBIDDEN;
    if (strcmp(who, "public") == 0)
        return ZD_OK;
    if (role == 0)
        return ZD_EUNAUTHENTICATED;
    return lists(who, role_names[role], level_names[level]) ? ZD_OK : ZD_EFORBIDDEN;
}

static const expectation *find(const expectation *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].body, name) == 0)
            return &table[i];
    return NULL;
}

static void check_cell(const char *what, zd_err got, zd_err want, int role, int level)
{
    cells_checked++;
    if (got != want) {
        fprintf(stderr, "%s as %s at %s: got %s, want %s\n", what, role_names[role], level_names[level],
                zd_err_name(got), zd_err_name(want));
        abort();
    }
}

static void test_bodies(void)
{
    const ProtobufCMessageDescriptor *d = &zerodrop__v1__envelope__descriptor;
    size_t seen = 0;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (strcmp(f->name, "request_id") == 0)
            continue;
        const expectation *e = find(bodies, sizeof bodies / sizeof bodies[0], f->name);
        if (e == NULL) {
            fprintf(stderr, "envelope body %s (field %u) has no expectation: decide it\n", f->name, f->id);
            abort();
        }
        seen++;
        Zerodrop__V1__Envelope__BodyCase body = (Zerodrop__V1__Envelope__BodyCase)f->id;
        for (int r = 0; r < ROLES; r++)
            for (int l = 0; l < LEVELS; l++)
                check_cell(f->name, srv_authz_check(body, (Zerodrop__V1__Role)r, (Zerodrop__V1__Level)l),
                           expected(e->who, r, l), r, l);
        CHECK_INT_EQ(srv_authz_is_request(body), strcmp(e->who, "never") != 0);
        CHECK_INT_EQ(srv_authz_is_public(body), strcmp(e->who, "public") == 0);
    }
    /* every expectation names a real body, so none is silently skipped */
    CHECK_INT_EQ(seen, sizeof bodies / sizeof bodies[0]);

    /* no body, and numbers that are no body, are refused in every cell */
    const int strays[] = {ZERODROP__V1__ENVELOPE__BODY__NOT_SET, 1, 18, 99, 103, 100000, -1};
    for (size_t s = 0; s < sizeof strays / sizeof strays[0]; s++)
        for (int r = 0; r < ROLES; r++)
            for (int l = 0; l < LEVELS; l++)
                check_cell("stray body",
                           srv_authz_check((Zerodrop__V1__Envelope__BodyCase)strays[s], (Zerodrop__V1__Role)r,
                                           (Zerodrop__V1__Level)l),
                           ZD_EFORBIDDEN, r, l);
}

static void test_records(void)
{
    const ProtobufCEnumDescriptor *d = &zerodrop__v1__record_kind__descriptor;
    CHECK_INT_EQ(d->n_values, sizeof records / sizeof records[0]);
    for (unsigned i = 0; i < d->n_values; i++) {
        const ProtobufCEnumValue *v = &d->values[i];
        const expectation *e = find(records, sizeof records / sizeof records[0], v->name);
        if (e == NULL) {
            fprintf(stderr, "record kind %s has no expectation: decide it\n", v->name);
            abort();
        }
        for (int r = 0; r < ROLES; r++)
            for (int l = 0; l < LEVELS; l++)
                check_cell(v->name,
                           srv_authz_check_record((Zerodrop__V1__RecordKind)v->value, (Zerodrop__V1__Role)r,
                                                  (Zerodrop__V1__Level)l),
                           expected(e->who, r, l), r, l);
    }
    for (int r = 0; r < ROLES; r++)
        for (int l = 0; l < LEVELS; l++)
            check_cell("record kind 5",
                       srv_authz_check_record((Zerodrop__V1__RecordKind)5, (Zerodrop__V1__Role)r,
                                              (Zerodrop__V1__Level)l),
                       ZD_EFORBIDDEN, r, l);
}

static void test_spot_checks(void)
{
    /* A few cells spelled out, so a reader sees the matrix's intent without the tables. */
    CHECK_INT_EQ(srv_authz_check(ZERODROP__V1__ENVELOPE__BODY_SUBMIT, ZERODROP__V1__ROLE__ROLE_CLERK,
                                 ZERODROP__V1__LEVEL__LEVEL_SCHOOL),
                 ZD_OK);
    CHECK_INT_EQ(srv_authz_check(ZERODROP__V1__ENVELOPE__BODY_SUBMIT, ZERODROP__V1__ROLE__ROLE_CLERK,
                                 ZERODROP__V1__LEVEL__LEVEL_COUNTY),
                 ZD_EFORBIDDEN);
    CHECK_INT_EQ(srv_authz_check(ZERODROP__V1__ENVELOPE__BODY_USER_ADD, ZERODROP__V1__ROLE__ROLE_PRINCIPAL,
                                 ZERODROP__V1__LEVEL__LEVEL_SCHOOL),
                 ZD_EFORBIDDEN);
    CHECK_INT_EQ(srv_authz_check(ZERODROP__V1__ENVELOPE__BODY_USER_ADD, ZERODROP__V1__ROLE__ROLE_UNSPECIFIED,
                                 ZERODROP__V1__LEVEL__LEVEL_COUNTY),
                 ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(srv_authz_check(ZERODROP__V1__ENVELOPE__BODY_PONG, ZERODROP__V1__ROLE__ROLE_COUNTY_ADMIN,
                                 ZERODROP__V1__LEVEL__LEVEL_COUNTY),
                 ZD_EFORBIDDEN);
    CHECK_INT_EQ(srv_authz_check(ZERODROP__V1__ENVELOPE__BODY_PING, ZERODROP__V1__ROLE__ROLE_UNSPECIFIED,
                                 ZERODROP__V1__LEVEL__LEVEL_SCHOOL),
                 ZD_OK);
    CHECK_INT_EQ(srv_authz_check_record(ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL,
                                        ZERODROP__V1__ROLE__ROLE_TOWNSHIP_OFFICER,
                                        ZERODROP__V1__LEVEL__LEVEL_TOWNSHIP),
                 ZD_EFORBIDDEN);
    CHECK_STR_EQ(srv_authz_message(ZD_EUNAUTHENTICATED), "log in first (zerodrop login USER)");
    CHECK_STR_EQ(srv_authz_message(ZD_EFORBIDDEN), "your role may not do this from this institution");
}

int main(void)
{
    test_bodies();
    test_records();
    test_spot_checks();
    /* 49 bodies and 7 strays, 5 record kinds and 1 stray, each over 8 roles x 5 levels */
    CHECK_INT_EQ(cells_checked, (49 + 7 + 5 + 1) * ROLES * LEVELS);
    printf("authz: %d cells checked\n", cells_checked);
    return 0;
}
