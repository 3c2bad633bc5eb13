/* border_mass.c - `trainer border-mass`: the share of Grad-CAM heat mass in
 * the outer border band (cnn_heatmap_border_share), per image and
 * summarised, over the patient-grouped validation split the trainer carves
 * from DATA/train (same split function, same defaults: the same images) or
 * over every image of a folder. Each image runs the way ./infer runs it
 * with --heatmap (analyse_file.h). Maps without mass (Grad-CAM of the
 * pneumonia logit can be all zero, typically on clear NORMAL images) and
 * images refused by the input gate have no share and are counted apart. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyse_file.h"
#include "border_mass.h"
#include "data.h"
#include "heatmap.h"
#include "model.h"
#include "paths.h"
#include "progress.h"
#include "train.h"

typedef struct {
    const char *model_file, *data_dir, *split_dir, *out_dir;
    double band, val_fraction;
    uint64_t seed;
    int max_per_class, threads;
} border_options;

static void usage(FILE *out, const border_options *d)
{
    fprintf(out,
            "usage: trainer border-mass --model-file FILE (--data DIR | --split DIR)\n"
            "                           [--band F] [--out DIR] [options]\n\n"
            "The share of each image's Grad-CAM heat mass (the map ./infer\n"
            "--heatmap shows) that lies in the outer border band, --band of the\n"
            "side on each side; mean and median over the images, by class, and\n"
            "the share of a uniform map, 1 - (1 - 2 band)^2, for reference. Far\n"
            "above that, the model looks at borders, shoulders and markers\n"
            "rather than the lungs. Writes border_mass.csv (per image) and\n"
            "border_mass.txt (the key value lines) in --out (default: the model\n"
            "file's directory).\n\n"
            "  --model-file FILE  model to measure\n"
            "  --data DIR         the validation split the trainer carves from\n"
            "                     DIR/train (patient-grouped, seeded)\n"
            "  --split DIR        every image of DIR/NORMAL and DIR/PNEUMONIA instead\n"
            "  --band F           border band, share of the side (default %g)\n"
            "  --val-fraction F   as in training (default %g)\n"
            "  --seed N           as in training (default %llu)\n"
            "  --max-per-class N  as in training (default %d: all)\n"
            "  --out DIR          where to write the CSV and the summary\n"
            "  --threads N        compute threads (default 0: $CNN_THREADS or all cores)\n",
            d->band, d->val_fraction, (unsigned long long)d->seed, d->max_per_class);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Mean and median of the shares >= 0 among share[0..n) whose label is
 * `label` (-1: any); returns how many there were. */
static int summarise(const double *share, const int *labels, int n, int label,
                     double *mean, double *median)
{
    double *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    int k = 0;
    double sum = 0;
    for (int i = 0; v && i < n; i++)
        if (share[i] >= 0 && (label < 0 || labels[i] == label)) {
            v[k++] = share[i];
            sum += share[i];
        }
    *mean = *median = NAN;
    if (k > 0) {
        qsort(v, (size_t)k, sizeof *v, compare_double);
        *mean = sum / k;
        *median = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
    }
    free(v);
    return k;
}

static void print_keys(FILE *f, const border_options *o, const double *share,
                       const int *labels, int n, int refused, double seconds)
{
    static const char *const suffix[3] = {"", "_normal", "_pneumonia"};
    double uniform = 1 - (1 - 2 * o->band) * (1 - 2 * o->band);
    double mean, median;
    int maps = summarise(share, labels, n, -1, &mean, &median);
    fprintf(f, "images %d\nrefused %d\nempty_maps %d\nband %g\nuniform_share %.6f\n",
            n, refused, n - refused - maps, o->band, uniform);
    for (int c = -1; c < 2; c++) {
        maps = summarise(share, labels, n, c, &mean, &median);
        fprintf(f, "maps%s %d\nborder_mass_mean%s %.6f\nborder_mass_median%s %.6f\n",
                suffix[c + 1], maps, suffix[c + 1], mean, suffix[c + 1], median);
    }
    fprintf(f, "seconds %.1f\n", seconds);
}

static cnn_status write_outputs(const char *dir, const border_options *o,
                                char *const *paths, const int *labels,
                                const float *prob, const double *share, int n,
                                int refused, double seconds, cnn_error *err)
{
    cnn_status s = path_mkdirs(dir, err);
    if (s)
        return s;
    char path[1024];
    snprintf(path, sizeof path, "%s/border_mass.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    fprintf(f, "file,label,probability,border_share\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s,%d,", paths[i], labels[i]);
        if (!isnan(prob[i]))
            fprintf(f, "%.6f", prob[i]);
        fprintf(f, ",");
        if (share[i] >= 0)
            fprintf(f, "%.6f", share[i]);
        fprintf(f, "\n");
    }
    if (fclose(f))
        return cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    snprintf(path, sizeof path, "%s/border_mass.txt", dir);
    if (!(f = fopen(path, "w")))
        return cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    print_keys(f, o, share, labels, n, refused, seconds);
    if (fclose(f))
        return cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    printf("\nwrote %s/border_mass.csv and %s/border_mass.txt\n", dir, dir);
    return CNN_OK;
}

/* The images to measure: indices into d (malloc'd). */
static cnn_status select_images(const border_options *o, data_list *d, int **idx,
                                int *n, char *about, size_t about_size, cnn_error *err)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s%s", o->data_dir ? o->data_dir : o->split_dir,
             o->data_dir ? "/train" : "");
    cnn_status s = data_list_open(d, dir, err);
    if (s)
        return s;
    if (o->data_dir) {
        int *train = NULL, n_train = 0;
        s = data_split(d, o->val_fraction, o->max_per_class, o->seed, &train,
                       &n_train, idx, n, err);
        free(train);
        snprintf(about, about_size, "the validation split of %s (val-fraction %g, "
                 "seed %llu%s)", dir, o->val_fraction, (unsigned long long)o->seed,
                 o->max_per_class ? ", max-per-class" : "");
    } else {
        *idx = malloc((size_t)d->count * sizeof **idx);
        if (!*idx)
            s = cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        for (int i = 0; !s && i < d->count; i++)
            (*idx)[i] = i;
        *n = d->count;
        snprintf(about, about_size, "every image of %s", dir);
    }
    if (s)
        data_list_close(d);
    return s;
}

static cnn_status run(const border_options *o, cnn_error *err)
{
    double start = progress_now();
    cnn_model *m;
    cnn_status s = cnn_model_load(&m, o->model_file, err);
    if (s)
        return s;
    data_list d;
    int *idx = NULL, n = 0;
    char about[1400];
    if ((s = select_images(o, &d, &idx, &n, about, sizeof about, err))) {
        cnn_model_free(m);
        return s;
    }
    char **paths = malloc((size_t)(n > 0 ? n : 1) * sizeof *paths);
    int *labels = malloc((size_t)(n > 0 ? n : 1) * sizeof *labels);
    float *prob = malloc((size_t)(n > 0 ? n : 1) * sizeof *prob);
    double *share = malloc((size_t)(n > 0 ? n : 1) * sizeof *share);
    if (!paths || !labels || !prob || !share)
        s = cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    int refused = 0;
    progress bar;
    progress_start(&bar, stderr, "grad-cam", n);
    for (int i = 0; !s && i < n; i++) {
        paths[i] = d.paths[idx[i]];
        labels[i] = d.labels[idx[i]];
        analysis a;
        if ((s = analyse_file(m, paths[i], 1, &a, err)))
            break;
        prob[i] = NAN;
        share[i] = -1;
        if (analyse_refused(&a)) {
            refused++;
        } else {
            prob[i] = a.probability;
            if (a.heat)
                share[i] = cnn_heatmap_border_share(a.heat, a.heat_h, a.heat_w, o->band);
        }
        analysis_free(&a);
        progress_advance(&bar, 1, NAN);
    }
    progress_finish(&bar);
    if (!s) {
        double seconds = progress_now() - start;
        const cnn_model_config *cfg = cnn_model_config_of(m);
        printf("Grad-CAM border mass: %s (%s %s, map at %s)\n"
               "band: the outer %g%% of each side; images: %s\n\n",
               o->model_file, cfg->name, cfg->version, cnn_model_gradcam_layer(m),
               100 * o->band, about);
        static const char *const what[3] = {"all", "NORMAL", "PNEUMONIA"};
        printf("  %-12s %7s %9s %9s\n", "", "maps", "mean", "median");
        for (int c = -1; c < 2; c++) {
            double mean, median;
            int k = summarise(share, labels, n, c, &mean, &median);
            printf("  %-12s %7d %9.4f %9.4f\n", what[c + 1], k, mean, median);
        }
        printf("  %-12s %7s %9.4f   (a uniform map)\n\n", "reference", "",
               1 - (1 - 2 * o->band) * (1 - 2 * o->band));
        double mean, median;
        int maps = summarise(share, labels, n, -1, &mean, &median);
        printf("%d images: %d maps, %d without mass (skipped), %d refused by the gate\n\n",
               n, maps, n - refused - maps, refused);
        print_keys(stdout, o, share, labels, n, refused, seconds);
        char dir[512];
        snprintf(dir, sizeof dir, "%s", o->model_file);
        s = write_outputs(o->out_dir[0] ? o->out_dir : dirname(dir), o, paths, labels,
                          prob, share, n, refused, seconds, err);
    }
    free(paths);
    free(labels);
    free(prob);
    free(share);
    free(idx);
    data_list_close(&d);
    cnn_model_free(m);
    return s;
}

static int parse_double(const char *name, const char *v, double lo, double hi,
                        double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "trainer border-mass: --%s: bad value '%s' (from %g to %g)\n",
                name, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

int border_mass_main(int argc, char **argv)
{
    train_options t;
    train_options_default(&t, CNN_ARCH_INCEPTION_V3);
    border_options o = {.out_dir = "", .band = 0.125, .val_fraction = t.val_fraction,
                        .seed = t.seed, .max_per_class = t.max_per_class};
    static const struct option options[] = {
        {"model-file", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'},
        {"split", required_argument, NULL, 's'},
        {"band", required_argument, NULL, 'b'},
        {"val-fraction", required_argument, NULL, 'v'},
        {"seed", required_argument, NULL, 'S'},
        {"max-per-class", required_argument, NULL, 'M'},
        {"out", required_argument, NULL, 'O'},
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    double x;
    optind = 1;
    opterr = 0; /* getopt would name the subcommand alone */
    while ((c = getopt_long(argc - 1, argv + 1, "h", options, NULL)) != -1) {
        switch (c) {
        case 'm': o.model_file = optarg; break;
        case 'd': o.data_dir = optarg; break;
        case 's': o.split_dir = optarg; break;
        case 'O': o.out_dir = optarg; break;
        case 'b':
            /* 0.5 would leave no centre: every map all border */
            if (parse_double("band", optarg, 1e-9, 0.499999, &o.band))
                return 2;
            break;
        case 'v':
            if (parse_double("val-fraction", optarg, 1e-9, 0.999999, &o.val_fraction))
                return 2;
            break;
        case 'S': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (!*optarg || *end || errno || optarg[0] == '-') {
                fprintf(stderr, "trainer border-mass: --seed: bad value '%s'\n", optarg);
                return 2;
            }
            o.seed = v;
            break;
        }
        case 'M':
            if (parse_double("max-per-class", optarg, 0, 1e9, &x) || x != floor(x))
                return 2;
            o.max_per_class = (int)x;
            break;
        case 't':
            if (parse_double("threads", optarg, 0, 1024, &x) || x != floor(x))
                return 2;
            o.threads = (int)x;
            break;
        case 'h': usage(stdout, &o); return 0;
        default:
            fprintf(stderr, "trainer border-mass: unknown option or missing value: %s "
                    "(see --help)\n", argv[optind]);
            return 2;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "trainer border-mass: unexpected argument '%s'\n", argv[optind + 1]);
        return 2;
    }
    if (!o.model_file || !o.data_dir == !o.split_dir) {
        fprintf(stderr, "trainer border-mass: --model-file and one of --data and "
                "--split are required\n");
        return 2;
    }
    cnn_set_threads(o.threads);
    cnn_error err;
    if (run(&o, &err)) {
        fprintf(stderr, "trainer border-mass: %s\n", err.message);
        return 1;
    }
    return 0;
}
