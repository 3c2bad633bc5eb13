/* train.c - a training run from start to end: options, set-up, stage 1
 * (frozen base, head only; optionally on cached backbone features), optional
 * stage 2 (fine-tuning the top of the backbone), the threshold, the saved
 * models and the validation report. The parts live in train_*.c.
 *
 * Reproducibility: every random choice derives from --seed: the split, the
 * He initialisation, the shuffling generator (saved in checkpoints), and per
 * epoch the dropout and augmentation seeds (derived from seed and epoch), so
 * a resumed run repeats exactly what an uninterrupted one does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "distributed.h"
#include "evaluate.h"
#include "metrics.h"
#include "paths.h"
#include "progress.h"
#include "train_run.h"

#define CSV_HEADER "epoch,stage,train_loss,train_acc,val_loss,val_acc,val_auc," \
                   "lr,seconds,images_per_second\n"

void train_options_default(train_options *o, cnn_arch arch)
{
    memset(o, 0, sizeof *o);
    snprintf(o->data_dir, sizeof o->data_dir, "data/chest_xray");
    snprintf(o->out_dir, sizeof o->out_dir, "runs/%s", cnn_arch_name(arch));
    o->val_fraction = 0.1;
    o->arch = arch;
    if (arch == CNN_ARCH_INCEPTION_V3) {
        snprintf(o->backbone, sizeof o->backbone,
                 "weights/inception_v3_nsfwjs.safetensors");
        snprintf(o->head_attach, sizeof o->head_attach, "mixed7");
    } else {
        snprintf(o->head_attach, sizeof o->head_attach, "block5_pool");
    }
    o->input_size = 224;
    o->head_hidden = 256;
    o->dropout = 0.5f;
    o->batch_size = 32;
    o->epochs = 30;
    o->lr = 1e-3;
    o->class_weights = 1;
    o->finetune_lr = 1e-5;
    o->finetune_epochs = 10;
    snprintf(o->monitor, sizeof o->monitor, "val_loss");
    o->patience = 3;
    o->min_delta = 1e-3;
    o->aug = cnn_augment_defaults();
    snprintf(o->resize_filter, sizeof o->resize_filter, "bilinear");
    o->input_jpeg_quality = 75;
    o->min_sensitivity = 0.95;
    o->seed = 42;
    o->loader_threads = 1;
}

uint64_t train_derive_seed(uint64_t seed, uint64_t epoch, uint64_t purpose)
{
    cnn_rng r;
    cnn_rng_seed(&r, seed ^ (epoch * 0x9e3779b97f4a7c15ULL) ^
                         (purpose * 0xc2b2ae3d27d4eb4fULL));
    return cnn_rng_next(&r);
}
static int any_augmentation(const cnn_augment_params *a)
{
    return a->rotation_deg > 0 || a->zoom > 0 || a->translate > 0 ||
           a->brightness > 0 || a->contrast > 0 || a->hflip || a->gamma > 0 ||
           a->erase > 0 || a->markers > 0 || a->rescale_min > 0 ||
           a->blur > 0 || a->noise > 0 || a->jpeg_min > 0;
}

static void fingerprint(run *r)
{
    const train_options *o = r->o;
    /* Options whose change would make a resumed run differ from a fresh one
     * (epochs, patience, threads and paths may change on --resume). */
    snprintf(r->fingerprint, sizeof r->fingerprint,
             "model=%s backbone=%s input=%d attach=%s hidden=%d dropout=%g "
             "batch=%d lr=%g wd=%g class_weights=%d finetune=%s finetune_lr=%g "
             "monitor=%s min_delta=%g val=%g max_per_class=%d aug=%g,%g,%g,%g,%g,%d "
             "cache=%d bn_running_stats=%d seed=%llu",
             cnn_arch_name(o->arch), o->backbone, o->input_size, o->head_attach,
             o->head_hidden, o->dropout, o->batch_size, o->lr, o->weight_decay,
             o->class_weights, o->finetune_from, o->finetune_lr, o->monitor,
             o->min_delta, o->val_fraction, o->max_per_class, r->aug.rotation_deg,
             r->aug.zoom, r->aug.translate, r->aug.brightness, r->aug.contrast,
             r->aug.hflip, o->cache_features, o->bn_running_stats,
             (unsigned long long)o->seed);
    /* appended only when set, so that runs from before the flag resume */
    if (o->standardize)
        strncat(r->fingerprint, " standardize=1",
                sizeof r->fingerprint - strlen(r->fingerprint) - 1);
    const cnn_model_config *m = cnn_model_config_of(r->model);
    size_t used = strlen(r->fingerprint);
    snprintf(r->fingerprint + used, sizeof r->fingerprint - used,
             " pipeline=%s/%d aug2=%g,%g,%g,%g,%g,%g,%d",
             cnn_resize_filter_name(m->resize_filter), m->input_jpeg_quality,
             r->aug.gamma, r->aug.erase, r->aug.markers, r->aug.rescale_min,
             r->aug.blur, r->aug.noise, r->aug.jpeg_min);
}

/* ---------------------------------------------------------------- main */

static void run_free(run *r)
{
    train_stage_end(r);
    if (r->csv)
        fclose(r->csv);
    data_loader_free(r->loader);
    data_list_close(&r->data);
    cnn_net_free(r->head);
    cnn_model_free(r->model);
    free(r->train_idx);
    free(r->val_idx);
    free(r->train_lab);
    free(r->val_lab);
    free(r->train_feat);
    free(r->val_feat);
    free(r->val_prob);
    free(r->targets);
    free(r->dlogits);
    free(r->batch_images);
    free(r->batch_labels);
    free(r->order);
    free(r->positions);
    if (r->info && r->info != stderr)
        fclose(r->info);
}

static cnn_status train_body(run *r, cnn_error *err)
{
    const train_options *o = r->o;
    cnn_status s;
    if ((s = path_mkdirs(o->out_dir, err)) || (s = train_setup_data(r, err)) ||
        (s = train_setup_model(r, err)) ||
        (s = data_loader_new(&r->loader, &r->data, cnn_model_config_of(r->model),
                             r->batch, o->loader_threads, err)))
        return s;
    fingerprint(r);
    snprintf(r->ckpt_path, sizeof r->ckpt_path, "%s/checkpoint.safetensors", o->out_dir);
    snprintf(r->csv_path, sizeof r->csv_path, "%s/log.csv", o->out_dir);
    int resume_stage = 0;
    if (o->resume) {
        if (!path_exists(r->ckpt_path))
            return cnn_fail(err, CNN_ERR_IO, "--resume: no %s", r->ckpt_path);
        if ((s = train_checkpoint_stage(r->ckpt_path, &resume_stage, err)))
            return s;
        if (r->rank == 0)
            r->csv = fopen(r->csv_path, "r+");
    } else if (r->rank == 0) {
        r->csv = fopen(r->csv_path, "w");
        if (r->csv)
            fputs(CSV_HEADER, r->csv);
    }
    if (r->rank == 0 && !r->csv)
        return cnn_fail(err, CNN_ERR_IO, "cannot open %s", r->csv_path);
    cnn_rng_seed(&r->rng, train_derive_seed(o->seed, 0, 4));

    double caching_start = progress_now();
    if (r->frozen_base) {
        /* validation features never change while the base is frozen */
        r->val_feat = malloc((size_t)r->n_val * (size_t)r->feat_c * sizeof(float));
        if (!r->val_feat)
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        if ((s = train_extract_features(r, r->val_idx, r->n_val, r->val_feat,
                                        "val-fx", err)))
            return s;
    }
    if (o->cache_features) {
        r->train_feat = malloc((size_t)r->n_train * (size_t)r->feat_c * sizeof(float));
        if (!r->train_feat)
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        if ((s = train_extract_features(r, r->train_idx, r->n_train, r->train_feat,
                                        "feats", err)))
            return s;
    }
    /* counted in the training time (added after a resume's load) */
    double caching_seconds = progress_now() - caching_start;
    double carried = NAN;
    int last_stage = o->finetune_from[0] ? 2 : 1;
    for (int stage = resume_stage ? resume_stage : 1; stage <= last_stage; stage++) {
        if ((s = train_stage_begin(r, stage, carried, err)))
            return s;
        if (stage == resume_stage && (s = train_load_checkpoint(r, err)))
            return s;
        if (stage == resume_stage)
            r->best_epoch_overall = r->es.best_epoch;
        r->train_seconds += caching_seconds;
        caching_seconds = 0;
        if ((s = train_run_stage(r, err)))
            return s;
        carried = r->es.best_value;
        if (stage < last_stage)
            train_stage_end(r);
    }
    /* the restored best weights: validation predictions for the threshold */
    if ((s = train_predict_val(r, err)))
        return s;
    if (r->rank > 0)
        return CNN_OK;
    double threshold = metrics_choose_threshold(r->val_prob, r->val_lab,
                                                (size_t)r->n_val, o->min_sensitivity);
    fprintf(stderr, "threshold %.6f: highest validation specificity with "
            "sensitivity >= %.2f\n", threshold, o->min_sensitivity);
    if ((s = train_save_outputs(r, threshold, err)))
        return s;
    const char **paths = malloc((size_t)r->n_val * sizeof *paths);
    if (!paths)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < r->n_val; i++)
        paths[i] = r->data.paths[r->val_idx[i]];
    char about[700];
    snprintf(about, sizeof about, "%s/model.safetensors (best epoch %d)",
             o->out_dir, r->best_epoch_overall);
    s = evaluate_write_report(o->out_dir, "val", about, paths, r->val_lab,
                              r->val_prob, (size_t)r->n_val, threshold, err);
    free(paths);
    if (!s)
        s = train_write_summary(r, threshold, err);
    if (!s)
        printf("done: %d epochs, best epoch %d, early stop %s; threshold %.4f; "
               "training time %.0f s (%.1f img/s); model %s/model.safetensors\n",
               r->epoch, r->best_epoch_overall,
               r->es.stopped_epoch ? "triggered" : "not triggered", threshold,
               r->train_seconds,
               r->pass_seconds > 0 ? (double)r->images_trained / r->pass_seconds : 0,
               o->out_dir);
    return s;
}

cnn_status train_run(const train_options *o, cnn_error *err)
{
    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.rank = dist_rank();
    r.ranks = dist_size();
    r.batch = o->batch_size / r.ranks;
    r.info = r.rank == 0 ? stderr : fopen("/dev/null", "w");
    if (!r.info)
        return cnn_fail(err, CNN_ERR_IO, "cannot open /dev/null");
    r.frozen_base = o->backbone[0] != '\0';
    if (!o->no_augment)
        r.aug = o->aug;
    r.augment = any_augmentation(&r.aug);
    cnn_status s = train_check_options(o, r.augment, r.frozen_base, err);
    if (!s && o->batch_size % r.ranks)
        s = cnn_fail(err, CNN_ERR_ARG, "--batch-size %d does not split evenly "
                     "over %d ranks", o->batch_size, r.ranks);
    if (!s && r.rank == 0 && o->arch == CNN_ARCH_VGG16 && o->input_size >= 224)
        fprintf(stderr, "note: VGG16 at %dx%d costs about 31 GFLOP per image "
                "forward (x3 to train); on 2 cores consider --input-size 112\n",
                o->input_size, o->input_size);
    if (!s) {
        cnn_set_threads(o->threads);
        s = train_body(&r, err);
    }
    run_free(&r);
    return s;
}
