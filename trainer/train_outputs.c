/* train_outputs.c - what a run leaves behind: the model files (a small head
 * overlay on the backbone, and a self-contained copy) and its summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "paths.h"
#include "safetensors.h"
#include "train_run.h"

cnn_status train_save_outputs(run *r, double threshold, cnn_error *err)
{
    const train_options *o = r->o;
    cnn_model_config *cfg = cnn_model_config_of(r->model);
    cfg->threshold = (float)threshold;
    snprintf(cfg->name, sizeof cfg->name, "%s pneumonia",
             o->arch == CNN_ARCH_INCEPTION_V3 ? "InceptionV3" : "VGG16");
    snprintf(cfg->version, sizeof cfg->version, "trainer-1");
    char provenance[4096];
    snprintf(provenance, sizeof provenance,
             "trained by trainer on %s/train (%d train / %d validation images, "
             "patient-grouped split, seed %llu); backbone %s; input %d; head at %s "
             "(hidden %d, dropout %.2f); stage 1 lr %g%s%s; best epoch %d; "
             "threshold: highest validation specificity with sensitivity >= %.2f",
             o->data_dir, r->n_train, r->n_val, (unsigned long long)o->seed,
             r->frozen_base ? o->backbone : "none (from scratch, He init)",
             o->input_size, o->head_attach, o->head_hidden, o->dropout, o->lr,
             o->finetune_from[0] ? ", stage 2 from " : "", o->finetune_from,
             r->best_epoch_overall, o->min_sensitivity);
    copy_text(cfg->provenance, sizeof cfg->provenance, provenance);
    char path[700];
    cfg->base[0] = '\0';
    snprintf(path, sizeof path, "%s/model_full.safetensors", o->out_dir);
    /* a run killed while saving left a temporary; this save replaces it */
    cnn_status s = cnn_st_remove_temporaries(path, NULL, err);
    if (!s)
        s = cnn_model_save(r->model, path, NULL, err);
    if (s)
        return s;
    snprintf(path, sizeof path, "%s/model.safetensors", o->out_dir);
    if ((s = cnn_st_remove_temporaries(path, NULL, err)))
        return s;
    if (r->frozen_base) {
        /* only what training changed; the backbone file supplies the rest */
        if (path_relative(o->out_dir, o->backbone, cfg->base, sizeof cfg->base))
            return cnn_fail(err, CNN_ERR_ARG, "the backbone's path from %s is "
                            "too long", o->out_dir);
        const char *after = o->finetune_from[0] ? o->finetune_from : o->head_attach;
        s = cnn_model_save(r->model, path, after, err);
    } else {
        s = cnn_model_save(r->model, path, NULL, err);
    }
    return s;
}

cnn_status train_write_summary(run *r, double threshold, cnn_error *err)
{
    const train_options *o = r->o;
    metrics_report m = metrics_compute(r->val_prob, r->val_lab, (size_t)r->n_val,
                                       threshold);
    char path[700];
    snprintf(path, sizeof path, "%s/train_summary.csv", o->out_dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return cnn_fail(err, CNN_ERR_IO, "cannot write %s", path);
    fprintf(f, "key,value\nmodel,%s\nbackbone,%s\ninput_size,%d\nhead_attach,%s\n"
               "epochs,%d\nbest_epoch,%d\nstopped_epoch,%d\ntrain_seconds,%.1f\n"
               "images_per_second,%.2f\nthreshold,%.6f\nval_auc,%.6f\n"
               "val_sensitivity,%.6f\nval_specificity,%.6f\ntrain_images,%d\n"
               "val_images,%d\naugmentation,%s\ncache_features,%d\n"
               "bn_running_stats,%d\npreprocessing,%s\n",
            cnn_arch_name(o->arch), r->frozen_base ? o->backbone : "none (He init)",
            o->input_size, o->head_attach, r->epoch, r->best_epoch_overall,
            r->es.stopped_epoch, r->train_seconds,
            r->pass_seconds > 0 ? (double)r->images_trained / r->pass_seconds : 0,
            threshold, m.auc, m.sensitivity, m.specificity, r->n_train, r->n_val,
            r->augment ? "on" : "off", o->cache_features, o->bn_running_stats,
            cnn_preproc_name(cnn_model_config_of(r->model)->preprocess));
    if (fclose(f))
        return cnn_fail(err, CNN_ERR_IO, "error writing %s", path);
    return CNN_OK;
}
