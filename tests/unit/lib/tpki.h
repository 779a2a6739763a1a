/* Test certificates for C tests, made with deploy/pki into a temporary folder.
 *
 * tpki_make creates, under a fresh /tmp folder: the county CA (dir/pki), a server certificate for
 * localhost, a good school device (dir/good), a revoked one (dir/revoked, listed in the CRL), and a device
 * from a foreign CA (dir/foreign). tpki_remove deletes the folder. Header-only: each test is one file. */
#ifndef ZD_TESTS_TPKI_H
#define ZD_TESTS_TPKI_H

#include <stdio.h>
#include <stdlib.h>

#include "check.h"

typedef struct tpki {
    char dir[64];
    char path[512];
} tpki;

static inline int tpki__run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "tpki: '%s' failed (%d)\n", cmd, rc);
    return rc;
}

static inline void tpki_make(tpki *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/zd-tpki-XXXXXX");
    CHECK(mkdtemp(t->dir) != NULL);
    const char *src = getenv("ZD_SRC");
    CHECK(src != NULL);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "set -e; p='%s/deploy/pki'; d='%s'; "
             "$p --dir $d/pki init; $p --dir $d/pki issue-server localhost; "
             "$p --dir $d/pki issue-device S43010101 --out $d/good >/dev/null; "
             "$p --dir $d/pki issue-device T430101 --level township --out $d/township >/dev/null; "
             "$p --dir $d/pki issue-device S43010102 --out $d/revoked >/dev/null; "
             "$p --dir $d/pki revoke $d/revoked/cert.pem; "
             "$p --dir $d/other init; $p --dir $d/other issue-device S43010101 --out $d/foreign >/dev/null",
             src, t->dir);
    char quiet[2200];
    snprintf(quiet, sizeof(quiet), "( %s ) 2>/dev/null", cmd);
    CHECK_INT_EQ(tpki__run(quiet), 0);
}

/* dir/rel, in a buffer that lives until the next call. */
static inline const char *tpki_path(tpki *t, const char *rel)
{
    snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, rel);
    return t->path;
}

static inline void tpki_remove(tpki *t)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    CHECK_INT_EQ(tpki__run(cmd), 0);
}

#endif
