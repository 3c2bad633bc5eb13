/* head.c - the classifier heads put on a backbone: the project's binary
 * head (GAP -> dense(hidden, relu) -> dropout -> dense(1) logit) and the
 * upstream nsfwjs head (avgpool 8x8 -> flatten -> dense 256 relu -> dense 128
 * relu -> dense 5 softmax), with Keras' default layer names. */
#include <stdio.h>

#include "network_internal.h"

static void binary_head(cnn_net *net, int x, int channels,
                        const cnn_head_spec *spec)
{
    /* [n, c, h, w] -> [n, c] -> [n, hidden] -> [n, 1] */
    x = cnn_net_add_global_avgpool(net, "global_average_pooling2d_1", x);
    int features = channels;
    const char *logit_name = "dense_1";
    if (spec->hidden > 0) {
        x = cnn_net_add_dense(net, "dense_1", x, channels, spec->hidden, 1,
                              CNN_ACT_RELU);
        features = spec->hidden;
        logit_name = "dense_2";
    }
    x = cnn_net_add_dropout(net, "dropout_1", x, spec->dropout);
    cnn_net_add_dense(net, logit_name, x, features, 1, 1, CNN_ACT_NONE);
}

static void nsfwjs_head(cnn_net *net, int x, int channels, int avg_pools)
{
    /* [n, 2048, 8, 8] -> [n, 2048, 1, 1] -> [n, 2048] -> 256 -> 128 -> 5 */
    char name[64];
    snprintf(name, sizeof name, "average_pooling2d_%d", avg_pools + 1);
    x = cnn_net_add_pool(net, name, x, CNN_POOL_AVG, 8, 8, 8, 8, CNN_PAD_VALID);
    x = cnn_net_add_flatten(net, "flatten_1", x);
    x = cnn_net_add_dense(net, "dense_1", x, channels, 256, 1, CNN_ACT_RELU);
    x = cnn_net_add_dense(net, "dense_2", x, 256, 128, 1, CNN_ACT_RELU);
    cnn_net_add_dense(net, "dense_3", x, 128, 5, 1, CNN_ACT_SOFTMAX);
}

cnn_status net_attach_head(cnn_net *net, const char *arch,
                           const char *default_attach,
                           const cnn_head_spec *spec, int avg_pools,
                           cnn_error *err)
{
    cnn_status st = cnn_net_build_status(net, err);
    if (st != CNN_OK)
        return st;
    const char *attach = spec && spec->attach && spec->attach[0]
                             ? spec->attach : default_attach;
    int at = cnn_net_find_layer(net, attach);
    if (at < 0)
        return cnn_fail(err, CNN_ERR_ARG, "%s has no layer named %s to attach "
                        "the head to", arch, attach);
    cnn_net_truncate(net, at);
    if (!spec || spec->kind == CNN_HEAD_NONE)
        return CNN_OK;
    int channels = cnn_net_layer_channels(net, at);
    if (channels < 0)
        return cnn_fail(err, CNN_ERR_ARG, "%s: cannot attach a head to %s",
                        arch, attach);
    if (spec->kind == CNN_HEAD_BINARY) {
        if (spec->hidden < 0 || !(spec->dropout >= 0 && spec->dropout < 1))
            return cnn_fail(err, CNN_ERR_ARG,
                            "head: hidden %d must be >= 0 and dropout %g in [0, 1)",
                            spec->hidden, (double)spec->dropout);
        binary_head(net, at, channels, spec);
    } else {
        nsfwjs_head(net, at, channels, avg_pools);
    }
    return cnn_net_build_status(net, err);
}
