/* calibrate.h - `trainer calibrate`: chooses a model's decision threshold
 * anew on a site's own labelled X-rays and saves the model with it.
 * A threshold chosen on one population's validation data need not carry
 * over to another population (on this data set's test split it did not:
 * README, Results), so a site that has labelled images of its own patients
 * can set the operating point on them. */
#ifndef TRAINER_CALIBRATE_H
#define TRAINER_CALIBRATE_H

#include "cnn.h"

typedef struct {
    char model_file[512];
    char split_dir[512];     /* holds NORMAL/ and PNEUMONIA/ */
    char out[512];           /* the calibrated model; never the input file */
    char version[32];        /* "" keeps the model's */
    double min_sensitivity;  /* the threshold rule of training */
    int min_per_class;       /* fewer images of either class are refused */
    int batch_size;
    int threads;
    int loader_threads;
} calibrate_options;

void calibrate_options_default(calibrate_options *o);
cnn_status calibrate_run(const calibrate_options *o, cnn_error *err);

#endif
