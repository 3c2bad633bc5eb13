/* analysis.h - one X-ray through the model, shared by ./infer and the CGI:
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

typedef struct {
    float probability;      /* of the positive class (PNEUMONIA) */
    float threshold;        /* positive when probability >= threshold */
    int positive;
    const char *verdict;    /* the model's class name for the decision */
    float *heat;            /* Grad-CAM [heat_h][heat_w] in [0, 1], or NULL */
    int heat_h, heat_w;
    double model_seconds;   /* wall time of the model call alone */
} analysis;

/* Runs the model on a decoded image. with_heat: also Grad-CAM (a backward
 * pass; costs about twice the forward pass). */
cnn_status analysis_run(cnn_model *m, const cnn_image *img, int with_heat,
                        analysis *out, cnn_error *err);
void analysis_free(analysis *a);

/* The heat map blended over img resized so that its longer side is at most
 * max_side (0: full size), encoded as PNG (malloc'd). When a has no heat
 * map, the plain (resized) X-ray. */
cnn_status analysis_png(const analysis *a, const cnn_image *img, int max_side,
                        uint8_t **png, size_t *png_len, cnn_error *err);

/* {"file", "verdict", "probability", "threshold", "model": {"name",
 * "version", "arch"}, "notice"}; file may be NULL (left out). */
cJSON *analysis_json(const analysis *a, const cnn_model_config *cfg,
                     const char *file);

#endif
