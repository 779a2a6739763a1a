/* The server's line log; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static srv_log_level current = SRV_LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};

void srv_log_level_set(srv_log_level level)
{
    current = level;
}

const char *srv_log_level_name(srv_log_level level)
{
    if ((unsigned)level > SRV_LOG_DEBUG)
        return "?";
    return names[level];
}

int srv_log_level_parse(const char *name)
{
    for (int i = 0; i <= SRV_LOG_DEBUG; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void srv_log(srv_log_level level, const char *event, const char *fmt, ...)
{
    if (level > current)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[40];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

    char rest[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ %s %s%s%s\n", stamp, (long)(ts.tv_nsec / 1000000), names[level], event,
            rest[0] ? " " : "", rest);
}

const char *srv_log_quote(char *out, size_t n, const char *s)
{
    if (n == 0)
        return out;
    int plain = s[0] != '\0';
    for (const char *p = s; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
            plain = 0;
    if (plain) {
        snprintf(out, n, "%s", s);
        return out;
    }
    size_t o = 0;
    if (o + 1 < n)
        out[o++] = '"';
    for (const char *p = s; *p && o + 3 < n; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            out[o++] = '?';
        } else {
            out[o++] = (char)ch;
        }
    }
    if (o + 1 < n)
        out[o++] = '"';
    out[o] = '\0';
    return out;
}
