/* train_setup.c - a run's data (split, class weights), model (backbone
 * weights, the head on its own for cached features) and option checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"
#include "train_run.h"

cnn_status train_check_options(const train_options *o, int augment,
                               int frozen_base, cnn_error *err)
{
    if (o->batch_size < 1 || o->input_size < 1 || o->epochs < 0 ||
        o->finetune_epochs < 0 || o->head_hidden < 0)
        return cnn_fail(err, CNN_ERR_ARG, "sizes and epochs must be positive");
    if (!(o->val_fraction > 0 && o->val_fraction < 1))
        return cnn_fail(err, CNN_ERR_ARG, "--val-fraction must be in (0, 1)");
    if (!(o->dropout >= 0 && o->dropout < 1))
        return cnn_fail(err, CNN_ERR_ARG, "--dropout must be in [0, 1)");
    const cnn_augment_params *a = &o->aug;
    if (!(a->gamma >= 0 && a->blur >= 0 && a->noise >= 0))
        return cnn_fail(err, CNN_ERR_ARG,
                        "--gamma, --blur and --noise must be 0 (off) or positive");
    if (!(a->erase >= 0 && a->erase <= 1 && a->markers >= 0 && a->markers <= 1))
        return cnn_fail(err, CNN_ERR_ARG,
                        "--erase and --markers are probabilities in [0, 1]");
    if (!(a->rescale_min >= 0 && a->rescale_min < 1))
        return cnn_fail(err, CNN_ERR_ARG,
                        "--rescale-min must be in [0, 1) (0: off)");
    if (a->jpeg_min < 0 || a->jpeg_min > 95)
        return cnn_fail(err, CNN_ERR_ARG,
                        "--jpeg-min must be 0 (off) or a quality in 1..95");
    /* Cached features are of un-augmented images; augmentation can only
     * act in stage 2, which reads images again. */
    if (o->cache_features && augment && !o->finetune_from[0])
        return cnn_fail(err, CNN_ERR_ARG,
                        "--cache-features trains on features of un-augmented "
                        "images: add --no-augment, or --finetune-from LAYER "
                        "for an augmented stage 2");
    if (o->cache_features && !frozen_base)
        return cnn_fail(err, CNN_ERR_ARG,
                        "--cache-features needs a frozen pretrained base "
                        "(--backbone FILE)");
    /* a from-scratch network has no running statistics worth keeping */
    if (o->bn_running_stats && !frozen_base)
        return cnn_fail(err, CNN_ERR_ARG,
                        "--bn-running-stats needs a pretrained base "
                        "(--backbone FILE)");
    return CNN_OK;
}

/* The head on its own, reading GAP-ready features [n, feat_c, 1, 1], with
 * the same layer names as the model's head and its parameters bound to the
 * model's, so that training either one trains both. */
static cnn_status build_head_net(run *r, cnn_error *err)
{
    const train_options *o = r->o;
    cnn_net *h = cnn_net_new();
    if (!h)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    int x = cnn_net_add_input(h, "features", r->feat_c);
    x = cnn_net_add_global_avgpool(h, GAP_LAYER, x);
    int features = r->feat_c;
    const char *logit = "dense_1";
    if (o->head_hidden > 0) {
        x = cnn_net_add_dense(h, "dense_1", x, r->feat_c, o->head_hidden, 1,
                              CNN_ACT_RELU);
        features = o->head_hidden;
        logit = "dense_2";
    }
    x = cnn_net_add_dropout(h, "dropout_1", x, o->dropout);
    cnn_net_add_dense(h, logit, x, features, 1, 1, CNN_ACT_NONE);
    cnn_status s = cnn_net_build_status(h, err);
    for (int i = 0; !s && i < cnn_net_param_count(h); i++) {
        cnn_param *p = cnn_net_param(h, i);
        cnn_param *q = cnn_net_find_param(r->net, p->name);
        if (!q || q->count != p->count)
            s = cnn_fail(err, CNN_ERR_SHAPE, "model has no head parameter %s "
                         "of %zu values", p->name, p->count);
        else
            cnn_net_bind_param(p, q->data);
    }
    if (!s)
        s = cnn_net_alloc_params(h, err);
    if (s) {
        cnn_net_free(h);
        return s;
    }
    r->head = h;
    return CNN_OK;
}

/* Copies the pretrained weights of every layer up to the head's attach
 * point (all must be in the file); the head keeps its He initialisation even
 * if the file has a head of its own under the same names. */
static cnn_status load_backbone(run *r, cnn_error *err)
{
    const train_options *o = r->o;
    int attach = cnn_net_find_layer(r->net, o->head_attach);
    if (attach < 0)
        return cnn_fail(err, CNN_ERR_ARG, "no layer %s to attach the head to",
                        o->head_attach);
    cnn_st_file *f;
    cnn_status s = cnn_st_open(&f, o->backbone, err);
    if (s)
        return s;
    int copied = 0;
    for (int i = 0; !s && i < cnn_net_param_count(r->net); i++) {
        cnn_param *p = cnn_net_param(r->net, i);
        if (p->layer > attach)
            continue;
        if (!cnn_st_find(f, p->name))
            s = cnn_fail(err, CNN_ERR_FORMAT, "%s lacks %s: not a backbone for "
                         "this model", o->backbone, p->name);
        else
            s = cnn_st_read_f32(f, p->name, p->ndim, p->shape, p->data, err);
        copied += !s;
    }
    cnn_st_close(f);
    if (!s)
        fprintf(r->info, "backbone: %d tensors up to %s from %s\n", copied,
                o->head_attach, o->backbone);
    return s;
}

cnn_status train_setup_model(run *r, cnn_error *err)
{
    const train_options *o = r->o;
    cnn_model_config cfg;
    cnn_model_config_default(&cfg, o->arch);
    cfg.input_size = o->input_size;
    snprintf(cfg.head_attach, sizeof cfg.head_attach, "%s", o->head_attach);
    cfg.head_hidden = o->head_hidden;
    cfg.head_dropout = o->dropout;
    if (o->standardize)
        cfg.preprocess = cfg.preprocess == CNN_PREPROC_SYMMETRIC
                             ? CNN_PREPROC_SYMMETRIC_STANDARDIZED
                             : CNN_PREPROC_UNIT_STANDARDIZED;
    cnn_status s = cnn_resize_filter_parse(o->resize_filter, &cfg.resize_filter, err);
    if (s)
        return s;
    if (o->input_jpeg_quality < 0 || o->input_jpeg_quality > 100)
        return cnn_fail(err, CNN_ERR_ARG, "--input-jpeg %d outside 0..100",
                        o->input_jpeg_quality);
    cfg.input_jpeg_quality = o->input_jpeg_quality;
    s = cnn_model_create(&r->model, &cfg, train_derive_seed(o->seed, 0, 1), err);
    if (s)
        return s;
    r->net = cnn_model_net(r->model);
    cnn_net_set_batchnorm_running_stats(r->net, o->bn_running_stats);
    if (r->frozen_base) {
        if ((s = load_backbone(r, err)))
            return s;
    } else {
        fprintf(r->info, "backbone: none, training from scratch (He init)\n");
    }
    if ((s = cnn_net_keep(r->net, GAP_LAYER, CNN_KEEP_OUTPUT, err)))
        return s;
    /* feature channels: plan once for one image and read the GAP width */
    if ((s = cnn_net_plan(r->net, 1, o->input_size, o->input_size, 0, err)))
        return s;
    if (!cnn_net_layer_output(r->net, GAP_LAYER, &r->feat_c, NULL, NULL))
        return cnn_fail(err, CNN_ERR_FORMAT, "model has no %s layer", GAP_LAYER);
    return build_head_net(r, err);
}

cnn_status train_setup_data(run *r, cnn_error *err)
{
    const train_options *o = r->o;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/train", o->data_dir);
    cnn_status s = data_list_open(&r->data, dir, err);
    if (!s)
        s = data_split(&r->data, o->val_fraction, o->max_per_class, o->seed,
                       &r->train_idx, &r->n_train, &r->val_idx, &r->n_val, err);
    if (s)
        return s;
    if (r->n_train < o->batch_size)
        return cnn_fail(err, CNN_ERR_ARG, "%d training images: fewer than one "
                        "batch of %d", r->n_train, o->batch_size);
    r->train_lab = malloc((size_t)r->n_train * sizeof(int));
    r->val_lab = malloc((size_t)r->n_val * sizeof(int));
    r->val_prob = malloc((size_t)r->n_val * sizeof(float));
    r->order = malloc((size_t)r->n_train * sizeof(int));
    r->positions = malloc((size_t)r->n_train * sizeof(int));
    r->targets = malloc((size_t)o->batch_size * sizeof(float));
    r->dlogits = malloc((size_t)o->batch_size * sizeof(float));
    r->batch_labels = malloc((size_t)o->batch_size * sizeof(int));
    r->batch_images = malloc((size_t)o->batch_size * 3 * (size_t)o->input_size *
                             (size_t)o->input_size * sizeof(float));
    if (!r->train_lab || !r->val_lab || !r->val_prob || !r->order || !r->positions ||
        !r->targets || !r->dlogits || !r->batch_labels || !r->batch_images)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    long count[2] = {0, 0}, vcount[2] = {0, 0};
    for (int i = 0; i < r->n_train; i++)
        count[r->train_lab[i] = r->data.labels[r->train_idx[i]]]++;
    for (int i = 0; i < r->n_val; i++)
        vcount[r->val_lab[i] = r->data.labels[r->val_idx[i]]]++;
    if (!count[0] || !count[1] || !vcount[0] || !vcount[1])
        return cnn_fail(err, CNN_ERR_ARG, "both classes are needed in train "
                        "(%ld/%ld) and validation (%ld/%ld)", count[0], count[1],
                        vcount[0], vcount[1]);
    for (int c = 0; c < 2; c++)
        r->class_w[c] = o->class_weights
                            ? (float)r->n_train / (2.0f * (float)count[c]) : 1.0f;
    fprintf(r->info, "data: %d images in %s; train %d (NORMAL %ld, PNEUMONIA %ld), "
            "validation %d (NORMAL %ld, PNEUMONIA %ld), grouped by patient\n",
            r->data.count, dir, r->n_train, count[0], count[1], r->n_val,
            vcount[0], vcount[1]);
    fprintf(r->info, "class weights: NORMAL %.3f, PNEUMONIA %.3f\n", r->class_w[0],
            r->class_w[1]);
    return CNN_OK;
}
