/* What the school's capture commands share (cmd_school.c, cmd_report.c): opening the home, the local store
 * and the device key, and saving a sealed record to the outbox before trying a quick sync. */
#ifndef ZD_CLIENT_CMD_SCHOOL_H
#define ZD_CLIENT_CMD_SCHOOL_H

#include <protobuf-c/protobuf-c.h>

#include "cmd.h"
#include "record.h"
#include "store.h"

typedef struct school_env {
    cli_home home;
    cli_store *store;
    cli_signer *signer; /* NULL unless opened with need_key */
} school_env;

/* Opens ctx's home, its store and (need_key) the device key into e. Returns 0, or the exit status after
 * saying why on stderr (then e holds nothing to finish). */
int cli__school_env_open(const cli_ctx *ctx, school_env *e, int need_key);

/* Closes what e holds; a zeroed e is fine. */
void cli__school_env_finish(school_env *e);

/* Seals msg with the device key, saves it in the outbox (on disk when "saved … UUID" is printed) and tries
 * a quick sync, whose failure is not an error. what names the record in the output. Returns the exit
 * status: 0 once saved. */
int cli__school_capture(school_env *e, ProtobufCMessage *msg, const char *what);

#endif
