/* server/config: every default, file values, and exact FILE:LINE errors for unknown or bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "log.h"

static char dir[] = "/tmp/zd-config-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_defaults(void)
{
    srv_config cfg;
    char err[SRV_CONFIG_ERRBUF];
    CHECK_INT_EQ(srv_config_load(write_file("empty.ini", ""), &cfg, err), 0);
    CHECK_STR_EQ(cfg.listen, "127.0.0.1");
    CHECK_INT_EQ(cfg.port, 7443);
    CHECK_STR_EQ(cfg.cert, "var/pki/server.pem");
    CHECK_STR_EQ(cfg.key, "var/pki/server.key");
    CHECK_STR_EQ(cfg.ca, "var/pki/ca.pem");
    CHECK_STR_EQ(cfg.crl, "var/pki/crl.pem");
    CHECK_INT_EQ(cfg.log_level, SRV_LOG_INFO);
    CHECK_STR_EQ(cfg.test_clock_file, "");
    CHECK_INT_EQ(cfg.max_frame_bytes, 1048576);
    CHECK_INT_EQ(cfg.max_connections, 4096);
    CHECK_INT_EQ(cfg.max_handshakes, 256);
    CHECK_INT_EQ(cfg.max_inflight, 32);
    CHECK_INT_EQ(cfg.max_output_bytes, 4194304);
    CHECK_INT_EQ(cfg.handshake_timeout_ms, 10000);
    CHECK_INT_EQ(cfg.frame_timeout_ms, 15000);
    CHECK_INT_EQ(cfg.idle_timeout_ms, 600000);
    CHECK_STR_EQ(cfg.conninfo, "");
    CHECK_STR_EQ(cfg.owner_conninfo, "");
    CHECK(cfg.migrations_dir != NULL && cfg.migrations_dir[0] != '\0');
    CHECK_INT_EQ(cfg.pool_size, 4);
    CHECK_INT_EQ(cfg.queue_max, 1024);
    srv_config_finish(&cfg);
}

static void test_values(void)
{
    srv_config cfg;
    char err[SRV_CONFIG_ERRBUF];
    const char *p = write_file("full.ini", "; a county server\n"
                                           "[server]\n"
                                           "listen = ::1          ; loopback v6\n"
                                           "port = 0\n"
                                           "cert = /etc/zd/server.pem\n"
                                           "log_level = debug\n"
                                           "test_clock_file =     ; unset\n"
                                           "\n"
                                           "[limits]\n"
                                           "max_inflight = 2\n"
                                           "idle_timeout_ms = 250\n"
                                           "[database]\n"
                                           "conninfo = host=127.0.0.1 port=5999 dbname=zerodrop\n");
    CHECK_INT_EQ(srv_config_load(p, &cfg, err), 0);
    CHECK_STR_EQ(cfg.listen, "::1");
    CHECK_INT_EQ(cfg.port, 0);
    CHECK_STR_EQ(cfg.cert, "/etc/zd/server.pem");
    CHECK_STR_EQ(cfg.key, "var/pki/server.key");
    CHECK_INT_EQ(cfg.log_level, SRV_LOG_DEBUG);
    CHECK_STR_EQ(cfg.test_clock_file, "");
    CHECK_INT_EQ(cfg.max_inflight, 2);
    CHECK_INT_EQ(cfg.idle_timeout_ms, 250);
    CHECK_INT_EQ(cfg.max_handshakes, 256);
    CHECK_STR_EQ(cfg.conninfo, "host=127.0.0.1 port=5999 dbname=zerodrop");
    srv_config_finish(&cfg);
}

static void expect_error(const char *name, const char *text, const char *suffix)
{
    srv_config cfg;
    char err[SRV_CONFIG_ERRBUF];
    const char *p = write_file(name, text);
    char want[600];
    snprintf(want, sizeof(want), "%s%s", p, suffix);
    CHECK_INT_EQ(srv_config_load(p, &cfg, err), -1);
    CHECK_STR_EQ(err, want);
    /* cfg is finished on failure: finishing again is harmless */
    srv_config_finish(&cfg);
}

static void test_errors(void)
{
    expect_error("key.ini", "[server]\nport = 7443\nprot = 1\n", ":3: unknown key 'prot' in [server]");
    expect_error("sect.ini", "[server]\n\n[limit]\n", ":3: unknown section [limit]");
    expect_error("sectkey.ini", "[limits]\nmax_inflight=3\n[databse]\npool_size = 2\n",
                 ":3: unknown section [databse]");
    expect_error("num.ini", "[limits]\nmax_inflight = 12x\n",
                 ":2: bad value for max_inflight in [limits]: '12x' is not a whole number");
    expect_error("neg.ini", "[limits]\nmax_inflight = -1\n",
                 ":2: bad value for max_inflight in [limits]: '-1' is not a whole number");
    expect_error("range.ini", "[server]\nport = 70000\n",
                 ":2: bad value for port in [server]: 70000 is out of range 0..65535");
    expect_error("zero.ini", "[limits]\n\nmax_connections = 0\n",
                 ":3: bad value for max_connections in [limits]: 0 is out of range 1..1000000");
    expect_error("addr.ini", "[server]\nlisten = localhost\n",
                 ":2: bad value for listen in [server]: 'localhost' is not an IPv4 or IPv6 address");
    expect_error("level.ini", "[server]\nlog_level = loud\n",
                 ":2: bad value for log_level in [server]: 'loud' is not one of error, warn, info, debug");
    expect_error("top.ini", "port = 1\n", ":1: key 'port' outside any section");
    expect_error("junk.ini", "[server]\nthis line is junk\n", ":2: not a section, key = value or comment");

    srv_config cfg;
    char err[SRV_CONFIG_ERRBUF];
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/none.ini", dir);
    CHECK_INT_EQ(srv_config_load(missing, &cfg, err), -1);
    char want[600];
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", missing);
    CHECK_STR_EQ(err, want);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    test_defaults();
    test_values();
    test_errors();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT_EQ(system(cmd), 0);
    return 0;
}
