/* preview.h - `trainer --preview-augment N grid.png`: a picture of what the
 * augmentation options do to training images. */
#ifndef TRAINER_PREVIEW_H
#define TRAINER_PREVIEW_H

#include "train.h"

/* Writes a grid of n augmented tiles (input_size pixels each) made from
 * training images of o->data_dir picked with o->seed, with o's
 * augmentation strengths. */
cnn_status preview_augment(const train_options *o, int n, const char *png,
                           cnn_error *err);

#endif
