/* test_winograd_line.c - 1x7 and 7x1 convolutions by F(4, 7) along a line
 * (lib/winograd_line.c): the forward with its ReLU and batch-norm output
 * stage, the input and weight gradients against PyTorch goldens of odd,
 * short and 1x1 lines, 'same' and 'valid' padding and batches
 * (test/gen_golden_winograd_line.py), the input gradient against finite
 * differences; every 1x7 and 7x1 layer shape of InceptionV3 at 224 and 299
 * against the im2col path (max|diff| / max|ref| <= 1e-4, printed per
 * shape); the rule; and in a network: which layers take it, the outputs and
 * gradients of im2col, and finite differences. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "network_internal.h"
#include "util/golden.h"
#include "util/gradcheck.h"
#include "util/net_gradcheck.h"
#include "util/suite.h"
#include "winograd_kinds.h"
#include "winograd_line.h"

#define GOLDEN "test/golden/winograd_line.bin"

static const char *const CASES[] = {
    "row_same_17_n2",  "col_same_17_n2",
    "row_valid_11",    "col_valid_9",
    "row_same_shorter_than_kernel", "col_same_1x1_image",
    "row_valid_one_output",
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

static const golden_array *get(const golden_file *g, const char *name,
                               const char *what)
{
    char key[128];
    snprintf(key, sizeof key, "%s/%s", name, what);
    return golden_get(g, key);
}

START_TEST(forward_matches_pytorch)
{
    golden_file *g = golden_load(GOLDEN);
    const char *name = CASES[_i];
    const float *sh = get(g, name, "shape")->data;
    int d[11];
    for (int i = 0; i < 11; i++)
        d[i] = (int)sh[i];
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, d[1], d[2], d[3], d[4], d[5], d[6],
                                         1, 1, d[9] ? CNN_PAD_SAME : CNN_PAD_VALID,
                                         NULL),
                     CNN_OK);
    ck_assert(cnn_wino_line_applicable(&s));
    const int n = d[0], K = s.out_c;
    const float *x = get(g, name, "x")->data, *w = get(g, name, "w")->data;
    const float *b = d[10] ? get(g, name, "b")->data : NULL;
    const float *want = get(g, name, "y")->data;
    const size_t yc = get(g, name, "y")->count, hw = (size_t)s.out_h * s.out_w;
    float *U = alloc_floats(cnn_wino_line_filter_floats(&s));
    float *ws = alloc_floats(cnn_wino_line_workspace_floats(&s, n));
    float *y = alloc_floats(yc), *expect = alloc_floats(yc);
    cnn_wino_line_filter(&s, w, U);
    for (size_t i = 0; i < yc; i++)
        y[i] = 1e30f; /* overwritten */
    cnn_wino_line_forward_bn(&s, n, x, U, b, NULL, NULL, NULL, 0, y, ws);
    assert_close_scaled(name, y, want, yc);
    /* the output stage: batch norm, then ReLU */
    float *mean = alloc_floats(K), *scale = alloc_floats(K), *beta = alloc_floats(K);
    fill_uniform(mean, K, -0.5f, 0.5f, 1);
    fill_uniform(scale, K, 0.5f, 2.0f, 2);
    fill_uniform(beta, K, -0.5f, 0.5f, 3);
    for (size_t i = 0; i < yc; i++) {
        const size_t k = i / hw % K;
        float v = (want[i] - mean[k]) * scale[k] + beta[k];
        expect[i] = v > 0 ? v : 0.0f;
    }
    cnn_wino_line_forward_bn(&s, n, x, U, b, mean, scale, beta, 1, y, ws);
    assert_close_scaled("batch norm + relu", y, expect, yc);
    free(U), free(ws), free(y), free(expect), free(mean), free(scale), free(beta);
    golden_free(g);
}
END_TEST

/* One golden case with what its backward tests need. */
typedef struct {
    golden_file *g;
    const char *name;
    cnn_conv_shape s;
    int n;
    float *x, *U, *ws, *y, *dx;
    const float *w, *b, *r;
    size_t x_count, y_count;
} line_case;

static void load_case(line_case *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->g = golden_load(GOLDEN);
    c->name = name;
    const float *sh = get(c->g, name, "shape")->data;
    int d[11];
    for (int i = 0; i < 11; i++)
        d[i] = (int)sh[i];
    ck_assert_int_eq(cnn_conv_shape_init(&c->s, d[1], d[2], d[3], d[4], d[5],
                                         d[6], 1, 1,
                                         d[9] ? CNN_PAD_SAME : CNN_PAD_VALID, NULL),
                     CNN_OK);
    ck_assert(cnn_wino_line_applicable(&c->s));
    c->n = d[0];
    c->w = get(c->g, name, "w")->data;
    c->b = d[10] ? get(c->g, name, "b")->data : NULL;
    c->r = get(c->g, name, "r")->data;
    c->x_count = get(c->g, name, "x")->count;
    c->y_count = get(c->g, name, "y")->count;
    c->x = alloc_floats(c->x_count); /* writable for finite differences */
    memcpy(c->x, get(c->g, name, "x")->data, c->x_count * sizeof(float));
    c->U = alloc_floats(cnn_wino_line_filter_floats(&c->s));
    size_t ws = cnn_wino_line_workspace_floats(&c->s, c->n);
    size_t wsb = cnn_wino_line_backward_workspace_floats(&c->s, c->n);
    c->ws = alloc_floats(ws > wsb ? ws : wsb);
    c->y = alloc_floats(c->y_count);
    c->dx = alloc_floats(c->x_count);
    cnn_wino_line_filter(&c->s, c->w, c->U);
}

static void free_case(line_case *c)
{
    free(c->x), free(c->U), free(c->ws), free(c->y), free(c->dx);
    golden_free(c->g);
}

START_TEST(backward_matches_pytorch)
{
    line_case c;
    load_case(&c, CASES[_i]);
    for (size_t i = 0; i < c.x_count; i++)
        c.dx[i] = 1e30f; /* overwritten */
    /* the weight gradient is accumulated into what is there */
    const golden_array *dw_want = get(c.g, c.name, "dw");
    float *dw = alloc_floats(dw_want->count), *want = alloc_floats(dw_want->count);
    fill_uniform(dw, dw_want->count, -0.5f, 0.5f, 9);
    for (size_t i = 0; i < dw_want->count; i++)
        want[i] = dw[i] + dw_want->data[i];
    cnn_wino_line_backward(&c.s, c.n, c.x, c.r, c.U, c.dx, dw, c.ws);
    assert_close_scaled("dx", c.dx, get(c.g, c.name, "dx")->data, c.x_count);
    assert_close_scaled("dw", dw, want, dw_want->count);
    /* each gradient alone is the same */
    float *dx_alone = alloc_floats(c.x_count);
    fill_uniform(want, dw_want->count, -0.5f, 0.5f, 9);
    cnn_wino_line_backward(&c.s, c.n, c.x, c.r, c.U, dx_alone, NULL, c.ws);
    cnn_wino_line_backward(&c.s, c.n, c.x, c.r, NULL, NULL, want, c.ws);
    assert_close_scaled("dx alone", dx_alone, c.dx, c.x_count);
    assert_close_scaled("dw alone", want, dw, dw_want->count);
    free(dw), free(want), free(dx_alone);
    free_case(&c);
}
END_TEST

static double line_loss(void *ctx)
{
    line_case *c = ctx;
    cnn_wino_line_forward_bn(&c->s, c->n, c->x, c->U, c->b, NULL, NULL, NULL, 0,
                             c->y, c->ws);
    return dot_double(c->y, c->r, c->y_count);
}

START_TEST(backward_data_matches_finite_differences)
{
    line_case c;
    load_case(&c, CASES[_i]);
    cnn_wino_line_backward(&c.s, c.n, NULL, c.r, c.U, c.dx, NULL, c.ws);
    /* L is linear in x, so a large step only fights rounding */
    gradcheck("dx", line_loss, &c, c.x, c.dx, c.x_count, 300, 0.05, 1e-3, 1e-3);
    free_case(&c);
}
END_TEST

/* ------------------------------------------------ network layer shapes */

#define MAX_SHAPES 32

/* The distinct 1x7 and 7x1 shapes of InceptionV3 at 224 and 299. */
static int network_shapes(cnn_conv_shape *out)
{
    int count = 0;
    cnn_net *net = NULL;
    cnn_head_spec head = {.kind = CNN_HEAD_NONE};
    ck_assert_int_eq(cnn_inception_v3_build(&net, &head, NULL), CNN_OK);
    for (int size = 224; size <= 299; size += 75) {
        ck_assert_int_eq(cnn_net_plan(net, 1, size, size, 0, NULL), CNN_OK);
        for (int i = 0; i < net->nlayers; i++) {
            const net_layer *l = &net->layers[i];
            if (l->kind != LAYER_CONV || !cnn_wino_line_applicable(&l->conv))
                continue;
            int seen = 0;
            for (int j = 0; j < count; j++)
                seen |= memcmp(&out[j], &l->conv, sizeof l->conv) == 0;
            if (seen)
                continue;
            ck_assert_int_lt(count, MAX_SHAPES);
            out[count++] = l->conv;
        }
    }
    cnn_net_free(net);
    return count;
}

START_TEST(network_shapes_match_im2col)
{
    cnn_conv_shape shapes[MAX_SHAPES];
    int count = network_shapes(shapes);
    ck_assert_int_ge(count, 10);
    printf("winograd line vs im2col, max|diff|/max|ref| (batch 1):\n");
    for (int k = 0; k < count; k++) {
        const cnn_conv_shape *s = &shapes[k];
        size_t xc = (size_t)s->in_c * s->in_h * s->in_w;
        size_t yc = (size_t)s->out_c * s->out_h * s->out_w;
        size_t wc = (size_t)s->out_c * s->in_c * 7;
        size_t ws = cnn_conv_workspace_floats(s);
        size_t w1 = cnn_wino_line_workspace_floats(s, 1);
        size_t w2 = cnn_wino_line_backward_workspace_floats(s, 1);
        ws = ws > w1 ? ws : w1;
        ws = ws > w2 ? ws : w2;
        float *x = alloc_floats(xc), *w = alloc_floats(wc);
        float *b = alloc_floats(s->out_c), *y = alloc_floats(yc);
        float *ref = alloc_floats(yc), *work = alloc_floats(ws);
        float *dy = alloc_floats(yc), *dx = alloc_floats(xc), *dxref = alloc_floats(xc);
        float *dw = alloc_floats(wc), *dwref = alloc_floats(wc);
        float *U = alloc_floats(cnn_wino_line_filter_floats(s));
        /* post-ReLU-like inputs, He-scaled weights */
        fill_uniform(x, xc, 0.0f, 1.0f, 11u + k);
        float a = sqrtf(6.0f / (7.0f * s->in_c));
        fill_uniform(w, wc, -a, a, 23u + k);
        fill_uniform(b, s->out_c, -0.1f, 0.1f, 37u + k);
        fill_uniform(dy, yc, -1.0f, 1.0f, 41u + k);
        cnn_conv2d_forward(s, 1, x, w, b, ref, work);
        cnn_wino_line_filter(s, w, U);
        cnn_wino_line_forward_bn(s, 1, x, U, b, NULL, NULL, NULL, 0, y, work);
        double e[3] = {relative_error(y, ref, yc)};
        memset(dwref, 0, wc * sizeof(float));
        memset(dw, 0, wc * sizeof(float));
        cnn_conv2d_backward(s, 1, x, w, dy, dxref, dwref, NULL, work);
        cnn_wino_line_backward(s, 1, x, dy, U, dx, dw, work);
        e[1] = relative_error(dx, dxref, xc);
        e[2] = relative_error(dw, dwref, wc);
        printf("  %4d -> %4d  %dx%d on %2dx%-2d: forward %.2e  backward-data "
               "%.2e  weights %.2e  %s\n", s->in_c, s->out_c, s->kh, s->kw,
               s->in_h, s->in_w, e[0], e[1], e[2],
               cnn_wino_line_preferred(s, 1, 0) ? "winograd line" : "im2col");
        for (int j = 0; j < 3; j++)
            ck_assert_msg(e[j] <= 1e-4, "%d->%d %dx%d on %dx%d, pass %d: %g",
                          s->in_c, s->out_c, s->kh, s->kw, s->in_h, s->in_w, j,
                          e[j]);
        free(x), free(w), free(b), free(y), free(ref), free(work), free(U);
        free(dy), free(dx), free(dxref), free(dw), free(dwref);
    }
}
END_TEST

static cnn_conv_shape shape_of(int c, int h, int w, int k, int kh, int kw,
                               int stride, cnn_padding pad)
{
    cnn_conv_shape s;
    ck_assert_int_eq(cnn_conv_shape_init(&s, c, h, w, k, kh, kw, stride, stride,
                                         pad, NULL),
                     CNN_OK);
    return s;
}

/* 1x7 and 7x1, stride 1, with 16 or more channels on both sides and 16 or
 * more tiles in the batch (32 for a trained layer); nothing else. */
START_TEST(rule_picks_by_kernel_channels_and_tiles)
{
    cnn_conv_shape s = shape_of(160, 17, 17, 160, 1, 7, 1, CNN_PAD_SAME);
    ck_assert(cnn_wino_line_preferred(&s, 1, 0));
    s = shape_of(160, 17, 17, 192, 7, 1, 1, CNN_PAD_SAME);
    ck_assert(cnn_wino_line_preferred(&s, 1, 0));
    s = shape_of(8, 17, 17, 160, 1, 7, 1, CNN_PAD_SAME); /* few channels */
    ck_assert(cnn_wino_line_applicable(&s) && !cnn_wino_line_preferred(&s, 1, 0));
    s = shape_of(32, 3, 4, 32, 1, 7, 1, CNN_PAD_SAME); /* 3 tiles */
    ck_assert(!cnn_wino_line_preferred(&s, 1, 0));
    ck_assert(cnn_wino_line_preferred(&s, 6, 0)); /* 18 tiles */
    ck_assert(!cnn_wino_line_preferred(&s, 6, 1));
    ck_assert(cnn_wino_line_preferred(&s, 11, 1)); /* 33 tiles */
    s = shape_of(32, 17, 17, 32, 1, 7, 2, CNN_PAD_SAME);
    ck_assert(!cnn_wino_line_applicable(&s));
    s = shape_of(32, 17, 17, 32, 3, 3, 1, CNN_PAD_SAME);
    ck_assert(!cnn_wino_line_applicable(&s));
    s = shape_of(32, 8, 8, 32, 1, 3, 1, CNN_PAD_SAME);
    ck_assert(!cnn_wino_line_applicable(&s));
    s = shape_of(32, 17, 17, 32, 7, 7, 1, CNN_PAD_SAME);
    ck_assert(!cnn_wino_line_applicable(&s));
}
END_TEST

/* ------------------------------------------------ in the network */

#define NET_N 2
#define NET_C 16
#define NET_H 17
#define NET_W 19

/* input [2, 16, 17, 19] -> conv_a 1x7 'same' 16 -> (batch norm -> ReLU)
 * -> conv_b 7x1 'valid' 17 + bias -> head 1x1 conv 3: the first two big
 * enough for the rule, trained or not. Without the batch norm and ReLU
 * the loss is linear in every value, for finite differences. */
static cnn_net *line_net(int bn_relu)
{
    cnn_net *net = cnn_net_new();
    ck_assert_ptr_nonnull(net);
    int x = cnn_net_add_input(net, "input", NET_C);
    x = cnn_net_add_conv(net, "conv_a", x, 16, 1, 7, 1, 1, CNN_PAD_SAME,
                         !bn_relu, CNN_ACT_NONE);
    if (bn_relu) {
        x = cnn_net_add_batchnorm(net, "bn", x, 1, 1e-3f, 0.99f);
        x = cnn_net_add_activation(net, "relu", x, CNN_ACT_RELU);
    }
    x = cnn_net_add_conv(net, "conv_b", x, 17, 7, 1, 1, 1, CNN_PAD_VALID, 1,
                         CNN_ACT_NONE);
    cnn_net_add_conv(net, "head", x, 3, 1, 1, 1, 1, CNN_PAD_VALID, 1,
                     CNN_ACT_NONE);
    ck_assert_int_eq(cnn_net_alloc_params(net, NULL), CNN_OK);
    cnn_net_init_he(net, 9);
    fill_uniform(cnn_net_find_param(net, "conv_b/bias")->data, 17, -0.1f, 0.1f, 5);
    if (bn_relu) {
        fill_uniform(cnn_net_find_param(net, "bn/gamma")->data, 16, 0.5f, 1.5f, 1);
        fill_uniform(cnn_net_find_param(net, "bn/beta")->data, 16, -0.5f, 0.5f, 2);
        fill_uniform(cnn_net_find_param(net, "bn/moving_mean")->data, 16, -0.3f,
                     0.3f, 3);
        fill_uniform(cnn_net_find_param(net, "bn/moving_variance")->data, 16,
                     0.5f, 2.0f, 4);
    } else {
        fill_uniform(cnn_net_find_param(net, "conv_a/bias")->data, 16, -0.1f,
                     0.1f, 6);
    }
    return net;
}

/* Plans with Winograd on or off and checks the 1x7 and 7x1 layers'
 * choice (the last two convolutions before the head). */
static void plan(cnn_net *net, int winograd, int training)
{
    setenv("CNN_WINOGRAD", winograd ? "1" : "0", 1);
    ck_assert_int_eq(cnn_net_plan(net, NET_N, NET_H, NET_W, training, NULL),
                     CNN_OK);
    unsetenv("CNN_WINOGRAD");
    int convs = 0;
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].kind == LAYER_CONV && net->layers[i].kw + net->layers[i].kh == 8) {
            ck_assert_int_eq(net->layers[i].wino, winograd ? WINO_LINE : 0);
            convs++;
        }
    ck_assert_int_eq(convs, 2);
}

static void same_input(cnn_net *a, cnn_net *b, unsigned seed)
{
    const size_t nx = (size_t)NET_N * NET_C * NET_H * NET_W;
    fill_uniform(cnn_net_input(a), nx, -1, 1, seed);
    memcpy(cnn_net_input(b), cnn_net_input(a), nx * sizeof(float));
}

/* Inference (the batch norm and ReLU in conv_a's output stage) and a
 * frozen base under a trained head: the outputs and the head's gradients
 * are those of im2col. */
START_TEST(network_inference_and_frozen_base_match_im2col)
{
    cnn_net *wino = line_net(1), *ref = line_net(1);
    plan(wino, 1, 0);
    ck_assert(wino->layers[1].fused_bn && wino->layers[1].fused_relu);
    plan(ref, 0, 0);
    int per;
    for (int round = 0; round < 2; round++) {
        same_input(wino, ref, 3 + round);
        cnn_net_forward(wino, 0);
        cnn_net_forward(ref, 0);
        const float *y = cnn_net_output(wino, &per);
        double e = relative_error(y, cnn_net_output(ref, NULL), (size_t)per * NET_N);
        printf("winograd line in a network, inference round %d: %.2e\n", round, e);
        ck_assert_msg(e <= 1e-5, "round %d: %g", round, e);
        /* a weight load between rounds: the filter is transformed again */
        cnn_net_find_param(wino, "conv_b/kernel")->data[5] += 0.5f;
        cnn_net_find_param(ref, "conv_b/kernel")->data[5] += 0.5f;
    }
    for (int k = 0; k < 2; k++) {
        cnn_net *net = k ? ref : wino;
        ck_assert_int_eq(cnn_net_freeze_until(net, "conv_b", NULL), CNN_OK);
        plan(net, !k, 1);
    }
    same_input(wino, ref, 7);
    float *r = alloc_floats((size_t)per * NET_N);
    fill_uniform(r, (size_t)per * NET_N, -1, 1, 8);
    for (int k = 0; k < 2; k++) {
        cnn_net *net = k ? ref : wino;
        cnn_net_zero_grad(net);
        cnn_net_forward(net, 1);
        cnn_net_backward(net, r);
    }
    const cnn_param *gw = cnn_net_find_param(wino, "head/kernel");
    const cnn_param *gr = cnn_net_find_param(ref, "head/kernel");
    double e = relative_error(gw->grad, gr->grad, gw->count);
    printf("winograd line under a trained head, weight gradient: %.2e\n", e);
    ck_assert_msg(e <= 1e-5, "head gradient: %g", e);
    free(r);
    cnn_net_free(wino);
    cnn_net_free(ref);
}
END_TEST

/* Training through the line kind: every weight gradient and the input
 * gradient are those of im2col (with the batch norm and ReLU). */
START_TEST(network_training_matches_im2col)
{
    cnn_net *wino = line_net(1), *ref = line_net(1);
    ck_assert_int_eq(cnn_net_keep(wino, "input", CNN_KEEP_GRAD, NULL), CNN_OK);
    ck_assert_int_eq(cnn_net_keep(ref, "input", CNN_KEEP_GRAD, NULL), CNN_OK);
    plan(wino, 1, 1);
    plan(ref, 0, 1);
    same_input(wino, ref, 11);
    int per;
    cnn_net_output(ref, &per);
    float *r = alloc_floats((size_t)per * NET_N);
    fill_uniform(r, (size_t)per * NET_N, -1, 1, 12);
    for (int k = 0; k < 2; k++) {
        cnn_net *net = k ? ref : wino;
        cnn_net_zero_grad(net);
        cnn_net_forward(net, 1);
        cnn_net_backward(net, r);
    }
    for (int i = 0; i < cnn_net_param_count(wino); i++) {
        const cnn_param *a = cnn_net_param(wino, i), *b = cnn_net_param(ref, i);
        if (!a->grad)
            continue;
        double e = relative_error(a->grad, b->grad, a->count);
        printf("winograd line training, %s gradient: %.2e\n", a->name, e);
        ck_assert_msg(e <= 1e-4, "%s: %g", a->name, e);
    }
    const size_t nx = (size_t)NET_N * NET_C * NET_H * NET_W;
    double e = relative_error(cnn_net_input_grad(wino), cnn_net_input_grad(ref), nx);
    printf("winograd line training, input gradient: %.2e\n", e);
    ck_assert_msg(e <= 1e-4, "input gradient: %g", e);
    free(r);
    cnn_net_free(wino);
    cnn_net_free(ref);
}
END_TEST

/* The network's line-kind forward, backward-data and weight gradients
 * against central finite differences (the loss is linear in each value). */
START_TEST(network_gradients_match_finite_differences)
{
    cnn_net *net = line_net(0);
    ck_assert_int_eq(cnn_net_keep(net, "input", CNN_KEEP_GRAD, NULL), CNN_OK);
    plan(net, 1, 1);
    net_gradcheck(net, NET_N, 0.05);
    cnn_net_free(net);
}
END_TEST

int main(void)
{
    cnn_set_threads(0);
    Suite *suite = suite_create("winograd_line");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, NCASES);
    tcase_add_loop_test(tc, backward_matches_pytorch, 0, NCASES);
    tcase_add_loop_test(tc, backward_data_matches_finite_differences, 0, NCASES);
    tcase_add_test(tc, rule_picks_by_kernel_channels_and_tiles);
    suite_add_tcase(suite, tc);
    tc = tcase_create("networks");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, network_shapes_match_im2col);
    tcase_add_test(tc, network_inference_and_frozen_base_match_im2col);
    tcase_add_test(tc, network_training_matches_im2col);
    tcase_add_test(tc, network_gradients_match_finite_differences);
    suite_add_tcase(suite, tc);
    return run_suite(suite);
}
