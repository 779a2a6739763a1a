/* server/password: argon2id hashes in the encoded form, verification right and wrong, bad stored hashes,
 * the published argon2id vector, and the thread-pool jobs (cap, unknown users, hashing) counted after
 * uv_run. Cheap costs keep it fast; one check uses the default cost's memory through the vector. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "check.h"
#include "err.h"
#include "password.h"

static const srv_password_cost cheap = {.m_kib = 256, .t_cost = 1, .parallelism = 1};

static void test_hash_and_verify(void)
{
    char *a = NULL, *b = NULL;
    CHECK_INT_EQ(srv_password_hash("correct horse", 13, &cheap, &a), ZD_OK);
    CHECK(a != NULL);
    CHECK(strncmp(a, "$argon2id$v=19$m=256,t=1,p=1$", 29) == 0);
    CHECK_INT_EQ(srv_password_hash("correct horse", 13, &cheap, &b), ZD_OK);
    CHECK(strcmp(a, b) != 0); /* a fresh salt every time */

    CHECK_INT_EQ(srv_password_verify(a, "correct horse", 13), ZD_OK);
    CHECK_INT_EQ(srv_password_verify(b, "correct horse", 13), ZD_OK);
    CHECK_INT_EQ(srv_password_verify(a, "correct hors", 12), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(srv_password_verify(a, "Correct horse", 13), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(srv_password_verify(a, "", 0), ZD_EUNAUTHENTICATED);

    CHECK_INT_EQ(srv_password_needs_rehash(a, &cheap), 0);
    srv_password_cost other = cheap;
    other.t_cost = 2;
    CHECK_INT_EQ(srv_password_needs_rehash(a, &other), 1);
    CHECK_INT_EQ(srv_password_needs_rehash("garbage", &cheap), 1);
    free(a);
    free(b);
}

static void test_refusals(void)
{
    char *out = (char *)1;
    CHECK_INT_EQ(srv_password_hash("", 0, &cheap, &out), ZD_EINVALID_ARGUMENT);
    CHECK(out == NULL);
    static char big[SRV_PASSWORD_MAX_BYTES + 1];
    memset(big, 'x', sizeof big);
    CHECK_INT_EQ(srv_password_hash(big, sizeof big, &cheap, &out), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_password_hash(big, SRV_PASSWORD_MAX_BYTES, &cheap, &out), ZD_OK);
    CHECK_INT_EQ(srv_password_verify(out, big, SRV_PASSWORD_MAX_BYTES), ZD_OK);
    CHECK_INT_EQ(srv_password_verify(out, big, sizeof big), ZD_EINVALID_ARGUMENT);
    free(out);

    srv_password_cost bad = {.m_kib = 4, .t_cost = 1, .parallelism = 1};
    CHECK_INT_EQ(srv_password_hash("pw", 2, &bad, &out), ZD_EINVALID_ARGUMENT);
    bad = (srv_password_cost){.m_kib = 256, .t_cost = 0, .parallelism = 1};
    CHECK_INT_EQ(srv_password_hash("pw", 2, &bad, &out), ZD_EINVALID_ARGUMENT);

    /* Stored strings we do not accept: not argon2id, wrong version, absurd cost, broken base64. */
    CHECK_INT_EQ(srv_password_verify("", "pw", 2), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_password_verify("plaintext", "plaintext", 9), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_password_verify(
                     "$argon2i$v=19$m=256,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
                     "password", 8),
                 ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_password_verify(
                     "$argon2id$v=16$m=256,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
                     "password", 8),
                 ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(
        srv_password_verify(
            "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "password", 8),
        ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_password_verify("$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHQ$!!!!", "password", 8),
                 ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_password_verify(NULL, "password", 8), ZD_EINVALID_ARGUMENT);
}

/* The argon2id v=19 vector published with the reference implementation ("password", salt "somesalt",
 * m=64 MiB, t=2, p=1): proves our verification reads the standard form, not just our own output. */
static void test_published_vector(void)
{
    const char *v = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    CHECK_INT_EQ(srv_password_verify(v, "password", 8), ZD_OK);
    CHECK_INT_EQ(srv_password_verify(v, "passwore", 8), ZD_EUNAUTHENTICATED);
    srv_password_cost c = {.m_kib = 65536, .t_cost = 2, .parallelism = 1};
    CHECK_INT_EQ(srv_password_needs_rehash(v, &c), 0);
    c = SRV_PASSWORD_COST_DEFAULT;
    CHECK_INT_EQ(srv_password_needs_rehash(v, &c), 1);
    CHECK_INT_EQ(c.m_kib, 65536);
    CHECK_INT_EQ(c.t_cost, 3);
    CHECK_INT_EQ(c.parallelism, 1);
}

/* Callback bookkeeping: how many results of each code came back. */
typedef struct tally {
    int results[ZD_ERR_COUNT];
    int calls;
    char *hashed;
} tally;

static void on_verified(void *data, zd_err result)
{
    tally *t = data;
    t->calls++;
    CHECK(result >= 0 && result < ZD_ERR_COUNT);
    t->results[result]++;
}

static void on_hashed(void *data, zd_err result, char *encoded)
{
    tally *t = data;
    t->calls++;
    t->results[result]++;
    CHECK_INT_EQ(result, ZD_OK);
    CHECK(encoded != NULL);
    CHECK(t->hashed == NULL);
    t->hashed = encoded;
}

static void test_jobs(void)
{
    uv_loop_t loop;
    CHECK_INT_EQ(uv_loop_init(&loop), 0);
    srv_password pw;
    CHECK_INT_EQ(srv_password_init(&pw, &loop, &cheap, 3), ZD_OK);
    CHECK(pw.dummy != NULL);
    CHECK_INT_EQ(srv_password_needs_rehash(pw.dummy, &cheap), 0); /* the dummy costs what a real one does */

    char *stored = NULL;
    CHECK_INT_EQ(srv_password_hash("s3cret", 6, &cheap, &stored), ZD_OK);

    tally t = {0};
    CHECK_INT_EQ(srv_password_verify_start(&pw, stored, "s3cret", 6, on_verified, &t), ZD_OK);
    CHECK_INT_EQ(srv_password_verify_start(&pw, stored, "wrong", 5, on_verified, &t), ZD_OK);
    /* unknown user: the dummy, even with the dummy's own cost the answer is a mismatch */
    CHECK_INT_EQ(srv_password_verify_start(&pw, NULL, "s3cret", 6, on_verified, &t), ZD_OK);
    CHECK_INT_EQ(pw.jobs, 3);
    /* the cap: refused at once, no callback */
    CHECK_INT_EQ(srv_password_verify_start(&pw, stored, "s3cret", 6, on_verified, &t), ZD_EOVERLOADED);
    CHECK_INT_EQ(t.calls, 0); /* callbacks only ever come from the loop */
    CHECK_INT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_INT_EQ(t.calls, 3);
    CHECK_INT_EQ(t.results[ZD_OK], 1);
    CHECK_INT_EQ(t.results[ZD_EUNAUTHENTICATED], 2);
    CHECK_INT_EQ(pw.jobs, 0);

    /* a bad stored row is reported as such, not as a wrong password */
    tally bad = {0};
    CHECK_INT_EQ(srv_password_verify_start(&pw, "$argon2id$v=19$nonsense", "x", 1, on_verified, &bad), ZD_OK);
    static char big[SRV_PASSWORD_MAX_BYTES + 1];
    CHECK_INT_EQ(srv_password_verify_start(&pw, stored, big, sizeof big, on_verified, &bad),
                 ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_INT_EQ(bad.calls, 1);
    CHECK_INT_EQ(bad.results[ZD_EINVALID_ARGUMENT], 1);

    /* hashing off the loop, then the new hash verifies */
    tally h = {0};
    CHECK_INT_EQ(srv_password_hash_start(&pw, "new pass", 8, on_hashed, &h), ZD_OK);
    CHECK_INT_EQ(srv_password_hash_start(&pw, "", 0, on_hashed, &h), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_INT_EQ(h.calls, 1);
    CHECK(h.hashed != NULL);
    CHECK_INT_EQ(srv_password_verify(h.hashed, "new pass", 8), ZD_OK);
    CHECK_INT_EQ(srv_password_needs_rehash(h.hashed, &cheap), 0);
    free(h.hashed);

    free(stored);
    srv_password_finish(&pw);
    CHECK_INT_EQ(uv_loop_close(&loop), 0);

    srv_password_cost bad_cost = {.m_kib = 1, .t_cost = 1, .parallelism = 1};
    CHECK_INT_EQ(srv_password_init(&pw, &loop, &bad_cost, 0), ZD_EINVALID_ARGUMENT);
}

int main(void)
{
    test_hash_and_verify();
    test_refusals();
    test_published_vector();
    test_jobs();
    return 0;
}
