/* analysis.h - one X-ray through the model, as ./infer, the CGI and the
 * trainer's measurements of what users get all run it: the input gate (is it a frontal chest X-ray the model can judge?),
 * preprocessing, the pneumonia probability and verdict, optionally the
 * Grad-CAM heat map blended over the image, and the JSON form of a result. */
#ifndef ANALYSIS_H
#define ANALYSIS_H

#include <cjson/cJSON.h>

#include "model.h"

/* Shown with every result, in every format. */
#define ANALYSIS_NOTICE                                                       \
    "This is not a diagnosis. The result comes from a machine-learning "     \
    "model that can be wrong; a qualified clinician must make any decision."

/* The verdict of an image the input gate refuses. */
#define ANALYSIS_REFUSED_VERDICT "NOT_A_CHEST_XRAY"
/* Which checks the gate runs: a model file without the learned statistics
 * (trainer fit-gate) gets the image checks only. */
#define ANALYSIS_GATE_IMAGE "image checks only"
#define ANALYSIS_GATE_LEARNED "image and feature checks"

typedef struct {
    cnn_gate_check check;   /* CNN_GATE_ACCEPTED, or the check that refused
                               the image: then there is no probability, no
                               heat map, and verdict is
                               ANALYSIS_REFUSED_VERDICT */
    const char *reason;     /* why it was refused (NULL when accepted) */
    const char *gate;       /* ANALYSIS_GATE_IMAGE or ANALYSIS_GATE_LEARNED */
    double polarity;        /* the learned checks' figures (NAN when not */
    double layout_distance; /* measured): cnn_gate_polarity and the */
    double features_distance; /* Mahalanobis distances */
    float probability;      /* of the positive class (PNEUMONIA) */
    float threshold;        /* positive when probability >= threshold */
    int positive;
    const char *verdict;    /* the model's class name for the decision */
    float *heat;            /* Grad-CAM [heat_h][heat_w] in [0, 1], or NULL */
    int heat_h, heat_w;
    double model_seconds;   /* wall time of the model call alone */
} analysis;

/* Runs the input gate and, when it accepts, the model on a decoded image
 * (a refusal is a result, not an error). header_refusal (NULL or "" for
 * none) is why the file's DICOM header says it is not a frontal chest
 * X-ray (cnn_dicom_info.refusal): then the image is refused by check
 * CNN_GATE_HEADER with that reason (kept by pointer: it must outlive out)
 * and nothing else runs. The image checks run before the model, the
 * polarity and layout checks on the model input, the feature check on the
 * features of the same forward pass. with_heat: also Grad-CAM (a backward
 * pass; costs about twice the forward pass). */
cnn_status analysis_run(cnn_model *m, const cnn_image *img,
                        const char *header_refusal, int with_heat,
                        analysis *out, cnn_error *err);
void analysis_free(analysis *a);

/* The heat map blended over img resized so that its longer side is at most
 * max_side (0: full size), encoded as PNG (malloc'd). When a has no heat
 * map, the plain (resized) X-ray. */
cnn_status analysis_png(const analysis *a, const cnn_image *img, int max_side,
                        uint8_t **png, size_t *png_len, cnn_error *err);

/* {"file", "verdict", "probability", "threshold", "gate",
 * ["polarity", "layout_distance", "features_distance",] "model": {"name", "version",
 * "arch"}, "notice"}; for a refused image "reason" and "check" (the
 * cnn_gate_check_name) instead of "probability" and "threshold". file may
 * be NULL (left out). */
cJSON *analysis_json(const analysis *a, const cnn_model_config *cfg,
                     const char *file);

#endif
