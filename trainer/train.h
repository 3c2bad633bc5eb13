/* train.h - the training run: data split, epoch loop (frozen base, then an
 * optional fine-tuning stage), validation, early stopping, checkpoints, the
 * CSV log, threshold choice and the saved model. */
#ifndef TRAINER_TRAIN_H
#define TRAINER_TRAIN_H

#include "augment.h"
#include "model.h"

typedef struct {
    /* data */
    char data_dir[512];        /* holds train/NORMAL, train/PNEUMONIA */
    char out_dir[512];         /* log, checkpoint, model, reports */
    double val_fraction;       /* of train, patient-grouped, stratified */
    int max_per_class;         /* 0: all; else a seeded subset (quick runs) */
    /* model */
    cnn_arch arch;
    char backbone[512];        /* pretrained weights; "" = from scratch (He) */
    int input_size;
    char head_attach[32];
    int head_hidden;
    float dropout;
    /* optimisation */
    int batch_size;
    int epochs;                /* stage 1 maximum */
    double lr;
    double weight_decay;
    int class_weights;         /* 1: n / (2 n_c) per class from the train split */
    char finetune_from[32];    /* "" = no stage 2; else the layers after this
                                  one train in stage 2 */
    double finetune_lr;
    int finetune_epochs;
    /* early stopping */
    char monitor[16];          /* val_loss | val_auc */
    int patience;
    double min_delta;
    cnn_augment_params aug;    /* strengths; 0 disables each */
    int no_augment;
    char resize_filter[16];    /* the model's input pipeline (model.h) */
    int input_jpeg_quality;
    int cache_features;        /* head-only training on cached backbone features */
    int bn_running_stats;      /* trained batch norm keeps normalising with
                                  the pretrained running statistics */
    int standardize;           /* per-image grey-level standardization
                                  (a _STANDARDIZED preprocessing mode) */
    /* threshold rule */
    double min_sensitivity;
    /* run */
    uint64_t seed;
    int threads;               /* compute threads (0: all cores) */
    int loader_threads;        /* image decoding/augmentation threads */
    int resume;
} train_options;

void train_options_default(train_options *o, cnn_arch arch);
/* Runs the whole training; prints progress to stderr and one line per epoch
 * to stdout. Writes into o->out_dir: log.csv, checkpoint.safetensors,
 * model.safetensors (head overlay, cfg.base = the backbone),
 * model_full.safetensors (self-contained), val_predictions.csv,
 * train_summary.json. */
cnn_status train_run(const train_options *o, cnn_error *err);

#endif
