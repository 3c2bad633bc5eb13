/* safetensors.c - libFuzzer target: cnn_st_open on arbitrary bytes (written
 * to a private temporary file, since files are mapped). A file it accepts
 * must have every tensor readable in full and cnn_st_read_f32 must work on
 * each; anything else must be refused cleanly, never crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "safetensors.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_safetensors.%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        if (f)
            fclose(f);
        return 0;
    }
    fclose(f);
    cnn_st_file *st;
    cnn_error err;
    if (cnn_st_open(&st, path, &err) == CNN_OK) {
        for (int i = 0; i < cnn_st_count(st); i++) {
            const cnn_st_tensor *t = cnn_st_tensor_at(st, i);
            if (t->count > (1u << 20))
                continue; /* keep each input cheap */
            float *dst = malloc(t->count * sizeof *dst + 1);
            if (dst && cnn_st_read_f32(st, t->name, t->ndim, t->shape, dst, &err) != CNN_OK)
                abort(); /* a tensor that open accepted must be readable */
            free(dst);
        }
        cnn_st_metadata(st, "architecture");
        cnn_st_close(st);
    }
    unlink(path);
    return 0;
}
