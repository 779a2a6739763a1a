/* The server's clock: real time, plus in the test build an offset read from [server] test_clock_file.
 *
 * Tests move the county's calendar by writing an offset in seconds (an integer, may be negative) into
 * that file and sending SIGHUP. The production build (meson -Dtest_clock=false) never reads the file.
 * Everything that decides a date or a deadline asks this module; logs keep the real time. */
#ifndef ZD_SERVER_CLOCK_H
#define ZD_SERVER_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* (Re)reads the offset from path; "" means none (offset 0), and so does a file that does not exist.
 * Returns 0, or -1 with a reason in err when the file holds something else than an integer (the offset
 * is then left as it was). Without ZD_TEST_CLOCK the path is ignored and the offset is always 0. */
int srv_clock_load(const char *path, char *err, size_t errlen);

/* The offset in force, in seconds. */
int64_t srv_clock_offset_s(void);

/* Milliseconds since the Unix epoch, UTC, including the offset. */
int64_t srv_clock_now_ms(void);

/* The county's date (local time zone of the server) at instant ms, as YYYYMMDD. */
uint32_t srv_clock_date(int64_t ms);

#endif
