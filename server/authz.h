/* Authorization matrix: who may send what, checked before any handler or database work.
 *
 * One table (authz.c) says, for every Envelope body case a client may send, whether it needs a login
 * and which roles at which institution level may send it. Submit is split by the kind of its signed
 * records, because a roll call, a daily report and a case action are different acts: the body check
 * admits a Submit when some record kind is allowed, and srv_authz_check_record decides each record.
 *
 * The rules, as the county works:
 *   - Hello, Ping and Login need no login; everything else does.
 *   - School staff (clerk, head teacher, principal) on a school device pull their roster, submit roll
 *     calls, daily reports and case records, and read their attendance, report status and cases. The
 *     daily report names the principal who signs it (the report handler checks `signed_by`).
 *   - A township officer on a township device reads its schools' roster and summary, lists and shows
 *     cases, and acts on escalated cases (case actions and case openings; never roll calls or reports).
 *   - A county auditor on a county device reads the roster, summaries, cases and the county audit,
 *     verifies the chain, signs off cases (case actions), and reads devices, calendar and settings.
 *   - A county admin on a county device does the admin family (users, devices, imports, calendar,
 *     settings, stats) and reads the roster and summaries.
 *   - Every logged-in role may log out, pull its notices and read the calendar.
 *   - A role on a device of another level (a clerk on a county device) may send nothing that needs a
 *     login; responses and server-only bodies (Welcome, Pong, Error, results, notices) are never
 *     accepted from a client, logged in or not.
 * Which rows a request may touch (its own school, its township's schools) is the handlers' and
 * row-level security's business; this table decides only the kind of request. */
#ifndef ZD_SERVER_AUTHZ_H
#define ZD_SERVER_AUTHZ_H

#include "envelope.pb-c.h"
#include "err.h"
#include "record.pb-c.h"
#include "session.pb-c.h"

/* role ROLE_UNSPECIFIED means "not logged in"; level is the certificate's institution level.
 * Returns ZD_OK when the request may go on; ZD_EUNAUTHENTICATED when it needs a login and there is none;
 * ZD_EFORBIDDEN when the role at that level may not send it, or when a client never may (a response,
 * a notice, no body, an unknown case, an unknown role or level). */
zd_err srv_authz_check(Zerodrop__V1__Envelope__BodyCase body, Zerodrop__V1__Role role,
                       Zerodrop__V1__Level level);

/* The same decision for one signed record inside a Submit. RECORD_KIND_UNSPECIFIED and unknown kinds
 * are ZD_EFORBIDDEN. */
zd_err srv_authz_check_record(Zerodrop__V1__RecordKind kind, Zerodrop__V1__Role role,
                              Zerodrop__V1__Level level);

/* True when body is a request a client may send at all (it has a row in the table). */
int srv_authz_is_request(Zerodrop__V1__Envelope__BodyCase body);

/* True when body may be sent before logging in. */
int srv_authz_is_public(Zerodrop__V1__Envelope__BodyCase body);

/* A plain-words reason for a refusal, for Error.message: "log in first" for ZD_EUNAUTHENTICATED,
 * "your role may not do this from this institution" for ZD_EFORBIDDEN. */
const char *srv_authz_message(zd_err code);

#endif
