/* decode_sink.h - where the PNG and JPEG decoders put their pixels, row by
 * row as they are decoded: the cnn_image they return, never more than
 * CNN_IMAGE_MAX_DECODED_SAMPLES floats (image.h). Internal to the library.
 *
 * A colour source is stored as one grey plane as long as every pixel so far
 * had three equal samples (X-rays saved as RGB); the first coloured pixel
 * adds the other two planes if they fit, else the decoder starts again with
 * room for colour planes from the start. A source too large for the bound
 * is reduced as it arrives: each stored pixel is the mean of a factor x
 * factor block of source pixels (blocks cut by the right or bottom edge
 * average the pixels they have). */
#ifndef CNN_DECODE_SINK_H
#define CNN_DECODE_SINK_H

#include "image.h"

typedef struct {
    cnn_image img;   /* the result so far (img.channels 1 while grey) */
    int src_w, src_h;
    int samples;     /* per source pixel in row: 1 grey, 3 colour */
    int factor;      /* box reduction; 1: pixels stored as they come */
    int restart;     /* set when cnn_sink_put failed for want of room */
    float *row;      /* src_w * samples floats for the decoder to fill */
} cnn_sink;

/* Prepares for a w x h source whose rows hold `samples` floats (0..255) per
 * pixel. colour_planes: make the reduction leave room for 3 planes from the
 * start (the second attempt after a restart); without it a colour source
 * gets the reduction of a grey one. */
cnn_status cnn_sink_begin(cnn_sink *s, int w, int h, int samples,
                          int colour_planes, cnn_error *err);

/* Adds n pixels of source row y from s->row: the i-th lands at column
 * x0 + i * dx (dx > 1 for Adam7 passes). Fails with CNN_ERR_TOO_LARGE and
 * s->restart set when colour showed up and its planes do not fit at this
 * reduction: the decoder then starts again with colour_planes = 1. */
cnn_status cnn_sink_put(cnn_sink *s, int y, int x0, int dx, int n,
                        cnn_error *err);

/* One decoding attempt of a format: colour_planes as for cnn_sink_begin;
 * sets *restart when it has to start again with colour planes. */
typedef cnn_status (*cnn_sink_decoder)(const uint8_t *bytes, size_t len,
                                       size_t max_pixels, int colour_planes,
                                       cnn_image *out, int *restart,
                                       cnn_error *err);
/* Runs decode once, and again with colour planes when a colour image
 * turned out too large to keep in colour unreduced (the restart rule of
 * both decoders). */
cnn_status cnn_sink_decode(cnn_sink_decoder decode, const uint8_t *bytes,
                           size_t len, size_t max_pixels, cnn_image *out,
                           cnn_error *err);

/* Turns the blocks' sums into means and hands the image over to *out. */
void cnn_sink_finish(cnn_sink *s, cnn_image *out);
void cnn_sink_free(cnn_sink *s);

#endif
