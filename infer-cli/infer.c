/* infer.c - ./infer: classifies chest X-rays from the command line.
 *
 *   ./infer [--model FILE] [--json] [--heatmap OUT.png] [--threads N]
 *           [--repeat N] IMAGE...
 *
 * Per image: the verdict, the pneumonia probability and the threshold; text
 * lines or (--json) one JSON object per line. An image the input gate
 * refuses (not a frontal chest X-ray the model can judge) gets
 * "FILE: not a frontal chest X-ray (REASON)" and no verdict or probability;
 * the exit status is then 3. A file that cannot be read or decoded gets an
 * error line (stderr; in JSON mode also an object with "error" on stdout)
 * and the others are still processed; the exit status is then 1, whatever
 * else happened. Bad usage exits with 2. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "analysis.h"
#include "default_model.h"
#include "dicom.h"
#include "image.h"
#include "model.h"

/* What happened to one image (the exit status of a run of only such). */
enum { CLASSIFIED = 0, FAILED = 1, REFUSED = 3 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: infer [--model FILE] [--json] [--heatmap OUT.png] [--threads N]\n"
            "             [--repeat N] IMAGE...\n"
            "Classifies chest X-rays (PNG, JPEG or DICOM) as NORMAL or PNEUMONIA.\n"
            "  --model FILE     model file (default: $PNEUMONIA_MODEL, else the\n"
            "                   nearest " DEFAULT_MODEL_FILE " or the\n"
            "                   installed share/" DEFAULT_MODEL_PACKAGE "/" DEFAULT_MODEL_FILE "\n"
            "                   in the program's directory or above it)\n"
            "  --json           one JSON object per image and line\n"
            "  --heatmap OUT    write the Grad-CAM heat map over the X-ray as PNG;\n"
            "                   with several images, OUT-1.png, OUT-2.png, ... (the\n"
            "                   number is the image's position on the command line)\n"
            "  --threads N      threads for the model (default: $CNN_THREADS, else\n"
            "                   all cores)\n"
            "  --repeat N       run the model N times per image and report the\n"
            "                   median time of one model call (forward_ms)\n"
            "An image that is not a frontal chest X-ray the model can judge gets\n"
            "\"IMAGE: not a frontal chest X-ray (REASON)\" and no verdict.\n"
            "Exit status: 0 all images classified, 1 some could not be read,\n"
            "2 bad usage, 3 some were refused as not a frontal chest X-ray (and\n"
            "none failed to be read).\n");
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

/* Classifies one image; returns CLASSIFIED, REFUSED, or FAILED after
 * reporting an error. */
static int classify(cnn_model *m, const char *path, int json,
                    const char *heat_out, int repeat)
{
    cnn_image img;
    cnn_dicom_info dicom;
    cnn_error err;
    if (cnn_image_load_ex(path, 0, &img, &dicom, &err) != CNN_OK) {
        report_error(path, err.message, json);
        return 1;
    }
    if (dicom.frames > 1)
        fprintf(stderr, "infer: %s: note: DICOM with %d frames: the first is "
                        "analysed\n", path, dicom.frames);
    analysis a = {0};
    double *times = calloc((size_t)repeat, sizeof *times);
    cnn_status st = times ? CNN_OK : cnn_fail(&err, CNN_ERR_NOMEM, "out of memory");
    for (int r = 0; r < repeat && st == CNN_OK; r++) {
        analysis_free(&a);
        st = analysis_run(m, &img, dicom.refusal, heat_out != NULL, &a, &err);
        times[r] = a.model_seconds;
    }
    int refused = st == CNN_OK && a.check != CNN_GATE_ACCEPTED;
    if (st == CNN_OK && heat_out && !refused) {
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
            if (!o || (heat_out && !refused &&
                       !cJSON_AddStringToObject(o, "heatmap", heat_out)) ||
                !cJSON_AddNumberToObject(o, "forward_ms", ms)) {
                st = cnn_fail(&err, CNN_ERR_NOMEM, "out of memory");
                report_error(path, "out of memory", json);
            } else {
                print_json(o);
            }
            cJSON_Delete(o);
        } else if (refused) {
            printf("%s: not a frontal chest X-ray (%s)\n", path, a.reason);
            fflush(stdout);
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
    return st != CNN_OK ? FAILED : refused ? REFUSED : CLASSIFIED;
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
    char found[PATH_MAX];
    if (!model_path || !*model_path) {
        default_model_path(found, sizeof found);
        model_path = found;
    }

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
    int count = argc - optind, failed = 0, refused = 0;
    for (int i = 0; i < count; i++) {
        char path[4096];
        if (heat_out)
            heatmap_path(path, sizeof path, heat_out, i + 1, count);
        int r = classify(m, argv[optind + i], json, heat_out ? path : NULL, repeat);
        failed += r == FAILED;
        refused += r == REFUSED;
    }
    cnn_model_free(m);
    return failed ? FAILED : refused ? REFUSED : CLASSIFIED;
}
