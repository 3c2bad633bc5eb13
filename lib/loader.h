/* loader.h - batches of model inputs assembled by worker threads: each sample
 * is decoded, resized to the model's input size, augmented (optionally) and
 * scaled, while the caller computes on the previous batch (two batch
 * buffers: one being filled while the caller holds the other).
 *
 * Output depends only on (config, seed, epoch), never on thread timing: the
 * epoch's order comes from a generator seeded by (seed, epoch), and each
 * sample's augmentation from one seeded by (seed, epoch, position).
 *
 * Typical use:
 *   cnn_loader *l;  cnn_loader_create(&cfg, &l, &err);
 *   for (epoch = 0; ...; epoch++) {
 *       cnn_loader_start_epoch(l, epoch);
 *       cnn_batch b;
 *       while (cnn_loader_next(l, &b, &err) == CNN_OK && b.n > 0)
 *           train_step(b.x, b.labels, b.n);   // b valid until the next call
 *   }
 *   cnn_loader_destroy(l);
 */
#ifndef CNN_LOADER_H
#define CNN_LOADER_H

#include "augment.h"
#include "dataset.h"
#include "image.h"

typedef struct {
    const cnn_dataset *dataset; /* must outlive the loader */
    const int *indices;         /* the samples to serve (copied) */
    int count;
    int batch_size;
    int image_size;             /* model input side: x is [3][size][size] */
    cnn_preproc preproc;
    cnn_resize_filter resize_filter;   /* the model's input pipeline */
    int jpeg_quality;                  /* (cnn_model_config); 0: no JPEG */
    const cnn_augment_params *augment; /* copied; NULL: none (validation) */
    int shuffle;                /* 1: a new order every epoch */
    int drop_last;              /* 1: no final partial batch */
    uint64_t seed;
    /* Per served sample, the position that keys its augmentation (copied;
     * NULL: its own position; needs shuffle 0). A data-parallel share of a
     * larger pass gives its samples' positions in that pass, so that they
     * are augmented as in the whole pass. */
    const int *positions;
    int threads;                /* worker threads; <= 0: all online cores */
    size_t max_pixels;          /* decode limit; 0: the default */
} cnn_loader_config;

typedef struct {
    int n;              /* samples in the batch; 0 when the epoch is over */
    const float *x;     /* [n][3][image_size][image_size] */
    const int *labels;  /* [n] */
    const int *samples; /* [n] dataset sample indices */
} cnn_batch;

typedef struct cnn_loader cnn_loader;

cnn_status cnn_loader_create(const cnn_loader_config *cfg, cnn_loader **out,
                             cnn_error *err);
/* Batches per epoch. */
int cnn_loader_batches(const cnn_loader *l);
/* Begins epoch `epoch` (0, 1, ...): discards anything pending and starts
 * the workers on its first batches. Call before each epoch's first next. */
void cnn_loader_start_epoch(cnn_loader *l, int epoch);
/* Waits for the next batch. Its buffers stay valid until the following
 * call. A sample that fails to load fails its batch (err names the file);
 * the epoch can go on with the next call. */
cnn_status cnn_loader_next(cnn_loader *l, cnn_batch *batch, cnn_error *err);
void cnn_loader_destroy(cnn_loader *l);

#endif
