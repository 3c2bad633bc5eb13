/* net_gradcheck.h - a planned training network's gradients against central
 * finite differences, for the suites of the convolution kinds. */
#ifndef TEST_NET_GRADCHECK_H
#define TEST_NET_GRADCHECK_H

#include "network.h"

/* With loss = sum(output * r) for a fixed random r and a random input in
 * [-1, 1): one backward's weight gradients (30 values of each parameter)
 * and input gradient (60 values) against central differences of the loss
 * over +-step (tolerance 1e-3 absolute and relative). The net is planned
 * for training with batch n, its input kept (CNN_KEEP_GRAD). The loss must
 * be linear in each value (no ReLU) when the step is large. */
void net_gradcheck(cnn_net *net, int n, double step);

#endif
