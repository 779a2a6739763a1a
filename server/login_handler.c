/* The Login and Logout handlers; see login_handler.h. They translate between the request and the login
 * service and keep nothing of their own: the request (which holds its session alive until it is
 * answered) is the callback's data. */
#include "login_handler.h"

#include <stdio.h>
#include <string.h>

#include "login.h"
#include "server.h"

static void logged_in(void *data, zd_err code, const char *message, const srv_login_outcome *out)
{
    srv_request *req = data;
    srv_session *s = srv_request_session(req);
    if (code != ZD_OK || out == NULL) {
        const char *field = code == ZD_EINVALID_ARGUMENT ? "login.user" : "";
        srv_request_fail(req, code == ZD_OK ? ZD_EINTERNAL : code, field, message);
        return;
    }
    s->role = out->role;
    snprintf(s->user, sizeof s->user, "%s", out->user);

    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__LoginResult r = ZERODROP__V1__LOGIN_RESULT__INIT;
    r.user = (char *)out->user;
    r.role = out->role;
    r.session_token.data = (uint8_t *)out->token;
    r.session_token.len = SRV_TOKEN_BYTES;
    r.expires_ms = out->expires_ms;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_LOGIN_RESULT;
    e.login_result = &r;
    srv_request_reply(req, &e); /* packed at once: the token is not kept anywhere in the server */
}

void srv_login_handle(srv_request *req)
{
    srv_session *s = srv_request_session(req);
    srv_login *service = srv_request_server(req)->login;
    const Zerodrop__V1__Login *login = srv_request_envelope(req)->login;
    /* Whatever comes of it, the session no longer acts as whoever logged in before. */
    s->role = ZERODROP__V1__ROLE__ROLE_UNSPECIFIED;
    s->user[0] = '\0';
    if (service == NULL) {
        srv_request_fail(req, ZD_EUNAVAILABLE, "", "this server has no database, so nobody can log in");
        return;
    }
    if (login == NULL) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "login", "the login is empty");
        return;
    }
    srv_login_request lr = {
        .level = s->level,
        .institution = s->peer.code,
        .fingerprint = s->peer.fingerprint,
        .user = login->user,
        .password = login->password,
        .password_len = login->password ? strlen(login->password) : 0,
        .token = login->session_token.len ? login->session_token.data : NULL,
        .token_len = login->session_token.len,
    };
    if (srv_login_start(service, &lr, logged_in, req, NULL, NULL) != ZD_OK)
        srv_request_fail(req, ZD_EINTERNAL, "", "the server could not start the login; try again");
}

static void logged_out(void *data, zd_err code, const char *message, const srv_login_outcome *out)
{
    (void)out;
    srv_request *req = data;
    if (code != ZD_OK) {
        srv_request_fail(req, code, "", message);
        return;
    }
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Logout done = ZERODROP__V1__LOGOUT__INIT;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_LOGOUT;
    e.logout = &done;
    srv_request_reply(req, &e);
}

void srv_logout_handle(srv_request *req)
{
    srv_session *s = srv_request_session(req);
    srv_login *service = srv_request_server(req)->login;
    char user[sizeof s->user];
    snprintf(user, sizeof user, "%s", s->user);
    /* Logged out here at once; the database follows (a failure there is reported, the session stays out). */
    s->role = ZERODROP__V1__ROLE__ROLE_UNSPECIFIED;
    s->user[0] = '\0';
    if (service == NULL) {
        srv_request_fail(req, ZD_EUNAVAILABLE, "", "this server has no database");
        return;
    }
    if (srv_login_end(service, s->level, s->peer.code, user, s->peer.fingerprint, logged_out, req, NULL,
                      NULL) != ZD_OK)
        srv_request_fail(req, ZD_EINTERNAL, "", "the server could not log you out; try again");
}
