/* The client's version string, in one place. */
#include "version.h"

const char *cli_version(void)
{
    return ZD_VERSION;
}
