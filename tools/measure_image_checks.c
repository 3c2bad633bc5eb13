/* measure_image_checks.c - the measurement behind the input gate's image
 * checks (lib/input_gate.h): each measure's distribution over every PNG or
 * JPEG in the given folders, its threshold, the margin of the worst image,
 * and how many images the checks refuse.
 *
 *   measure_image_checks DIR...
 *
 * e.g. measure_image_checks ../shared/data/chest_xray/train/{NORMAL,PNEUMONIA}
 * Exit status: 0 when every image passes, 1 when some are refused or
 * cannot be read, 2 on bad usage. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "input_gate.h"

static int is_image(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
                   !strcasecmp(dot, ".jpeg"));
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Appends DIR's image files (sorted) to *paths. */
static int list_dir(const char *dir, char ***paths, int *n)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "measure_image_checks: cannot open %s\n", dir);
        return 0;
    }
    int first = *n;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !is_image(e->d_name))
            continue;
        char **grown = realloc(*paths, (size_t)(*n + 1) * sizeof *grown);
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        if (!grown || !path) {
            free(path);
            closedir(d);
            return 0;
        }
        *paths = grown;
        snprintf(path, len, "%s/%s", dir, e->d_name);
        (*paths)[(*n)++] = path;
    }
    closedir(d);
    qsort(*paths + first, (size_t)(*n - first), sizeof **paths, compare_text);
    return 1;
}

typedef struct {
    const char *name;
    double threshold;
    int upper;        /* refused above the threshold (else below) */
} measure;

static void report(const measure *m, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    static const double q[] = {0.001, 0.01, 0.5, 0.99, 0.999};
    printf("%-11s min %8.3f", m->name, v[0]);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        printf("  %4.1f%% %8.3f", q[i] * 100, v[(int)floor(q[i] * (n - 1))]);
    double worst = m->upper ? v[n - 1] : v[0];
    /* margin: how many times the worst image would have to change to fail */
    double margin = m->upper ? m->threshold / worst : worst / m->threshold;
    printf("  max %8.3f  threshold %s %g  margin x%.2f\n", v[n - 1],
           m->upper ? "<=" : ">=", m->threshold, margin);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: measure_image_checks DIR...\n"
                "Measures every PNG/JPEG in the folders as the input gate's image\n"
                "checks do and prints each measure's distribution, threshold and\n"
                "margin, and the images refused.\n");
        return argc < 2 ? 2 : 0;
    }
    char **paths = NULL;
    int n = 0;
    for (int i = 1; i < argc; i++)
        if (!list_dir(argv[i], &paths, &n))
            return 1;
    if (n == 0) {
        fprintf(stderr, "measure_image_checks: no PNG or JPEG files\n");
        return 1;
    }
    enum { SIDE, ASPECT, CHROMA, SPREAD, TWO, COUNT };
    const measure measures[COUNT] = {
        {"min side", CNN_GATE_MIN_SIDE, 0},
        {"aspect", CNN_GATE_MAX_ASPECT, 1},
        {"chroma", CNN_GATE_MAX_CHROMA, 1},
        {"spread", CNN_GATE_MIN_SPREAD, 0},
        {"two-levels", CNN_GATE_MAX_TWO_LEVELS, 1},
    };
    double *values[COUNT];
    for (int k = 0; k < COUNT; k++)
        if (!(values[k] = malloc((size_t)n * sizeof(double))))
            return 1;
    int refused = 0, unreadable = 0, measured = 0;
    for (int i = 0; i < n; i++) {
        cnn_image img;
        cnn_error err;
        if (cnn_image_load(paths[i], 0, &img, &err) != CNN_OK) {
            fprintf(stderr, "measure_image_checks: %s\n", err.message);
            unreadable++;
            continue;
        }
        cnn_image_measures m;
        cnn_image_measure(&img, &m);
        cnn_image_free(&img);
        values[SIDE][measured] = m.width < m.height ? m.width : m.height;
        values[ASPECT][measured] = m.aspect;
        values[CHROMA][measured] = m.chroma;
        values[SPREAD][measured] = m.spread;
        values[TWO][measured] = m.two_levels;
        measured++;
        cnn_gate_check c = cnn_image_checks(&m);
        if (c != CNN_GATE_ACCEPTED) {
            printf("refused: %s (%s)\n", paths[i], cnn_gate_reason(c));
            refused++;
        }
    }
    printf("%d images measured, %d refused, %d unreadable\n", measured, refused,
           unreadable);
    for (int k = 0; k < COUNT && measured > 0; k++)
        report(&measures[k], values[k], measured);
    for (int k = 0; k < COUNT; k++)
        free(values[k]);
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return refused || unreadable ? 1 : 0;
}
