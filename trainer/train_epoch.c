/* train_epoch.c - the passes of a run (feature extraction, training
 * epochs, validation) and its stages (frozen base, then fine-tuning). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distributed.h"
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
    int b = r->batch, s = r->o->input_size;
    cnn_status st = data_loader_next(r->loader, r->batch_images,
                                     r->batch_labels, count, err);
    if (!st && *count == 0)
        st = cnn_fail(err, CNN_ERR_IO, "loader ended early");
    if (!st)
        fill_input(r->net, r->batch_images, *count, b, 3 * (size_t)s * (size_t)s);
    return st;
}

/* GAP features [n, feat_c] of images idx[0..n) through the frozen base:
 * each rank computes its share, then all ranks hold all of them. */
cnn_status train_extract_features(run *r, const int *idx, int n, float *feat,
                                  const char *label, cnn_error *err)
{
    int s = r->o->input_size;
    long lo, hi;
    dist_share(n, &lo, &hi);
    cnn_status st = cnn_net_plan(r->net, r->batch, s, s, 0, err);
    if (!st && hi > lo)
        st = data_loader_start(r->loader, idx + lo, (int)(hi - lo), NULL, 0, err);
    progress p;
    progress_start(&p, r->info, label, hi - lo);
    for (int done = (int)lo; !st && done < hi;) {
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
    if (!st)
        dist_gather_floats(feat, n, (size_t)r->feat_c);
    return st;
}

/* ---------------------------------------------------------------- passes */

/* Forward/backward/update on this rank's share of a global batch, already
 * in t's input; returns the share's mean loss. The loss is a mean over
 * the global batch: each share's gradient is scaled by share / global
 * (a power of two for 2, 4, 8 ranks: exact), and the sum over ranks is
 * the gradient one process computes. */
static double train_step(run *r, cnn_net *t, const int *labels, long *correct)
{
    int n = r->batch;
    cnn_net_forward(t, 1);
    int per;
    const float *logits = cnn_net_output(t, &per);
    for (int i = 0; i < n; i++) {
        r->targets[i] = (float)labels[i];
        *correct += (logits[i] >= 0) == (labels[i] != 0);
    }
    double loss = cnn_bce_logits(n, logits, r->targets, r->class_w, r->dlogits);
    const float share = (float)n / (float)r->o->batch_size;
    for (int i = 0; share != 1.0f && i < n; i++)
        r->dlogits[i] *= share;
    cnn_net_zero_grad(t);
    cnn_net_backward(t, r->dlogits);
    double start = progress_now();
    dist_sum_floats(r->grads, r->grad_count);
    r->reduce_seconds += progress_now() - start;
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
 * in the next shuffle. Each rank takes the images [first, first + share)
 * of every global batch of B, in the order one process would use, and
 * augments them as keyed by their place in the pass; dropout draws the
 * masks of the whole global batch and keeps its share's. */
static cnn_status train_epoch(run *r, double *loss, double *acc, long *images,
                              cnn_error *err)
{
    const train_options *o = r->o;
    int B = o->batch_size, b = r->batch, first = r->rank * b;
    int batches = r->n_train / B;
    double loss_sum = 0;
    long correct = 0, seen = 0;
    cnn_status st = CNN_OK;
    *loss = *acc = NAN;
    *images = 0;
    cnn_net_seed(r->trained, train_derive_seed(o->seed, (uint64_t)r->epoch + 1, 2));
    cnn_net_set_batch_share(r->trained, first, B);
    r->reduce_seconds = 0;
    progress p;
    progress_start(&p, r->info, "train", (long)batches * b);
    if (r->trained == r->head) {
        float *in = cnn_net_input(r->head);
        int lab[b];
        for (int k = 0; k < batches; k++) {
            for (int i = 0; i < b; i++) {
                int pos = r->order[k * B + first + i];
                memcpy(in + (size_t)i * (size_t)r->feat_c,
                       r->train_feat + (size_t)pos * (size_t)r->feat_c,
                       (size_t)r->feat_c * sizeof(float));
                lab[i] = r->train_lab[pos];
            }
            double l = train_step(r, r->head, lab, &correct);
            loss_sum += l * b;
            seen += b;
            progress_advance(&p, b, l);
        }
    } else {
        int n = batches * b;
        int *idx = malloc((size_t)n * sizeof *idx);
        if (!idx)
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        for (int i = 0; i < n; i++) {
            r->positions[i] = i / b * B + first + i % b;
            idx[i] = r->train_idx[r->order[r->positions[i]]];
        }
        st = data_loader_start_share(r->loader, idx, r->positions, n,
                                     r->augment ? &r->aug : NULL,
                                     train_derive_seed(o->seed, (uint64_t)r->epoch + 1, 3),
                                     err);
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
            double l = train_step(r, r->net, r->batch_labels, &correct);
            loss_sum += l * b;
            seen += b;
            progress_advance(&p, b, l);
        }
        free(idx);
    }
    progress_finish(&p);
    if (st)
        return st;
    double sums[3] = {loss_sum, (double)correct, (double)seen};
    dist_sum_doubles(sums, 3);
    loss_sum = sums[0];
    correct = (long)sums[1];
    seen = (long)sums[2];
    *loss = seen ? loss_sum / (double)seen : NAN;
    *acc = seen ? (double)correct / (double)seen : NAN;
    *images = seen;
    return CNN_OK;
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Probabilities of the validation split into r->val_prob: through the head
 * on cached features while the base is frozen (a few dense layers: every
 * rank does all), else through the network (each rank its share, then all
 * ranks hold all). */
cnn_status train_predict_val(run *r, cnn_error *err)
{
    int b = r->batch;
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
    long lo, hi;
    dist_share(r->n_val, &lo, &hi);
    progress p;
    progress_start(&p, r->info, "val", hi - lo);
    if (hi > lo)
        st = data_loader_start(r->loader, r->val_idx + lo, (int)(hi - lo), NULL, 0, err);
    for (int done = (int)lo; !st && done < hi;) {
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
    if (!st)
        dist_gather_floats(r->val_prob, r->n_val, 1);
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

/* The trained net's weight gradients as one buffer (the library keeps the
 * unfrozen weights' gradients in one block in parameter order, network.h):
 * one all-reduce per step sums them over the ranks. */
static cnn_status find_gradient_block(run *r, cnn_error *err)
{
    r->grads = NULL;
    r->grad_count = 0;
    for (int i = 0; i < cnn_net_param_count(r->trained); i++) {
        cnn_param *p = cnn_net_param(r->trained, i);
        if (!p->grad)
            continue;
        if (!r->grads)
            r->grads = p->grad;
        if (p->grad != r->grads + r->grad_count)
            return cnn_fail(err, CNN_ERR_ARG, "the gradient of %s is not where "
                            "one block of gradients continues", p->name);
        r->grad_count += p->count;
    }
    return CNN_OK;
}

/* Batch norm normalises each rank's share with the share's own statistics
 * (per-rank batch norm), so each rank's running statistics drift apart:
 * every epoch they are averaged, so that all ranks validate and save one
 * model. (The average of the shares' variances leaves out the spread of
 * their means.) */
static void average_running_statistics(run *r)
{
    cnn_net *t = r->trained;
    for (int i = 0; r->ranks > 1 && i < cnn_net_param_count(t); i++) {
        cnn_param *p = cnn_net_param(t, i);
        if (p->kind != CNN_PARAM_STATE || !param_is_trainable(t, p))
            continue;
        dist_sum_floats(p->data, p->count);
        for (size_t k = 0; k < p->count; k++)
            p->data[k] /= (float)r->ranks;
    }
}

/* FNV-1a over the trainable parameters, a 32-bit word at a time. */
static uint64_t trainable_hash(cnn_net *t)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < cnn_net_param_count(t); i++) {
        cnn_param *p = cnn_net_param(t, i);
        if (!param_is_trainable(t, p))
            continue;
        const uint32_t *w = (const uint32_t *)p->data;
        for (size_t k = 0; k < p->count; k++)
            h = (h ^ w[k]) * 0x100000001b3ULL;
    }
    return h;
}

/* Every rank must hold rank 0's weights: a rank that drifted (a bug, a
 * faulty node) would otherwise go unnoticed until results differ. */
static cnn_status check_ranks_agree(run *r, cnn_error *err)
{
    if (r->ranks == 1)
        return CNN_OK;
    uint64_t mine = trainable_hash(r->trained), root = mine;
    dist_broadcast(&root, sizeof root);
    double differ = mine != root;
    dist_sum_doubles(&differ, 1);
    if (differ > 0)
        return cnn_fail(err, CNN_ERR_ARG, "after epoch %d, %.0f of %d ranks hold "
                        "weights that differ from rank 0's%s", r->epoch, differ,
                        r->ranks, mine != root ? " (this rank among them)" : "");
    return CNN_OK;
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
        s = cnn_net_plan(r->head, r->batch, 1, 1, 1, err);
    else
        s = cnn_net_plan(r->net, r->batch, o->input_size, o->input_size, 1, err);
    if (!s)
        s = find_gradient_block(r, err);
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
        average_running_statistics(r);
        double train_time = progress_now() - t0;
        /* what overlapping the reduction with backward could win at most */
        if (r->ranks > 1)
            fprintf(r->info, "gradient all-reduce: %.1f s of the %.1f s pass (%.0f%%), "
                    "%.1f MB per step\n", r->reduce_seconds, train_time,
                    100 * r->reduce_seconds / train_time,
                    (double)r->grad_count * sizeof(float) / 1e6);
        if ((s = train_predict_val(r, err)))
            return s;
        val_scores(r, &val_loss, &val_acc, &val_auc);
        /* decided on rank 0; every rank stops and restores alike */
        double scores[3] = {val_loss, val_acc, val_auc};
        dist_broadcast(scores, sizeof scores);
        val_loss = scores[0];
        val_acc = scores[1];
        val_auc = scores[2];
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
        if ((s = check_ranks_agree(r, err)))
            return s;
        if (r->rank > 0)
            continue;
        progress_epoch_line(stdout, &sum);
        fprintf(r->csv, "%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%g,%.3f,%.2f\n", r->epoch,
                r->stage, train_loss, train_acc, val_loss, val_acc, val_auc, r->lr,
                seconds, sum.images_per_second);
        if ((s = train_save_checkpoint(r, err)))
            return s;
    }
    if (r->es.stopped_epoch)
        fprintf(r->info, "stage %d: early stop at epoch %d, best epoch %d (%s %.5f)\n",
                r->stage, r->es.stopped_epoch, r->es.best_epoch,
                es_monitor_name(r->es.monitor), r->es.best_value);
    es_restore_best(&r->es);
    return CNN_OK;
}
