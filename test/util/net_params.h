/* net_params.h - parameters for network tests that a wrong formula cannot
 * pass by accident. */
#ifndef TEST_NET_PARAMS_H
#define TEST_NET_PARAMS_H

#include "network.h"

/* Gives every batch norm a scale and variance in [0.7, 1.4) and a shift and
 * mean in [-0.3, 0.3), and every bias a value in [-0.3, 0.3), from fixed
 * seeds: He initialization leaves them at 1 and 0, where a missing or
 * doubled term goes unseen. */
void fill_nontrivial_bn_and_bias(cnn_net *net);

#endif
