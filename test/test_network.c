/* test_network.c - the layer graph on a small network that has every layer
 * kind and Inception's patterns (a tensor read by several branches,
 * concatenations, in-place BN/ReLU): backward against finite differences in
 * training and inference mode, freezing (no gradients, running statistics
 * in frozen batch norm), batch norm kept on running statistics, kept
 * gradients through frozen layers, memory reuse (an inference plan
 * computes the same as a training plan), and the saliency pass (right
 * gradients, the set-up left as it was). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "network.h"
#include "util/gradcheck.h"
#include "util/net_params.h"
#include "util/suite.h"

#define N 2
#define SIZE 9

/* input [2, 3, 9, 9]
 *  -> conv_a 3x3 same (4) -> bn_a (gamma) -> relu_a
 *     -> conv_b 1x1 (3, bias, fused relu)           \
 *     -> avg 3x3 same -> conv_c 1x3 (2, bias)        > concat_1 (9 ch)
 *     -> (relu_a itself)                             /
 *  -> max 2x2 valid (4x4) -> bn_b (no gamma) -> relu_b
 *     -> flatten -> dense_a (5, relu)     \
 *     -> gap -> dense_b (3)                > concat_2 [2, 8] -> dropout
 *  -> dense_out (2, softmax)                                          */
static cnn_net *mini_net(void)
{
    cnn_net *net = cnn_net_new();
    int x = cnn_net_add_input(net, "input", 3);
    x = cnn_net_add_conv(net, "conv_a", x, 4, 3, 3, 1, 1, CNN_PAD_SAME, 0, CNN_ACT_NONE);
    x = cnn_net_add_batchnorm(net, "bn_a", x, 1, 1e-3f, 0.9f);
    int a = cnn_net_add_activation(net, "relu_a", x, CNN_ACT_RELU);
    int b = cnn_net_add_conv(net, "conv_b", a, 3, 1, 1, 1, 1, CNN_PAD_SAME, 1, CNN_ACT_RELU);
    int c = cnn_net_add_pool(net, "avg", a, CNN_POOL_AVG, 3, 3, 1, 1, CNN_PAD_SAME);
    c = cnn_net_add_conv(net, "conv_c", c, 2, 1, 3, 1, 1, CNN_PAD_SAME, 1, CNN_ACT_NONE);
    int parts[3] = {b, c, a};
    x = cnn_net_add_concat(net, "concat_1", 3, parts);
    x = cnn_net_add_pool(net, "max", x, CNN_POOL_MAX, 2, 2, 2, 2, CNN_PAD_VALID);
    x = cnn_net_add_batchnorm(net, "bn_b", x, 0, 1e-3f, 0.9f);
    x = cnn_net_add_activation(net, "relu_b", x, CNN_ACT_RELU);
    int f = cnn_net_add_flatten(net, "flatten", x);
    f = cnn_net_add_dense(net, "dense_a", f, 9 * 4 * 4, 5, 1, CNN_ACT_RELU);
    int g = cnn_net_add_global_avgpool(net, "gap", x);
    g = cnn_net_add_dense(net, "dense_b", g, 9, 3, 1, CNN_ACT_NONE);
    int heads[2] = {f, g};
    x = cnn_net_add_concat(net, "concat_2", 2, heads);
    x = cnn_net_add_dropout(net, "dropout", x, 0.25f);
    cnn_net_add_dense(net, "dense_out", x, 8, 2, 1, CNN_ACT_SOFTMAX);
    cnn_error err;
    ck_assert_msg(cnn_net_build_status(net, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(cnn_net_alloc_params(net, &err), CNN_OK);
    cnn_net_init_he(net, 7);
    fill_nontrivial_bn_and_bias(net);
    return net;
}

typedef struct {
    cnn_net *net;
    int training;
    float r[N * 2];
} loss_ctx;

/* sum(out * r), the dropout mask fixed by reseeding; running statistics
 * restored so that training-mode passes do not drift them. */
static double net_loss(void *p)
{
    loss_ctx *ctx = p;
    cnn_param *m = cnn_net_find_param(ctx->net, "bn_a/moving_mean");
    cnn_param *v = cnn_net_find_param(ctx->net, "bn_a/moving_variance");
    float saved[8];
    memcpy(saved, m->data, 4 * sizeof(float));
    memcpy(saved + 4, v->data, 4 * sizeof(float));
    cnn_net_seed(ctx->net, 99);
    cnn_net_forward(ctx->net, ctx->training);
    memcpy(m->data, saved, 4 * sizeof(float));
    memcpy(v->data, saved + 4, 4 * sizeof(float));
    return dot_double(cnn_net_output(ctx->net, NULL), ctx->r, N * 2);
}

static void check_all_grads(cnn_net *net, int training, int check_input)
{
    loss_ctx ctx = {net, training, {0}};
    fill_uniform(ctx.r, N * 2, -1, 1, 5);
    fill_uniform(cnn_net_input(net), (size_t)N * 3 * SIZE * SIZE, -1, 1, 3);
    cnn_net_zero_grad(net);
    net_loss(&ctx);
    cnn_net_backward(net, ctx.r);
    float *dx = NULL;
    size_t nx = (size_t)N * 3 * SIZE * SIZE;
    if (check_input) {
        const float *g = cnn_net_input_grad(net);
        ck_assert_ptr_nonnull(g);
        dx = malloc(nx * sizeof *dx); /* valid only until the next forward */
        memcpy(dx, g, nx * sizeof *dx);
    }
    for (int i = 0; i < cnn_net_param_count(net); i++) {
        cnn_param *p = cnn_net_param(net, i);
        if (p->kind != CNN_PARAM_WEIGHT || p->frozen)
            continue;
        ck_assert_ptr_nonnull(p->grad);
        gradcheck(p->name, net_loss, &ctx, p->data, p->grad, p->count, 12, 1e-3,
                  2e-3, 3e-2);
    }
    if (check_input)
        gradcheck("input", net_loss, &ctx, cnn_net_input(net), dx, nx, 20, 1e-3,
                  2e-3, 3e-2);
    free(dx);
}

START_TEST(test_backward_training)
{
    cnn_net *net = mini_net();
    cnn_error err;
    ck_assert_int_eq(cnn_net_keep(net, "input", CNN_KEEP_GRAD, &err), CNN_OK);
    ck_assert_msg(cnn_net_plan(net, N, SIZE, SIZE, 1, &err) == CNN_OK, "%s", err.message);
    check_all_grads(net, 1, 1);
    cnn_net_free(net);
}
END_TEST

START_TEST(test_backward_inference_mode)
{
    cnn_net *net = mini_net();
    cnn_error err;
    ck_assert_int_eq(cnn_net_keep(net, "input", CNN_KEEP_GRAD, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, N, SIZE, SIZE, 1, &err), CNN_OK);
    check_all_grads(net, 0, 1);
    cnn_net_free(net);
}
END_TEST

START_TEST(test_freeze)
{
    cnn_net *net = mini_net();
    cnn_error err;
    ck_assert_int_eq(cnn_net_freeze_until(net, "relu_b", &err), CNN_OK);
    ck_assert_int_eq(cnn_net_keep(net, "bn_b", CNN_KEEP_OUTPUT, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, N, SIZE, SIZE, 1, &err), CNN_OK);
    /* frozen parameters have no gradient, unfrozen ones are checked */
    for (int i = 0; i < cnn_net_param_count(net); i++) {
        cnn_param *p = cnn_net_param(net, i);
        int head = strncmp(p->name, "dense", 5) == 0;
        ck_assert_int_eq(p->frozen, !head);
        ck_assert_msg((p->grad != NULL) == (head && p->kind == CNN_PARAM_WEIGHT), "%s", p->name);
    }
    check_all_grads(net, 1, 0);

    /* frozen batch norm: running statistics even in training mode, and
     * they do not move */
    size_t count = (size_t)N * 9 * 4 * 4;
    float *train = malloc(count * sizeof *train);
    float mean0 = cnn_net_find_param(net, "bn_b/moving_mean")->data[0];
    cnn_net_forward(net, 1);
    memcpy(train, cnn_net_layer_output(net, "bn_b", NULL, NULL, NULL), count * sizeof *train);
    ck_assert_float_eq(cnn_net_find_param(net, "bn_b/moving_mean")->data[0], mean0);
    cnn_net_forward(net, 0);
    const float *infer = cnn_net_layer_output(net, "bn_b", NULL, NULL, NULL);
    for (size_t i = 0; i < count; i++)
        ck_assert_float_eq(train[i], infer[i]);
    free(train);
    cnn_net_free(net);
}
END_TEST

/* Batch norm on running statistics in training mode: gradients (gamma and
 * beta included) against finite differences, the statistics do not move,
 * and batch norm computes what an inference pass computes. */
START_TEST(test_batchnorm_running_stats)
{
    cnn_net *net = mini_net();
    cnn_error err;
    cnn_net_set_batchnorm_running_stats(net, 1);
    ck_assert_int_eq(cnn_net_keep(net, "input", CNN_KEEP_GRAD, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_keep(net, "bn_b", CNN_KEEP_OUTPUT, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, N, SIZE, SIZE, 1, &err), CNN_OK);
    check_all_grads(net, 1, 1);

    size_t count = (size_t)N * 9 * 4 * 4;
    float *train = malloc(count * sizeof *train);
    float mean0 = cnn_net_find_param(net, "bn_a/moving_mean")->data[0];
    float var0 = cnn_net_find_param(net, "bn_b/moving_variance")->data[0];
    cnn_net_forward(net, 1);
    memcpy(train, cnn_net_layer_output(net, "bn_b", NULL, NULL, NULL), count * sizeof *train);
    ck_assert_float_eq(cnn_net_find_param(net, "bn_a/moving_mean")->data[0], mean0);
    ck_assert_float_eq(cnn_net_find_param(net, "bn_b/moving_variance")->data[0], var0);
    cnn_net_forward(net, 0);
    const float *infer = cnn_net_layer_output(net, "bn_b", NULL, NULL, NULL);
    for (size_t i = 0; i < count; i++)
        ck_assert_float_eq_tol(train[i], infer[i], 1e-6);

    /* back to batch statistics: a training pass moves them again */
    cnn_net_set_batchnorm_running_stats(net, 0);
    cnn_net_forward(net, 1);
    ck_assert_float_ne(cnn_net_find_param(net, "bn_a/moving_mean")->data[0], mean0);
    free(train);
    cnn_net_free(net);
}
END_TEST

/* Inference batch norm in the network is the library op, in place:
 * bit-identical to cnn_batchnorm_forward_infer, also where the folded
 * x * s + (beta - mean * s) would cancel (|mean| >> sd), and within float
 * rounding of a double reference; the frozen backward likewise equals
 * cnn_batchnorm_backward_infer. */
START_TEST(test_batchnorm_is_the_library_op)
{
    enum { C = 3, S = 4, HW = S * S, COUNT = N * C * HW };
    cnn_net *net = cnn_net_new();
    int x = cnn_net_add_input(net, "input", C);
    cnn_net_add_batchnorm(net, "bn", x, 1, 1e-3f, 0.9f);
    cnn_error err;
    ck_assert_int_eq(cnn_net_alloc_params(net, &err), CNN_OK);
    static const float gamma[C] = {1.5f, 0.5f, 0.7f}, beta[C] = {0.25f, -1, 3};
    static const float mean[C] = {4096.3f, -3000.7f, 1000.1f};
    static const float var[C] = {1e-4f, 4e-4f, 0.3f};
    memcpy(cnn_net_find_param(net, "bn/gamma")->data, gamma, sizeof gamma);
    memcpy(cnn_net_find_param(net, "bn/beta")->data, beta, sizeof beta);
    memcpy(cnn_net_find_param(net, "bn/moving_mean")->data, mean, sizeof mean);
    memcpy(cnn_net_find_param(net, "bn/moving_variance")->data, var, sizeof var);
    ck_assert_int_eq(cnn_net_freeze_until(net, "bn", &err), CNN_OK);
    ck_assert_int_eq(cnn_net_keep(net, "input", CNN_KEEP_GRAD, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, N, S, S, 1, &err), CNN_OK);
    float in[COUNT], want[COUNT], dy[COUNT], want_dx[COUNT];
    fill_uniform(in, COUNT, -0.05f, 0.05f, 5);
    for (int i = 0; i < COUNT; i++)
        in[i] += mean[i / HW % C];
    memcpy(cnn_net_input(net), in, sizeof in);
    cnn_net_forward(net, 0);
    const float *got = cnn_net_output(net, NULL);
    cnn_batchnorm_forward_infer(N, C, HW, in, gamma, beta, mean, var, 1e-3f, 0, want);
    ck_assert_mem_eq(got, want, sizeof want);
    for (int i = 0; i < COUNT; i++) {
        int c = i / HW % C;
        double ref = ((double)in[i] - mean[c]) * gamma[c] /
                         sqrt((double)var[c] + 1e-3f) + beta[c];
        ck_assert_msg(fabs(got[i] - ref) < 1e-4, "bn[%d] = %.6f, want %.6f", i,
                      got[i], ref);
    }
    fill_uniform(dy, COUNT, -1, 1, 6);
    cnn_net_backward(net, dy);
    cnn_batchnorm_backward_infer(N, C, HW, in, gamma, mean, var, 1e-3f, dy,
                                 want_dx, NULL, NULL);
    ck_assert_mem_eq(cnn_net_input_grad(net), want_dx, sizeof want_dx);
    cnn_net_free(net);
}
END_TEST

/* The gradient kept at a frozen layer equals the one of an unfrozen net. */
START_TEST(test_keep_grad_through_frozen)
{
    cnn_error err;
    size_t count = (size_t)N * 9 * SIZE * SIZE;
    float *want = malloc(count * sizeof *want);
    float r[N * 2];
    fill_uniform(r, N * 2, -1, 1, 5);
    for (int frozen = 0; frozen < 2; frozen++) {
        cnn_net *net = mini_net();
        if (frozen)
            ck_assert_int_eq(cnn_net_freeze_until(net, "relu_b", &err), CNN_OK);
        ck_assert_int_eq(cnn_net_keep(net, "concat_1", CNN_KEEP_GRAD, &err), CNN_OK);
        ck_assert_int_eq(cnn_net_plan(net, N, SIZE, SIZE, 1, &err), CNN_OK);
        fill_uniform(cnn_net_input(net), (size_t)N * 3 * SIZE * SIZE, -1, 1, 3);
        cnn_net_forward(net, 0);
        cnn_net_backward(net, r);
        const float *g = cnn_net_layer_grad(net, "concat_1");
        ck_assert_ptr_nonnull(g);
        if (!frozen) {
            memcpy(want, g, count * sizeof *want);
        } else {
            double norm = 0;
            for (size_t i = 0; i < count; i++) {
                ck_assert_float_eq_tol(g[i], want[i], 1e-6);
                norm += fabs(want[i]);
            }
            ck_assert(norm > 0);
            ck_assert_ptr_null(cnn_net_find_param(net, "conv_a/kernel")->grad);
        }
        cnn_net_free(net);
    }
    free(want);
}
END_TEST

/* Liveness reuse must not change results: inference plan vs training plan,
 * and the inference arena is smaller. */
START_TEST(test_inference_plan_matches)
{
    cnn_error err;
    float out[2][N * 2];
    size_t bytes[2];
    for (int training = 0; training < 2; training++) {
        cnn_net *net = mini_net();
        ck_assert_int_eq(cnn_net_plan(net, N, SIZE, SIZE, training, &err), CNN_OK);
        fill_uniform(cnn_net_input(net), (size_t)N * 3 * SIZE * SIZE, -1, 1, 3);
        cnn_net_forward(net, 0);
        memcpy(out[training], cnn_net_output(net, NULL), sizeof out[0]);
        bytes[training] = cnn_net_arena_bytes(net);
        cnn_net_free(net);
    }
    for (int i = 0; i < N * 2; i++)
        ck_assert_float_eq_tol(out[0][i], out[1][i], 1e-6);
    ck_assert_uint_lt(bytes[0], bytes[1]);
}
END_TEST

/* The network's training set-up as a test can see it. */
typedef struct {
    int frozen_until;
    int keep[32];
    int param_frozen[32];
} setup_seen;

static void see_setup(cnn_net *net, setup_seen *s)
{
    ck_assert_int_le(cnn_net_layer_count(net), 32);
    ck_assert_int_le(cnn_net_param_count(net), 32);
    memset(s, 0, sizeof *s);
    s->frozen_until = cnn_net_frozen_until(net);
    for (int i = 0; i < cnn_net_layer_count(net); i++)
        s->keep[i] = cnn_net_keep_marks(net, cnn_net_layer_name(net, i));
    for (int i = 0; i < cnn_net_param_count(net); i++)
        s->param_frozen[i] = cnn_net_param(net, i)->frozen;
}

/* Plans N images for training, forwards them in inference mode and copies
 * the output. */
static void forward_copy(cnn_net *net, const float *x, float *out)
{
    cnn_error err;
    ck_assert_int_eq(cnn_net_plan(net, N, SIZE, SIZE, 1, &err), CNN_OK);
    memcpy(cnn_net_input(net), x, (size_t)N * 3 * SIZE * SIZE * sizeof *x);
    cnn_net_forward(net, 0);
    memcpy(out, cnn_net_output(net, NULL), N * 2 * sizeof *out);
}

/* A saliency pass gives the layer's output and the gradient of output[0]
 * that an ordinary kept-gradient pass gives, and leaves the set-up (frozen
 * layers, keep marks, which parameters are frozen once replanned) and what
 * a forward computes exactly as they were; parameter gradients are 0. */
START_TEST(test_saliency)
{
    cnn_error err;
    float x[N * 3 * SIZE * SIZE];
    fill_uniform(x, N * 3 * SIZE * SIZE, -1, 1, 3);

    /* the reference: every layer trainable, concat_1 kept */
    cnn_net *ref = mini_net();
    ck_assert_int_eq(cnn_net_keep(ref, "concat_1", CNN_KEEP_OUTPUT | CNN_KEEP_GRAD,
                                  &err), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(ref, 1, SIZE, SIZE, 1, &err), CNN_OK);
    memcpy(cnn_net_input(ref), x, 3 * SIZE * SIZE * sizeof *x);
    cnn_net_forward(ref, 0);
    float ref_output = cnn_net_output(ref, NULL)[0];
    float first[2] = {1, 0};
    cnn_net_backward(ref, first);
    int c, h, w;
    const float *ref_act = cnn_net_layer_output(ref, "concat_1", &c, &h, &w);
    const float *ref_grad = cnn_net_layer_grad(ref, "concat_1");

    /* set-ups of their own: frozen before the layer with marks on relu_b
     * and the layer itself; frozen up to the layer (the gradient block of
     * the saliency plan's size), no marks */
    for (int setup = 0; setup < 2; setup++) {
        cnn_net *net = mini_net();
        if (setup == 0) {
            ck_assert_int_eq(cnn_net_freeze_until(net, "bn_a", &err), CNN_OK);
            ck_assert_int_eq(cnn_net_keep(net, "relu_b", CNN_KEEP_OUTPUT, &err), CNN_OK);
            ck_assert_int_eq(cnn_net_keep(net, "concat_1", CNN_KEEP_GRAD, &err), CNN_OK);
        } else {
            ck_assert_int_eq(cnn_net_freeze_until(net, "concat_1", &err), CNN_OK);
        }
        float before[N * 2], after[N * 2];
        forward_copy(net, x, before);
        setup_seen was, is;
        see_setup(net, &was);

        cnn_saliency sal;
        ck_assert_msg(cnn_net_saliency(net, "concat_1", x, SIZE, SIZE, &sal, &err) == CNN_OK,
                      "%s", err.message);
        ck_assert_int_eq(sal.c, c);
        ck_assert_int_eq(sal.h, h);
        ck_assert_int_eq(sal.w, w);
        ck_assert_float_eq_tol(sal.output, ref_output, 1e-6);
        double norm = 0;
        for (int i = 0; i < c * h * w; i++) {
            ck_assert_float_eq_tol(sal.act[i], ref_act[i], 1e-5);
            ck_assert_float_eq_tol(sal.grad[i], ref_grad[i], 1e-5);
            norm += fabs(ref_grad[i]);
        }
        ck_assert(norm > 0);
        cnn_saliency_free(&sal);

        forward_copy(net, x, after);
        see_setup(net, &is);
        ck_assert_int_eq(is.frozen_until, was.frozen_until);
        for (int i = 0; i < cnn_net_layer_count(net); i++)
            ck_assert_msg(is.keep[i] == was.keep[i], "%s: marks %d, were %d",
                          cnn_net_layer_name(net, i), is.keep[i], was.keep[i]);
        for (int i = 0; i < cnn_net_param_count(net); i++) {
            cnn_param *p = cnn_net_param(net, i);
            ck_assert_msg(is.param_frozen[i] == was.param_frozen[i], "%s", p->name);
            for (size_t k = 0; p->grad && k < p->count; k++)
                ck_assert_msg(p->grad[k] == 0.0f, "%s: gradient %g", p->name,
                              p->grad[k]);
        }
        ck_assert_mem_eq(after, before, sizeof before);

        /* no such layer: refused, nothing changed */
        ck_assert_int_eq(cnn_net_saliency(net, "nope", x, SIZE, SIZE, &sal, &err),
                         CNN_ERR_ARG);
        ck_assert_ptr_null(sal.act);
        see_setup(net, &is);
        ck_assert_mem_eq(&is, &was, sizeof is);
        cnn_net_free(net);
    }
    cnn_net_free(ref);
}
END_TEST

START_TEST(test_errors)
{
    cnn_error err;
    cnn_net *net = mini_net();
    ck_assert_int_eq(cnn_net_plan(net, N, 2, 2, 0, &err), CNN_ERR_SHAPE);
    /* 9x9 -> 4x4 is what dense_a expects; 11x11 gives 5x5 */
    ck_assert_int_eq(cnn_net_plan(net, N, 11, 11, 0, &err), CNN_ERR_SHAPE);
    ck_assert_msg(strstr(err.message, "dense_a") != NULL, "%s", err.message);
    ck_assert_int_eq(cnn_net_freeze_until(net, "nope", &err), CNN_ERR_ARG);
    ck_assert_int_eq(cnn_net_keep(net, "nope", CNN_KEEP_GRAD, &err), CNN_ERR_ARG);
    ck_assert_int_eq(cnn_net_add_conv(net, "conv_a", 0, 1, 1, 1, 1, 1, CNN_PAD_SAME, 0,
                                      CNN_ACT_NONE), -1);
    ck_assert_int_eq(cnn_net_build_status(net, &err), CNN_ERR_ARG);
    ck_assert_msg(strstr(err.message, "duplicate") != NULL, "%s", err.message);
    cnn_net_free(net);
}
END_TEST

Suite *network_suite(void)
{
    Suite *s = suite_create("network");
    TCase *tc = tcase_create("graph");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_backward_training);
    tcase_add_test(tc, test_backward_inference_mode);
    tcase_add_test(tc, test_freeze);
    tcase_add_test(tc, test_batchnorm_running_stats);
    tcase_add_test(tc, test_keep_grad_through_frozen);
    tcase_add_test(tc, test_batchnorm_is_the_library_op);
    tcase_add_test(tc, test_inference_plan_matches);
    tcase_add_test(tc, test_saliency);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cnn_set_threads(1);
    return run_suite(network_suite());
}
