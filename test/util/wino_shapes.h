/* wino_shapes.h - the distinct 3x3 stride-1 convolution shapes (those
 * Winograd applies to) of VGG16@224 and InceptionV3@299, for the Winograd
 * suites' comparisons against im2col. */
#ifndef TEST_WINO_SHAPES_H
#define TEST_WINO_SHAPES_H

#include "cnn.h"

/* Fills out[] (at most max) and where[] (the network's name) and returns
 * the count; fails the running test if there are more than max. */
int wino_network_shapes(cnn_conv_shape *out, const char **where, int max);

#endif
