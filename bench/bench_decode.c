/* bench_decode.c - time to decode image files from memory with
 * cnn_image_decode (the path ./infer, the CGI and the trainer take):
 * median of REPEAT runs per file, after one warm-up run.
 *
 *   bench_decode FILE...
 *
 * bench/bench_dicom.sh feeds it a 2500x2048 16-bit JPEG-lossless DICOM and
 * a 16-bit grey PNG with the same pixels (make bench-dicom). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "image.h"

#define REPEAT 7

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_decode FILE...\n");
        return 2;
    }
    for (int f = 1; f < argc; f++) {
        FILE *in = fopen(argv[f], "rb");
        if (!in) {
            fprintf(stderr, "bench_decode: cannot open %s\n", argv[f]);
            return 1;
        }
        fseek(in, 0, SEEK_END);
        long len = ftell(in);
        fseek(in, 0, SEEK_SET);
        uint8_t *bytes = malloc(len > 0 ? (size_t)len : 1);
        if (!bytes || fread(bytes, 1, (size_t)len, in) != (size_t)len) {
            fprintf(stderr, "bench_decode: cannot read %s\n", argv[f]);
            return 1;
        }
        fclose(in);
        double times[REPEAT];
        cnn_image img = {0};
        for (int r = -1; r < REPEAT; r++) {
            cnn_error err;
            cnn_image_free(&img);
            double t0 = now();
            if (cnn_image_decode(bytes, (size_t)len, 0, &img, &err) != CNN_OK) {
                fprintf(stderr, "bench_decode: %s: %s\n", argv[f], err.message);
                return 1;
            }
            if (r >= 0)
                times[r] = now() - t0;
        }
        qsort(times, REPEAT, sizeof *times, compare);
        double ms = times[REPEAT / 2] * 1e3;
        printf("%-44s %5dx%-5d %6.1f MB  decode %7.1f ms (median of %d), %5.1f Mpixel/s\n",
               argv[f], img.width, img.height, len / 1e6, ms, REPEAT,
               (double)img.width * img.height / (ms * 1e3));
        cnn_image_free(&img);
        free(bytes);
    }
    return 0;
}
