/* Passwords: argon2id through libargon2, salts from OpenSSL, and the jobs that keep both off the loop.
 *
 * libargon2's results are translated into our vocabulary here and only here (argon2_to_err). The
 * encoded form is parsed by hand only to read the cost (for needs_rehash and to refuse absurd stored
 * costs); the actual decoding and the constant-time comparison are libargon2's. */
#include "password.h"

#include <argon2.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* A stored hash asking for more than this is refused: a row edited to m=4 GiB must not let one login
 * exhaust the server's memory. 1 GiB is far above any cost we would choose. */
#define MAX_STORED_M_KIB (1u << 20)
#define MAX_STORED_T_COST 64u
#define MAX_STORED_PARALLELISM 16u

static const char argon2id_prefix[] = "$argon2id$v=19$";

static zd_err argon2_to_err(int rc)
{
    switch (rc) {
    case ARGON2_OK:
        return ZD_OK;
    case ARGON2_VERIFY_MISMATCH:
        return ZD_EUNAUTHENTICATED;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL:
        return ZD_EINTERNAL;
    default:
        /* Decoding and parameter errors: the stored string or the cost is not one we accept. */
        return ZD_EINVALID_ARGUMENT;
    }
}

static int cost_usable(const srv_password_cost *c)
{
    return c->parallelism >= 1 && c->parallelism <= MAX_STORED_PARALLELISM && c->t_cost >= 1 &&
           c->t_cost <= MAX_STORED_T_COST && c->m_kib >= 8u * c->parallelism && c->m_kib <= MAX_STORED_M_KIB;
}

/* Reads "<key>=<decimal>" at *p, advancing past it. Returns 0 or -1. */
static int read_param(const char **p, char key, uint32_t *out)
{
    const char *s = *p;
    if (s[0] != key || s[1] != '=' || s[2] < '0' || s[2] > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long v = strtoul(s + 2, &end, 10);
    if (errno != 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    *p = end;
    return 0;
}

/* Parses the cost out of an encoded argon2id v=19 hash. Returns 0 or -1. */
static int parse_cost(const char *encoded, srv_password_cost *out)
{
    if (encoded == NULL || strncmp(encoded, argon2id_prefix, sizeof argon2id_prefix - 1) != 0)
        return -1;
    const char *p = encoded + sizeof argon2id_prefix - 1;
    if (read_param(&p, 'm', &out->m_kib) != 0 || *p++ != ',')
        return -1;
    if (read_param(&p, 't', &out->t_cost) != 0 || *p++ != ',')
        return -1;
    if (read_param(&p, 'p', &out->parallelism) != 0 || *p != '$')
        return -1;
    return 0;
}

zd_err srv_password_hash(const char *password, size_t len, const srv_password_cost *cost, char **encoded_out)
{
    *encoded_out = NULL;
    if (password == NULL || len == 0 || len > SRV_PASSWORD_MAX_BYTES || cost == NULL || !cost_usable(cost))
        return ZD_EINVALID_ARGUMENT;

    uint8_t salt[SRV_PASSWORD_SALT_BYTES];
    if (RAND_bytes(salt, (int)sizeof salt) != 1)
        return ZD_EINTERNAL;

    size_t n = argon2_encodedlen(cost->t_cost, cost->m_kib, cost->parallelism, SRV_PASSWORD_SALT_BYTES,
                                 SRV_PASSWORD_HASH_BYTES, Argon2_id);
    char *encoded = malloc(n);
    if (encoded == NULL)
        return ZD_EINTERNAL;
    int rc = argon2id_hash_encoded(cost->t_cost, cost->m_kib, cost->parallelism, password, len, salt,
                                   sizeof salt, SRV_PASSWORD_HASH_BYTES, encoded, n);
    OPENSSL_cleanse(salt, sizeof salt);
    if (rc != ARGON2_OK) {
        free(encoded);
        /* Our own cost was checked above, so any failure here is the machine's, not the caller's. */
        return ZD_EINTERNAL;
    }
    *encoded_out = encoded;
    return ZD_OK;
}

zd_err srv_password_verify(const char *encoded, const char *password, size_t len)
{
    srv_password_cost stored;
    if (password == NULL || len > SRV_PASSWORD_MAX_BYTES)
        return ZD_EINVALID_ARGUMENT;
    if (parse_cost(encoded, &stored) != 0 || !cost_usable(&stored))
        return ZD_EINVALID_ARGUMENT;
    return argon2_to_err(argon2id_verify(encoded, password, len));
}

int srv_password_needs_rehash(const char *encoded, const srv_password_cost *cost)
{
    srv_password_cost stored;
    if (parse_cost(encoded, &stored) != 0)
        return 1;
    return stored.m_kib != cost->m_kib || stored.t_cost != cost->t_cost ||
           stored.parallelism != cost->parallelism;
}

zd_err srv_password_init(srv_password *pw, uv_loop_t *loop, const srv_password_cost *cost, unsigned max_jobs)
{
    memset(pw, 0, sizeof *pw);
    pw->loop = loop;
    pw->cost = cost ? *cost : SRV_PASSWORD_COST_DEFAULT;
    /* Queued jobs cost a few bytes; only the running ones (as many as libuv's pool has threads, 4 by
     * default) hold argon2's memory. 64 waiting logins is a morning rush, more is a flood. */
    pw->max_jobs = max_jobs ? max_jobs : 64;
    if (!cost_usable(&pw->cost))
        return ZD_EINVALID_ARGUMENT;

    /* The dummy's password is random and forgotten at once: nothing can ever match it. */
    uint8_t secret[32];
    if (RAND_bytes(secret, (int)sizeof secret) != 1)
        return ZD_EINTERNAL;
    zd_err rc = srv_password_hash((const char *)secret, sizeof secret, &pw->cost, &pw->dummy);
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

void srv_password_finish(srv_password *pw)
{
    free(pw->dummy);
    pw->dummy = NULL;
}

enum job_kind { JOB_VERIFY, JOB_HASH };

typedef struct password_job {
    uv_work_t work; /* first: the uv_work_t pointer is the job pointer */
    srv_password *pw;
    enum job_kind kind;
    char *encoded;  /* verify: our copy of the stored hash, or NULL for an unknown user */
    char *password; /* our copy, wiped by the worker when done */
    size_t len;
    srv_password_cost cost; /* hash: copied so the worker never reads pw */
    const char *dummy;      /* verify of an unknown user: pw->dummy, alive until finish */
    zd_err result;
    char *out; /* hash: the new encoded string */
    srv_password_verify_cb verify_cb;
    srv_password_hash_cb hash_cb;
    void *data;
} password_job;

static void job_run(uv_work_t *work)
{
    password_job *job = (password_job *)work;
    if (job->kind == JOB_HASH) {
        job->result = srv_password_hash(job->password, job->len, &job->cost, &job->out);
    } else if (job->encoded != NULL) {
        job->result = srv_password_verify(job->encoded, job->password, job->len);
    } else {
        /* Same work as a real verification, and the answer of an unknown user whatever happened. */
        (void)srv_password_verify(job->dummy, job->password, job->len);
        job->result = ZD_EUNAUTHENTICATED;
    }
    OPENSSL_cleanse(job->password, job->len);
}

static void job_free(password_job *job)
{
    if (job->password) {
        OPENSSL_cleanse(job->password, job->len);
        free(job->password);
    }
    free(job->encoded);
    free(job->out);
    free(job);
}

static void job_done(uv_work_t *work, int status)
{
    password_job *job = (password_job *)work;
    job->pw->jobs--;
    zd_err result = status == UV_ECANCELED ? ZD_EUNAVAILABLE : job->result;
    if (job->kind == JOB_HASH) {
        char *out = result == ZD_OK ? job->out : NULL;
        if (out)
            job->out = NULL; /* handed to the callback */
        job->hash_cb(job->data, result, out);
    } else {
        job->verify_cb(job->data, result);
    }
    job_free(job);
}

static password_job *job_create(srv_password *pw, enum job_kind kind, const char *password, size_t len,
                                zd_err *rc)
{
    *rc = ZD_OK;
    if (password == NULL || len > SRV_PASSWORD_MAX_BYTES) {
        *rc = ZD_EINVALID_ARGUMENT;
        return NULL;
    }
    if (pw->jobs >= pw->max_jobs) {
        *rc = ZD_EOVERLOADED;
        return NULL;
    }
    password_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        goto oom;
    job->password = malloc(len + 1);
    if (job->password == NULL)
        goto free_job;
    memcpy(job->password, password, len);
    job->password[len] = '\0';
    job->len = len;
    job->pw = pw;
    job->kind = kind;
    job->cost = pw->cost;
    job->dummy = pw->dummy;
    job->work.data = job;
    return job;

free_job:
    free(job);
oom:
    *rc = ZD_EINTERNAL;
    return NULL;
}

static zd_err job_queue(password_job *job)
{
    if (uv_queue_work(job->pw->loop, &job->work, job_run, job_done) != 0) {
        job_free(job);
        return ZD_EINTERNAL;
    }
    job->pw->jobs++;
    return ZD_OK;
}

zd_err srv_password_verify_start(srv_password *pw, const char *encoded, const char *password, size_t len,
                                 srv_password_verify_cb cb, void *data)
{
    zd_err rc;
    password_job *job = job_create(pw, JOB_VERIFY, password, len, &rc);
    if (job == NULL)
        return rc;
    if (encoded != NULL) {
        job->encoded = strdup(encoded);
        if (job->encoded == NULL) {
            job_free(job);
            return ZD_EINTERNAL;
        }
    }
    job->verify_cb = cb;
    job->data = data;
    return job_queue(job);
}

zd_err srv_password_hash_start(srv_password *pw, const char *password, size_t len, srv_password_hash_cb cb,
                               void *data)
{
    if (len == 0)
        return ZD_EINVALID_ARGUMENT;
    zd_err rc;
    password_job *job = job_create(pw, JOB_HASH, password, len, &rc);
    if (job == NULL)
        return rc;
    job->hash_cb = cb;
    job->data = data;
    return job_queue(job);
}
