/* server/throttle: the growing delay counted in attempts admitted and refused on a clock the test steps
 * by hand (never wall time), reset on success, parallel attempts, case folding, forgetting, the bound. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "throttle.h"

static void test_delays(void)
{
    const uint64_t want[] = {0, 0, 0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (unsigned f = 0; f < sizeof want / sizeof want[0]; f++)
        CHECK_INT_EQ(srv_throttle_delay_ms(NULL, f), want[f]);
    CHECK_INT_EQ(srv_throttle_delay_ms(NULL, 1000), 60000);
    CHECK_INT_EQ(srv_throttle_delay_ms(NULL, 4000000000u), 60000);

    srv_throttle_policy p = {.free_failures = 0, .base_ms = 500, .cap_ms = 3000};
    CHECK_INT_EQ(srv_throttle_delay_ms(&p, 0), 0);
    CHECK_INT_EQ(srv_throttle_delay_ms(&p, 1), 500);
    CHECK_INT_EQ(srv_throttle_delay_ms(&p, 2), 1000);
    CHECK_INT_EQ(srv_throttle_delay_ms(&p, 3), 2000);
    CHECK_INT_EQ(srv_throttle_delay_ms(&p, 4), 3000);
}

/* One wrong-password attempt: admitted then failed at the same instant, as a quick verification would. */
static zd_err attempt(srv_throttle *t, const char *user, uint64_t now, uint64_t *retry)
{
    zd_err rc = srv_throttle_admit(t, user, now, retry);
    if (rc == ZD_OK)
        srv_throttle_fail(t, user, now);
    return rc;
}

static void test_sequence(void)
{
    srv_throttle *t = srv_throttle_create(NULL);
    CHECK(t != NULL);
    uint64_t retry = 0;
    CHECK_INT_EQ(attempt(t, "wang", 0, &retry), ZD_OK);
    CHECK_INT_EQ(attempt(t, "wang", 0, &retry), ZD_OK);
    CHECK_INT_EQ(attempt(t, "wang", 0, &retry), ZD_OK); /* third failure: 1 s from now */
    CHECK_INT_EQ(srv_throttle_failures(t, "wang"), 3);
    CHECK_INT_EQ(attempt(t, "wang", 0, &retry), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(retry, 1000);
    CHECK_INT_EQ(attempt(t, "wang", 999, &retry), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(retry, 1);
    CHECK_INT_EQ(srv_throttle_failures(t, "wang"), 3);     /* refusals are not failures */
    CHECK_INT_EQ(attempt(t, "wang", 1000, &retry), ZD_OK); /* fourth failure: 2 s */
    CHECK_INT_EQ(attempt(t, "wang", 2999, &retry), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(retry, 1);
    CHECK_INT_EQ(attempt(t, "wang", 3000, &retry), ZD_OK); /* fifth: 4 s */
    CHECK_INT_EQ(attempt(t, "wang", 3001, &retry), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(retry, 3999);

    /* another user is not slowed down by wang's failures */
    CHECK_INT_EQ(srv_throttle_admit(t, "li", 3001, &retry), ZD_OK);
    CHECK_INT_EQ(retry, 0);
    srv_throttle_succeed(t, "li");
    CHECK_INT_EQ(srv_throttle_failures(t, "li"), 0);

    /* the right password after the wait: admitted, and success forgets the count */
    CHECK_INT_EQ(srv_throttle_admit(t, "wang", 7000, &retry), ZD_OK);
    srv_throttle_succeed(t, "wang");
    CHECK_INT_EQ(srv_throttle_failures(t, "wang"), 0);
    CHECK_INT_EQ(attempt(t, "wang", 7000, &retry), ZD_OK);
    CHECK_INT_EQ(attempt(t, "wang", 7000, &retry), ZD_OK);
    CHECK_INT_EQ(attempt(t, "wang", 7000, &retry), ZD_OK);
    CHECK_INT_EQ(attempt(t, "wang", 7000, &retry), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(retry, 1000);
    srv_throttle_destroy(t);
}

/* A client retrying every 100 ms for 10 s with a wrong password: exactly 6 attempts reach the password
 * check (at 0, 0.1, 0.2, 1.2, 3.2 and 7.2 s) and the other 95 are refused at once. */
static void test_counted_refusals(void)
{
    srv_throttle *t = srv_throttle_create(NULL);
    CHECK(t != NULL);
    int admitted = 0, refused = 0;
    uint64_t admitted_at[8] = {0};
    for (uint64_t now = 0; now <= 10000; now += 100) {
        zd_err rc = attempt(t, "zhao", now, NULL);
        if (rc == ZD_OK) {
            CHECK(admitted < 8);
            admitted_at[admitted++] = now;
        } else {
            CHECK_INT_EQ(rc, ZD_EUNAUTHENTICATED);
            refused++;
        }
    }
    CHECK_INT_EQ(admitted, 6);
    CHECK_INT_EQ(refused, 95);
    const uint64_t want[] = {0, 100, 200, 1200, 3200, 7200};
    for (int i = 0; i < 6; i++)
        CHECK_INT_EQ(admitted_at[i], want[i]);

    /* the cap: retrying every second for half an hour, the waits are 16 s, 32 s, then 60 s each; the
     * longest refusal, one second after a failure, is told 59 s */
    uint64_t retry = 0, longest = 0;
    int more = 0;
    for (uint64_t now = 10000; now < 10000 + 1800000; now += 1000) {
        zd_err rc = attempt(t, "zhao", now, &retry);
        if (rc == ZD_OK)
            more++;
        else if (retry > longest)
            longest = retry;
    }
    CHECK_INT_EQ(longest, 59000);
    CHECK_INT_EQ(more, 32); /* at 16, 32, 64 s, then every 60 s from 124 s */
    CHECK_INT_EQ(srv_throttle_failures(t, "zhao"), 38);
    srv_throttle_destroy(t);
}

static void test_parallel_attempts(void)
{
    /* Four logins sent together, none verified yet: the first three pass, the fourth waits. */
    srv_throttle *t = srv_throttle_create(NULL);
    CHECK(t != NULL);
    uint64_t retry = 0;
    CHECK_INT_EQ(srv_throttle_admit(t, "sun", 50, &retry), ZD_OK);
    CHECK_INT_EQ(srv_throttle_admit(t, "sun", 50, &retry), ZD_OK);
    CHECK_INT_EQ(srv_throttle_admit(t, "sun", 50, &retry), ZD_OK);
    CHECK_INT_EQ(srv_throttle_admit(t, "sun", 50, &retry), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(retry, 1000);
    /* the verifications end later; the wait counts from the last failure */
    srv_throttle_fail(t, "sun", 400);
    srv_throttle_fail(t, "sun", 420);
    srv_throttle_fail(t, "sun", 450);
    CHECK_INT_EQ(srv_throttle_admit(t, "sun", 1449, &retry), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(retry, 1);
    CHECK_INT_EQ(srv_throttle_admit(t, "sun", 1450, &retry), ZD_OK); /* fourth, 2 s */
    CHECK_INT_EQ(srv_throttle_failures(t, "sun"), 4);
    /* that one never got a verdict (database away): taken back, the wait is the third failure's again */
    srv_throttle_abandon(t, "sun");
    CHECK_INT_EQ(srv_throttle_failures(t, "sun"), 3);
    CHECK_INT_EQ(srv_throttle_admit(t, "sun", 2449, &retry), ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(retry, 1);
    CHECK_INT_EQ(srv_throttle_admit(t, "sun", 2450, &retry), ZD_OK);
    srv_throttle_abandon(t, "nobody"); /* not remembered: nothing happens */
    CHECK_INT_EQ(srv_throttle_count(t), 1);
    srv_throttle_destroy(t);
}

static void test_names(void)
{
    srv_throttle *t = srv_throttle_create(NULL);
    CHECK(t != NULL);
    uint64_t retry = 7;
    for (int i = 0; i < 3; i++)
        CHECK_INT_EQ(attempt(t, i % 2 ? "Wang.Fang" : "wang.FANG", 0, &retry), ZD_OK);
    CHECK_INT_EQ(srv_throttle_count(t), 1);
    CHECK_INT_EQ(srv_throttle_failures(t, "WANG.FANG"), 3);
    CHECK_INT_EQ(attempt(t, "wang.fang", 0, &retry), ZD_EUNAUTHENTICATED);

    CHECK_INT_EQ(srv_throttle_admit(t, "", 0, &retry), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(retry, 0);
    CHECK_INT_EQ(srv_throttle_admit(t, NULL, 0, &retry), ZD_EINVALID_ARGUMENT);
    char longest[SRV_THROTTLE_USER_MAX + 2];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    CHECK_INT_EQ(srv_throttle_admit(t, longest, 0, &retry), ZD_EINVALID_ARGUMENT);
    longest[SRV_THROTTLE_USER_MAX] = '\0';
    CHECK_INT_EQ(srv_throttle_admit(t, longest, 0, &retry), ZD_OK);
    CHECK_INT_EQ(srv_throttle_count(t), 2);
    srv_throttle_destroy(t);
}

static void test_forget_and_bound(void)
{
    srv_throttle_policy p = {.free_failures = 2, .forget_ms = 100000, .max_users = 4};
    srv_throttle *t = srv_throttle_create(&p);
    CHECK(t != NULL);
    for (int i = 0; i < 3; i++)
        CHECK_INT_EQ(attempt(t, "zhou", 0, NULL), ZD_OK);
    CHECK_INT_EQ(attempt(t, "zhou", 99999, NULL), ZD_OK); /* fourth failure, not yet forgotten */
    CHECK_INT_EQ(srv_throttle_failures(t, "zhou"), 4);
    CHECK_INT_EQ(attempt(t, "zhou", 99999 + 100000, NULL), ZD_OK); /* quiet long enough: a fresh count */
    CHECK_INT_EQ(srv_throttle_failures(t, "zhou"), 1);

    /* five users into room for four: the one idle longest goes */
    const char *names[] = {"u1", "u2", "u3", "u4", "u5"};
    srv_throttle_succeed(t, "zhou");
    CHECK_INT_EQ(srv_throttle_count(t), 0);
    for (int i = 0; i < 5; i++)
        CHECK_INT_EQ(attempt(t, names[i], 300000 + (uint64_t)i, NULL), ZD_OK);
    CHECK_INT_EQ(srv_throttle_count(t), 4);
    CHECK_INT_EQ(srv_throttle_failures(t, "u1"), 0);
    CHECK_INT_EQ(srv_throttle_failures(t, "u2"), 1);
    CHECK_INT_EQ(srv_throttle_failures(t, "u5"), 1);

    /* stale users at the head are swept on admission */
    CHECK_INT_EQ(attempt(t, "u6", 300010 + 100000, NULL), ZD_OK);
    CHECK_INT_EQ(srv_throttle_count(t), 1);
    srv_throttle_destroy(t);
    srv_throttle_destroy(NULL);
}

static void test_message(void)
{
    char buf[96];
    CHECK_STR_EQ(srv_throttle_message(1, buf, sizeof buf),
                 "too many failed logins for this user; try again in 1 s");
    CHECK_STR_EQ(srv_throttle_message(0, buf, sizeof buf),
                 "too many failed logins for this user; try again in 1 s");
    CHECK_STR_EQ(srv_throttle_message(1500, buf, sizeof buf),
                 "too many failed logins for this user; try again in 2 s");
    CHECK_STR_EQ(srv_throttle_message(60000, buf, sizeof buf),
                 "too many failed logins for this user; try again in 60 s");
}

int main(void)
{
    test_delays();
    test_sequence();
    test_counted_refusals();
    test_parallel_attempts();
    test_names();
    test_forget_and_bound();
    test_message();
    return 0;
}
