/* Runs a fuzz target over files named on the command line, without libFuzzer: lets the seed corpus (and any
 * crash file a fuzzing run leaves behind) be replayed as an ordinary test, under gcc and the sanitizers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        uint8_t *buf = malloc(1 << 20);
        if (buf == NULL) {
            fclose(f);
            return 1;
        }
        size_t n = fread(buf, 1, 1 << 20, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        ran++;
    }
    printf("replayed %d inputs\n", ran);
    return ran > 0 ? 0 : 1;
}
