/* test_tfjs.c - the TensorFlow.js importer: the fixture model in float32
 * (two shards, a tensor split across them), float16 (prefixed names) and
 * uint8 (two groups) against values numpy computed
 * (test/gen_fixtures_weights.py -> test/golden/weights.bin), bit-exact
 * import -> safetensors -> load, the genuine Keras ImageNet stem from
 * $REF/tfjs-inception_v3-imagenet-mixed0 (skipped when absent), and broken
 * models (written into a temporary directory), each rejected clearly. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnn.h"
#include "safetensors.h"
#include "tfjs.h"
#include "util/golden.h"
#include "util/suite.h"
#include "util/tmpdir.h"

static const char *const FIXTURE_NAMES[] = {
    "conv2d_1/kernel", "conv2d_1/bias",
    "batch_normalization_1/gamma", "batch_normalization_1/beta",
    "batch_normalization_1/moving_mean", "batch_normalization_1/moving_variance",
    "conv2d_2/kernel", "dense_1/kernel", "dense_1/bias",
};
#define FIXTURE_COUNT 9

/* Checks every fixture tensor against numpy's values, bit for bit. */
static void check_fixture(const char *kind)
{
    golden_file *g = golden_load("test/golden/weights.bin");
    char path[256];
    snprintf(path, sizeof path, "test/fixtures/weights/tfjs_%s/model.json", kind);
    cnn_tfjs_model *m;
    cnn_error err;
    ck_assert_msg(cnn_tfjs_load(&m, path, 0, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(m->count, FIXTURE_COUNT);
    for (int i = 0; i < FIXTURE_COUNT; i++) {
        const cnn_tfjs_tensor *t = &m->tensors[i];
        ck_assert_str_eq(t->name, FIXTURE_NAMES[i]);
        char key[160];
        snprintf(key, sizeof key, "tfjs_%s/%s", kind, t->name);
        const golden_array *want = golden_get(g, key);
        ck_assert_int_eq(t->ndim, want->ndim);
        for (int d = 0; d < t->ndim; d++)
            ck_assert_msg(t->shape[d] == want->dims[d], "%s: dim %d is %lld, want %d",
                          key, d, (long long)t->shape[d], want->dims[d]);
        ck_assert_uint_eq(t->count, want->count);
        ck_assert_msg(memcmp(t->data, want->data, want->count * 4) == 0,
                      "%s: values differ from numpy's", key);
    }
    ck_assert_str_eq(cnn_tfjs_find(m, "conv2d_1/kernel")->layer_class, "Conv2D");
    ck_assert_str_eq(cnn_tfjs_find(m, "dense_1/kernel")->layer_class, "Dense");
    ck_assert(cnn_tfjs_find(m, "dense_2/kernel") == NULL);
    /* the conv kernel is [out 4, in 2, kh 2, kw 3] now */
    const cnn_tfjs_tensor *k = cnn_tfjs_find(m, "conv2d_1/kernel");
    ck_assert(k->shape[0] == 4 && k->shape[1] == 2 && k->shape[2] == 2 && k->shape[3] == 3);
    int stored = !strcmp(kind, "float32") ? m->stored_float32
                 : !strcmp(kind, "float16") ? m->stored_float16 : m->stored_uint8;
    ck_assert_int_eq(stored, FIXTURE_COUNT);
    cnn_tfjs_free(m);
    golden_free(g);
}

START_TEST(imports_float32) { check_fixture("float32"); }
END_TEST
START_TEST(imports_float16) { check_fixture("float16"); }
END_TEST
START_TEST(imports_uint8) { check_fixture("uint8"); }
END_TEST

/* import -> safetensors -> load gives the very same bits */
START_TEST(import_save_load_is_bit_exact)
{
    make_tmpdir("test_tfjs");
    static const char *kinds[3] = {"float32", "float16", "uint8"};
    for (int k = 0; k < 3; k++) {
        char path[256];
        snprintf(path, sizeof path, "test/fixtures/weights/tfjs_%s/model.json", kinds[k]);
        cnn_tfjs_model *m;
        cnn_error err;
        ck_assert(cnn_tfjs_load(&m, path, 0, &err) == CNN_OK);
        cnn_st_writer *w = cnn_st_writer_new();
        for (int i = 0; i < m->count; i++) {
            const cnn_tfjs_tensor *t = &m->tensors[i];
            ck_assert(cnn_st_writer_add(w, t->name, CNN_DTYPE_F32, t->ndim, t->shape,
                                        t->data, &err) == CNN_OK);
        }
        ck_assert(cnn_st_writer_save(w, tmp_path("m.safetensors"), &err) == CNN_OK);
        cnn_st_writer_free(w);
        cnn_st_file *f;
        ck_assert_msg(cnn_st_open(&f, tmp_path("m.safetensors"), &err) == CNN_OK, "%s",
                      err.message);
        ck_assert_int_eq(cnn_st_count(f), m->count);
        for (int i = 0; i < m->count; i++) {
            const cnn_tfjs_tensor *t = &m->tensors[i];
            float *got = malloc(t->count * sizeof *got + 1);
            ck_assert(cnn_st_read_f32(f, t->name, t->ndim, t->shape, got, &err) == CNN_OK);
            ck_assert(memcmp(got, t->data, t->count * 4) == 0);
            free(got);
        }
        cnn_st_close(f);
        cnn_tfjs_free(m);
    }
    remove_tmpdir();
}
END_TEST

/* The genuine Keras ImageNet InceptionV3 stem (float32). Values read from
 * the shard with numpy, in Keras layout [kh, kw, in, out]. */
START_TEST(imports_keras_imagenet_stem)
{
    const char *ref = getenv("REF") ? getenv("REF") : "../shared/ref";
    char path[512];
    snprintf(path, sizeof path, "%s/tfjs-inception_v3-imagenet-mixed0/model.json", ref);
    if (access(path, R_OK) != 0) {
        printf("imports_keras_imagenet_stem: %s not found, skipped (set REF)\n", path);
        return;
    }
    cnn_tfjs_model *m;
    cnn_error err;
    ck_assert_msg(cnn_tfjs_load(&m, path, 0, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(m->count, 48);
    ck_assert_int_eq(m->stored_float32, 48);
    const cnn_tfjs_tensor *k = cnn_tfjs_find(m, "conv2d_1/kernel");
    ck_assert(k && k->ndim == 4);
    ck_assert(k->shape[0] == 32 && k->shape[1] == 3 && k->shape[2] == 3 && k->shape[3] == 3);
    /* ours [o][c][i][j] = keras [i][j][c][o] */
#define OURS(t, o, c, i, j) \
    (t)->data[(((o) * (t)->shape[1] + (c)) * (t)->shape[2] + (i)) * (t)->shape[3] + (j)]
    ck_assert(OURS(k, 0, 0, 0, 0) == -0.45910555f);
    ck_assert(OURS(k, 5, 0, 1, 2) == -0.535335f);   /* keras [1,2,0,5] */
    ck_assert(OURS(k, 31, 2, 2, 1) == 0.14613073f); /* keras [2,1,2,31] */
    k = cnn_tfjs_find(m, "conv2d_12/kernel");
    ck_assert(k && k->shape[0] == 32 && k->shape[1] == 192 && k->shape[2] == 1);
    ck_assert(OURS(k, 31, 191, 0, 0) == 0.021868061f);
    ck_assert(OURS(k, 3, 7, 0, 0) == 0.01894125f);
    const cnn_tfjs_tensor *v = cnn_tfjs_find(m, "batch_normalization_12/moving_variance");
    ck_assert(v && v->ndim == 1 && v->shape[0] == 32 && v->data[17] == 0.43869618f);
    ck_assert_str_eq(cnn_tfjs_find(m, "batch_normalization_1/beta")->layer_class,
                     "BatchNormalization");
    cnn_tfjs_free(m);
}
END_TEST

/* ---------------------------------------------------------------- malformed */

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(tmp_path(name), "w");
    ck_assert(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void write_zeros(const char *name, size_t n)
{
    FILE *f = fopen(tmp_path(name), "wb");
    ck_assert(f != NULL);
    for (size_t i = 0; i < n; i++)
        fputc(0, f);
    fclose(f);
}

/* model.json with one group {"paths": [PATHS], "weights": [WEIGHTS]} and a
 * topology of conv (Conv2D), dense (Dense), dw (DepthwiseConv2D). */
static const char *model_json(const char *paths, const char *weights)
{
    static char text[4096];
    snprintf(text, sizeof text,
             "{\"modelTopology\":{\"class_name\":\"Model\",\"config\":{\"layers\":["
             "{\"name\":\"conv\",\"class_name\":\"Conv2D\",\"config\":{}},"
             "{\"name\":\"dense\",\"class_name\":\"Dense\",\"config\":{}},"
             "{\"name\":\"dw\",\"class_name\":\"DepthwiseConv2D\",\"config\":{}}]}},"
             "\"weightsManifest\":[{\"paths\":[%s],\"weights\":[%s]}]}",
             paths, weights);
    return text;
}

static void expect_rejected(const char *json, cnn_status code, const char *words)
{
    write_text("model.json", json);
    cnn_tfjs_model *m = (cnn_tfjs_model *)1;
    cnn_error err = {0};
    cnn_status st = cnn_tfjs_load(&m, tmp_path("model.json"), 0, &err);
    ck_assert_msg(st == code, "got %s (%s), want %s", cnn_status_name(st),
                  err.message, cnn_status_name(code));
    ck_assert(m == NULL);
    ck_assert_msg(strstr(err.message, words) != NULL, "message '%s' lacks '%s'",
                  err.message, words);
}

#define W(name, shape) "{\"name\":\"" name "\",\"shape\":" shape ",\"dtype\":\"float32\"}"

START_TEST(rejects_broken_models)
{
    make_tmpdir("test_tfjs");
    write_zeros("s16", 16);
    write_zeros("s8", 8);
    /* a good one first, to make sure the cases below differ only in the flaw */
    write_text("model.json", model_json("\"s16\"", W("conv/kernel", "[1,1,2,2]")));
    cnn_tfjs_model *m;
    cnn_error err;
    ck_assert_msg(cnn_tfjs_load(&m, tmp_path("model.json"), 0, &err) == CNN_OK, "%s",
                  err.message);
    cnn_tfjs_free(m);

    expect_rejected("{\"weightsManifest\": [", CNN_ERR_FORMAT, "not valid JSON");
    expect_rejected("{}", CNN_ERR_FORMAT, "weightsManifest");
    expect_rejected(model_json("\"missing\"", W("conv/kernel", "[1,1,2,2]")),
                    CNN_ERR_IO, "cannot open");
    expect_rejected(model_json("\"s8\"", W("conv/kernel", "[1,1,2,2]")),
                    CNN_ERR_FORMAT, "hold only 8 bytes");
    expect_rejected(model_json("\"s16\",\"s8\"", W("conv/kernel", "[1,1,2,2]")),
                    CNN_ERR_FORMAT, "shards hold 24 bytes but the manifest describes 16");
    expect_rejected(model_json("\"../s16\"", W("conv/kernel", "[1,1,2,2]")),
                    CNN_ERR_FORMAT, "relative path");
    expect_rejected(model_json("\"/etc/passwd\"", W("conv/kernel", "[1,1,2,2]")),
                    CNN_ERR_FORMAT, "relative path");
    expect_rejected(model_json("\"s16\"",
                               "{\"name\":\"conv/kernel\",\"shape\":[4],\"dtype\":\"int32\"}"),
                    CNN_ERR_UNSUPPORTED, "dtype 'int32'");
    expect_rejected(model_json("\"s16\"",
                               "{\"name\":\"conv/kernel\",\"shape\":[1,1,4,4],\"dtype\":\"float32\","
                               "\"quantization\":{\"dtype\":\"int4\"}}"),
                    CNN_ERR_UNSUPPORTED, "quantization dtype 'int4'");
    expect_rejected(model_json("\"s16\"",
                               "{\"name\":\"conv/kernel\",\"shape\":[1,1,4,4],\"dtype\":\"float32\","
                               "\"quantization\":{\"dtype\":\"uint8\",\"min\":0}}"),
                    CNN_ERR_FORMAT, "\"min\" and \"scale\"");
    expect_rejected(model_json("\"s16\"", W("kernel", "[4]")), CNN_ERR_FORMAT,
                    "<layer>/<weight>");
    expect_rejected(model_json("\"s16\"", W("conv/kernel", "[1,-1,2,2]")),
                    CNN_ERR_FORMAT, "non-negative integers");
    expect_rejected(model_json("\"s16\"", W("other/kernel", "[1,1,2,2]")),
                    CNN_ERR_FORMAT, "modelTopology does not list");
    expect_rejected(model_json("\"s16\"", W("dw/kernel", "[1,1,2,2]")),
                    CNN_ERR_UNSUPPORTED, "DepthwiseConv2D");
    expect_rejected(model_json("\"s16\"", W("dense/kernel", "[2,1,2]")),
                    CNN_ERR_FORMAT, "has 3 dimensions, expected 2");
    expect_rejected(model_json("\"s16\"", W("a/conv/bias", "[2]") "," W("b/conv/bias:0", "[2]")),
                    CNN_ERR_FORMAT, "both named 'conv/bias'");
    remove_tmpdir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tfjs");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, imports_float32);
    tcase_add_test(tc, imports_float16);
    tcase_add_test(tc, imports_uint8);
    tcase_add_test(tc, import_save_load_is_bit_exact);
    tcase_add_test(tc, imports_keras_imagenet_stem);
    tcase_add_test(tc, rejects_broken_models);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
