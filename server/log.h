/* The server's log: one line per event on stderr, `<ISO time> <level> <event> key=value ...`.
 *
 * Lines are written with one fprintf each so they do not interleave; times are UTC with milliseconds
 * (the real clock, never the test clock, so logs stay comparable with other machines). Values that may
 * hold spaces are the caller's to quote (srv_log_quote helps). */
#ifndef ZD_SERVER_LOG_H
#define ZD_SERVER_LOG_H

#include <stddef.h>

typedef enum srv_log_level {
    SRV_LOG_ERROR = 0,
    SRV_LOG_WARN = 1,
    SRV_LOG_INFO = 2,
    SRV_LOG_DEBUG = 3,
} srv_log_level;

/* Lines above this level are dropped. Default: SRV_LOG_INFO. */
void srv_log_level_set(srv_log_level level);

/* The level's name ("info"), and the reverse; srv_log_level_parse returns -1 for an unknown name. */
const char *srv_log_level_name(srv_log_level level);
int srv_log_level_parse(const char *name);

/* Writes one line: time, level, event, then fmt (key=value pairs). fmt may be "" for none. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void srv_log(srv_log_level level, const char *event, const char *fmt, ...);

/* Writes s into out (size n) as a log value: unchanged when it has no space, quote, backslash or control
 * character, else in double quotes with those escaped. Truncates to fit; always NUL-terminates. Returns out. */
const char *srv_log_quote(char *out, size_t n, const char *s);

#endif
