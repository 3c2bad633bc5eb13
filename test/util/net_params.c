/* net_params.c - non-trivial batch-norm parameters and biases for tests. */
#include "net_params.h"

#include <string.h>

#include "gradcheck.h"

void fill_nontrivial_bn_and_bias(cnn_net *net)
{
    for (int i = 0; i < cnn_net_param_count(net); i++) {
        cnn_param *p = cnn_net_param(net, i);
        if (strstr(p->name, "/beta") || strstr(p->name, "/bias") ||
            strstr(p->name, "/moving_mean"))
            fill_uniform(p->data, p->count, -0.3f, 0.3f, 11u + (unsigned)i);
        if (strstr(p->name, "/gamma") || strstr(p->name, "/moving_variance"))
            fill_uniform(p->data, p->count, 0.7f, 1.4f, 23u + (unsigned)i);
    }
}
