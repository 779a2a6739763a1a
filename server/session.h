/* Sessions and requests: what a request handler sees of the server.
 *
 * A session is one client connection after TLS: the institution its certificate names, whether Hello
 * was done, and (after Login) the user acting. Each decoded Envelope becomes an srv_request, queued in
 * arrival order; its handler answers it with srv_request_reply or srv_request_fail, at once or later
 * (a database handler answers from a libpq callback). Replies leave in request order whatever order the
 * handlers finish in, and each request gives one log line when its reply leaves. A request keeps its
 * session's memory alive (a reference on the connection), so a handler finishing after the client has
 * gone answers into a closed session harmlessly; srv_request_gone tells it to skip the work.
 *
 * Handlers never touch the connection: they read the request and the session, and reply. */
#ifndef ZD_SERVER_SESSION_H
#define ZD_SERVER_SESSION_H

#include <stdint.h>

#include "conn.h"
#include "envelope.pb-c.h"
#include "err.h"
#include "tls.h"

typedef struct srv_server srv_server;
typedef struct srv_session srv_session;
typedef struct srv_request srv_request;

struct srv_session {
    net_conn conn;               /* first: the connection's memory is the session's */
    srv_server *server;
    srv_session *prev, *next;    /* the server's list of live sessions */
    uint64_t id;                 /* for logs: conn=<id> */
    char peer_addr[64];          /* "127.0.0.1:40001" */
    int established;
    net_tls_peer peer;           /* institution and fingerprint, from the certificate */
    Zerodrop__V1__Level level;   /* peer.level as the wire enum */
    int hello_done;
    int refusing;                /* a reply that hangs up is queued: later frames are dropped */
    /* Set by the login handler (a later issue); ROLE_UNSPECIFIED and "" until then. */
    Zerodrop__V1__Role role;
    char user[64];
    void *auth;                  /* the login module's own state, if it needs any */
    void *import;                /* handlers_import.c: the file being gathered, if any */
    /* requests in arrival order */
    srv_request *head, *tail;
    int flushing;
    uint64_t requests;           /* answered, for the close log line */
};

/* A request handler: reads srv_request_envelope(req), answers exactly once (now or later). */
typedef void (*srv_handler_fn)(srv_request *req);

/* The request as decoded. Owned by the request; valid until its reply has been given. */
const Zerodrop__V1__Envelope *srv_request_envelope(const srv_request *req);

/* The session and server the request came in on. */
srv_session *srv_request_session(const srv_request *req);
srv_server *srv_request_server(const srv_request *req);

/* 1 when the client's connection has closed: the reply will be dropped, so skip expensive work. */
int srv_request_gone(const srv_request *req);

/* Answers with env: its request_id is set to the request's; env stays the caller's (it is packed at
 * once). After the call req may already be freed: do not use it again. A reply larger than
 * max_frame_bytes is turned into Error{INTERNAL}. */
void srv_request_reply(srv_request *req, Zerodrop__V1__Envelope *env);

/* Answers with Error{code, field, message}; field and message may be NULL (empty). Same as reply. */
void srv_request_fail(srv_request *req, zd_err code, const char *field, const char *message);

/* Asks that the session hang up once this request's reply has been sent (call before replying).
 * Later requests from this client are dropped unanswered. */
void srv_request_close_after(srv_request *req, const char *reason);

/* References on a session (its connection) for jobs that outlive a request, e.g.
 * srv_db_job_hold(job, srv_session_ref, srv_session_unref) with data = the session. A request already holds
 * one until it is answered, so a job whose data is the request needs none. */
void srv_session_ref(void *session);
void srv_session_unref(void *session);

/* The session's institution as "school:S43010101" into out (n bytes); "-" before the handshake. */
const char *srv_session_institution(const srv_session *s, char *out, size_t n);

/* Built-in handlers of the session family (in the dispatch table). */
void srv_session_hello(srv_request *req);
void srv_session_ping(srv_request *req);

/* Completes a Hello that passed every check: marks the session's Hello done and answers with Welcome,
 * last_contact_ms (0: none) being the server's record of this device's previous contact. */
void srv_session_welcome(srv_request *req, int64_t last_contact_ms);

#endif
