/* Building scope tokens and loading their key; see scope.h. The format here and the verifier in
 * sql/003_scope.sql must agree byte for byte: tests/sql checks them against each other. */
#include "scope.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int srv_scope_key_load(const char *path, unsigned char key[SRV_SCOPE_KEY_MAX], size_t *len, char *errbuf,
                       size_t errlen)
{
    char line[2 * SRV_SCOPE_KEY_MAX + 4];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(errbuf, errlen, "%s: cannot read", path);
        return -1;
    }
    line[n] = '\0';
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (n < 64 || n > 2 * SRV_SCOPE_KEY_MAX || n % 2 != 0) {
        snprintf(errbuf, errlen, "%s: a scope key is one line of 64 to 128 hex digits", path);
        return -1;
    }
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval((unsigned char)line[i]), lo = hexval((unsigned char)line[i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(errbuf, errlen, "%s: a scope key is one line of 64 to 128 hex digits", path);
            return -1;
        }
        key[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}

int srv_scope_key_ensure(const char *path, unsigned char key[SRV_SCOPE_KEY_MAX], size_t *len, char *errbuf,
                         size_t errlen)
{
    if (access(path, F_OK) == 0)
        return srv_scope_key_load(path, key, len, errbuf, errlen);

    unsigned char fresh[32];
    char hex[2 * sizeof(fresh) + 2];
    if (RAND_bytes(fresh, (int)sizeof(fresh)) != 1) {
        snprintf(errbuf, errlen, "no randomness for a new scope key");
        return -1;
    }
    for (size_t i = 0; i < sizeof(fresh); i++)
        snprintf(hex + 2 * i, 3, "%02x", fresh[i]);
    hex[2 * sizeof(fresh)] = '\n';
    hex[2 * sizeof(fresh) + 1] = '\0';
    /* O_EXCL: if someone made the file meanwhile, theirs wins and we read it below. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    if (fd >= 0) {
        size_t want = strlen(hex);
        ssize_t wrote = write(fd, hex, want);
        int failed = wrote < 0 || (size_t)wrote != want;
        if (close(fd) != 0)
            failed = 1;
        if (failed) {
            snprintf(errbuf, errlen, "%s: cannot write the new scope key", path);
            unlink(path);
            return -1;
        }
    }
    return srv_scope_key_load(path, key, len, errbuf, errlen);
}

static int code_valid(const char *code)
{
    size_t n = strlen(code);
    if (n < 1 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

int srv_scope_token_build(char *out, size_t outlen, const unsigned char *key, size_t keylen, const char *level,
                          const char *code, int backend_pid, int64_t expires_unix)
{
    if (out == NULL || key == NULL || keylen < 32 || level == NULL || code == NULL || backend_pid <= 0 ||
        expires_unix < 0 || expires_unix > INT64_C(999999999999))
        return -1;
    if (strcmp(level, "school") != 0 && strcmp(level, "township") != 0 && strcmp(level, "county") != 0)
        return -1;
    if (!code_valid(code))
        return -1;
    int n = snprintf(out, outlen, "v1:%s:%s:%d:%" PRId64, level, code, backend_pid, expires_unix);
    if (n < 0 || (size_t)n + 1 + 64 + 1 > outlen)
        return -1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)out, (size_t)n, mac, &maclen) == NULL ||
        maclen != 32)
        return -1;
    char *p = out + n;
    *p++ = ':';
    for (unsigned int i = 0; i < maclen; i++)
        snprintf(p + 2 * i, 3, "%02x", mac[i]);
    return 0;
}
