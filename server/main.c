/* zerodropd entry point (placeholder until the transport lands). */
#include <stdio.h>
#include <string.h>

#include "version.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("zerodropd %s\n", srv_version());
        return 0;
    }
    fprintf(stderr, "zerodropd: not yet serving\n");
    return 1;
}
