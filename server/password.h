/* Passwords: argon2id hashes in the standard encoded form, and verification off the event loop.
 *
 * A stored hash carries its own parameters and salt (`$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>`), so
 * the cost can be raised later without invalidating old hashes: verification reads the parameters from
 * the string, and srv_password_needs_rehash says when a hash is weaker than the current policy.
 *
 * Argon2 at the default cost takes a good fraction of a second and 64 MiB, so the loop never runs it: a
 * verification (or a hash) is a job on libuv's thread pool whose completion callback runs on the loop.
 * The jobs queued or running are capped; a newcomer beyond the cap is refused with ZD_EOVERLOADED at once
 * rather than queued without end, so a login flood cannot starve the pool. Memory follows the threads:
 * only running jobs (libuv's pool size, 4 by default) hold argon2's memory.
 *
 * Unknown users: the caller passes encoded = NULL and the job verifies against a dummy hash made with the
 * same cost at init, so the time taken does not reveal whether the user exists; the result is always a
 * mismatch. */
#ifndef ZD_SERVER_PASSWORD_H
#define ZD_SERVER_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "err.h"

/* Passwords longer than this are refused before any work: argon2 would take them, but nobody types
 * that much and a megabyte password is only a way to make the server hash a megabyte. */
#define SRV_PASSWORD_MAX_BYTES 1024
#define SRV_PASSWORD_SALT_BYTES 16
#define SRV_PASSWORD_HASH_BYTES 32

/* Argon2id cost. The default suits a 2-core county server (about 64 MiB and a few hundred ms per
 * verification, one lane); tests pass a cheap cost. */
typedef struct srv_password_cost {
    uint32_t m_kib;       /* memory in KiB (>= 8 * parallelism) */
    uint32_t t_cost;      /* passes */
    uint32_t parallelism; /* lanes */
} srv_password_cost;

#define SRV_PASSWORD_COST_DEFAULT ((srv_password_cost){.m_kib = 65536, .t_cost = 3, .parallelism = 1})

/* Hashes password (len bytes, 1..SRV_PASSWORD_MAX_BYTES) with a fresh 16-byte salt from RAND_bytes.
 * On ZD_OK *encoded_out is a NUL-terminated string the caller frees with free(). Returns
 * ZD_EINVALID_ARGUMENT for an empty or oversized password or an unusable cost, ZD_EINTERNAL when the
 * random source or argon2 fails. Blocking: call it from a worker, or use srv_password_hash_start. */
zd_err srv_password_hash(const char *password, size_t len, const srv_password_cost *cost, char **encoded_out);

/* Verifies password against an encoded argon2id hash. Returns ZD_OK on a match, ZD_EUNAUTHENTICATED on a
 * mismatch, ZD_EINVALID_ARGUMENT when encoded is not an argon2id hash we accept (the stored row is bad)
 * or the password is oversized, ZD_EINTERNAL when argon2 fails otherwise (e.g. out of memory).
 * Blocking, like srv_password_hash. */
zd_err srv_password_verify(const char *encoded, const char *password, size_t len);

/* True when encoded was made with a cost other than cost (or cannot be parsed): the caller may store a
 * fresh hash after a successful login. */
int srv_password_needs_rehash(const char *encoded, const srv_password_cost *cost);

/* The verifier: the loop it runs on, the cost of new hashes, the dummy hash for unknown users and the
 * count of jobs in flight. Caller-owned memory (init/finish). */
typedef struct srv_password {
    uv_loop_t *loop;
    srv_password_cost cost;
    char *dummy;       /* argon2id hash of a random password, same cost */
    unsigned max_jobs; /* jobs queued or running; newcomers beyond it get ZD_EOVERLOADED */
    unsigned jobs;     /* in flight now */
} srv_password;

/* Prepares pw for loop with cost (NULL: the default) and at most max_jobs jobs at once (0: 64). Makes the
 * dummy hash, which takes one hash's time. Returns ZD_OK, ZD_EINVALID_ARGUMENT for a bad cost, or
 * ZD_EINTERNAL. On failure pw needs no finish. */
zd_err srv_password_init(srv_password *pw, uv_loop_t *loop, const srv_password_cost *cost, unsigned max_jobs);

/* Releases pw. No job may be in flight (run the loop until their callbacks came). */
void srv_password_finish(srv_password *pw);

/* Completion of a verification: result is ZD_OK (match), ZD_EUNAUTHENTICATED (mismatch or unknown user),
 * ZD_EINVALID_ARGUMENT (bad stored hash), ZD_EINTERNAL, or ZD_EUNAVAILABLE when the job was cancelled.
 * Runs on the loop. */
typedef void (*srv_password_verify_cb)(void *data, zd_err result);

/* Starts verifying password (len bytes) against encoded, or against the dummy hash when encoded is NULL
 * (an unknown user: the result is then always ZD_EUNAUTHENTICATED, after the same work). Both strings
 * are copied; the copy of the password is wiped when the job ends. Returns ZD_OK when the job started
 * (cb will be called exactly once, later, from the loop), ZD_EOVERLOADED when max_jobs are in flight,
 * ZD_EINVALID_ARGUMENT for an oversized password, ZD_EINTERNAL when out of memory; cb is not called on
 * any non-OK return. */
zd_err srv_password_verify_start(srv_password *pw, const char *encoded, const char *password, size_t len,
                                 srv_password_verify_cb cb, void *data);

/* Completion of a hash: on ZD_OK encoded is the new hash, owned by the callee (free() it); NULL
 * otherwise. Runs on the loop. */
typedef void (*srv_password_hash_cb)(void *data, zd_err result, char *encoded);

/* Starts hashing password (len bytes) with pw's cost, for user add and password change. Same returns
 * and promises as srv_password_verify_start. */
zd_err srv_password_hash_start(srv_password *pw, const char *password, size_t len, srv_password_hash_cb cb,
                               void *data);

#endif
