/* `zerodrop ping`: is the county server there, and who does it think we are?
 *
 * Opens a session (TLS with the device certificate, Hello, Welcome), sends one Ping and prints the
 * server version, the institution the server read from our certificate, and the round trip of the
 * Ping in milliseconds. */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "cmd.h"
#include "rpc.h"

static int run(const cli_ctx *ctx, int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return cli_fail("ping: unexpected argument '%s' (try zerodrop ping --help)", argv[i]);
    }
    cli_home home;
    if (cli_home_open(ctx, &home) != 0)
        return 1;
    char err[CLI_RPC_ERRLEN];
    cli_rpc *rpc = cli_rpc_open(&home, err);
    if (rpc == NULL)
        return cli_fail("%s", err);

    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Ping ping = ZERODROP__V1__PING__INIT;
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    ping.client_time_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_PING;
    env.ping = &ping;
    uint64_t t0 = uv_hrtime();
    Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, &env, err);
    uint64_t t1 = uv_hrtime();
    if (reply == NULL) {
        cli_rpc_close(rpc);
        return cli_fail("%s", err);
    }
    int rc = 0;
    if (reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR) {
        rc = cli_fail("server refused the ping: %s", reply->error->message);
    } else if (reply->body_case != ZERODROP__V1__ENVELOPE__BODY_PONG) {
        rc = cli_fail("server answered the ping with something else than Pong");
    } else {
        const Zerodrop__V1__Welcome *w = cli_rpc_welcome(rpc);
        double ms = (double)(t1 - t0) / 1e6;
        const char *level = cli_level_name((int)w->institution->level);
        if (json) {
            printf("{\"server_version\":");
            cli_json_str(stdout, w->server_version);
            printf(",\"institution\":{\"level\":");
            cli_json_str(stdout, level);
            printf(",\"code\":");
            cli_json_str(stdout, w->institution->code);
            printf("},\"today\":%u,\"rtt_ms\":%.3f}\n", w->today, ms);
        } else {
            printf("server: zerodropd %s\n", w->server_version);
            printf("institution: %s %s\n", level, w->institution->code);
            printf("round trip: %.1f ms\n", ms);
        }
    }
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    cli_rpc_close(rpc);
    return rc;
}

const cli_command cli_cmd_ping = {
    .name = "ping",
    .summary = "check the county server: its version, who it says we are, the round trip",
    .usage = "usage: zerodrop [--home DIR] ping [--json]\n"
             "\n"
             "Connects to the county server named in DIR/settings.ini with this device's certificate and\n"
             "prints the server version, the institution the server read from the certificate (level and\n"
             "code) and the round-trip time of one ping in milliseconds.\n"
             "\n"
             "  --json   print the same as one JSON object:\n"
             "           "
             "{\"server_version\":\"0.1.0\",\"institution\":{\"level\":\"school\",\"code\":\"S43010101\"},\n"
             "            \"today\":20260304,\"rtt_ms\":0.412}\n",
    .run = run,
};
