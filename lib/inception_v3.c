/* inception_v3.c - InceptionV3 as built by keras.applications (Keras 2.2.4
 * naming): every convolution is conv2d_N (no bias) -> batch_normalization_N
 * (no gamma, eps 1e-3) -> activation_N (ReLU), numbered in creation order
 * like Keras does, then the head (head.c). */
#include <stdio.h>
#include <string.h>

#include "network_internal.h"

typedef struct {
    cnn_net *net;
    int convs, max_pools, avg_pools, concats;
} builder;

/* conv2d_bn of keras' inception_v3.py: x [n, c, h, w] -> [n, filters, ...] */
static int conv_bn(builder *b, int x, int filters, int kh, int kw, int stride,
                   cnn_padding pad)
{
    char name[64];
    int n = ++b->convs;
    snprintf(name, sizeof name, "conv2d_%d", n);
    x = cnn_net_add_conv(b->net, name, x, filters, kh, kw, stride, stride, pad,
                         0, CNN_ACT_NONE);
    snprintf(name, sizeof name, "batch_normalization_%d", n);
    x = cnn_net_add_batchnorm(b->net, name, x, 0, 1e-3f, 0.99f);
    snprintf(name, sizeof name, "activation_%d", n);
    return cnn_net_add_activation(b->net, name, x, CNN_ACT_RELU);
}

static int max_pool(builder *b, int x)
{
    char name[64];
    snprintf(name, sizeof name, "max_pooling2d_%d", ++b->max_pools);
    return cnn_net_add_pool(b->net, name, x, CNN_POOL_MAX, 3, 3, 2, 2,
                            CNN_PAD_VALID);
}

/* 3x3 stride 1 'same' average pool of the branch_pool branches */
static int avg_pool(builder *b, int x)
{
    char name[64];
    snprintf(name, sizeof name, "average_pooling2d_%d", ++b->avg_pools);
    return cnn_net_add_pool(b->net, name, x, CNN_POOL_AVG, 3, 3, 1, 1,
                            CNN_PAD_SAME);
}

/* The branch_pool of keras' inception_v3.py, average pool -> conv2d_bn 1x1,
 * built as conv2d_N -> average_pooling2d_M -> batch norm -> ReLU with the
 * same names and weights. The two commute: the 1x1 convolution (no bias)
 * mixes channels pixel by pixel, the pool averages each channel over a
 * window whose weights are the same in every channel ('same' padding left
 * out of the count). The pool then runs on the convolution's 32-192
 * channels instead of its 192-2048 inputs. */
static int pool_branch(builder *b, int x, int filters)
{
    char name[64];
    int n = ++b->convs;
    snprintf(name, sizeof name, "conv2d_%d", n);
    x = cnn_net_add_conv(b->net, name, x, filters, 1, 1, 1, 1, CNN_PAD_SAME, 0,
                         CNN_ACT_NONE);
    x = avg_pool(b, x);
    snprintf(name, sizeof name, "batch_normalization_%d", n);
    x = cnn_net_add_batchnorm(b->net, name, x, 0, 1e-3f, 0.99f);
    snprintf(name, sizeof name, "activation_%d", n);
    return cnn_net_add_activation(b->net, name, x, CNN_ACT_RELU);
}

static int concat(builder *b, const char *name, int count, const int *parts)
{
    char auto_name[64];
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "concatenate_%d", ++b->concats);
        name = auto_name;
    }
    return cnn_net_add_concat(b->net, name, count, parts);
}

/* mixed0..2: 35x35 blocks; pool_filters 32 for mixed0, else 64 */
static int block_35(builder *b, int x, int pool_filters, const char *name)
{
    const cnn_padding S = CNN_PAD_SAME;
    int parts[4];
    parts[0] = conv_bn(b, x, 64, 1, 1, 1, S);
    int b5 = conv_bn(b, x, 48, 1, 1, 1, S);
    parts[1] = conv_bn(b, b5, 64, 5, 5, 1, S);
    int d = conv_bn(b, x, 64, 1, 1, 1, S);
    d = conv_bn(b, d, 96, 3, 3, 1, S);
    parts[2] = conv_bn(b, d, 96, 3, 3, 1, S);
    parts[3] = pool_branch(b, x, pool_filters);
    return concat(b, name, 4, parts);
}

/* mixed4..7: 17x17 blocks with factorized 7x7 convolutions */
static int block_17(builder *b, int x, int c7, const char *name)
{
    const cnn_padding S = CNN_PAD_SAME;
    int parts[4];
    parts[0] = conv_bn(b, x, 192, 1, 1, 1, S);
    int s = conv_bn(b, x, c7, 1, 1, 1, S);
    s = conv_bn(b, s, c7, 1, 7, 1, S);
    parts[1] = conv_bn(b, s, 192, 7, 1, 1, S);
    int d = conv_bn(b, x, c7, 1, 1, 1, S);
    d = conv_bn(b, d, c7, 7, 1, 1, S);
    d = conv_bn(b, d, c7, 1, 7, 1, S);
    d = conv_bn(b, d, c7, 7, 1, 1, S);
    parts[2] = conv_bn(b, d, 192, 1, 7, 1, S);
    parts[3] = pool_branch(b, x, 192);
    return concat(b, name, 4, parts);
}

/* mixed9, mixed10: 8x8 blocks with split 1x3 / 3x1 branches */
static int block_8(builder *b, int x, int index)
{
    const cnn_padding S = CNN_PAD_SAME;
    char name[32];
    int parts[4], pair[2];
    parts[0] = conv_bn(b, x, 320, 1, 1, 1, S);
    int t = conv_bn(b, x, 384, 1, 1, 1, S);
    pair[0] = conv_bn(b, t, 384, 1, 3, 1, S);
    pair[1] = conv_bn(b, t, 384, 3, 1, 1, S);
    snprintf(name, sizeof name, "mixed9_%d", index);
    parts[1] = concat(b, name, 2, pair);
    int d = conv_bn(b, x, 448, 1, 1, 1, S);
    d = conv_bn(b, d, 384, 3, 3, 1, S);
    pair[0] = conv_bn(b, d, 384, 1, 3, 1, S);
    pair[1] = conv_bn(b, d, 384, 3, 1, 1, S);
    parts[2] = concat(b, NULL, 2, pair);
    parts[3] = pool_branch(b, x, 192);
    snprintf(name, sizeof name, "mixed%d", 9 + index);
    return concat(b, name, 4, parts);
}

/* The whole backbone, input "input_1" [n, 3, h, w] -> mixed10 [n, 2048, ...] */
static void build_backbone(builder *b)
{
    const cnn_padding V = CNN_PAD_VALID, S = CNN_PAD_SAME;
    int x = cnn_net_add_input(b->net, "input_1", 3);
    x = conv_bn(b, x, 32, 3, 3, 2, V);
    x = conv_bn(b, x, 32, 3, 3, 1, V);
    x = conv_bn(b, x, 64, 3, 3, 1, S);
    x = max_pool(b, x);
    x = conv_bn(b, x, 80, 1, 1, 1, V);
    x = conv_bn(b, x, 192, 3, 3, 1, V);
    x = max_pool(b, x);

    x = block_35(b, x, 32, "mixed0");
    x = block_35(b, x, 64, "mixed1");
    x = block_35(b, x, 64, "mixed2");

    /* mixed3: 35 -> 17 */
    int parts[4];
    parts[0] = conv_bn(b, x, 384, 3, 3, 2, V);
    int d = conv_bn(b, x, 64, 1, 1, 1, S);
    d = conv_bn(b, d, 96, 3, 3, 1, S);
    parts[1] = conv_bn(b, d, 96, 3, 3, 2, V);
    parts[2] = max_pool(b, x);
    x = concat(b, "mixed3", 3, parts);

    x = block_17(b, x, 128, "mixed4");
    x = block_17(b, x, 160, "mixed5");
    x = block_17(b, x, 160, "mixed6");
    x = block_17(b, x, 192, "mixed7");

    /* mixed8: 17 -> 8 */
    int t = conv_bn(b, x, 192, 1, 1, 1, S);
    parts[0] = conv_bn(b, t, 320, 3, 3, 2, V);
    int s = conv_bn(b, x, 192, 1, 1, 1, S);
    s = conv_bn(b, s, 192, 1, 7, 1, S);
    s = conv_bn(b, s, 192, 7, 1, 1, S);
    parts[1] = conv_bn(b, s, 192, 3, 3, 2, V);
    parts[2] = max_pool(b, x);
    x = concat(b, "mixed8", 3, parts);

    x = block_8(b, x, 0);
    block_8(b, x, 1);
}

cnn_status cnn_inception_v3_build(cnn_net **out, const cnn_head_spec *head,
                                  cnn_error *err)
{
    *out = NULL;
    builder b = {cnn_net_new(), 0, 0, 0, 0};
    if (!b.net)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    build_backbone(&b);
    cnn_status st = net_attach_head(b.net, "inception_v3", "mixed10", head,
                                    b.avg_pools, err);
    if (st != CNN_OK) {
        cnn_net_free(b.net);
        return st;
    }
    *out = b.net;
    return CNN_OK;
}
