/* Reading the client home; see home.h. */
#include "home.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_home_default(char *out, size_t n)
{
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0')
        return -1;
    int w = snprintf(out, n, "%s/.zerodrop", home);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

static int set_str(char *dst, size_t n, const char *v)
{
    size_t len = strlen(v);
    if (len >= n)
        return -1;
    memcpy(dst, v, len + 1);
    return 0;
}

static int set_uint(unsigned *dst, const char *v, unsigned long lo, unsigned long hi)
{
    if (v[0] < '0' || v[0] > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long x = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || x < lo || x > hi)
        return -1;
    *dst = (unsigned)x;
    return 0;
}

typedef struct parse {
    cli_home *h;
    char bad[128]; /* the first bad key, "section.name" */
} parse;

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse *p = user;
    cli_home *h = p->h;
    int rc = 0;
    if (strcmp(section, "server") == 0) {
        if (strcmp(name, "host") == 0)
            rc = set_str(h->host, sizeof(h->host), value);
        else if (strcmp(name, "port") == 0)
            rc = set_uint(&h->port, value, 1, 65535);
        else if (strcmp(name, "server_name") == 0)
            rc = set_str(h->server_name, sizeof(h->server_name), value);
        else if (strcmp(name, "timeout_ms") == 0)
            rc = set_uint(&h->timeout_ms, value, 1, 3600000);
    } else if (strcmp(section, "client") == 0) {
        if (strcmp(name, "institution") == 0)
            rc = set_str(h->institution, sizeof(h->institution), value);
        else if (strcmp(name, "level") == 0)
            rc = set_str(h->level, sizeof(h->level), value);
        else if (strcmp(name, "lang") == 0)
            rc = set_str(h->lang, sizeof(h->lang), value);
    }
    if (rc != 0) {
        if (p->bad[0] == '\0')
            snprintf(p->bad, sizeof(p->bad), "%s in [%s]: '%s'", name, section, value);
        return 0; /* libinih then reports this line's number */
    }
    return 1;
}

static int join(char *out, const char *dir, const char *name)
{
    int w = snprintf(out, CLI_PATH_MAX, "%s/%s", dir, name);
    return (w < 0 || w >= CLI_PATH_MAX) ? -1 : 0;
}

int cli_home_load(cli_home *h, const char *dir, char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    if (set_str(h->dir, sizeof(h->dir), dir) != 0 || join(h->cert, dir, "cert.pem") != 0 ||
        join(h->key, dir, "key.pem") != 0 || join(h->ca, dir, "ca.pem") != 0 ||
        join(h->store, dir, "store.sqlite") != 0 || join(h->session, dir, "session") != 0) {
        snprintf(err, errlen, "the home folder name is too long");
        return -1;
    }
    snprintf(h->host, sizeof(h->host), "127.0.0.1");
    h->port = 7443;
    snprintf(h->server_name, sizeof(h->server_name), "localhost");
    h->timeout_ms = 10000;
    snprintf(h->lang, sizeof(h->lang), "en");

    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "no client home at %s (make one with deploy/pki issue-device)", dir);
        return -1;
    }
    char settings[CLI_PATH_MAX];
    if (join(settings, dir, "settings.ini") != 0) {
        snprintf(err, errlen, "the home folder name is too long");
        return -1;
    }
    parse p = {.h = h};
    int rc = ini_parse(settings, handler, &p);
    if (rc == -1)
        return 0; /* no settings.ini: the defaults */
    if (rc != 0) {
        if (p.bad[0])
            snprintf(err, errlen, "%s:%d: bad value for %s", settings, rc, p.bad);
        else
            snprintf(err, errlen, "%s:%d: not a section, key = value or comment", settings, rc);
        return -1;
    }
    return 0;
}
