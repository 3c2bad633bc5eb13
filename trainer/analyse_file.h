/* analyse_file.h - one image file through the path ./infer and the web app
 * use (decode, lib/analysis.c: preprocessing, input gate, model, verdict),
 * for the trainer's measurements of what users get (`trainer originals`,
 * `trainer border-mass`). */
#ifndef TRAINER_ANALYSE_FILE_H
#define TRAINER_ANALYSE_FILE_H

#include "analysis.h"

/* Loads path and runs analysis_run on it; with_heat: also Grad-CAM. The
 * caller frees *out with analysis_free. */
cnn_status analyse_file(cnn_model *m, const char *path, int with_heat,
                        analysis *out, cnn_error *err);

/* 1 when the input gate refused the image: no NORMAL/PNEUMONIA verdict, no
 * probability, no heat map. */
int analyse_refused(const analysis *a);

#endif
