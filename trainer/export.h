/* export.h - `trainer export`: copies a trained model file to another place
 * (e.g. weights/ for shipping), keeping it an overlay on the same backbone:
 * the base path it records is recomputed relative to the new location. */
#ifndef TRAINER_EXPORT_H
#define TRAINER_EXPORT_H

#include "cnn.h"
#include "model.h"

/* version: the release version to record in OUT ("" keeps IN's). */
cnn_status export_model(const char *model_file, const char *out,
                        const char *version, cnn_error *err);

/* Saves m, loaded from model_file and possibly changed since (threshold,
 * version), as out, in the same way. */
cnn_status export_loaded_model(cnn_model *m, const char *model_file,
                               const char *out, cnn_error *err);

#endif
