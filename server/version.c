/* The server's version string, in one place. */
#include "version.h"

const char *srv_version(void)
{
    return ZD_VERSION;
}
