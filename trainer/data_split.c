/* data_split.c - the labelled image list and the patient-grouped validation
 * split, on the library's dataset (lib/dataset.h). */
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "dataset.h"

cnn_status data_list_open(data_list *d, const char *dir, cnn_error *err)
{
    memset(d, 0, sizeof *d);
    cnn_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    cnn_status s = cnn_dataset_scan(dir, ds, err);
    if (!s && (ds->num_classes != 2 || strcmp(ds->class_names[0], "NORMAL") ||
               strcmp(ds->class_names[1], "PNEUMONIA")))
        s = cnn_fail(err, CNN_ERR_FORMAT, "%s: expected exactly the class "
                     "folders NORMAL and PNEUMONIA", dir);
    if (!s) {
        d->paths = malloc((size_t)ds->count * sizeof *d->paths);
        d->labels = malloc((size_t)ds->count * sizeof *d->labels);
        if (!d->paths || !d->labels)
            s = cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    }
    d->impl = ds;
    if (s) {
        data_list_close(d);
        return s;
    }
    d->count = ds->count;
    for (int i = 0; i < ds->count; i++) {
        d->paths[i] = ds->samples[i].path;
        d->labels[i] = ds->samples[i].label;
    }
    return CNN_OK;
}

void data_list_close(data_list *d)
{
    if (d->impl) {
        cnn_dataset_free(d->impl);
        free(d->impl);
    }
    free(d->paths);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* A seeded subset of at most max_per_class samples of each class, as a
 * dataset of its own (same paths), so that the split groups it by patient. */
static cnn_status subset(const cnn_dataset *ds, int max_per_class, uint64_t seed,
                         cnn_dataset *out, int **to_full, cnn_error *err)
{
    memset(out, 0, sizeof *out);
    int n = ds->count;
    int *perm = malloc((size_t)n * sizeof *perm);
    int *keep = calloc((size_t)n, sizeof *keep);
    *to_full = malloc((size_t)n * sizeof **to_full);
    cnn_status s = perm && keep && *to_full ? CNN_OK
                                            : cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    cnn_rng rng;
    cnn_rng_seed(&rng, seed ^ 0x5b5e7ULL);
    for (int i = 0; !s && i < n; i++)
        perm[i] = i;
    for (int i = n - 1; !s && i > 0; i--) {
        int j = (int)(cnn_rng_next(&rng) % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int taken[2] = {0, 0};
    for (int i = 0; !s && i < n; i++) {
        int label = ds->samples[perm[i]].label;
        if (taken[label] < max_per_class) {
            taken[label]++;
            keep[perm[i]] = 1;
        }
    }
    for (int c = 0; !s && c < ds->num_classes; c++)
        s = cnn_dataset_add_class(out, ds->class_names[c], err);
    int k = 0;
    for (int i = 0; !s && i < n; i++)
        if (keep[i]) {
            s = cnn_dataset_add(out, ds->samples[i].path, ds->samples[i].label, err);
            (*to_full)[k++] = i;
        }
    free(perm);
    free(keep);
    return s;
}

cnn_status data_split(const data_list *d, double val_fraction, int max_per_class,
                      uint64_t seed, int **train, int *n_train, int **val,
                      int *n_val, cnn_error *err)
{
    const cnn_dataset *ds = d->impl;
    cnn_dataset small;
    int *to_full = NULL;
    int subsetting = max_per_class > 0;
    cnn_status s = CNN_OK;
    if (subsetting) {
        s = subset(ds, max_per_class, seed, &small, &to_full, err);
        ds = &small;
    }
    cnn_index_list tr = {0, NULL}, va = {0, NULL};
    if (!s)
        s = cnn_dataset_split(ds, val_fraction, seed, &tr, &va, err);
    if (!s && subsetting) {
        for (int i = 0; i < tr.count; i++)
            tr.index[i] = to_full[tr.index[i]];
        for (int i = 0; i < va.count; i++)
            va.index[i] = to_full[va.index[i]];
    }
    if (subsetting)
        cnn_dataset_free(&small);
    free(to_full);
    if (s) {
        cnn_index_list_free(&tr);
        cnn_index_list_free(&va);
        return s;
    }
    *train = tr.index;
    *n_train = tr.count;
    *val = va.index;
    *n_val = va.count;
    return CNN_OK;
}
