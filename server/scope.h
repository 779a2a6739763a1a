/* The scope a database transaction runs in (sql/003_scope.sql, sql/README.md).
 *
 * Row-level security in PostgreSQL shows a transaction only the rows of the institution named by the scope
 * token the server sets first thing in that transaction. A token is
 *     v1:<level>:<code>:<backend pid>:<expires, Unix seconds>:<HMAC-SHA256, 64 hex digits>
 * keyed with the secret from `[database] scope_key_file`, which the database also holds and the application
 * role cannot read. Binding the backend pid means a token seen on one connection is useless on another; the
 * expiry (real time, never the test clock) bounds how long any token lives. */
#ifndef ZD_SERVER_SCOPE_H
#define ZD_SERVER_SCOPE_H

#include <stddef.h>
#include <stdint.h>

/* The statement to run, with the token as $1, at the start of every transaction (before any other). */
#define SRV_SCOPE_SQL "SELECT set_config('zd.scope', $1, true)"

/* Token lifetime the server uses: long enough for any transaction, short enough to be worthless later. */
#define SRV_SCOPE_TTL_S 300

/* Buffer size that holds any token, with its NUL. */
#define SRV_SCOPE_TOKEN_MAX 160

#define SRV_SCOPE_KEY_MAX 64

/* Reads the scope key from path: one line of 64–128 hex digits (32–64 bytes). On success stores the bytes
 * in key (SRV_SCOPE_KEY_MAX bytes), their number in *len and returns 0; otherwise returns -1 with one line
 * in errbuf (errlen bytes). */
int srv_scope_key_load(const char *path, unsigned char key[SRV_SCOPE_KEY_MAX], size_t *len, char *errbuf,
                       size_t errlen);

/* Like srv_scope_key_load, but when path does not exist creates it first (mode 0600) with a fresh random
 * 32-byte key. Used by `zerodropd migrate`, which installs the key into the database. */
int srv_scope_key_ensure(const char *path, unsigned char key[SRV_SCOPE_KEY_MAX], size_t *len, char *errbuf,
                         size_t errlen);

/* Writes the token for level ("school", "township" or "county") and code ([A-Za-z0-9_-]{1,32}) on the
 * connection whose backend pid is backend_pid (PQbackendPID), valid until expires_unix, into out (outlen
 * bytes, SRV_SCOPE_TOKEN_MAX is enough). Returns 0, or -1 when an argument is invalid or out is too small. */
int srv_scope_token_build(char *out, size_t outlen, const unsigned char *key, size_t keylen, const char *level,
                          const char *code, int backend_pid, int64_t expires_unix);

#endif
