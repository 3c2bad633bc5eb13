/* fit_gate.c - `trainer fit-gate`: fits the input gate's statistics on the
 * training part of the split, chooses its thresholds on the validation
 * part, reports the acceptance there and saves the model with the gate as
 * a new file (see fit_gate.h). */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "export.h"
#include "fit_gate.h"
#include "input_gate.h"
#include "model.h"
#include "paths.h"
#include "progress.h"
#include "train.h"

void fit_gate_options_default(fit_gate_options *o)
{
    memset(o, 0, sizeof *o);
    train_options t; /* the same split as training by default */
    train_options_default(&t, CNN_ARCH_INCEPTION_V3);
    o->val_fraction = t.val_fraction;
    o->seed = t.seed;
    o->quantile = 0.995;
    o->margin = 1.2;
    o->batch_size = 16;
    o->loader_threads = 1;
}

/* Fails before the long part when OUT cannot be written. */
static cnn_status check_out(const fit_gate_options *o, cnn_error *err)
{
    if (path_same_file(o->model_file, o->out))
        return cnn_fail(err, CNN_ERR_ARG, "--out is the model file itself: write "
                        "the model with its gate to a new file");
    char dir[sizeof o->out];
    copy_text(dir, sizeof dir, o->out);
    if (access(dirname(dir), W_OK) != 0)
        return cnn_fail(err, CNN_ERR_ARG, "cannot write into the directory of %s",
                        o->out);
    return CNN_OK;
}

/* Layout thumbnails [n][CNN_GATE_THUMB_DIM] and pooled features
 * [n][feature count] of the images order[0..n) of d, from the inputs and
 * the forward pass that predicts. */
static cnn_status extract(cnn_model *m, const data_list *d, const int *order,
                          int n, const fit_gate_options *o, float *thumbs,
                          float *feats, cnn_error *err)
{
    const cnn_model_config *cfg = cnn_model_config_of(m);
    int size = cfg->input_size, nf = cnn_model_feature_count(m);
    size_t per = (size_t)3 * size * size;
    float *images = malloc((size_t)o->batch_size * per * sizeof *images);
    float *prob = malloc((size_t)o->batch_size * sizeof *prob);
    int *labels = malloc((size_t)o->batch_size * sizeof *labels);
    data_loader *l = NULL;
    cnn_status s = images && prob && labels
                       ? CNN_OK : cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    if (!s)
        s = data_loader_new(&l, d, cfg, o->batch_size, o->loader_threads, err);
    if (!s)
        s = data_loader_start(l, order, n, NULL, 0, err);
    progress p;
    progress_start(&p, stderr, "features", n);
    for (int done = 0; !s && done < n;) {
        int count;
        if ((s = data_loader_next(l, images, labels, &count, err)))
            break;
        if (count == 0) {
            s = cnn_fail(err, CNN_ERR_IO, "loader ended early");
            break;
        }
        if ((s = cnn_model_predict(m, images, count, prob, err)))
            break;
        memcpy(feats + (size_t)done * nf, cnn_model_features(m),
               (size_t)count * nf * sizeof *feats);
        for (int i = 0; i < count; i++)
            cnn_gate_thumbnail(images + i * per, size,
                               thumbs + (size_t)(done + i) * CNN_GATE_THUMB_DIM);
        done += count;
        progress_advance(&p, count, NAN);
    }
    progress_finish(&p);
    data_loader_free(l);
    free(images);
    free(prob);
    free(labels);
    return s;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q quantile of v[0..n) by nearest rank (v is sorted in place). */
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    int rank = (int)ceil(q * n);
    return v[(rank < 1 ? 1 : rank > n ? n : rank) - 1];
}

/* Distances of x [n][dim] under m into d. */
static cnn_status distances(const cnn_mahalanobis *m, const float *x, int n,
                            double *d, cnn_error *err)
{
    cnn_status s = CNN_OK;
    for (int i = 0; i < n && !s; i++)
        s = cnn_mahalanobis_distance(m, x + (size_t)i * m->dim, &d[i], err);
    return s;
}

typedef struct {
    const char *name;
    cnn_mahalanobis *stats;
    const float *train, *val;  /* samples [n][dim] */
    float *threshold;
    double shrinkage;
    double *val_distance;      /* [n_val], in validation order */
} learned_check;

/* Fits one check on the training samples, sets its threshold from the
 * validation distances and prints its row. */
static cnn_status fit_check(learned_check *c, int dim, int n_train, int n_val,
                            const fit_gate_options *o, cnn_error *err)
{
    double *train_d = malloc((size_t)n_train * sizeof *train_d);
    double *sorted = malloc((size_t)n_val * sizeof *sorted);
    cnn_status s = train_d && sorted ? CNN_OK
                                     : cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    if (!s)
        s = cnn_mahalanobis_fit(c->train, n_train, dim, c->stats, &c->shrinkage, err);
    if (!s)
        s = distances(c->stats, c->train, n_train, train_d, err);
    if (!s)
        s = distances(c->stats, c->val, n_val, c->val_distance, err);
    if (!s) {
        memcpy(sorted, c->val_distance, (size_t)n_val * sizeof *sorted);
        double q = quantile(sorted, n_val, o->quantile);
        *c->threshold = (float)(o->margin * q);
        int accepted = 0;
        for (int i = 0; i < n_val; i++)
            accepted += c->val_distance[i] <= *c->threshold;
        printf("  %-10s %5d  %9.4f  %12.2f  %10.2f  %10.2f  %9.2f  %10.2f  %4d/%d (%.2f%%)\n",
               c->name, dim, c->shrinkage, quantile(train_d, n_train, 0.5),
               quantile(sorted, n_val, 0.5), q, sorted[n_val - 1],
               (double)*c->threshold, accepted, n_val, 100.0 * accepted / n_val);
    }
    free(train_d);
    free(sorted);
    return s;
}

/* How many of the validation images the image checks refuse, per check. */
static cnn_status image_checks(const data_list *d, const int *val, int n_val,
                               int refused[], cnn_error *err)
{
    for (int i = 0; i < n_val; i++) {
        cnn_image img;
        cnn_status s = cnn_image_load(d->paths[val[i]], 0, &img, err);
        if (s)
            return s;
        cnn_image_measures m;
        cnn_image_measure(&img, &m);
        cnn_image_free(&img);
        refused[cnn_image_checks(&m)]++;
    }
    return CNN_OK;
}

static void print_refusals(const char *what, const int refused[], int n)
{
    int total = 0;
    for (int c = 1; c < CNN_GATE_CHECK_COUNT; c++)
        total += refused[c];
    printf("  %s: %d/%d (%.2f%%) accepted", what, n - total, n,
           100.0 * (n - total) / n);
    const char *sep = "; refused by ";
    for (int c = 1; c < CNN_GATE_CHECK_COUNT; c++)
        if (refused[c]) {
            printf("%s%s %d", sep, cnn_gate_check_name((cnn_gate_check)c), refused[c]);
            sep = ", ";
        }
    printf("\n");
}

/* Everything after the images were read: both statistics and thresholds
 * into g, and the report. thumbs and feats hold the training samples,
 * then the validation ones. */
static cnn_status fit(const data_list *d, const int *val, int n_train,
                      int n_val, int nf, const float *thumbs, const float *feats,
                      const fit_gate_options *o, cnn_input_gate *g, cnn_error *err)
{
    double *val_d = malloc((size_t)2 * n_val * sizeof *val_d);
    if (!val_d)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    learned_check checks[2] = {
        {"layout", &g->layout, thumbs, thumbs + (size_t)n_train * CNN_GATE_THUMB_DIM,
         &g->layout_threshold, 0, val_d},
        {"features", &g->features, feats, feats + (size_t)n_train * nf,
         &g->features_threshold, 0, val_d + n_val},
    };
    printf("rule: threshold = %g x the %g quantile (nearest rank) of the "
           "validation X-rays' distances\n\n"
           "  %-10s %5s  %9s  %12s  %10s  %10s  %9s  %10s  %s\n", o->margin,
           o->quantile, "check", "dim", "shrinkage", "train median", "val median",
           "val quant.", "val max", "threshold", "validation accepted");
    cnn_status s = fit_check(&checks[0], CNN_GATE_THUMB_DIM, n_train, n_val, o, err);
    if (!s)
        s = fit_check(&checks[1], nf, n_train, n_val, o, err);
    int refused[CNN_GATE_CHECK_COUNT] = {0}, learned[CNN_GATE_CHECK_COUNT] = {0};
    if (!s)
        s = image_checks(d, val, n_val, refused, err);
    if (!s) {
        /* in the gate's order: polarity, layout, features */
        const float *val_thumbs = thumbs + (size_t)n_train * CNN_GATE_THUMB_DIM;
        double lowest = 1.0;
        for (int i = 0; i < n_val; i++) {
            double polarity = cnn_gate_polarity(g, val_thumbs + (size_t)i * CNN_GATE_THUMB_DIM);
            lowest = polarity < lowest ? polarity : lowest;
            learned[polarity <= CNN_GATE_MIN_POLARITY ? CNN_GATE_POLARITY
                    : val_d[i] > g->layout_threshold ? CNN_GATE_LAYOUT
                    : val_d[n_val + i] > g->features_threshold ? CNN_GATE_FEATURES
                                                               : CNN_GATE_ACCEPTED]++;
        }
        printf("  %-10s lowest on validation %.3f (refused at or below %g)\n",
               "polarity", lowest, CNN_GATE_MIN_POLARITY);
        printf("\n");
        print_refusals("learned checks", learned, n_val);
        print_refusals("image checks", refused, n_val);
    }
    free(val_d);
    return s;
}

cnn_status fit_gate_run(const fit_gate_options *o, cnn_error *err)
{
    if (!(o->quantile > 0 && o->quantile <= 1) || !(o->margin >= 1))
        return cnn_fail(err, CNN_ERR_ARG, "--quantile must be in (0, 1] and "
                        "--margin at least 1");
    if (!(o->val_fraction > 0 && o->val_fraction < 1))
        return cnn_fail(err, CNN_ERR_ARG, "--val-fraction must be in (0, 1): the "
                        "thresholds are chosen on validation images");
    cnn_status s = check_out(o, err);
    if (s)
        return s;
    double start = progress_now();
    cnn_set_threads(o->threads);
    cnn_model *m;
    if ((s = cnn_model_load(&m, o->model_file, err)))
        return s;
    int nf = cnn_model_feature_count(m);
    if (nf == 0) {
        cnn_model_free(m);
        return cnn_fail(err, CNN_ERR_UNSUPPORTED, "%s: the input gate needs the "
                        "binary head (its pooled features)", o->model_file);
    }
    char dir[600];
    snprintf(dir, sizeof dir, "%s/train", o->data_dir);
    data_list d;
    if ((s = data_list_open(&d, dir, err))) {
        cnn_model_free(m);
        return s;
    }
    int *train = NULL, *val = NULL, n_train = 0, n_val = 0;
    s = data_split(&d, o->val_fraction, o->max_per_class, o->seed, &train,
                   &n_train, &val, &n_val, err);
    if (!s && (n_train < 2 || n_val < 1))
        s = cnn_fail(err, CNN_ERR_ARG, "%d training and %d validation images: "
                     "the gate needs at least 2 and 1", n_train, n_val);
    int n = n_train + n_val;
    int *order = NULL;
    float *thumbs = NULL, *feats = NULL;
    cnn_input_gate *g = NULL;
    if (!s) {
        order = malloc((size_t)n * sizeof *order);
        thumbs = malloc((size_t)n * CNN_GATE_THUMB_DIM * sizeof *thumbs);
        feats = malloc((size_t)n * nf * sizeof *feats);
        g = calloc(1, sizeof *g);
        if (!order || !thumbs || !feats || !g)
            s = cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    }
    if (!s) {
        printf("Input gate of %s: statistics of %d training X-rays of %s, "
               "thresholds from %d validation X-rays (val-fraction %g, seed %llu)\n",
               o->model_file, n_train, dir, n_val, o->val_fraction,
               (unsigned long long)o->seed);
        fflush(stdout);
        memcpy(order, train, (size_t)n_train * sizeof *order);
        memcpy(order + n_train, val, (size_t)n_val * sizeof *order);
        s = extract(m, &d, order, n, o, thumbs, feats, err);
    }
    if (!s)
        s = fit(&d, val, n_train, n_val, nf, thumbs, feats, o, g, err);
    if (!s) {
        snprintf(g->about, sizeof g->about, "trainer fit-gate: %d training X-rays "
                 "of %.200s (val-fraction %g, seed %llu); thresholds %g x the %g "
                 "quantile of %d validation X-rays' distances", n_train, dir,
                 o->val_fraction, (unsigned long long)o->seed, o->margin,
                 o->quantile, n_val);
        s = cnn_model_set_gate(m, g, err);
    }
    if (!s) {
        g = NULL; /* the model's now */
        s = export_loaded_model(m, o->model_file, o->out, err);
    }
    if (!s)
        printf("fit-gate took %.0f s\n", progress_now() - start);
    cnn_gate_free(g);
    free(order);
    free(thumbs);
    free(feats);
    free(train);
    free(val);
    data_list_close(&d);
    cnn_model_free(m);
    return s;
}
