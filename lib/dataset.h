/* dataset.h - an image folder tree ROOT/CLASS/FILE.{png,jpg,jpeg,dcm} as a list of
 * labelled samples, patient ids from file names, and a stratified,
 * patient-grouped train/validation split.
 *
 * Typical use (the trainer):
 *   cnn_dataset ds;           cnn_dataset_scan("data/chest_xray/train", &ds, &err);
 *   cnn_index_list tr, va;    cnn_dataset_split(&ds, 0.15, seed, &tr, &va, &err);
 *   ... cnn_loader over (ds, tr) and (ds, va) ...
 *   cnn_index_list_free(&tr); cnn_index_list_free(&va); cnn_dataset_free(&ds);
 */
#ifndef CNN_DATASET_H
#define CNN_DATASET_H

#include "cnn.h"

typedef struct {
    char *path;    /* ROOT/CLASS/FILE */
    int label;     /* index into class_names */
    char *patient; /* cnn_patient_id of the file name */
} cnn_sample;

typedef struct {
    int num_classes;
    char **class_names; /* folder names, sorted (strcmp) */
    int count;
    cnn_sample *samples; /* by class, then by file name */
} cnn_dataset;

/* Sample indices into a dataset. */
typedef struct {
    int count;
    int *index;
} cnn_index_list;

/* Reads ROOT/CLASS/FILE for every sub-folder CLASS (hidden ones skipped) and
 * every regular file ending in .png, .jpg, .jpeg, .dcm or .dicom (any case),
 * or holding "DICM" after a 128-byte preamble (DICOM files named IM000001 or
 * by UID). Fails if there is no class folder or no image. */
cnn_status cnn_dataset_scan(const char *root, cnn_dataset *ds, cnn_error *err);

/* Building a dataset by hand (tests, file lists): start from a zeroed
 * cnn_dataset, add classes in label order, then samples. */
cnn_status cnn_dataset_add_class(cnn_dataset *ds, const char *name,
                                 cnn_error *err);
cnn_status cnn_dataset_add(cnn_dataset *ds, const char *path, int label,
                           cnn_error *err);
void cnn_dataset_free(cnn_dataset *ds);

/* The patient a chest X-ray belongs to, from its file name (any folders in
 * path are ignored):
 *   person123_bacteria_456.jpeg, person123_virus_457.jpeg -> "person123"
 *   IM-0117-0001.jpeg                                     -> "IM-0117"
 *   NORMAL2-IM-1234-0001.jpeg                             -> "IM-1234"
 * Any other name is its own patient: the file name without extension.
 * Writes at most cap bytes including the terminating NUL. */
void cnn_patient_id(const char *path, char *out, size_t cap);

/* Splits ds into train and validation, grouped by patient (all images of a
 * patient land on the same side) and stratified by class: for each class,
 * the patients whose images are mostly of that class are shuffled with
 * seed and taken into validation while that brings the class's validation
 * image count closer to val_fraction of its images. Deterministic for a
 * seed. Lists are in sample order; free them with cnn_index_list_free.
 * val_fraction in [0, 1). */
cnn_status cnn_dataset_split(const cnn_dataset *ds, double val_fraction,
                             uint64_t seed, cnn_index_list *train,
                             cnn_index_list *val, cnn_error *err);

/* Every sample of ds (e.g. a test split used whole). */
cnn_status cnn_dataset_all(const cnn_dataset *ds, cnn_index_list *out,
                           cnn_error *err);
void cnn_index_list_free(cnn_index_list *list);

#endif
