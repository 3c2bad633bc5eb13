/* test_batch_share.c - data-parallel shares of a batch (network.h,
 * cnn_net_set_batch_share): processes that each run part of a global batch
 * with the same dropout seed give every image the dropout mask it gets when
 * one process runs the whole batch. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "network.h"
#include "util/suite.h"

enum { FEATURES = 6, UNITS = 16, GLOBAL = 6 };

/* input [FEATURES] -> dense(UNITS, relu) -> dropout 0.5, planned for
 * `batch` images in training mode. */
static cnn_net *dropout_net(int batch)
{
    cnn_net *net = cnn_net_new();
    ck_assert_ptr_nonnull(net);
    int x = cnn_net_add_input(net, "input", FEATURES);
    x = cnn_net_add_dense(net, "dense", x, FEATURES, UNITS, 1, CNN_ACT_RELU);
    cnn_net_add_dropout(net, "dropout", x, 0.5f);
    cnn_error err = {0};
    ck_assert_int_eq(cnn_net_alloc_params(net, &err), CNN_OK);
    cnn_net_init_he(net, 3);
    ck_assert_int_eq(cnn_net_plan(net, batch, 1, 1, 1, &err), CNN_OK);
    return net;
}

/* Image i of the global batch: positive features, so the ReLU keeps most
 * units and the masks show. */
static void fill(cnn_net *net, int first, int count)
{
    float *in = cnn_net_input(net);
    for (int i = 0; i < count; i++)
        for (int f = 0; f < FEATURES; f++)
            in[i * FEATURES + f] = 1.0f + 0.1f * (float)((first + i) * FEATURES + f);
}

/* The same units dropped, the rest equal up to rounding (the dense
 * layer's sums may round differently for another batch size). */
static void same_masks(const float *got, const float *want)
{
    for (int k = 0; k < 2 * UNITS; k++) {
        ck_assert_int_eq(got[k] == 0.0f, want[k] == 0.0f);
        ck_assert_float_le(fabsf(got[k] - want[k]), 1e-5f * fabsf(want[k]));
    }
}

START_TEST(shares_draw_the_masks_of_the_whole_batch)
{
    cnn_net *whole = dropout_net(GLOBAL);
    float want[2][GLOBAL * UNITS];
    cnn_net_seed(whole, 99);
    for (int step = 0; step < 2; step++) {
        fill(whole, 0, GLOBAL);
        cnn_net_forward(whole, 1);
        memcpy(want[step], cnn_net_output(whole, NULL), sizeof want[step]);
    }
    ck_assert(memcmp(want[0], want[1], sizeof want[0]) != 0);
    /* 3 processes of 2 images each, two steps each (the generator carries
     * over from step to step as in the whole batch) */
    for (int first = 0; first < GLOBAL; first += 2) {
        cnn_net *part = dropout_net(2);
        cnn_net_seed(part, 99);
        cnn_net_set_batch_share(part, first, GLOBAL);
        for (int step = 0; step < 2; step++) {
            fill(part, first, 2);
            cnn_net_forward(part, 1);
            same_masks(cnn_net_output(part, NULL), want[step] + first * UNITS);
        }
        cnn_net_free(part);
    }
    /* without the share, the second pair would reuse the first pair's masks */
    cnn_net *plain = dropout_net(2);
    cnn_net_seed(plain, 99);
    fill(plain, 2, 2);
    cnn_net_forward(plain, 1);
    const float *o = cnn_net_output(plain, NULL);
    int differ = 0;
    for (int k = 0; k < 2 * UNITS; k++)
        differ += (o[k] == 0.0f) != (want[0][2 * UNITS + k] == 0.0f);
    ck_assert_int_gt(differ, 0);
    cnn_net_free(plain);
    cnn_net_free(whole);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch_share");
    TCase *tc = tcase_create("batch_share");
    tcase_add_test(tc, shares_draw_the_masks_of_the_whole_batch);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
