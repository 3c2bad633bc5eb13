/* test_html.c - the CGI's result and refusal pages: a probability shown to
 * a person is never "100.0%" or "0.0%" (">99.9%", "<0.1%"; the exact
 * figure likewise), and the page for an image the input gate refused says
 * why, carries the notice, and shows no verdict, probability or image. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cgi-bin/html.h"
#include "util/suite.h"

static const uint8_t png[] = {0x89, 'P', 'N', 'G'};

/* The page for a result of probability p, in a malloc'd string. */
static char *page(const analysis *a, int refused)
{
    static cnn_model_config cfg;
    cnn_model_config_default(&cfg, CNN_ARCH_INCEPTION_V3);
    html_result r = {"x.png", a, &cfg, png, sizeof png, png, sizeof png};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
    if (refused)
        html_refused_page(out, &r);
    else
        html_result_page(out, &r);
    fclose(out);
    return buf;
}

static void assert_shows(float p, const char *percent, const char *exact)
{
    analysis a = {.probability = p, .threshold = 0.5f, .positive = p >= 0.5f,
                  .verdict = p >= 0.5f ? "PNEUMONIA" : "NORMAL",
                  .gate = ANALYSIS_GATE_IMAGE};
    char *html = page(&a, 0), want[128];
    snprintf(want, sizeof want, "id=\"probability\">%s</strong>", percent);
    ck_assert_msg(strstr(html, want) != NULL, "p = %.9g: no %s", p, want);
    snprintf(want, sizeof want, "id=\"probability-exact\">%s</dd>", exact);
    ck_assert_msg(strstr(html, want) != NULL, "p = %.9g: no %s", p, want);
    ck_assert_msg(!strstr(html, "100.0%") && !strstr(html, ">0.0%") &&
                  !strstr(html, ">1.000000<") && !strstr(html, ">0.000000<"),
                  "p = %.9g: shown as certain", p);
    free(html);
}

START_TEST(probabilities_are_never_certain)
{
    assert_shows(1.0f, "&gt;99.9%", "&gt;0.999999");
    assert_shows(0.99996f, "&gt;99.9%", "0.999960");
    assert_shows(0.9994f, "99.9%", "0.999400");
    assert_shows(0.5f, "50.0%", "0.500000");
    assert_shows(0.0006f, "0.1%", "0.000600");
    assert_shows(0.0004f, "&lt;0.1%", "0.000400");
    assert_shows(0.0f, "&lt;0.1%", "&lt;0.000001");
}
END_TEST

START_TEST(refused_page)
{
    analysis a = {.check = CNN_GATE_LAYOUT, .reason = cnn_gate_reason(CNN_GATE_LAYOUT),
                  .verdict = ANALYSIS_REFUSED_VERDICT, .gate = ANALYSIS_GATE_LEARNED};
    char *html = page(&a, 1);
    ck_assert(strstr(html, "does not look like a frontal chest X-ray") != NULL);
    ck_assert(strstr(html, "id=\"reason\">its layout is unlike a frontal chest X-ray") != NULL);
    ck_assert(strstr(html, "id=\"check\">layout<") != NULL);
    ck_assert(strstr(html, "id=\"gate\">image and feature checks<") != NULL);
    ck_assert(strstr(html, ANALYSIS_NOTICE) != NULL);
    ck_assert_msg(!strstr(html, "probability") && !strstr(html, "data:image") &&
                  !strstr(html, "PNEUMONIA") && !strstr(html, "NORMAL"),
                  "a refused image got a verdict, probability or image");
    free(html);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("html");
    TCase *tc = tcase_create("pages");
    tcase_add_test(tc, probabilities_are_never_certain);
    tcase_add_test(tc, refused_page);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
