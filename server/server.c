/* The server proper (placeholder: the listener and sessions land in the next step). */
#include "server.h"

#include "log.h"

int srv_server_run(const srv_config *cfg)
{
    srv_log(SRV_LOG_ERROR, "not_serving", "reason=transport_not_yet_merged listen=%s port=%u", cfg->listen,
            (unsigned)cfg->port);
    return 1;
}
