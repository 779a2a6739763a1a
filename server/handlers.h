/* What every family's request handlers share: the convention for server/handlers_<family>.c.
 *
 * Each family keeps its handlers in its own file, server/handlers_<family>.c, declares them in
 * server/handlers_<family>.h and adds one line per request body to the table in dispatch.c. A handler
 * follows the one-way flow: it reads srv_request_envelope(req), validates the fields (srv_request_fail with
 * INVALID_ARGUMENT and the field name), then (authorization having been checked by session.c before it is
 * called) builds one database job with srv_handler_job_create, which already holds the scope statement of
 * the session's institution, appends its statements and submits it; the job's callback replies.
 *
 * The job's data is the request: the request keeps its session allocated until its reply, and the reply is
 * given only from the callback, so the request outlives the job. */
#ifndef ZD_SERVER_HANDLERS_H
#define ZD_SERVER_HANDLERS_H

#include "db.h"
#include "session.h"

/* A job for req on the server's pool, its first statement the row-level-security scope of req's session
 * (certificate level and code, token made when the pool sends it). `done(job, req)` runs once. Returns the
 * job, or NULL after having answered req itself (UNAVAILABLE when the server runs without a database,
 * INTERNAL when out of memory): the handler then just returns. */
srv_db_job *srv_handler_job_create(srv_request *req, srv_db_done_fn done);

/* The srv_db_scope_fn for a session (arg: the srv_session): its certificate's level and code. For jobs
 * not tied to one request (keep the session referenced until the callback). */
int srv_handler_scope_token(void *session, int backend_pid, char *out, size_t outlen);

/* Answers req with the failure of job (its code, PostgreSQL's constraint or column as the field, a message
 * in plain words). Call from the job's callback when srv_db_job_status(job) is not ZD_OK. */
void srv_handler_job_fail(srv_request *req, const srv_db_job *job);

/* The server's clock in milliseconds as decimal text into out (24 bytes is enough): the instant handlers
 * pass to SQL, so that the test clock moves what the database records too. */
const char *srv_handler_now_text(char *out, size_t n);

#endif
