/* The command table and the helpers every command uses; see cmd.h. */
#include "cmd.h"

#include <stdarg.h>
#include <string.h>

const cli_command *const cli_commands[] = {
    &cli_cmd_ping,
    &cli_cmd_login,
    &cli_cmd_logout,
    &cli_cmd_admin,
    /* one line per command, e.g. &cli_cmd_enroll, */
    NULL,
};

const cli_command *cli_command_find(const char *name)
{
    for (size_t i = 0; cli_commands[i] != NULL; i++)
        if (strcmp(cli_commands[i]->name, name) == 0)
            return cli_commands[i];
    return NULL;
}

int cli_fail(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* one line, whatever the reason held */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "zerodrop: %s\n", line);
    return 1;
}

int cli_fail_reply(const char *what, const Zerodrop__V1__Envelope *reply)
{
    if (reply->body_case != ZERODROP__V1__ENVELOPE__BODY_ERROR || reply->error == NULL)
        return cli_fail("%s: the server answered with something unexpected", what);
    const Zerodrop__V1__Error *e = reply->error;
    if (e->field != NULL && e->field[0] != '\0')
        return cli_fail("%s: %s (field %s)", what, e->message, e->field);
    return cli_fail("%s: %s", what, e->message);
}

int cli_home_open(const cli_ctx *ctx, cli_home *h)
{
    char err[CLI_PATH_MAX + 256];
    if (cli_home_load(h, ctx->home_dir, err, sizeof(err)) != 0)
        return cli_fail("%s", err);
    return 0;
}

void cli_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}
