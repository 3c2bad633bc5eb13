/* train_epoch.c - the passes of a run (feature extraction, training
 * epochs, validation) and its stages (frozen base, then fine-tuning). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "progress.h"
#include "train_run.h"

/* Pads a short batch with zeros: in inference mode every image is
 * processed independently, so the padding changes nothing else. */
static void fill_input(cnn_net *net, const float *images, int count, int batch,
                       size_t image_floats)
{
    float *in = cnn_net_input(net);
    memcpy(in, images, (size_t)count * image_floats * sizeof(float));
    memset(in + (size_t)count * image_floats, 0,
           (size_t)(batch - count) * image_floats * sizeof(float));
}

/* The loader's next batch of a pass that is not over, as the network's
 * input (padded with zeros to the planned batch); *count images. */
static cnn_status next_input(run *r, int *count, cnn_error *err)
{
    int b = r->o->batch_size, s = r->o->input_size;
    cnn_status st = data_loader_next(r->loader, r->batch_images,
                                     r->batch_labels, count, err);
    if (!st && *count == 0)
        st = cnn_fail(err, CNN_ERR_IO, "loader ended early");
    if (!st)
        fill_input(r->net, r->batch_images, *count, b, 3 * (size_t)s * (size_t)s);
    return st;
}

/* GAP features [n, feat_c] of images idx[0..n) through the frozen base. */
cnn_status train_extract_features(run *r, const int *idx, int n, float *feat,
                                  const char *label, cnn_error *err)
{
    const train_options *o = r->o;
    int b = o->batch_size, s = o->input_size;
    cnn_status st = cnn_net_plan(r->net, b, s, s, 0, err);
    if (!st)
        st = data_loader_start(r->loader, idx, n, NULL, 0, err);
    progress p;
    progress_start(&p, stderr, label, n);
    for (int done = 0; !st && done < n;) {
        int count;
        if ((st = next_input(r, &count, err)))
            break;
        cnn_net_forward(r->net, 0);
        const float *g = cnn_net_layer_output(r->net, GAP_LAYER, NULL, NULL, NULL);
        memcpy(feat + (size_t)done * (size_t)r->feat_c, g,
               (size_t)count * (size_t)r->feat_c * sizeof(float));
        done += count;
        progress_advance(&p, count, NAN);
    }
    progress_finish(&p);
    return st;
}

/* ---------------------------------------------------------------- passes */

/* Forward/backward/update on the batch already in t's input. */
static double train_step(run *r, cnn_net *t, const int *labels, int n,
                         long *correct)
{
    cnn_net_forward(t, 1);
    int per;
    const float *logits = cnn_net_output(t, &per);
    for (int i = 0; i < n; i++) {
        r->targets[i] = (float)labels[i];
        *correct += (logits[i] >= 0) == (labels[i] != 0);
    }
    double loss = cnn_bce_logits(n, logits, r->targets, r->class_w, r->dlogits);
    cnn_net_zero_grad(t);
    cnn_net_backward(t, r->dlogits);
    adam_step(&r->adam, r->lr, r->o->weight_decay);
    return loss;
}

static void shuffle(cnn_rng *rng, int *a, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(cnn_rng_next(rng) % (uint64_t)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* One pass over the training split in r->order. Full batches only: the
 * remainder (fewer than a batch) is skipped this epoch and lands elsewhere
 * in the next shuffle. */
static cnn_status train_epoch(run *r, double *loss, double *acc, long *images,
                              cnn_error *err)
{
    const train_options *o = r->o;
    int b = o->batch_size;
    int batches = r->n_train / b;
    double loss_sum = 0;
    long correct = 0, seen = 0;
    cnn_status st = CNN_OK;
    *loss = *acc = NAN;
    *images = 0;
    cnn_net_seed(r->trained, train_derive_seed(o->seed, (uint64_t)r->epoch + 1, 2));
    progress p;
    progress_start(&p, stderr, "train", (long)batches * b);
    if (r->trained == r->head) {
        float *in = cnn_net_input(r->head);
        int lab[b];
        for (int k = 0; k < batches; k++) {
            for (int i = 0; i < b; i++) {
                int pos = r->order[k * b + i];
                memcpy(in + (size_t)i * (size_t)r->feat_c,
                       r->train_feat + (size_t)pos * (size_t)r->feat_c,
                       (size_t)r->feat_c * sizeof(float));
                lab[i] = r->train_lab[pos];
            }
            double l = train_step(r, r->head, lab, b, &correct);
            loss_sum += l * b;
            seen += b;
            progress_advance(&p, b, l);
        }
    } else {
        int n = batches * b;
        int *idx = malloc((size_t)n * sizeof *idx);
        if (!idx)
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        for (int i = 0; i < n; i++)
            idx[i] = r->train_idx[r->order[i]];
        st = data_loader_start(r->loader, idx, n, r->augment ? &r->aug : NULL,
                               train_derive_seed(o->seed, (uint64_t)r->epoch + 1, 3), err);
        while (!st && seen < n) {
            int count;
            if ((st = data_loader_next(r->loader, cnn_net_input(r->net),
                                       r->batch_labels, &count, err)))
                break;
            if (count != b) {
                st = cnn_fail(err, CNN_ERR_IO, "loader returned %d of %d images",
                              count, b);
                break;
            }
            double l = train_step(r, r->net, r->batch_labels, b, &correct);
            loss_sum += l * b;
            seen += b;
            progress_advance(&p, b, l);
        }
        free(idx);
    }
    progress_finish(&p);
    *loss = seen ? loss_sum / (double)seen : NAN;
    *acc = seen ? (double)correct / (double)seen : NAN;
    *images = seen;
    return st;
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Probabilities of the validation split into r->val_prob: through the head
 * on cached features while the base is frozen, else through the network. */
cnn_status train_predict_val(run *r, cnn_error *err)
{
    const train_options *o = r->o;
    int b = o->batch_size;
    cnn_status st = CNN_OK;
    if (r->stage == 1 && r->frozen_base) {
        if ((st = cnn_net_plan(r->head, b, 1, 1, r->trained == r->head, err)))
            return st;
        for (int done = 0; done < r->n_val; done += b) {
            int count = r->n_val - done < b ? r->n_val - done : b;
            fill_input(r->head, r->val_feat + (size_t)done * (size_t)r->feat_c,
                       count, b, (size_t)r->feat_c);
            cnn_net_forward(r->head, 0);
            const float *logit = cnn_net_output(r->head, NULL);
            for (int i = 0; i < count; i++)
                r->val_prob[done + i] = sigmoid(logit[i]);
        }
        return CNN_OK;
    }
    progress p;
    progress_start(&p, stderr, "val", r->n_val);
    st = data_loader_start(r->loader, r->val_idx, r->n_val, NULL, 0, err);
    for (int done = 0; !st && done < r->n_val;) {
        int count;
        if ((st = next_input(r, &count, err)))
            break;
        cnn_net_forward(r->net, 0);
        const float *logit = cnn_net_output(r->net, NULL);
        for (int i = 0; i < count; i++)
            r->val_prob[done + i] = sigmoid(logit[i]);
        done += count;
        progress_advance(&p, count, NAN);
    }
    progress_finish(&p);
    return st;
}

/* Class-weighted BCE (the training objective) and accuracy at 0.5. */
static void val_scores(run *r, double *loss, double *acc, double *auc)
{
    double sum = 0, wsum = 0;
    long correct = 0;
    for (int i = 0; i < r->n_val; i++) {
        int y = r->val_lab[i];
        double p = fmin(fmax(r->val_prob[i], 1e-7), 1 - 1e-7);
        double w = r->class_w[y];
        sum += -w * (y ? log(p) : log(1 - p));
        wsum += 1;
        correct += (r->val_prob[i] >= 0.5f) == (y != 0);
    }
    *loss = sum / wsum;
    *acc = (double)correct / r->n_val;
    *auc = metrics_auc(r->val_prob, r->val_lab, (size_t)r->n_val);
}

cnn_status train_stage_begin(run *r, int stage, double carried_best,
                             cnn_error *err)
{
    const train_options *o = r->o;
    cnn_status s;
    r->stage = stage;
    r->stage_epoch = 0;
    if (stage == 1)
        s = cnn_net_freeze_until(r->net, r->frozen_base ? o->head_attach : NULL, err);
    else
        s = cnn_net_freeze_until(r->net, o->finetune_from, err);
    if (s)
        return s;
    /* stage 2 keeps what stage 1 changed, even when it now freezes it */
    int frozen = cnn_net_frozen_until(r->net);
    int stage1_frozen = r->frozen_base ? cnn_net_find_layer(r->net, o->head_attach) : -1;
    r->changed_after = frozen < stage1_frozen ? frozen : stage1_frozen;
    r->trained = stage == 1 && o->cache_features ? r->head : r->net;
    r->lr = stage == 1 ? o->lr : o->finetune_lr;
    r->stage_max_epochs = stage == 1 ? o->epochs : o->finetune_epochs;
    if (r->trained == r->head)
        s = cnn_net_plan(r->head, o->batch_size, 1, 1, 1, err);
    else
        s = cnn_net_plan(r->net, o->batch_size, o->input_size, o->input_size, 1, err);
    if (s)
        return s;
    es_monitor monitor;
    if ((s = es_monitor_parse(o->monitor, &monitor, err)) ||
        (s = es_init(&r->es, monitor, o->patience, o->min_delta, err)) ||
        (s = adam_init(&r->adam, r->trained, err)))
        return s;
    r->stage_ready = 1;
    /* Stage 2 must beat stage 1's best to replace its weights. */
    if (!isnan(carried_best))
        r->es.best_value = carried_best;
    r->es.best_epoch = r->best_epoch_overall;
    cnn_net *t = r->trained;
    for (int i = 0; i < cnn_net_param_count(t); i++) {
        cnn_param *p = cnn_net_param(t, i);
        if (param_is_trainable(t, p) && (s = es_add_span(&r->es, p->data, p->count, err)))
            return s;
    }
    return CNN_OK;
}

void train_stage_end(run *r)
{
    if (!r->stage_ready)
        return;
    adam_free(&r->adam);
    es_free(&r->es);
    r->stage_ready = 0;
}

cnn_status train_run_stage(run *r, cnn_error *err)
{
    cnn_status s = CNN_OK;
    while (r->stage_epoch < r->stage_max_epochs && !r->es.stopped_epoch) {
        double t0 = progress_now();
        shuffle(&r->rng, r->order, r->n_train);
        double train_loss, train_acc, val_loss, val_acc, val_auc;
        long images;
        if ((s = train_epoch(r, &train_loss, &train_acc, &images, err)))
            return s;
        double train_time = progress_now() - t0;
        if ((s = train_predict_val(r, err)))
            return s;
        val_scores(r, &val_loss, &val_acc, &val_auc);
        r->epoch++;
        r->stage_epoch++;
        double seconds = progress_now() - t0;
        r->train_seconds += seconds;
        r->pass_seconds += train_time;
        r->images_trained += images;
        double monitored = r->es.monitor == ES_MONITOR_VAL_LOSS ? val_loss : val_auc;
        int improved = es_improves(&r->es, monitored);
        es_update(&r->es, r->epoch, monitored);
        if (improved)
            r->best_epoch_overall = r->epoch;
        epoch_summary sum = {r->epoch, r->stage, train_loss, train_acc, val_loss,
                             val_acc, val_auc, r->lr, seconds,
                             train_time > 0 ? (double)images / train_time : 0,
                             improved};
        progress_epoch_line(stdout, &sum);
        fprintf(r->csv, "%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%g,%.3f,%.2f\n", r->epoch,
                r->stage, train_loss, train_acc, val_loss, val_acc, val_auc, r->lr,
                seconds, sum.images_per_second);
        if ((s = train_save_checkpoint(r, err)))
            return s;
    }
    if (r->es.stopped_epoch)
        fprintf(stderr, "stage %d: early stop at epoch %d, best epoch %d (%s %.5f)\n",
                r->stage, r->es.stopped_epoch, r->es.best_epoch,
                es_monitor_name(r->es.monitor), r->es.best_value);
    es_restore_best(&r->es);
    return CNN_OK;
}
