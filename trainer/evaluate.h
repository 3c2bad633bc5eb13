/* evaluate.h - the evaluation report: metrics at the model's stored
 * threshold on one data split, printed and written as text, CSV and JSON,
 * plus the ROC points, the confusion matrix (for plots) and per-image
 * predictions. */
#ifndef TRAINER_EVALUATE_H
#define TRAINER_EVALUATE_H

#include <stddef.h>

#include "cnn.h"
#include "data.h"
#include "model.h"

typedef struct {
    char model_file[512];
    char split_dir[512];   /* holds NORMAL/ and PNEUMONIA/ */
    char out_dir[512];     /* "" = the model file's directory */
    char name[64];         /* "" = the split directory's base name */
    int batch_size;
    int threads;
    int loader_threads;
} eval_options;

void eval_options_default(eval_options *o);

/* Loads the model, lists the split's images (NORMAL/, PNEUMONIA/) and
 * predicts each: *prob (malloc'd) holds the probability of PNEUMONIA of
 * d->paths[i] at i. batch images per forward pass, decoded by
 * loader_threads threads. On failure there is nothing to free. */
cnn_status evaluate_model_on_split(const char *model_file, const char *split_dir,
                                  int batch, int loader_threads, cnn_model **m,
                                  data_list *d, float **prob, cnn_error *err);

cnn_status evaluate_run(const eval_options *o, cnn_error *err);

/* Writes <out_dir>/eval_<name>.{txt,csv,json}, roc_<name>.csv,
 * confusion_<name>.dat and predictions_<name>.csv for these predictions,
 * and prints the text report to stdout. about: one line describing the
 * model (written into the report). */
cnn_status evaluate_write_report(const char *out_dir, const char *name,
                                 const char *about, const char *const *paths,
                                 const int *labels, const float *prob, size_t n,
                                 double threshold, cnn_error *err);

#endif
