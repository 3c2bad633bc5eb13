/* evaluate.c - `trainer evaluate`: a saved model's predictions on one data
 * split, reported at the threshold stored in the model. */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "evaluate.h"
#include "model.h"
#include "progress.h"

void eval_options_default(eval_options *o)
{
    memset(o, 0, sizeof *o);
    o->batch_size = 16;
    o->loader_threads = 1;
}

static cnn_status predict_all(cnn_model *m, const data_list *d, int batch,
                              int loader_threads, float *prob, cnn_error *err)
{
    const cnn_model_config *cfg = cnn_model_config_of(m);
    int size = cfg->input_size;
    float *images = malloc((size_t)batch * 3 * (size_t)size * (size_t)size * sizeof(float));
    int *labels = malloc((size_t)batch * sizeof *labels);
    int *order = malloc((size_t)d->count * sizeof *order);
    data_loader *l = NULL;
    cnn_status s = images && labels && order
                       ? CNN_OK : cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    for (int i = 0; !s && i < d->count; i++)
        order[i] = i;
    if (!s)
        s = data_loader_new(&l, d, cfg, batch, loader_threads, err);
    if (!s)
        s = data_loader_start(l, order, d->count, NULL, 0, err);
    progress p;
    progress_start(&p, stderr, "eval", d->count);
    for (int done = 0; !s && done < d->count;) {
        int count;
        if ((s = data_loader_next(l, images, labels, &count, err)))
            break;
        if (count == 0) {
            s = cnn_fail(err, CNN_ERR_IO, "loader ended early");
            break;
        }
        if ((s = cnn_model_predict(m, images, count, prob + done, err)))
            break;
        done += count;
        progress_advance(&p, count, NAN);
    }
    progress_finish(&p);
    data_loader_free(l);
    free(images);
    free(labels);
    free(order);
    return s;
}

cnn_status evaluate_model_on_split(const char *model_file, const char *split_dir,
                                  int batch, int loader_threads, cnn_model **m,
                                  data_list *d, float **prob, cnn_error *err)
{
    cnn_status s = cnn_model_load(m, model_file, err);
    if (s)
        return s;
    if ((s = data_list_open(d, split_dir, err))) {
        cnn_model_free(*m);
        return s;
    }
    *prob = malloc((size_t)d->count * sizeof **prob);
    if (!*prob)
        s = cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    if (!s)
        s = predict_all(*m, d, batch, loader_threads, *prob, err);
    if (s) {
        free(*prob);
        data_list_close(d);
        cnn_model_free(*m);
    }
    return s;
}

cnn_status evaluate_run(const eval_options *o, cnn_error *err)
{
    cnn_set_threads(o->threads);
    cnn_model *m;
    data_list d;
    float *prob;
    cnn_status s = evaluate_model_on_split(o->model_file, o->split_dir, o->batch_size,
                                           o->loader_threads, &m, &d, &prob, err);
    if (s)
        return s;
    char model_dir[512], split[512], out_dir[512], name[64];
    snprintf(model_dir, sizeof model_dir, "%s", o->model_file);
    snprintf(split, sizeof split, "%s", o->split_dir);
    size_t len = strlen(split);
    while (len > 1 && split[len - 1] == '/')
        split[--len] = '\0';
    snprintf(out_dir, sizeof out_dir, "%s", o->out_dir[0] ? o->out_dir : dirname(model_dir));
    snprintf(name, sizeof name, "%s", o->name[0] ? o->name : basename(split));
    const cnn_model_config *cfg = cnn_model_config_of(m);
    char about[1024];
    snprintf(about, sizeof about, "%s (%s %s, input %d, head at %s)",
             o->model_file, cfg->name, cfg->version, cfg->input_size,
             cfg->head_attach);
    s = evaluate_write_report(out_dir, name, about, (const char *const *)d.paths,
                              d.labels, prob, (size_t)d.count, cfg->threshold, err);
    free(prob);
    data_list_close(&d);
    cnn_model_free(m);
    return s;
}
