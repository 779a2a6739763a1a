/* The Login and Logout handlers: the wire side of server/login (the dispatch table names them).
 *
 * Login answers LoginResult{user, role, session_token, expires_ms} and from then on the session acts as
 * that user (srv_session.role and .user, which the authorization check reads). A new Login replaces the
 * session's user at once, so a failed one leaves the session logged out, never as the previous user.
 * Logout ends the user's sessions on this device in the database, logs the session out and answers with a
 * Logout body (the plain acknowledgement). The service is the server's (srv_server.login); without a database
 * (transport only) Login is UNAVAILABLE. */
#ifndef ZD_SERVER_LOGIN_HANDLER_H
#define ZD_SERVER_LOGIN_HANDLER_H

#include "session.h"

/* Handles Envelope.login. */
void srv_login_handle(srv_request *req);

/* Handles Envelope.logout. */
void srv_logout_handle(srv_request *req);

#endif
