/* fit_gate.h - `trainer fit-gate`: the input gate's learned statistics
 * (lib/input_gate.h) for a trained model. The layout thumbnails and the
 * pooled features of the training part of the trainer's patient-grouped
 * split give the means and shrunk covariances; each distance threshold is
 * then chosen on the validation part only: the `quantile` of the
 * validation X-rays' distances (nearest rank) times `margin`. The model is
 * saved with them as a new file. */
#ifndef TRAINER_FIT_GATE_H
#define TRAINER_FIT_GATE_H

#include <stdint.h>

#include "cnn.h"

typedef struct {
    char model_file[512];
    char data_dir[512];      /* reads DATA/train (NORMAL/, PNEUMONIA/) */
    char out[512];           /* the model with the gate; never the input */
    double val_fraction;     /* the split: the trainer's defaults */
    int max_per_class;
    uint64_t seed;
    double quantile;         /* threshold rule on validation distances */
    double margin;
    int batch_size;
    int threads;
    int loader_threads;
} fit_gate_options;

void fit_gate_options_default(fit_gate_options *o);
cnn_status fit_gate_run(const fit_gate_options *o, cnn_error *err);

#endif
