/* data.h - what the trainer needs from the data pipeline, on top of the
 * library's dataset listing/splitting and threaded batch loader: a labelled
 * image list, the patient-grouped validation split, and batches of
 * preprocessed (optionally augmented) images in a given order, prepared by
 * background threads while the caller computes. */
#ifndef TRAINER_DATA_H
#define TRAINER_DATA_H

#include "augment.h"
#include "cnn.h"
#include "model.h"

typedef struct {
    int count;
    char **paths;
    int *labels;        /* 0 NORMAL, 1 PNEUMONIA */
    void *impl;         /* the library's dataset object */
} data_list;

/* Lists dir/NORMAL and dir/PNEUMONIA. */
cnn_status data_list_open(data_list *d, const char *dir, cnn_error *err);
void data_list_close(data_list *d);

/* Splits d into train and validation index lists (malloc'd), grouped by
 * patient and stratified by class, seeded. max_per_class > 0 first keeps a
 * seeded subset of that many images per class. */
cnn_status data_split(const data_list *d, double val_fraction, int max_per_class,
                      uint64_t seed, int **train, int *n_train, int **val,
                      int *n_val, cnn_error *err);

typedef struct data_loader data_loader;

/* A loader of batches of `batch` images [batch, 3, size, size] through
 * the input pipeline of `model` (size, resize filter, JPEG, scaling). */
cnn_status data_loader_new(data_loader **out, const data_list *d,
                           const cnn_model_config *model, int batch,
                           int threads, cnn_error *err);
void data_loader_free(data_loader *l);
/* Starts a pass over order[0..n) (indices into d); aug NULL or all-zero =
 * no augmentation; seed makes the augmentation reproducible. Batches
 * arrive in order; the last may be short. */
cnn_status data_loader_start(data_loader *l, const int *order, int n,
                             const cnn_augment_params *aug, uint64_t seed,
                             cnn_error *err);
/* The same for a data-parallel share of a pass: positions[i] is order[i]'s
 * place in the whole pass, which keys its augmentation. */
cnn_status data_loader_start_share(data_loader *l, const int *order,
                                   const int *positions, int n,
                                   const cnn_augment_params *aug, uint64_t seed,
                                   cnn_error *err);
/* The next batch: images [*count, 3, size, size], labels [*count];
 * *count = 0 at the end of the pass. */
cnn_status data_loader_next(data_loader *l, float *images, int *labels,
                            int *count, cnn_error *err);

#endif
