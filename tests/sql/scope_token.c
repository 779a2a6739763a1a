/* scope-token: prints the scope token server/scope.c builds, so SQL tests can act as the server would.
 *
 *   scope-token KEYFILE LEVEL CODE PID [TTL_SECONDS]
 *
 * TTL defaults to SRV_SCOPE_TTL_S and may be negative (an expired token, for the tests that must see it
 * refused). Exit 0 and the token on stdout, or 1 with the reason on stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "scope.h"

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: scope-token KEYFILE LEVEL CODE PID [TTL_SECONDS]\n");
        return 1;
    }
    unsigned char key[SRV_SCOPE_KEY_MAX];
    size_t keylen = 0;
    char err[256];
    if (srv_scope_key_load(argv[1], key, &keylen, err, sizeof(err)) != 0) {
        fprintf(stderr, "scope-token: %s\n", err);
        return 1;
    }
    char *end = NULL;
    errno = 0;
    long pid = strtol(argv[4], &end, 10);
    if (errno != 0 || *end != '\0' || pid <= 0 || pid > 2147483647L) {
        fprintf(stderr, "scope-token: bad pid '%s'\n", argv[4]);
        return 1;
    }
    long ttl = SRV_SCOPE_TTL_S;
    if (argc == 6) {
        errno = 0;
        ttl = strtol(argv[5], &end, 10);
        if (errno != 0 || *end != '\0') {
            fprintf(stderr, "scope-token: bad ttl '%s'\n", argv[5]);
            return 1;
        }
    }
    char token[SRV_SCOPE_TOKEN_MAX];
    if (srv_scope_token_build(token, sizeof(token), key, keylen, argv[2], argv[3], (int)pid,
                              (int64_t)time(NULL) + ttl) != 0) {
        fprintf(stderr, "scope-token: invalid level or code\n");
        return 1;
    }
    puts(token);
    return 0;
}
