/* zerodrop entry point (placeholder until the transport lands). */
#include <stdio.h>
#include <string.h>

#include "version.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("zerodrop %s\n", cli_version());
        return 0;
    }
    fprintf(stderr, "zerodrop: not yet\n");
    return 1;
}
