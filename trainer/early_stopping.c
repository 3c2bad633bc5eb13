/* early_stopping.c - patience / min-delta bookkeeping and best-weight copies. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "early_stopping.h"

cnn_status es_init(early_stopping *es, es_monitor monitor, int patience,
                   double min_delta, cnn_error *err)
{
    memset(es, 0, sizeof *es);
    if (patience < 1)
        return cnn_fail(err, CNN_ERR_ARG, "patience must be >= 1 (got %d)", patience);
    if (!(min_delta >= 0))
        return cnn_fail(err, CNN_ERR_ARG, "min-delta must be >= 0");
    es->monitor = monitor;
    es->patience = patience;
    es->min_delta = min_delta;
    es->best_value = monitor == ES_MONITOR_VAL_LOSS ? INFINITY : -INFINITY;
    return CNN_OK;
}

void es_free(early_stopping *es)
{
    free(es->spans);
    free(es->best_weights);
    es->spans = NULL;
    es->best_weights = NULL;
    es->span_count = 0;
    es->total = 0;
}

cnn_status es_monitor_parse(const char *name, es_monitor *out, cnn_error *err)
{
    if (!strcmp(name, "val_loss"))
        *out = ES_MONITOR_VAL_LOSS;
    else if (!strcmp(name, "val_auc"))
        *out = ES_MONITOR_VAL_AUC;
    else
        return cnn_fail(err, CNN_ERR_ARG,
                        "unknown monitor '%s' (val_loss or val_auc)", name);
    return CNN_OK;
}

const char *es_monitor_name(es_monitor m)
{
    return m == ES_MONITOR_VAL_LOSS ? "val_loss" : "val_auc";
}

cnn_status es_add_span(early_stopping *es, float *data, size_t count,
                       cnn_error *err)
{
    es_span *spans = realloc(es->spans, (size_t)(es->span_count + 1) * sizeof *spans);
    if (!spans)
        return cnn_fail(err, CNN_ERR_NOMEM, "early stopping: out of memory");
    es->spans = spans;
    float *best = realloc(es->best_weights, (es->total + count) * sizeof *best);
    if (!best)
        return cnn_fail(err, CNN_ERR_NOMEM, "early stopping: out of memory");
    es->best_weights = best;
    /* Until an epoch is recorded, "best" is the starting point. */
    memcpy(best + es->total, data, count * sizeof *best);
    spans[es->span_count++] = (es_span){data, count};
    es->total += count;
    return CNN_OK;
}

int es_improves(const early_stopping *es, double value)
{
    if (isnan(value))
        return 0;
    if (es->monitor == ES_MONITOR_VAL_LOSS)
        return value < es->best_value - es->min_delta;
    return value > es->best_value + es->min_delta;
}

int es_update(early_stopping *es, int epoch, double value)
{
    if (es_improves(es, value)) {
        es->best_value = value;
        es->best_epoch = epoch;
        es->bad_epochs = 0;
        size_t offset = 0;
        for (int i = 0; i < es->span_count; i++) {
            memcpy(es->best_weights + offset, es->spans[i].data,
                   es->spans[i].count * sizeof(float));
            offset += es->spans[i].count;
        }
        return 0;
    }
    if (++es->bad_epochs >= es->patience) {
        es->stopped_epoch = epoch;
        return 1;
    }
    return 0;
}

void es_restore_best(const early_stopping *es)
{
    size_t offset = 0;
    for (int i = 0; i < es->span_count; i++) {
        memcpy(es->spans[i].data, es->best_weights + offset,
               es->spans[i].count * sizeof(float));
        offset += es->spans[i].count;
    }
}
