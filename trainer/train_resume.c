/* train_resume.c - a run's checkpoint: which tensors it holds, writing it
 * after each epoch and continuing from it (--resume). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "safetensors.h"
#include "train_run.h"

/* The checkpoint's tensors for the current stage: trainable parameters,
 * their best-epoch copies, and Adam's moments. names: caller frees. */
static cnn_status checkpoint_tensors(run *r, ckpt_tensor **out, int *count,
                                     char **names, cnn_error *err)
{
    cnn_net *t = r->trained;
    int n = cnn_net_param_count(t);
    int cap = 3 * n + cnn_net_param_count(r->net) + 1;
    ckpt_tensor *ts = calloc((size_t)cap, sizeof *ts);
    char *nm = malloc((size_t)cap * 128);
    if (!ts || !nm) {
        free(ts);
        free(nm);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    }
    int k = 0;
    /* every parameter training has changed so far, in any stage */
    for (int i = 0; i < cnn_net_param_count(r->net); i++) {
        cnn_param *p = cnn_net_param(r->net, i);
        if (p->layer <= r->changed_after)
            continue;
        snprintf(nm + 128 * k, 128, "param/%s", p->name);
        ts[k] = (ckpt_tensor){nm + 128 * k, p->data, p->ndim, {0}};
        memcpy(ts[k].shape, p->shape, sizeof p->shape);
        k++;
    }
    /* the best epoch's copy of this stage's trainable ones */
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        cnn_param *p = cnn_net_param(t, i);
        if (!param_is_trainable(t, p))
            continue;
        snprintf(nm + 128 * k, 128, "best/%s", p->name);
        ts[k] = (ckpt_tensor){nm + 128 * k, r->es.best_weights + offset, p->ndim, {0}};
        memcpy(ts[k].shape, p->shape, sizeof p->shape);
        k++;
        offset += p->count;
    }
    for (int a = 0; a < r->adam.count; a++) {
        cnn_param *p = r->adam.params[a];
        const char *prefix[2] = {"adam_m/", "adam_v/"};
        float *data[2] = {r->adam.m[a], r->adam.v[a]};
        for (int j = 0; j < 2; j++) {
            snprintf(nm + 128 * k, 128, "%s%s", prefix[j], p->name);
            ts[k] = (ckpt_tensor){nm + 128 * k, data[j], p->ndim, {0}};
            memcpy(ts[k].shape, p->shape, sizeof p->shape);
            k++;
        }
    }
    *out = ts;
    *count = k;
    *names = nm;
    return CNN_OK;
}

cnn_status train_save_checkpoint(run *r, cnn_error *err)
{
    ckpt_tensor *ts;
    char *names;
    int count;
    cnn_status s = checkpoint_tensors(r, &ts, &count, &names, err);
    if (s)
        return s;
    ckpt_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.fingerprint, sizeof st.fingerprint, "%s", r->fingerprint);
    st.epoch = r->epoch;
    st.stage = r->stage;
    st.stage_epoch = r->stage_epoch;
    st.adam_step = r->adam.step;
    st.rng = r->rng;
    st.es_best_value = r->es.best_value;
    st.es_best_epoch = r->es.best_epoch;
    st.es_bad_epochs = r->es.bad_epochs;
    st.es_stopped_epoch = r->es.stopped_epoch;
    fflush(r->csv);
    st.csv_offset = ftell(r->csv);
    st.train_seconds = r->train_seconds;
    st.pass_seconds = r->pass_seconds;
    st.images_trained = r->images_trained;
    st.order = r->order;
    st.order_len = r->n_train;
    s = checkpoint_save(r->ckpt_path, &st, ts, count, err);
    free(ts);
    free(names);
    return s;
}

/* The log must still hold the rows the checkpoint counted: extending a
 * shorter one would leave a hole of NUL bytes where rows were. */
static cnn_status check_log_length(run *r, long expected, int epoch,
                                   cnn_error *err)
{
    struct stat sb;
    if (fstat(fileno(r->csv), &sb) != 0)
        return cnn_fail(err, CNN_ERR_IO, "cannot read the size of %s",
                        r->csv_path);
    if (sb.st_size < expected)
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s is %lld bytes, shorter than the %ld bytes of %d "
                        "epochs that %s expects: it was truncated or replaced; "
                        "restore it, or train afresh without --resume",
                        r->csv_path, (long long)sb.st_size, expected, epoch,
                        r->ckpt_path);
    return CNN_OK;
}

cnn_status train_load_checkpoint(run *r, cnn_error *err)
{
    ckpt_tensor *ts;
    char *names;
    int count, removed = 0;
    /* rank 0 alone writes the run's files; every rank reads the checkpoint */
    cnn_status s = r->rank ? CNN_OK
                           : cnn_st_remove_temporaries(r->ckpt_path, &removed, err);
    if (s)
        return s;
    if (removed)
        fprintf(r->info, "removed %d temporary file%s of a checkpoint save that "
                "was interrupted\n", removed, removed > 1 ? "s" : "");
    if ((s = checkpoint_tensors(r, &ts, &count, &names, err)))
        return s;
    ckpt_state st;
    s = checkpoint_load(r->ckpt_path, &st, ts, count, err);
    free(ts);
    free(names);
    if (s)
        return s;
    if (!st.verified)
        fprintf(r->info, "warning: %s has no checksum (written before "
                "checkpoints had one): resuming without verifying it\n",
                r->ckpt_path);
    if (strcmp(st.fingerprint, r->fingerprint)) {
        free(st.order);
        return cnn_fail(err, CNN_ERR_ARG, "%s was made with other options:\n"
                        "  checkpoint: %s\n  now:        %s", r->ckpt_path,
                        st.fingerprint, r->fingerprint);
    }
    if (st.order_len != r->n_train) {
        free(st.order);
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: data order of %d images, "
                        "split has %d", r->ckpt_path, st.order_len, r->n_train);
    }
    memcpy(r->order, st.order, (size_t)r->n_train * sizeof(int));
    free(st.order);
    if (!r->rank && (s = check_log_length(r, st.csv_offset, st.epoch, err)))
        return s;
    r->epoch = st.epoch;
    r->stage_epoch = st.stage_epoch;
    r->adam.step = st.adam_step;
    r->rng = st.rng;
    r->es.best_value = st.es_best_value;
    r->es.best_epoch = st.es_best_epoch;
    r->es.bad_epochs = st.es_bad_epochs;
    r->es.stopped_epoch = st.es_stopped_epoch;
    r->train_seconds = st.train_seconds;
    r->pass_seconds = st.pass_seconds;
    r->images_trained = st.images_trained;
    /* the log continues from the checkpoint's epoch */
    if (!r->rank && (fflush(r->csv) || ftruncate(fileno(r->csv), st.csv_offset) ||
        fseek(r->csv, st.csv_offset, SEEK_SET)))
        return cnn_fail(err, CNN_ERR_IO, "cannot rewind %s", r->csv_path);
    fprintf(r->info, "resumed from %s: epoch %d (stage %d, epoch %d of it)\n",
            r->ckpt_path, r->epoch, r->stage, r->stage_epoch);
    return CNN_OK;
}

/* Peeks at a checkpoint's stage (1 or 2). */
cnn_status train_checkpoint_stage(const char *path, int *stage, cnn_error *err)
{
    cnn_st_file *f;
    cnn_status s = cnn_st_open(&f, path, err);
    if (s)
        return s;
    const char *v = cnn_st_metadata(f, "stage");
    *stage = v ? atoi(v) : 0;
    cnn_st_close(f);
    if (*stage != 1 && *stage != 2)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: no valid stage", path);
    return CNN_OK;
}
