/* Login throttle: a bounded table of users with recent failures, in a chained hash with an LRU list.
 *
 * The LRU list is ordered by last activity, oldest first, so both jobs that need "the oldest" are cheap:
 * forgetting users whose quiet spell has passed (a few at the head on every admission) and making room
 * when the table is full (the head goes). */
#include "throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct user_entry {
    struct user_entry *chain;         /* next in the bucket */
    struct user_entry *older, *newer; /* LRU list */
    uint32_t hash;
    unsigned failures;
    uint64_t last_ms;  /* last admission or failure */
    uint64_t until_ms; /* no attempt before this */
    char name[];       /* folded */
} user_entry;

struct srv_throttle {
    srv_throttle_policy policy;
    user_entry **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    user_entry *oldest, *newest;
};

/* Forgetting stale users at the head is bounded per call, so one admission never walks the table. */
#define STALE_SWEEP 4

static srv_throttle_policy policy_filled(const srv_throttle_policy *p)
{
    srv_throttle_policy d = SRV_THROTTLE_POLICY_DEFAULT;
    if (p == NULL)
        return d;
    srv_throttle_policy r = *p;
    /* free_failures = 0 is a real choice (delay from the first failure), so only the others default. */
    if (r.base_ms == 0)
        r.base_ms = d.base_ms;
    if (r.cap_ms == 0)
        r.cap_ms = d.cap_ms;
    if (r.forget_ms == 0)
        r.forget_ms = d.forget_ms;
    if (r.max_users == 0)
        r.max_users = d.max_users;
    return r;
}

uint64_t srv_throttle_delay_ms(const srv_throttle_policy *policy, unsigned f)
{
    srv_throttle_policy p = policy_filled(policy);
    if (f <= p.free_failures)
        return 0;
    unsigned k = f - p.free_failures - 1;
    if (k >= 63 || p.base_ms > (p.cap_ms >> k))
        return p.cap_ms;
    uint64_t d = p.base_ms << k;
    return d < p.cap_ms ? d : p.cap_ms;
}

static char fold(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static uint32_t hash_name(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)fold(s[i]);
        h *= 16777619u;
    }
    return h;
}

static int name_equal(const user_entry *e, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (e->name[i] != fold(s[i]))
            return 0;
    return e->name[len] == '\0';
}

/* Returns the length of a usable user name, or 0 for an empty or oversized one. */
static size_t name_length(const char *user)
{
    if (user == NULL)
        return 0;
    size_t len = strnlen(user, SRV_THROTTLE_USER_MAX + 1);
    return len > SRV_THROTTLE_USER_MAX ? 0 : len;
}

static user_entry *find(const srv_throttle *t, const char *user, size_t len, uint32_t h)
{
    for (user_entry *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->chain)
        if (e->hash == h && name_equal(e, user, len))
            return e;
    return NULL;
}

static void lru_unlink(srv_throttle *t, user_entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        t->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        t->newest = e->older;
    e->older = e->newer = NULL;
}

static void lru_append(srv_throttle *t, user_entry *e)
{
    e->older = t->newest;
    e->newer = NULL;
    if (t->newest)
        t->newest->newer = e;
    else
        t->oldest = e;
    t->newest = e;
}

static void touch(srv_throttle *t, user_entry *e)
{
    lru_unlink(t, e);
    lru_append(t, e);
}

static void forget(srv_throttle *t, user_entry *e)
{
    user_entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    lru_unlink(t, e);
    t->count--;
    free(e);
}

static uint64_t elapsed(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0; /* a clock stepped back counts as no time passed */
}

static int stale(const srv_throttle *t, const user_entry *e, uint64_t now)
{
    return now >= e->until_ms && elapsed(now, e->last_ms) >= t->policy.forget_ms;
}

static user_entry *remember(srv_throttle *t, const char *user, size_t len, uint32_t h)
{
    if (t->count >= t->policy.max_users && t->oldest)
        forget(t, t->oldest);
    user_entry *e = calloc(1, sizeof *e + len + 1);
    if (e == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++)
        e->name[i] = fold(user[i]);
    e->hash = h;
    size_t b = h & (t->nbuckets - 1);
    e->chain = t->buckets[b];
    t->buckets[b] = e;
    lru_append(t, e);
    t->count++;
    return e;
}

srv_throttle *srv_throttle_create(const srv_throttle_policy *policy)
{
    srv_throttle *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->policy = policy_filled(policy);
    size_t n = 16;
    while (n < t->policy.max_users && n < ((size_t)1 << 20))
        n <<= 1;
    t->nbuckets = n;
    t->buckets = calloc(n, sizeof *t->buckets);
    if (t->buckets == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void srv_throttle_destroy(srv_throttle *t)
{
    if (t == NULL)
        return;
    user_entry *e = t->oldest;
    while (e) {
        user_entry *next = e->newer;
        free(e);
        e = next;
    }
    free(t->buckets);
    free(t);
}

zd_err srv_throttle_admit(srv_throttle *t, const char *user, uint64_t now_ms, uint64_t *retry_ms)
{
    if (retry_ms)
        *retry_ms = 0;
    size_t len = name_length(user);
    if (len == 0)
        return ZD_EINVALID_ARGUMENT;

    for (int i = 0; i < STALE_SWEEP && t->oldest && stale(t, t->oldest, now_ms); i++)
        forget(t, t->oldest);

    uint32_t h = hash_name(user, len);
    user_entry *e = find(t, user, len, h);
    if (e && stale(t, e, now_ms)) {
        forget(t, e);
        e = NULL;
    }
    if (e && now_ms < e->until_ms) {
        /* Refused: the wait is not extended, and the refusal itself is not a failure. */
        if (retry_ms)
            *retry_ms = e->until_ms - now_ms;
        return ZD_EUNAUTHENTICATED;
    }
    if (e == NULL) {
        e = remember(t, user, len, h);
        if (e == NULL)
            return ZD_EINTERNAL;
    } else {
        touch(t, e);
    }
    /* Counted as failed until forgiven, so attempts sent together meet the delay too. */
    if (e->failures < UINT32_MAX)
        e->failures++;
    e->last_ms = now_ms;
    e->until_ms = now_ms + srv_throttle_delay_ms(&t->policy, e->failures);
    return ZD_OK;
}

void srv_throttle_fail(srv_throttle *t, const char *user, uint64_t now_ms)
{
    size_t len = name_length(user);
    if (len == 0)
        return;
    uint32_t h = hash_name(user, len);
    user_entry *e = find(t, user, len, h);
    if (e == NULL) {
        /* Forgotten meanwhile (a success of a parallel attempt, or evicted): count this failure anew. */
        e = remember(t, user, len, h);
        if (e == NULL)
            return;
        e->failures = 1;
    } else {
        touch(t, e);
    }
    e->last_ms = now_ms;
    uint64_t until = now_ms + srv_throttle_delay_ms(&t->policy, e->failures);
    if (until > e->until_ms)
        e->until_ms = until;
}

void srv_throttle_abandon(srv_throttle *t, const char *user)
{
    size_t len = name_length(user);
    if (len == 0)
        return;
    user_entry *e = find(t, user, len, hash_name(user, len));
    if (e == NULL || e->failures == 0)
        return;
    e->failures--;
    /* The wait shrinks back to what the earlier failures earned, counted from the last activity. */
    uint64_t until = e->last_ms + srv_throttle_delay_ms(&t->policy, e->failures);
    if (until < e->until_ms)
        e->until_ms = until;
}

void srv_throttle_succeed(srv_throttle *t, const char *user)
{
    size_t len = name_length(user);
    if (len == 0)
        return;
    user_entry *e = find(t, user, len, hash_name(user, len));
    if (e)
        forget(t, e);
}

unsigned srv_throttle_failures(const srv_throttle *t, const char *user)
{
    size_t len = name_length(user);
    if (len == 0)
        return 0;
    const user_entry *e = find(t, user, len, hash_name(user, len));
    return e ? e->failures : 0;
}

size_t srv_throttle_count(const srv_throttle *t)
{
    return t->count;
}

char *srv_throttle_message(uint64_t retry_ms, char *buf, size_t n)
{
    uint64_t s = (retry_ms + 999) / 1000;
    if (s == 0)
        s = 1;
    snprintf(buf, n, "too many failed logins for this user; try again in %llu s", (unsigned long long)s);
    return buf;
}
