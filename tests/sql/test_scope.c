/* Unit test of server/scope.c: the token's exact text for a known key (the HMAC checked against an
 * independent value computed with Python's hmac module), argument checks, and key file parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "scope.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    unsigned char key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)i;
    char tok[SRV_SCOPE_TOKEN_MAX];
    CHECK_INT_EQ(srv_scope_token_build(tok, sizeof(tok), key, sizeof(key), "school", "S43010101", 4242,
                                       1800000000),
                 0);
    /* python3 -c 'import hmac,hashlib; print(hmac.new(bytes(range(32)),
     *     b"v1:school:S43010101:4242:1800000000", hashlib.sha256).hexdigest())' */
    CHECK_STR_EQ(tok, "v1:school:S43010101:4242:1800000000:"
                      "5c3c7b54620fae51c3403f6d0bedb0dfe0590e2187ee000021aee956d9de2588");

    CHECK_INT_EQ(srv_scope_token_build(tok, sizeof(tok), key, sizeof(key), "district", "X", 1, 1), -1);
    CHECK_INT_EQ(srv_scope_token_build(tok, sizeof(tok), key, sizeof(key), "county", "C4301;--", 1, 1), -1);
    CHECK_INT_EQ(srv_scope_token_build(tok, sizeof(tok), key, sizeof(key), "county", "", 1, 1), -1);
    CHECK_INT_EQ(srv_scope_token_build(tok, sizeof(tok), key, 16, "county", "C4301", 1, 1), -1);
    CHECK_INT_EQ(srv_scope_token_build(tok, sizeof(tok), key, sizeof(key), "county", "C4301", 0, 1), -1);
    CHECK_INT_EQ(srv_scope_token_build(tok, 40, key, sizeof(key), "county", "C4301", 1, 1), -1);

    char dir[] = "/tmp/zd-scope-test.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/key", dir);
    unsigned char got[SRV_SCOPE_KEY_MAX];
    size_t len = 0;
    char err[256];

    CHECK_INT_EQ(srv_scope_key_load(path, got, &len, err, sizeof(err)), -1);
    CHECK(strstr(err, "cannot open") != NULL);
    write_file(path, "abc\n");
    CHECK_INT_EQ(srv_scope_key_load(path, got, &len, err, sizeof(err)), -1);
    write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n");
    CHECK_INT_EQ(srv_scope_key_load(path, got, &len, err, sizeof(err)), -1);
    write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
    CHECK_INT_EQ(srv_scope_key_load(path, got, &len, err, sizeof(err)), 0);
    CHECK_INT_EQ((int)len, 32);
    CHECK(memcmp(got, key, 32) == 0);
    unlink(path);

    /* ensure: creates a fresh key once, then reads the same one. */
    CHECK_INT_EQ(srv_scope_key_ensure(path, got, &len, err, sizeof(err)), 0);
    CHECK_INT_EQ((int)len, 32);
    unsigned char again[SRV_SCOPE_KEY_MAX];
    size_t len2 = 0;
    CHECK_INT_EQ(srv_scope_key_ensure(path, again, &len2, err, sizeof(err)), 0);
    CHECK(len2 == len && memcmp(got, again, len) == 0);
    unlink(path);
    rmdir(dir);
    printf("ok\n");
    return 0;
}
