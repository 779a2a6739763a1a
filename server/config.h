/* The server's configuration: the INI file named by `zerodropd --config FILE`, read with libinih.
 *
 * Every key of HACKING.md has a default, so an empty file is a valid configuration. An unknown section or
 * key, a malformed value or a value out of range is an error naming FILE:LINE, because a typo in a county's
 * configuration must never silently fall back to a default. Relative paths are taken as given (relative to
 * the server's working directory). */
#ifndef ZD_SERVER_CONFIG_H
#define ZD_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define SRV_CONFIG_ERRBUF 512

typedef struct srv_config {
    /* [server] */
    char *listen;            /* IPv4 or IPv6 literal */
    uint32_t port;           /* 0: let the kernel choose (the log line `listening` names the port) */
    char *cert;
    char *key;
    char *ca;
    char *crl;
    int log_level;           /* srv_log_level */
    char *test_clock_file;   /* "" when unset */
    uint64_t password_memory_kib; /* argon2id cost of new hashes and the dummy: memory (KiB) */
    uint64_t password_passes;     /* and passes; stored hashes carry their own */

    /* [limits] */
    uint64_t max_frame_bytes;
    uint64_t max_connections;
    uint64_t max_handshakes;
    uint64_t max_inflight;
    uint64_t max_output_bytes;
    uint64_t handshake_timeout_ms;
    uint64_t frame_timeout_ms;
    uint64_t idle_timeout_ms;

    /* [database] */
    char *conninfo;          /* "" : transport only */
    char *owner_conninfo;
    char *migrations_dir;    /* default: the source tree's sql/ */
    char *scope_key_file;    /* secret for scope tokens (sql/README.md); migrate creates it when missing */
    uint64_t pool_size;
    uint64_t queue_max;
} srv_config;

/* Fills cfg with every default. The strings are heap copies: release with srv_config_finish. Returns 0,
 * or -1 when memory ran out (cfg is then finished). */
int srv_config_init(srv_config *cfg);

/* Releases cfg's strings; cfg may then be initialised again. Safe on a zeroed cfg. */
void srv_config_finish(srv_config *cfg);

/* Initialises cfg with the defaults and applies the file at path. Returns 0; or -1 with cfg finished and
 * errbuf (SRV_CONFIG_ERRBUF bytes) holding one line such as "zerodropd.ini:7: unknown key 'prot' in
 * [server]" or "x.ini: cannot open: No such file or directory". */
int srv_config_load(const char *path, srv_config *cfg, char errbuf[SRV_CONFIG_ERRBUF]);

#endif
