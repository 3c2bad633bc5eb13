/* infer.c - ./infer: classifies chest X-rays from the command line.
 *
 *   ./infer [--model FILE] [--json] [--heatmap OUT.png] [--threads N]
 *           [--repeat N] IMAGE...
 *
 * Per image: the verdict, the pneumonia probability and the threshold; text
 * lines or (--json) one JSON object per line. A file that cannot be read or
 * decoded gets an error line (stderr; in JSON mode also an object with
 * "error" on stdout) and the others are still processed; the exit status is
 * then 1. Bad usage exits with 2. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "analysis.h"
#include "image.h"
#include "model.h"

#define DEFAULT_MODEL "weights/pneumonia.safetensors"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: infer [--model FILE] [--json] [--heatmap OUT.png] [--threads N]\n"
            "             [--repeat N] IMAGE...\n"
            "Classifies chest X-rays (PNG or JPEG) as NORMAL or PNEUMONIA.\n"
            "  --model FILE     model file (default: $PNEUMONIA_MODEL, else\n"
            "                   " DEFAULT_MODEL ")\n"
            "  --json           one JSON object per image and line\n"
            "  --heatmap OUT    write the Grad-CAM heat map over the X-ray as PNG;\n"
            "                   with several images, OUT-1.png, OUT-2.png, ... (the\n"
            "                   number is the image's position on the command line)\n"
            "  --threads N      threads for the model (default: $CNN_THREADS, else\n"
            "                   all cores)\n"
            "  --repeat N       run the model N times per image and report the\n"
            "                   median time of one model call (forward_ms)\n"
            "Exit status: 0 all images classified, 1 some failed, 2 bad usage.\n");
}

/* OUT for a single image; "OUT-<n>.png" (before a .png suffix) otherwise. */
static void heatmap_path(char *buf, size_t size, const char *out, int n,
                         int count)
{
    if (count == 1) {
        snprintf(buf, size, "%s", out);
        return;
    }
    size_t len = strlen(out);
    int has_ext = len > 4 && strcmp(out + len - 4, ".png") == 0;
    snprintf(buf, size, "%.*s-%d.png", (int)(has_ext ? len - 4 : len), out, n);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_json(cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    if (text) {
        printf("%s\n", text);
        free(text);
    }
    fflush(stdout);
}

static void report_error(const char *path, const char *message, int json)
{
    fprintf(stderr, "infer: %s\n", message);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (o && cJSON_AddStringToObject(o, "file", path) &&
            cJSON_AddStringToObject(o, "error", message))
            print_json(o);
        cJSON_Delete(o);
    }
}

/* Classifies one image; returns 0 on success, 1 after reporting an error. */
static int classify(cnn_model *m, const char *path, int json,
                    const char *heat_out, int repeat)
{
    cnn_image img;
    cnn_error err;
    if (cnn_image_load(path, 0, &img, &err) != CNN_OK) {
        report_error(path, err.message, json);
        return 1;
    }
    analysis a = {0};
    double *times = calloc((size_t)repeat, sizeof *times);
    cnn_status st = times ? CNN_OK : cnn_fail(&err, CNN_ERR_NOMEM, "out of memory");
    for (int r = 0; r < repeat && st == CNN_OK; r++) {
        analysis_free(&a);
        st = analysis_run(m, &img, heat_out != NULL, &a, &err);
        times[r] = a.model_seconds;
    }
    if (st == CNN_OK && heat_out) {
        uint8_t *png;
        size_t len;
        st = analysis_png(&a, &img, 0, &png, &len, &err);
        if (st == CNN_OK) {
            FILE *f = fopen(heat_out, "wb");
            if (!f || fwrite(png, 1, len, f) != len)
                st = cnn_fail(&err, CNN_ERR_IO, "cannot write %s", heat_out);
            if (f && fclose(f) != 0 && st == CNN_OK)
                st = cnn_fail(&err, CNN_ERR_IO, "cannot write %s", heat_out);
            free(png);
        }
    }
    if (st != CNN_OK) {
        char message[700];
        snprintf(message, sizeof message, "%s: %s", path, err.message);
        report_error(path, message, json);
    } else {
        qsort(times, (size_t)repeat, sizeof *times, compare_double);
        double ms = times[repeat / 2] * 1e3;
        cnn_model_config *cfg = cnn_model_config_of(m);
        if (json) {
            cJSON *o = analysis_json(&a, cfg, path);
            if (!o || (heat_out && !cJSON_AddStringToObject(o, "heatmap", heat_out)) ||
                !cJSON_AddNumberToObject(o, "forward_ms", ms)) {
                st = cnn_fail(&err, CNN_ERR_NOMEM, "out of memory");
                report_error(path, "out of memory", json);
            } else {
                print_json(o);
            }
            cJSON_Delete(o);
        } else {
            printf("%s: %s (pneumonia probability %.4f, threshold %.4f)", path,
                   a.verdict, a.probability, a.threshold);
            if (heat_out)
                printf(", heat map %s", heat_out);
            if (repeat > 1)
                printf(", model %.1f ms", ms);
            printf("\n");
            fflush(stdout);
        }
    }
    free(times);
    analysis_free(&a);
    cnn_image_free(&img);
    return st == CNN_OK ? 0 : 1;
}

static int parse_positive(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 1024)
        return 0;
    *out = (int)v;
    return 1;
}

int main(int argc, char **argv)
{
    const char *model_path = getenv("PNEUMONIA_MODEL");
    const char *heat_out = NULL;
    int json = 0, threads = 0, repeat = 1;
    static const struct option options[] = {
        {"model", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},
        {"heatmap", required_argument, NULL, 'H'},
        {"threads", required_argument, NULL, 't'},
        {"repeat", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'j': json = 1; break;
        case 'H': heat_out = optarg; break;
        case 't':
            if (!parse_positive(optarg, &threads)) {
                fprintf(stderr, "infer: --threads needs a number from 1 to 1024\n");
                usage(stderr);
                return 2;
            }
            break;
        case 'r':
            if (!parse_positive(optarg, &repeat)) {
                fprintf(stderr, "infer: --repeat needs a number from 1 to 1024\n");
                usage(stderr);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "infer: no image given\n");
        usage(stderr);
        return 2;
    }
    if (!model_path || !*model_path)
        model_path = DEFAULT_MODEL;

    cnn_set_threads(threads);
    cnn_model *m;
    cnn_error err;
    if (cnn_model_load(&m, model_path, &err) != CNN_OK) {
        fprintf(stderr, "infer: cannot load the model: %s\n", err.message);
        return 1;
    }
    /* with the results, so that it goes wherever they go (JSON carries it
     * in every object) */
    if (!json)
        printf("Note: %s\n", ANALYSIS_NOTICE);
    int count = argc - optind, failed = 0;
    for (int i = 0; i < count; i++) {
        char path[4096];
        if (heat_out)
            heatmap_path(path, sizeof path, heat_out, i + 1, count);
        failed += classify(m, argv[optind + i], json, heat_out ? path : NULL,
                           repeat);
    }
    cnn_model_free(m);
    return failed ? 1 : 0;
}
