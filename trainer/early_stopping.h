/* early_stopping.h - stop training when a validation figure stops improving,
 * and keep a copy of the weights from the best epoch so they can be put back.
 *
 * The weights are a list of float spans registered by the caller (the
 * trainable parameters of a network), so this works for any model. */
#ifndef TRAINER_EARLY_STOPPING_H
#define TRAINER_EARLY_STOPPING_H

#include <stddef.h>

#include "cnn.h"

typedef enum {
    ES_MONITOR_VAL_LOSS,  /* lower is better */
    ES_MONITOR_VAL_AUC    /* higher is better */
} es_monitor;

typedef struct {
    float *data;
    size_t count;
} es_span;

typedef struct {
    es_monitor monitor;
    int patience;       /* epochs without improvement tolerated */
    double min_delta;   /* an improvement must beat the best by more than this */
    /* state (saved in checkpoints) */
    double best_value;
    int best_epoch;     /* 1-based; 0 before the first epoch */
    int bad_epochs;     /* epochs since the best one */
    int stopped_epoch;  /* epoch at which patience ran out; 0 while running */
    /* best weights: one buffer holding every registered span */
    int span_count;
    es_span *spans;
    float *best_weights;
    size_t total;
} early_stopping;

cnn_status es_init(early_stopping *es, es_monitor monitor, int patience,
                   double min_delta, cnn_error *err);
void es_free(early_stopping *es);
cnn_status es_monitor_parse(const char *name, es_monitor *out, cnn_error *err);
const char *es_monitor_name(es_monitor m);  /* "val_loss", "val_auc" */

/* Registers a span of weights to remember at the best epoch. Call before the
 * first es_update. */
cnn_status es_add_span(early_stopping *es, float *data, size_t count,
                       cnn_error *err);

/* Records the value of `epoch` (1-based). On improvement the registered
 * weights are copied. Returns 1 when training should stop now. */
int es_update(early_stopping *es, int epoch, double value);
/* 1 when value beats the best so far by more than min_delta. */
int es_improves(const early_stopping *es, double value);
/* Copies the best epoch's weights back into the registered spans (no-op
 * before any epoch). */
void es_restore_best(const early_stopping *es);

#endif
