/* Authorization matrix: the one table of who may send what (the rules in words are in authz.h).
 *
 * A cell is a (role, level) pair; a row's `allowed` is a bit set of cells. Roles only ever appear at
 * their own level here, but the table says the level explicitly, so "a clerk on a county device" is a
 * visible absence rather than an assumption elsewhere. A body case without a row is never accepted from
 * a client: that covers every response and notice, and any case added to the envelope later until
 * someone decides its row. */
#include "authz.h"

#include <stddef.h>
#include <stdint.h>

#define CELL(role, level) (UINT32_C(1) << ((unsigned)(role)*4u + (unsigned)(level)))

#define CLERK CELL(ZERODROP__V1__ROLE__ROLE_CLERK, ZERODROP__V1__LEVEL__LEVEL_SCHOOL)
#define HEAD_TEACHER CELL(ZERODROP__V1__ROLE__ROLE_HEAD_TEACHER, ZERODROP__V1__LEVEL__LEVEL_SCHOOL)
#define PRINCIPAL CELL(ZERODROP__V1__ROLE__ROLE_PRINCIPAL, ZERODROP__V1__LEVEL__LEVEL_SCHOOL)
#define TOWNSHIP_OFFICER CELL(ZERODROP__V1__ROLE__ROLE_TOWNSHIP_OFFICER, ZERODROP__V1__LEVEL__LEVEL_TOWNSHIP)
#define COUNTY_AUDITOR CELL(ZERODROP__V1__ROLE__ROLE_COUNTY_AUDITOR, ZERODROP__V1__LEVEL__LEVEL_COUNTY)
#define COUNTY_ADMIN CELL(ZERODROP__V1__ROLE__ROLE_COUNTY_ADMIN, ZERODROP__V1__LEVEL__LEVEL_COUNTY)

#define SCHOOL_STAFF (CLERK | HEAD_TEACHER | PRINCIPAL)
#define EVERYONE (SCHOOL_STAFF | TOWNSHIP_OFFICER | COUNTY_AUDITOR | COUNTY_ADMIN)

#define NO_RECORD ZERODROP__V1__RECORD_KIND__RECORD_KIND_UNSPECIFIED
#define PUBLIC 1 /* no login needed */

typedef struct authz_rule {
    Zerodrop__V1__Envelope__BodyCase body;
    Zerodrop__V1__RecordKind record; /* Submit rows only: the kind of signed record */
    int is_public;
    uint32_t allowed; /* cells; ignored for public rows */
} authz_rule;

#define B(name) ZERODROP__V1__ENVELOPE__BODY_##name
#define R(name) ZERODROP__V1__RECORD_KIND__RECORD_##name

static const authz_rule rules[] = {
    /* session */
    {B(HELLO), NO_RECORD, PUBLIC, 0},
    {B(LOGIN), NO_RECORD, PUBLIC, 0},
    {B(PING), NO_RECORD, PUBLIC, 0},
    {B(LOGOUT), NO_RECORD, 0, EVERYONE},

    /* roster: the county sees names, a township its own schools', a school its own (scope by RLS) */
    {B(ROSTER_PULL), NO_RECORD, 0, SCHOOL_STAFF | TOWNSHIP_OFFICER | COUNTY_AUDITOR | COUNTY_ADMIN},

    /* signed records: the school captures; the township works escalated cases; the county signs off */
    {B(SUBMIT), R(ROLL_CALL), 0, SCHOOL_STAFF},
    {B(SUBMIT), R(DAILY_REPORT), 0, SCHOOL_STAFF},
    {B(SUBMIT), R(CASE_OPEN), 0, SCHOOL_STAFF | TOWNSHIP_OFFICER},
    {B(SUBMIT), R(CASE_ACTION), 0, SCHOOL_STAFF | TOWNSHIP_OFFICER | COUNTY_AUDITOR},

    /* attendance and report state */
    {B(ATTENDANCE_SHOW), NO_RECORD, 0, SCHOOL_STAFF | TOWNSHIP_OFFICER | COUNTY_AUDITOR},
    {B(REPORT_STATUS_REQUEST), NO_RECORD, 0, SCHOOL_STAFF},

    /* cases */
    {B(CASE_LIST_REQUEST), NO_RECORD, 0, SCHOOL_STAFF | TOWNSHIP_OFFICER | COUNTY_AUDITOR},
    {B(CASE_SHOW_REQUEST), NO_RECORD, 0, SCHOOL_STAFF | TOWNSHIP_OFFICER | COUNTY_AUDITOR},

    /* queries */
    {B(TOWNSHIP_SUMMARY_REQUEST), NO_RECORD, 0, TOWNSHIP_OFFICER | COUNTY_AUDITOR | COUNTY_ADMIN},
    {B(COUNTY_AUDIT_REQUEST), NO_RECORD, 0, COUNTY_AUDITOR},
    {B(CHAIN_VERIFY_REQUEST), NO_RECORD, 0, COUNTY_AUDITOR},

    /* admin: changes are the admin's; the auditor may read what it audits against */
    {B(USER_ADD), NO_RECORD, 0, COUNTY_ADMIN},
    {B(USER_DISABLE), NO_RECORD, 0, COUNTY_ADMIN},
    {B(USER_PASSWD), NO_RECORD, 0, COUNTY_ADMIN},
    {B(DEVICE_ADD), NO_RECORD, 0, COUNTY_ADMIN},
    {B(DEVICE_REVOKE), NO_RECORD, 0, COUNTY_ADMIN},
    {B(DEVICE_LIST_REQUEST), NO_RECORD, 0, COUNTY_ADMIN | COUNTY_AUDITOR},
    {B(IMPORT_BEGIN), NO_RECORD, 0, COUNTY_ADMIN},
    {B(IMPORT_CHUNK), NO_RECORD, 0, COUNTY_ADMIN},
    {B(IMPORT_END), NO_RECORD, 0, COUNTY_ADMIN},
    {B(CALENDAR_SET), NO_RECORD, 0, COUNTY_ADMIN},
    {B(CALENDAR_SHOW_REQUEST), NO_RECORD, 0, EVERYONE},
    {B(SETTINGS_SET), NO_RECORD, 0, COUNTY_ADMIN},
    {B(SETTINGS_GET_REQUEST), NO_RECORD, 0, COUNTY_ADMIN | COUNTY_AUDITOR},
    {B(STATS_REQUEST), NO_RECORD, 0, COUNTY_ADMIN},

    /* notices */
    {B(NOTICES_PULL), NO_RECORD, 0, EVERYONE},
};

#undef B
#undef R

#define RULE_COUNT (sizeof rules / sizeof rules[0])

static int known_role(Zerodrop__V1__Role role)
{
    return role >= ZERODROP__V1__ROLE__ROLE_CLERK && role <= ZERODROP__V1__ROLE__ROLE_COUNTY_ADMIN;
}

static int known_level(Zerodrop__V1__Level level)
{
    return level >= ZERODROP__V1__LEVEL__LEVEL_SCHOOL && level <= ZERODROP__V1__LEVEL__LEVEL_COUNTY;
}

/* The decision for one row (public, or the role at the level in its cells). */
static zd_err decide(const authz_rule *r, Zerodrop__V1__Role role, Zerodrop__V1__Level level)
{
    if (r->is_public)
        return ZD_OK;
    if (role == ZERODROP__V1__ROLE__ROLE_UNSPECIFIED)
        return ZD_EUNAUTHENTICATED;
    if (!known_role(role) || !known_level(level))
        return ZD_EFORBIDDEN;
    return (r->allowed & CELL(role, level)) ? ZD_OK : ZD_EFORBIDDEN;
}

zd_err srv_authz_check(Zerodrop__V1__Envelope__BodyCase body, Zerodrop__V1__Role role,
                       Zerodrop__V1__Level level)
{
    zd_err best = ZD_EFORBIDDEN;
    for (size_t i = 0; i < RULE_COUNT; i++) {
        if (rules[i].body != body)
            continue;
        /* Several rows (Submit by record kind): the body passes when one of them does. */
        zd_err rc = decide(&rules[i], role, level);
        if (rc == ZD_OK)
            return ZD_OK;
        best = rc;
    }
    return best;
}

zd_err srv_authz_check_record(Zerodrop__V1__RecordKind kind, Zerodrop__V1__Role role,
                              Zerodrop__V1__Level level)
{
    if (kind == NO_RECORD)
        return ZD_EFORBIDDEN;
    for (size_t i = 0; i < RULE_COUNT; i++)
        if (rules[i].body == ZERODROP__V1__ENVELOPE__BODY_SUBMIT && rules[i].record == kind)
            return decide(&rules[i], role, level);
    return ZD_EFORBIDDEN;
}

int srv_authz_is_request(Zerodrop__V1__Envelope__BodyCase body)
{
    for (size_t i = 0; i < RULE_COUNT; i++)
        if (rules[i].body == body)
            return 1;
    return 0;
}

int srv_authz_is_public(Zerodrop__V1__Envelope__BodyCase body)
{
    for (size_t i = 0; i < RULE_COUNT; i++)
        if (rules[i].body == body)
            return rules[i].is_public;
    return 0;
}

const char *srv_authz_message(zd_err code)
{
    switch (code) {
    case ZD_OK:
        return "allowed";
    case ZD_EUNAUTHENTICATED:
        return "log in first (zerodrop login USER)";
    case ZD_EFORBIDDEN:
        return "your role may not do this from this institution";
    default:
        return "refused";
    }
}
