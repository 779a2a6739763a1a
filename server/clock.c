/* The server clock with the test build's offset; see clock.h. */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t offset_s;

int64_t srv_clock_offset_s(void)
{
    return offset_s;
}

int srv_clock_load(const char *path, char *err, size_t errlen)
{
#ifdef ZD_TEST_CLOCK
    if (path == NULL || path[0] == '\0') {
        offset_s = 0;
        return 0;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT) {
            offset_s = 0;
            return 0;
        }
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char line[64] = {0};
    char *got = fgets(line, sizeof(line), f);
    fclose(f);
    if (got == NULL) {
        offset_s = 0; /* an empty file: no offset */
        return 0;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(line, &end, 10);
    while (end && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (errno != 0 || end == line || (end && *end != '\0')) {
        snprintf(err, errlen, "%s: not a whole number of seconds", path);
        return -1;
    }
    offset_s = (int64_t)v;
    return 0;
#else
    (void)path;
    (void)err;
    (void)errlen;
    offset_s = 0;
    return 0;
#endif
}

int64_t srv_clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + offset_s) * 1000 + ts.tv_nsec / 1000000;
}

uint32_t srv_clock_date(int64_t ms)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL)
        return 0;
    return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}
