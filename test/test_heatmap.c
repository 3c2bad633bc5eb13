/* test_heatmap.c - the Grad-CAM display: the jet colour scale, bilinear
 * sampling of the map and the blend, against values worked out by hand from
 * the formulas in heatmap.h. */
#include <check.h>
#include <stdlib.h>

#include "heatmap.h"
#include "util/suite.h"

static void expect_rgb(const uint8_t *got, int r, int g, int b)
{
    ck_assert_msg(got[0] == r && got[1] == g && got[2] == b,
                  "got (%d, %d, %d), want (%d, %d, %d)", got[0], got[1],
                  got[2], r, g, b);
}

START_TEST(jet_scale)
{
    uint8_t c[3];
    /* channel = clamp(1.5 - 4 |v - centre|) * 255, centres r .75 g .5 b .25 */
    cnn_heatmap_colour(0.0f, c);  expect_rgb(c, 0, 0, 128);
    cnn_heatmap_colour(0.25f, c); expect_rgb(c, 0, 128, 255);
    cnn_heatmap_colour(0.5f, c);  expect_rgb(c, 128, 255, 128);
    cnn_heatmap_colour(0.75f, c); expect_rgb(c, 255, 128, 0);
    cnn_heatmap_colour(1.0f, c);  expect_rgb(c, 128, 0, 0);
    cnn_heatmap_colour(-3.0f, c); expect_rgb(c, 0, 0, 128);
    cnn_heatmap_colour(7.0f, c);  expect_rgb(c, 128, 0, 0);
}
END_TEST

START_TEST(blend_constant_map)
{
    float grey[2] = {100, 200};
    cnn_image img = {.width = 2, .height = 1, .channels = 1, .data = grey};
    float heat[1] = {1.0f};
    uint8_t *rgb;
    ck_assert_int_eq(cnn_heatmap_overlay(&img, heat, 1, 1, 0.5f, &rgb, NULL), CNN_OK);
    /* a = 0.5: half the pixel plus half of colour(1) = (128, 0, 0) */
    expect_rgb(rgb, 114, 50, 50);
    expect_rgb(rgb + 3, 164, 100, 100);
    free(rgb);
}
END_TEST

START_TEST(blend_samples_bilinearly)
{
    float black[4] = {0, 0, 0, 0};
    cnn_image img = {.width = 4, .height = 1, .channels = 1, .data = black};
    float heat[2] = {0.0f, 1.0f};
    uint8_t *rgb;
    ck_assert_int_eq(cnn_heatmap_overlay(&img, heat, 1, 2, 1.0f, &rgb, NULL), CNN_OK);
    /* source x = (x + .5) * 2/4 - .5, clamped: 0, .25, .75, 1 -> v; over
     * black with a = v the pixel is v * colour(v). */
    expect_rgb(rgb + 0, 0, 0, 0);
    expect_rgb(rgb + 3, 0, 32, 64);    /* .25 * (0, 128, 255) */
    expect_rgb(rgb + 6, 191, 96, 0);   /* .75 * (255, 128, 0) */
    expect_rgb(rgb + 9, 128, 0, 0);
    free(rgb);
}
END_TEST

START_TEST(rgb_image_to_bytes)
{
    /* planar [3][1][2] -> interleaved, rounded and clamped */
    float px[6] = {0.4f, 300.0f, 10.5f, -2.0f, 254.6f, 128.0f};
    cnn_image img = {.width = 2, .height = 1, .channels = 3, .data = px};
    uint8_t *rgb;
    ck_assert_int_eq(cnn_image_to_rgb8(&img, &rgb, NULL), CNN_OK);
    expect_rgb(rgb, 0, 11, 255);
    expect_rgb(rgb + 3, 255, 0, 128);
    free(rgb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("heatmap");
    TCase *tc = tcase_create("display");
    tcase_add_test(tc, jet_scale);
    tcase_add_test(tc, blend_constant_map);
    tcase_add_test(tc, blend_samples_bilinearly);
    tcase_add_test(tc, rgb_image_to_bytes);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
