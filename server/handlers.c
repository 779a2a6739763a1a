/* The helpers every family's handlers share; see handlers.h. */
#include "handlers.h"

#include <inttypes.h>
#include <stdio.h>

#include "clock.h"
#include "scope.h"
#include "server.h"

/* Runs when the pool sends the job: only then is the backend pid known, which the token must name. */
int srv_handler_scope_token(void *arg, int backend_pid, char *out, size_t outlen)
{
    const srv_session *s = arg;
    const srv_server *srv = s->server;
    uv_timeval64_t tv;
    if (uv_gettimeofday(&tv) != 0)
        return -1;
    return srv_scope_token_build(out, outlen, srv->scope_key, srv->scope_key_len, s->peer.level, s->peer.code,
                                 backend_pid, (int64_t)tv.tv_sec + SRV_SCOPE_TTL_S);
}

srv_db_job *srv_handler_job_create(srv_request *req, srv_db_done_fn done)
{
    srv_session *s = srv_request_session(req);
    srv_server *srv = srv_request_server(req);
    if (srv->db == NULL) {
        srv_request_fail(req, ZD_EUNAVAILABLE, "", "this server runs without its database");
        return NULL;
    }
    srv_db_job *job = srv_db_job_create(srv->db, done, req);
    if (job == NULL) {
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return NULL;
    }
    /* An append error is kept in the job and reported by its callback: no need to check here. */
    (void)srv_db_job_add_scope(job, SRV_SCOPE_SQL, srv_handler_scope_token, s);
    return job;
}

void srv_handler_job_fail(srv_request *req, const srv_db_job *job)
{
    zd_err code = srv_db_job_status(job);
    const char *msg = srv_db_job_message(job);
    switch (code) {
    case ZD_EOVERLOADED:
        msg = "the county server is busy; try again in a moment";
        break;
    case ZD_EUNAVAILABLE:
        msg = "the county database is not reachable right now; try again";
        break;
    case ZD_EINTERNAL:
        msg = "the server failed; the county's administrator will find the reason in its log";
        break;
    default:
        if (msg[0] == '\0')
            msg = zd_err_text(code);
    }
    srv_request_fail(req, code, srv_db_job_field(job), msg);
}

const char *srv_handler_now_text(char *out, size_t n)
{
    snprintf(out, n, "%" PRId64, (int64_t)srv_clock_now_ms());
    return out;
}
