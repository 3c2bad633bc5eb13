/* vgg16.c - VGG16 as built by keras.applications: five blocks of 3x3 'same'
 * convolutions with bias and ReLU (blockB_convK) each followed by a 2x2
 * max pool (blockB_pool), then the head (head.c). */
#include <stdio.h>

#include "network_internal.h"

cnn_status cnn_vgg16_build(cnn_net **out, const cnn_head_spec *head,
                           cnn_error *err)
{
    static const int filters[5] = {64, 128, 256, 512, 512};
    static const int convs[5] = {2, 2, 3, 3, 3};
    *out = NULL;
    cnn_net *net = cnn_net_new();
    if (!net)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    /* [n, 3, h, w] -> ... -> block5_pool [n, 512, h/32, w/32] */
    int x = cnn_net_add_input(net, "input_1", 3);
    for (int b = 0; b < 5; b++) {
        char name[NET_NAME_LEN];
        for (int k = 0; k < convs[b]; k++) {
            snprintf(name, sizeof name, "block%d_conv%d", b + 1, k + 1);
            x = cnn_net_add_conv(net, name, x, filters[b], 3, 3, 1, 1,
                                 CNN_PAD_SAME, 1, CNN_ACT_RELU);
        }
        snprintf(name, sizeof name, "block%d_pool", b + 1);
        x = cnn_net_add_pool(net, name, x, CNN_POOL_MAX, 2, 2, 2, 2,
                             CNN_PAD_VALID);
    }
    cnn_status st = net_attach_head(net, "vgg16", "block5_pool", head, 0, err);
    if (st != CNN_OK) {
        cnn_net_free(net);
        return st;
    }
    *out = net;
    return CNN_OK;
}
