/* train_run.h - the state of one training run, shared by the trainer's
 * training files: train.c (the run from start to end), train_setup.c (data,
 * model, head), train_epoch.c (passes and stages), train_resume.c
 * (checkpoints) and train_outputs.c (saved models, summary). Internal to
 * the trainer. */
#ifndef TRAINER_TRAIN_RUN_H
#define TRAINER_TRAIN_RUN_H

#include <stdio.h>

#include "data.h"
#include "early_stopping.h"
#include "optimizer.h"
#include "train.h"

/* The head's first layer; its output is the cached feature vector. */
#define GAP_LAYER "global_average_pooling2d_1"

typedef struct {
    const train_options *o;
    /* Data-parallel ranks (distributed.h): each takes the share batch of
     * every global batch of o->batch_size images; rank 0 alone writes. */
    int rank, ranks, batch;
    FILE *info;               /* progress and notes: stderr on rank 0, else
                                 a sink */
    float *grads;             /* the trained net's gradient block */
    size_t grad_count;
    double reduce_seconds;    /* this epoch's wait in the all-reduce */
    cnn_model *model;
    cnn_net *net;             /* the model's network */
    cnn_net *head;            /* the head alone, on GAP features; its weights
                                 are the model's (bound, not copied) */
    int feat_c;               /* channels at the head's input */
    int frozen_base;          /* 1: pretrained backbone, frozen in stage 1 */
    int augment;              /* any augmentation strength > 0 */
    cnn_augment_params aug;
    data_list data;
    int *train_idx, n_train, *val_idx, n_val;
    int *train_lab, *val_lab;
    data_loader *loader;
    float class_w[2];
    float *train_feat, *val_feat;  /* [n, feat_c], when cached */
    float *val_prob;
    float *targets, *dlogits;      /* [batch] */
    float *batch_images;           /* loader output [batch, 3, S, S] */
    int *positions;                /* [n_train] a pass's augmentation keys */
    int *batch_labels;
    int stage, stage_epoch, stage_max_epochs, epoch;
    int changed_after;        /* layers of net after this one have been
                                 trained in some stage (checkpointed) */
    double lr;
    cnn_net *trained;         /* the net the optimizer updates this stage */
    adam_state adam;
    early_stopping es;
    int stage_ready;
    cnn_rng rng;              /* shuffling */
    int *order;               /* [n_train] positions into train_idx */
    FILE *csv;
    double train_seconds;     /* wall time: epochs and feature caching */
    double pass_seconds;      /* training passes only (for images/s) */
    long images_trained;
    char fingerprint[2048];
    char ckpt_path[700], csv_path[700];
    int best_epoch_overall;
} run;

/* A seed for one purpose (1 init, 2 dropout, 3 augmentation, 4 shuffling)
 * in one epoch (0: the whole run), derived from --seed. */
uint64_t train_derive_seed(uint64_t seed, uint64_t epoch, uint64_t purpose);

/* train_setup.c */
cnn_status train_check_options(const train_options *o, int augment,
                               int frozen_base, cnn_error *err);
cnn_status train_setup_data(run *r, cnn_error *err);
cnn_status train_setup_model(run *r, cnn_error *err);

/* train_epoch.c */
cnn_status train_extract_features(run *r, const int *idx, int n, float *feat,
                                  const char *label, cnn_error *err);
cnn_status train_predict_val(run *r, cnn_error *err);
cnn_status train_stage_begin(run *r, int stage, double carried_best,
                             cnn_error *err);
cnn_status train_run_stage(run *r, cnn_error *err);
void train_stage_end(run *r);

/* train_resume.c */
cnn_status train_save_checkpoint(run *r, cnn_error *err);
cnn_status train_load_checkpoint(run *r, cnn_error *err);
/* Peeks at a checkpoint's stage (1 or 2). */
cnn_status train_checkpoint_stage(const char *path, int *stage, cnn_error *err);

/* train_outputs.c */
cnn_status train_save_outputs(run *r, double threshold, cnn_error *err);
cnn_status train_write_summary(run *r, double threshold, cnn_error *err);

#endif
