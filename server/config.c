/* Loading the server configuration; see config.h.
 *
 * One table lists every key with its type, range and default; defaults go through the same setter as
 * file values, so a default can never be a value the file could not hold. The file is read line by line
 * through our own reader so that we know the line number in the handler (Debian's libinih is built
 * without INI_HANDLER_LINENO) and can see section headers that have no keys. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"

#ifndef ZD_SQL_DIR
#define ZD_SQL_DIR "sql"
#endif

enum kind { K_STR, K_U64, K_PORT, K_ADDR, K_LEVEL };

typedef struct key {
    const char *section;
    const char *name;
    enum kind kind;
    size_t offset;
    uint64_t min, max;
    const char *def;
} key;

#define STR(s, n, d) {s, #n, K_STR, offsetof(srv_config, n), 0, 0, d}
#define U64(s, n, lo, hi, d) {s, #n, K_U64, offsetof(srv_config, n), lo, hi, d}

static const key keys[] = {
    {"server", "listen", K_ADDR, offsetof(srv_config, listen), 0, 0, "127.0.0.1"},
    {"server", "port", K_PORT, offsetof(srv_config, port), 0, 65535, "7443"},
    STR("server", cert, "var/pki/server.pem"),
    STR("server", key, "var/pki/server.key"),
    STR("server", ca, "var/pki/ca.pem"),
    STR("server", crl, "var/pki/crl.pem"),
    {"server", "log_level", K_LEVEL, offsetof(srv_config, log_level), 0, 0, "info"},
    STR("server", test_clock_file, ""),
    U64("server", password_memory_kib, 8, 4194304, "65536"),
    U64("server", password_passes, 1, 64, "3"),

    U64("limits", max_frame_bytes, 16, 64u << 20, "1048576"),
    U64("limits", max_connections, 1, 1000000, "4096"),
    U64("limits", max_handshakes, 1, 1000000, "256"),
    U64("limits", max_inflight, 1, 65536, "32"),
    U64("limits", max_output_bytes, 1024, 1u << 30, "4194304"),
    U64("limits", handshake_timeout_ms, 1, 3600000, "10000"),
    U64("limits", frame_timeout_ms, 1, 3600000, "15000"),
    U64("limits", idle_timeout_ms, 1, 86400000, "600000"),

    STR("database", conninfo, ""),
    STR("database", owner_conninfo, ""),
    STR("database", migrations_dir, ZD_SQL_DIR),
    STR("database", scope_key_file, "var/scope.key"),
    U64("database", pool_size, 1, 256, "4"),
    U64("database", queue_max, 1, 1000000, "1024"),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {"server", "limits", "database"};

/* Parses one value into cfg. Returns 0, -1 for a bad value (why in msg), -2 when memory ran out. */
static int set(srv_config *cfg, const key *k, const char *value, char *msg, size_t n)
{
    char *base = (char *)cfg + k->offset;
    switch (k->kind) {
    case K_ADDR:
    case K_STR: {
        unsigned char tmp[16];
        if (k->kind == K_ADDR && uv_inet_pton(AF_INET, value, tmp) != 0 &&
            uv_inet_pton(AF_INET6, value, tmp) != 0) {
            snprintf(msg, n, "'%s' is not an IPv4 or IPv6 address", value);
            return -1;
        }
        char *copy = strdup(value);
        if (copy == NULL)
            return -2;
        char **slot = (char **)(void *)base;
        free(*slot);
        *slot = copy;
        return 0;
    }
    case K_LEVEL: {
        int level = srv_log_level_parse(value);
        if (level < 0) {
            snprintf(msg, n, "'%s' is not one of error, warn, info, debug", value);
            return -1;
        }
        *(int *)(void *)base = level;
        return 0;
    }
    case K_U64:
    case K_PORT: {
        if (value[0] < '0' || value[0] > '9') {
            snprintf(msg, n, "'%s' is not a whole number", value);
            return -1;
        }
        errno = 0;
        char *end = NULL;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0') {
            snprintf(msg, n, "'%s' is not a whole number", value);
            return -1;
        }
        if (v < k->min || v > k->max) {
            snprintf(msg, n, "%llu is out of range %llu..%llu", v, (unsigned long long)k->min,
                     (unsigned long long)k->max);
            return -1;
        }
        if (k->kind == K_PORT)
            *(uint32_t *)(void *)base = (uint32_t)v;
        else
            *(uint64_t *)(void *)base = (uint64_t)v;
        return 0;
    }
    }
    return -1;
}

void srv_config_finish(srv_config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].kind == K_STR || keys[i].kind == K_ADDR) {
            char **slot = (char **)(void *)((char *)cfg + keys[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

int srv_config_init(srv_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    char msg[128];
    for (size_t i = 0; i < NKEYS; i++) {
        if (set(cfg, &keys[i], keys[i].def, msg, sizeof(msg)) != 0) {
            srv_config_finish(cfg);
            return -1;
        }
    }
    return 0;
}

typedef struct parse {
    srv_config *cfg;
    FILE *f;
    const char *path;
    int line;        /* the line the reader handed out last */
    int failed;
    char *err;
} parse;

static int known_section(const char *s)
{
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        if (strcmp(s, sections[i]) == 0)
            return 1;
    return 0;
}

static void fail(parse *p, const char *what)
{
    if (p->failed)
        return;
    p->failed = 1;
    snprintf(p->err, SRV_CONFIG_ERRBUF, "%s:%d: %s", p->path, p->line, what);
}

/* fgets with a line count, and a look at section headers (libinih does not call us for empty ones). */
static char *reader(char *str, int num, void *stream)
{
    parse *p = stream;
    char *r = fgets(str, num, p->f);
    if (r == NULL)
        return NULL;
    p->line++;
    const char *s = str;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (end != NULL) {
            char name[64];
            size_t len = (size_t)(end - s - 1);
            if (len >= sizeof(name))
                len = sizeof(name) - 1;
            memcpy(name, s + 1, len);
            name[len] = '\0';
            if (!known_section(name)) {
                char what[128];
                snprintf(what, sizeof(what), "unknown section [%s]", name);
                fail(p, what);
            }
        }
    }
    return r;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse *p = user;
    if (p->failed)
        return 1;
    if (!known_section(section))
        return 1; /* already reported by the reader (or a key before any section, below) */
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0) {
            char msg[192], what[320];
            int rc = set(p->cfg, &keys[i], value, msg, sizeof(msg));
            if (rc == -2) {
                fail(p, "out of memory");
            } else if (rc != 0) {
                snprintf(what, sizeof(what), "bad value for %s in [%s]: %s", name, section, msg);
                fail(p, what);
            }
            return 1;
        }
    }
    char what[200];
    snprintf(what, sizeof(what), "unknown key '%s' in [%s]", name, section);
    fail(p, what);
    return 1;
}

/* A key before any section header arrives with section "". */
static int handler_top(void *user, const char *section, const char *name, const char *value)
{
    parse *p = user;
    if (section[0] == '\0' && !p->failed) {
        char what[200];
        snprintf(what, sizeof(what), "key '%s' outside any section", name);
        fail(p, what);
        return 1;
    }
    return handler(user, section, name, value);
}

int srv_config_load(const char *path, srv_config *cfg, char errbuf[SRV_CONFIG_ERRBUF])
{
    errbuf[0] = '\0';
    if (srv_config_init(cfg) != 0) {
        snprintf(errbuf, SRV_CONFIG_ERRBUF, "%s: out of memory", path);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(errbuf, SRV_CONFIG_ERRBUF, "%s: cannot open: %s", path, strerror(errno));
        goto fail_cfg;
    }
    parse p = {.cfg = cfg, .f = f, .path = path, .err = errbuf};
    int rc = ini_parse_stream(reader, &p, handler_top, &p);
    fclose(f);
    if (p.failed)
        goto fail_cfg;
    if (rc != 0) {
        /* libinih's own complaint: a line that is neither a section, a key=value nor a comment. */
        snprintf(errbuf, SRV_CONFIG_ERRBUF, "%s:%d: not a section, key = value or comment", path, rc);
        goto fail_cfg;
    }
    return 0;

fail_cfg:
    srv_config_finish(cfg);
    return -1;
}
