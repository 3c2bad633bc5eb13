/* input_gate.h - whether an image is a frontal chest X-ray the model can
 * judge, decided before any verdict: a model answers NORMAL or PNEUMONIA
 * for anything it is given, a holiday photo included.
 *
 * Two kinds of checks:
 *   - image checks (input_gate.c) on the decoded image, the same for every
 *     model: size, shape, colour, contrast, near-binary content. Their
 *     thresholds were measured on the training X-rays (tools/
 *     measure_image_checks, docs/trainer.md): every one of the 5216
 *     training copies and of the 302 full-resolution originals passes with
 *     a margin.
 *   - learned checks (input_gate_stats.c), with statistics of the training
 *     X-rays stored in the model file by `trainer fit-gate`: the polarity of
 *     a thumbnail of the model input (a negative or a turned X-ray
 *     correlates negatively with the mean training thumbnail), the
 *     Mahalanobis distance of that thumbnail (its layout: a rotated, tightly
 *     cropped or non-chest image lies far out) and of the pooled features
 *     the head reads. A model file without them (model 1.0, test models)
 *     runs the image checks only. */
#ifndef CNN_INPUT_GATE_H
#define CNN_INPUT_GATE_H

#include "cnn.h"
#include "image.h"
#include "mahalanobis.h"
#include "safetensors.h"

typedef enum {
    CNN_GATE_ACCEPTED = 0,
    CNN_GATE_TOO_SMALL,
    CNN_GATE_ASPECT,
    CNN_GATE_COLOUR,
    CNN_GATE_FLAT,
    CNN_GATE_TWO_LEVELS,
    CNN_GATE_LAYOUT,
    CNN_GATE_FEATURES,
    CNN_GATE_HEADER, /* not a check on the image: a DICOM header that names a
                        lateral view, another body part or another modality
                        (lib/dicom.h); the reason is the header's */
    CNN_GATE_POLARITY /* a negative, or turned: bright where X-rays are dark */
} cnn_gate_check;
/* How many values cnn_gate_check has (for tallies by check). */
#define CNN_GATE_CHECK_COUNT (CNN_GATE_POLARITY + 1)

/* A stable name for programs ("accepted", "size", "aspect", "colour",
 * "flat", "two-levels", "layout", "features", "header") and a short reason for
 * people ("colour image", "flat image: almost no contrast", ...). */
const char *cnn_gate_check_name(cnn_gate_check c);
const char *cnn_gate_reason(cnn_gate_check c);

/* ---------------------------------------------------------------- image checks */

/* The thresholds: tools/measure_image_checks over the 5216 training copies
 * (224x224) and the 302 full-resolution originals; "margin" is how far the
 * worst of them stays from the threshold (docs/trainer.md). */
/* Refused below this side in pixels: too little detail to judge (copies:
 * 224, margin x1.49; originals: at least 728). */
#define CNN_GATE_MIN_SIDE 150
/* Refused when the longer side exceeds this many times the shorter
 * (originals: at most 1.99, margin x1.51; copies: square). */
#define CNN_GATE_MAX_ASPECT 3.0
/* Refused when an RGB image's mean chroma (max - min of R, G, B, on 0..255)
 * is above this. Every training X-ray has 0.0 (grey, or grey stored as RGB
 * with equal planes); 6 lets a grey image carry fully saturated coloured
 * marks (chroma ~200) over about 3% of its area. */
#define CNN_GATE_MAX_CHROMA 6.0
/* Refused when the grey levels' 5th to 95th percentile spread (0..255) is
 * below this (copies: at least 68, margin x1.70; originals: 92). */
#define CNN_GATE_MIN_SPREAD 40.0
/* Refused when more than this share of pixels lies within
 * CNN_GATE_LEVEL_WIDTH of two grey levels, as in documents and drawings
 * (copies: at most 0.556, margin x1.53; originals: 0.388). */
#define CNN_GATE_MAX_TWO_LEVELS 0.85
#define CNN_GATE_LEVEL_WIDTH 4

typedef struct {
    int width, height;
    double aspect;     /* longer side / shorter side */
    double chroma;     /* mean of max - min over R, G, B (0 for grey) */
    double spread;     /* grey levels: 95th - 5th percentile */
    double two_levels; /* share of pixels within +-CNN_GATE_LEVEL_WIDTH of
                          the two most common grey levels */
} cnn_image_measures;

/* The measures of a decoded image (grey: the value; RGB: the mean of the
 * three channels). */
void cnn_image_measure(const cnn_image *img, cnn_image_measures *out);
/* The first image check the measures fail (in the order of cnn_gate_check),
 * or CNN_GATE_ACCEPTED. */
cnn_gate_check cnn_image_checks(const cnn_image_measures *m);

/* ---------------------------------------------------------------- learned checks */

/* The layout thumbnail: THUMB_SIDE x THUMB_SIDE cell means of the model
 * input's grey level, standardized to mean 0 and sd 1 per image (so that
 * exposure, contrast and the model's pixel scaling do not matter). */
#define CNN_GATE_THUMB_SIDE 16
#define CNN_GATE_THUMB_DIM (CNN_GATE_THUMB_SIDE * CNN_GATE_THUMB_SIDE)

typedef struct {
    cnn_mahalanobis layout;    /* of thumbnails [CNN_GATE_THUMB_DIM] */
    cnn_mahalanobis features;  /* of the pooled features the head reads */
    float layout_threshold;    /* refused above these distances */
    float features_threshold;
    char about[512];           /* how the statistics were made */
} cnn_input_gate;

/* The thumbnail of a model input [3][size][size] into thumb
 * [CNN_GATE_THUMB_DIM]; size >= CNN_GATE_THUMB_SIDE. */
void cnn_gate_thumbnail(const float *input, int size, float *thumb);

/* The polarity of a thumbnail: its correlation with the mean training
 * thumbnail (layout.mean), in [-1, 1]. An X-ray's mediastinum and spine
 * are bright and its lungs dark, so every training X-ray correlates
 * positively (lowest of the 5216 training copies 0.24, of the 302
 * originals 0.60, tools/measure_polarity.py), and its negative by exactly
 * as much negatively: a sign test needs no fitted threshold. An X-ray
 * turned by 90 degrees mostly correlates negatively too. The Mahalanobis
 * distance cannot see a negative: its thumbnail is as far from the mean as
 * the X-ray's in the covariance's metric. */
double cnn_gate_polarity(const cnn_input_gate *g, const float *thumb);
/* Refused at or below this polarity. */
#define CNN_GATE_MIN_POLARITY 0.0

/* Reads the statistics from a model file: tensors input_gate.layout.mean
 * [THUMB_DIM], input_gate.layout.cholesky [THUMB_DIM, THUMB_DIM],
 * input_gate.features.mean [feature_dim], input_gate.features.cholesky
 * [feature_dim, feature_dim] (float32; copied),
 * metadata input_gate.thumbnail_side, input_gate.layout.threshold,
 * input_gate.features.threshold, input_gate.about. *out is NULL when the
 * file has none of them; any of them missing, of another shape or dtype,
 * or not a valid Cholesky factor is CNN_ERR_FORMAT naming the file. */
cnn_status cnn_gate_read(const cnn_st_file *f, const char *path,
                         int feature_dim, cnn_input_gate **out, cnn_error *err);
/* Adds the statistics and thresholds to a file being written (the data is
 * referenced until the writer saves). */
cnn_status cnn_gate_write(cnn_st_writer *w, const cnn_input_gate *g,
                          cnn_error *err);
/* Whether a tensor name belongs to the gate (not a network parameter). */
int cnn_gate_tensor_name(const char *name);
void cnn_gate_free(cnn_input_gate *g);

#endif
