/* test_network_branches.c - branches whose forward runs side by side on
 * two threads (network_branches.c): which groups the plan finds, that the
 * buffers of concurrent layers never overlap, and that outputs (and a
 * training plan's gradients) equal those of the same plan run one layer
 * after another ($CNN_BRANCHES=0), on a small two-block network (one block
 * with a nested concatenation, as in InceptionV3's last blocks) and on
 * InceptionV3 itself, repeated to give a race a chance, and with one thread
 * after a two-thread plan. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "network.h"
#include "network_internal.h"
#include "util/gradcheck.h"
#include "util/net_params.h"
#include "util/suite.h"

#define SIZE 12

static int conv_bn_relu(cnn_net *net, const char *name, int x, int filters,
                        int kh, int kw)
{
    char bn[32], relu[32];
    snprintf(bn, sizeof bn, "%s_bn", name);
    snprintf(relu, sizeof relu, "%s_relu", name);
    x = cnn_net_add_conv(net, name, x, filters, kh, kw, 1, 1, CNN_PAD_SAME, 0,
                         CNN_ACT_NONE);
    x = cnn_net_add_batchnorm(net, bn, x, 1, 1e-3f, 0.9f);
    return cnn_net_add_activation(net, relu, x, CNN_ACT_RELU);
}

/* input [3] -> stem 3x3 (16)
 *   block 1: 1x1 (16) | 1x1 (16) -> 3x3 (16) (Winograd) | avg 3x3 -> 1x1 (8)
 *            | max 3x3                                   -> concat (56)
 *   block 2: 1x1 (24) | 1x1 (16) -> [1x3 (16), 3x1 (16)] -> concat
 *                                                        -> concat (56)
 *   -> gap -> dense (2, softmax) */
static cnn_net *branchy_net(void)
{
    cnn_net *net = cnn_net_new();
    int x = cnn_net_add_input(net, "input", 3);
    x = conv_bn_relu(net, "stem", x, 16, 3, 3);
    int a = conv_bn_relu(net, "b1_1x1", x, 16, 1, 1);
    int b = conv_bn_relu(net, "b1_3x3_reduce", x, 16, 1, 1);
    b = conv_bn_relu(net, "b1_3x3", b, 16, 3, 3);
    int c = cnn_net_add_pool(net, "b1_avg", x, CNN_POOL_AVG, 3, 3, 1, 1, CNN_PAD_SAME);
    c = conv_bn_relu(net, "b1_pool_proj", c, 8, 1, 1);
    int d = cnn_net_add_pool(net, "b1_max", x, CNN_POOL_MAX, 3, 3, 1, 1, CNN_PAD_SAME);
    int block1[4] = {a, b, c, d};
    x = cnn_net_add_concat(net, "block1", 4, block1);
    a = conv_bn_relu(net, "b2_1x1", x, 24, 1, 1);
    b = conv_bn_relu(net, "b2_reduce", x, 16, 1, 1);
    int b1 = conv_bn_relu(net, "b2_1x3", b, 16, 1, 3);
    int b2 = conv_bn_relu(net, "b2_3x1", b, 16, 3, 1);
    int split[2] = {b1, b2};
    b = cnn_net_add_concat(net, "b2_split", 2, split);
    int block2[2] = {a, b};
    x = cnn_net_add_concat(net, "block2", 2, block2);
    x = cnn_net_add_global_avgpool(net, "gap", x);
    cnn_net_add_dense(net, "dense", x, 56, 2, 1, CNN_ACT_SOFTMAX);
    cnn_error err;
    ck_assert_msg(cnn_net_build_status(net, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(cnn_net_alloc_params(net, &err), CNN_OK);
    cnn_net_init_he(net, 5);
    fill_nontrivial_bn_and_bias(net);
    return net;
}

static int count_groups(const cnn_net *net)
{
    int groups = 0;
    for (int i = 0; i < net->nlayers; i++)
        groups += net->layers[i].group_last != 0;
    return groups;
}

static int overlap(const net_layer *a, const net_layer *b)
{
    return a->out < b->out + b->out_floats && b->out < a->out + a->out_floats;
}

/* Within each group, layers on different threads, and any of them and the
 * fork, use disjoint buffers. */
static void check_disjoint(const cnn_net *net)
{
    for (int i = 0; i < net->nlayers; i++) {
        const int last = net->layers[i].group_last;
        if (!last)
            continue;
        const net_layer *fork = &net->layers[i - 1];
        for (int j = i; j <= last; j++) {
            const net_layer *p = &net->layers[j];
            ck_assert_msg(!overlap(p, fork), "%s over the fork", p->name);
            for (int k = i; k <= last; k++) {
                const net_layer *q = &net->layers[k];
                if (p->branch_thread != q->branch_thread)
                    ck_assert_msg(!overlap(p, q), "%s and %s share memory",
                                  p->name, q->name);
            }
        }
    }
}

/* Plans net for inference at (batch, size), with groups or without, fills
 * the input and forwards it; returns the output count. A plan is kept while
 * its sizes stay, so compare two nets. */
static int forward_plan(cnn_net *net, int batch, int size, int branches,
                        float *out)
{
    cnn_error err;
    if (!branches)
        setenv("CNN_BRANCHES", "0", 1);
    ck_assert_int_eq(cnn_net_plan(net, batch, size, size, 0, &err), CNN_OK);
    unsetenv("CNN_BRANCHES");
    fill_uniform(cnn_net_input(net), (size_t)batch * 3 * size * size, -1, 1, 3);
    cnn_net_forward(net, 0);
    int per_image;
    const float *y = cnn_net_output(net, &per_image);
    memcpy(out, y, (size_t)batch * per_image * sizeof *out);
    return batch * per_image;
}

static void assert_same(const float *a, const float *b, int count)
{
    for (int i = 0; i < count; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-6f * (1.0f + fabsf(b[i])),
                      "output %d: %g side by side, %g in order", i, a[i], b[i]);
}

START_TEST(test_small_network)
{
    cnn_net *in_order = branchy_net(), *net = branchy_net();
    float alone[2], side[2];
    int count = forward_plan(in_order, 1, SIZE, 0, alone);
    ck_assert_int_eq(count_groups(in_order), 0);
    cnn_net_free(in_order);
    forward_plan(net, 1, SIZE, 1, side);
    /* block 1, then block 2 (its inner split runs within one thread) */
    ck_assert_int_eq(count_groups(net), 2);
    int first = cnn_net_find_layer(net, "b1_1x1");
    ck_assert_int_eq(net->layers[first].group_last,
                     cnn_net_find_layer(net, "block1") - 1);
    int b1 = cnn_net_find_layer(net, "b2_1x3"), b2 = cnn_net_find_layer(net, "b2_3x1");
    ck_assert_int_eq(net->layers[b1].branch_thread, net->layers[b2].branch_thread);
    check_disjoint(net);
    ck_assert_ptr_nonnull(net->workspace_b);
    assert_same(side, alone, count);
    for (int r = 0; r < 20; r++) {
        cnn_net_forward(net, 0);
        assert_same(cnn_net_output(net, NULL), alone, count);
    }
    /* one thread after a two-thread plan: that thread runs every branch */
    cnn_set_threads(1);
    cnn_net_forward(net, 0);
    assert_same(cnn_net_output(net, NULL), alone, count);
    cnn_set_threads(2);
    cnn_net_free(net);
}
END_TEST

/* One-thread plans keep the layers in order. */
START_TEST(test_one_thread_plans_have_no_groups)
{
    cnn_error err;
    cnn_net *net = branchy_net();
    cnn_set_threads(1);
    ck_assert_int_eq(cnn_net_plan(net, 1, SIZE, SIZE, 0, &err), CNN_OK);
    ck_assert_int_eq(count_groups(net), 0);
    ck_assert_ptr_null(net->workspace_b);
    cnn_set_threads(2);
    cnn_net_free(net);
}
END_TEST

/* A training plan runs its forward side by side too (batch norm on batch
 * statistics); its output, parameter gradients and input gradient equal
 * those of the plan without groups. */
START_TEST(test_training_plan)
{
    cnn_error err;
    enum { BATCH = 2 };
    float out[2][BATCH * 2], dout[BATCH * 2];
    float *grads[2];
    size_t total = 0;
    for (int k = 0; k < 2; k++) {
        cnn_net *net = branchy_net();
        ck_assert_int_eq(cnn_net_keep(net, "input", CNN_KEEP_GRAD, &err), CNN_OK);
        if (!k)
            setenv("CNN_BRANCHES", "0", 1);
        ck_assert_int_eq(cnn_net_plan(net, BATCH, SIZE, SIZE, 1, &err), CNN_OK);
        unsetenv("CNN_BRANCHES");
        ck_assert_int_eq(count_groups(net), k ? 2 : 0);
        if (k)
            check_disjoint(net);
        fill_uniform(cnn_net_input(net), (size_t)BATCH * 3 * SIZE * SIZE, -1, 1, 3);
        cnn_net_zero_grad(net);
        cnn_net_forward(net, 1);
        memcpy(out[k], cnn_net_output(net, NULL), sizeof out[k]);
        fill_uniform(dout, BATCH * 2, -1, 1, 4);
        cnn_net_backward(net, dout);
        total = (size_t)BATCH * 3 * SIZE * SIZE;
        for (int i = 0; i < cnn_net_param_count(net); i++)
            if (cnn_net_param(net, i)->grad)
                total += cnn_net_param(net, i)->count;
        grads[k] = malloc(total * sizeof(float));
        size_t at = (size_t)BATCH * 3 * SIZE * SIZE;
        memcpy(grads[k], cnn_net_input_grad(net), at * sizeof(float));
        for (int i = 0; i < cnn_net_param_count(net); i++) {
            const cnn_param *p = cnn_net_param(net, i);
            if (p->grad) {
                memcpy(grads[k] + at, p->grad, p->count * sizeof(float));
                at += p->count;
            }
        }
        cnn_net_free(net);
    }
    assert_same(out[1], out[0], BATCH * 2);
    assert_same(grads[1], grads[0], (int)total);
    free(grads[0]);
    free(grads[1]);
}
END_TEST

/* A branch that holds nearly all the work is not worth a second thread:
 * the others would idle while it runs on one. */
START_TEST(test_lopsided_block_stays_in_order)
{
    cnn_error err;
    cnn_net *net = cnn_net_new();
    int x = cnn_net_add_input(net, "input", 3);
    x = conv_bn_relu(net, "stem", x, 32, 3, 3);
    int heavy = conv_bn_relu(net, "heavy", x, 128, 3, 3);
    int light = cnn_net_add_pool(net, "light", x, CNN_POOL_MAX, 3, 3, 1, 1,
                                 CNN_PAD_SAME);
    int parts[2] = {heavy, light};
    cnn_net_add_concat(net, "block", 2, parts);
    ck_assert_int_eq(cnn_net_alloc_params(net, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, 1, SIZE, SIZE, 0, &err), CNN_OK);
    ck_assert_int_eq(count_groups(net), 0);
    cnn_net_free(net);
}
END_TEST

START_TEST(test_inception_v3)
{
    cnn_error err;
    cnn_head_spec head = {CNN_HEAD_BINARY, NULL, 0, 0.0f};
    cnn_net *nets[2];
    float alone[1], side[1];
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(cnn_inception_v3_build(&nets[k], &head, &err), CNN_OK);
        ck_assert_int_eq(cnn_net_alloc_params(nets[k], &err), CNN_OK);
        cnn_net_init_he(nets[k], 1);
        forward_plan(nets[k], 1, 75, k, k ? side : alone);
    }
    cnn_net_free(nets[0]);
    cnn_net *net = nets[1];
    ck_assert_int_ge(count_groups(net), 8); /* of its 11 blocks */
    check_disjoint(net);
    assert_same(side, alone, 1);
    for (int r = 0; r < 5; r++) {
        cnn_net_forward(net, 0);
        assert_same(cnn_net_output(net, NULL), alone, 1);
    }
    cnn_net_free(net);
}
END_TEST

static Suite *branches_suite(void)
{
    Suite *s = suite_create("network_branches");
    TCase *tc = tcase_create("side_by_side");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_small_network);
    tcase_add_test(tc, test_one_thread_plans_have_no_groups);
    tcase_add_test(tc, test_training_plan);
    tcase_add_test(tc, test_lopsided_block_stays_in_order);
    tcase_add_test(tc, test_inception_v3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cnn_set_threads(2); /* the groups need two */
    return run_suite(branches_suite());
}
