/* checkpoint.h - everything needed to continue a training run exactly where
 * it stopped, in one safetensors file written atomically after each epoch.
 *
 * Tensors are named float buffers chosen by the caller (model parameters,
 * Adam moments, the best epoch's weights); the scalar state (epoch, stage,
 * Adam step, RNG, early-stopping bookkeeping, CSV log offset, data order,
 * a fingerprint of the options) goes into the file's metadata, with a
 * checksum (FNV-1a 64) over that state and the tensors' names, shapes and
 * data. */
#ifndef TRAINER_CHECKPOINT_H
#define TRAINER_CHECKPOINT_H

#include <stddef.h>

#include "cnn.h"

typedef struct {
    const char *name;
    float *data;
    int ndim;
    int64_t shape[4];
} ckpt_tensor;

typedef struct {
    char fingerprint[2048]; /* options that must not change on --resume */
    int epoch;              /* epochs completed over the whole run */
    int stage;              /* 1: frozen base, 2: fine-tuning */
    int stage_epoch;        /* epochs completed in the current stage */
    long adam_step;
    cnn_rng rng;            /* trainer RNG after the epoch */
    double es_best_value;
    int es_best_epoch, es_bad_epochs, es_stopped_epoch;
    long csv_offset;        /* bytes of the CSV log that belong to this state */
    double train_seconds;   /* wall time so far: epochs and feature caching */
    double pass_seconds;    /* of which training passes */
    long images_trained;    /* images those passes processed */
    int order_len;          /* data order of the last completed epoch */
    int *order;             /* malloc'd by checkpoint_load; caller frees */
    int verified;           /* checkpoint_load: 1 checksum matched, 0 none
                               stored (a file from before checksums) */
} ckpt_state;

/* Writes state and tensors to path atomically (temporary file + rename),
 * first removing the temporaries of saves that were killed. */
cnn_status checkpoint_save(const char *path, const ckpt_state *st,
                           const ckpt_tensor *tensors, int count,
                           cnn_error *err);
/* Reads state and fills every listed tensor (names and shapes must match);
 * refuses a file whose checksum does not match what it holds. */
cnn_status checkpoint_load(const char *path, ckpt_state *st,
                           const ckpt_tensor *tensors, int count,
                           cnn_error *err);

#endif
