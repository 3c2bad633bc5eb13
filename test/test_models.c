/* test_models.c - InceptionV3 and VGG16 against Keras and PyTorch:
 * parameter counts, every parameter's name and shape against the Keras
 * manifests ($REF/keras-manifests, REF defaults to ../shared/ref), the
 * whole-network forward against test/gen_golden_models.py (PyTorch, double
 * precision), the whole-network backward against finite differences, and
 * model files (save/load round trip, overlays, load errors). */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnn.h"
#include "model.h"
#include "network.h"
#include "safetensors.h"
#include "tfjs.h"
#include "util/golden.h"
#include "util/gradcheck.h"
#include "util/suite.h"
#include "util/tmpdir.h"

#define GOLDEN "test/golden/models.bin"
#define INCEPTION_SIZE 107
#define VGG_SIZE 32
#define BATCH 2
#define HEAD_HIDDEN 8

/* ------------------------------------------------- deterministic weights */

/* Must match uniform01() in test/gen_golden_models.py. */
static uint32_t fnv1a32(const char *s)
{
    uint32_t h = 0x811C9DC5u;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x01000193u;
    }
    return h;
}

static double uniform01(uint32_t seed, size_t k)
{
    uint32_t x = seed ^ (uint32_t)((uint64_t)k * 2654435761u);
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x / 4294967296.0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void fill_deterministic(cnn_param *p)
{
    uint32_t seed = fnv1a32(p->name);
    for (size_t k = 0; k < p->count; k++) {
        double u = uniform01(seed, k), v;
        if (ends_with(p->name, "/kernel"))
            v = (2 * u - 1) * sqrt(6.0 / (double)(p->count / (size_t)p->shape[0]));
        else if (ends_with(p->name, "/gamma"))
            v = 0.8 + 0.4 * u;
        else if (ends_with(p->name, "/moving_variance"))
            v = 0.6 + 0.8 * u;
        else
            v = (2 * u - 1) * 0.1;
        p->data[k] = (float)v;
    }
}

static void fill_input(float *x, size_t count)
{
    uint32_t seed = fnv1a32("input");
    for (size_t k = 0; k < count; k++)
        x[k] = (float)(2 * uniform01(seed, k) - 1);
}

static cnn_net *build(const char *arch, cnn_head_kind head)
{
    cnn_head_spec spec = {head, NULL, HEAD_HIDDEN, 0.5f};
    cnn_net *net = NULL;
    cnn_error err;
    cnn_status st = strcmp(arch, "inception_v3") == 0
                        ? cnn_inception_v3_build(&net, &spec, &err)
                        : cnn_vgg16_build(&net, &spec, &err);
    ck_assert_msg(st == CNN_OK, "%s", err.message);
    return net;
}

static cnn_net *build_filled(const char *arch)
{
    cnn_net *net = build(arch, CNN_HEAD_BINARY);
    cnn_error err;
    ck_assert_int_eq(cnn_net_alloc_params(net, &err), CNN_OK);
    for (int i = 0; i < cnn_net_param_count(net); i++)
        fill_deterministic(cnn_net_param(net, i));
    return net;
}

/* ------------------------------------------------- counts and manifests */

START_TEST(test_parameter_counts)
{
    cnn_net *net = build("inception_v3", CNN_HEAD_NONE);
    ck_assert_uint_eq(cnn_net_total_params(net), 21802784);
    ck_assert_int_eq(cnn_net_param_count(net), 94 * 4); /* kernel, beta, mean, var */
    ck_assert_str_eq(cnn_net_layer_name(net, cnn_net_layer_count(net) - 1), "mixed10");
    cnn_net_free(net);
    net = build("vgg16", CNN_HEAD_NONE);
    ck_assert_uint_eq(cnn_net_total_params(net), 14714688);
    ck_assert_str_eq(cnn_net_layer_name(net, cnn_net_layer_count(net) - 1), "block5_pool");
    cnn_net_free(net);
}
END_TEST

/* The reference material (Keras manifests, ImageNet stem weights): $REF,
 * else ../shared/ref beside the repository. */
static const char *ref_dir(void)
{
    return getenv("REF") ? getenv("REF") : "../shared/ref";
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (set REF to the reference directory)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

/* Every weight of the Keras model below the top layers exists in ours with
 * the transposed shape, and we have no others. */
static void check_manifest(const char *arch, const char *file, const char *const *top)
{
    const char *ref = ref_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/keras-manifests/%s", ref, file);
    char *text = read_text(path);
    cJSON *root = cJSON_Parse(text);
    ck_assert_ptr_nonnull(root);
    cnn_net *net = build(arch, CNN_HEAD_NONE);
    int matched = 0;
    cJSON *groups = cJSON_GetObjectItem(root, "weightsManifest"), *g;
    cJSON_ArrayForEach(g, groups) {
        cJSON *w;
        cJSON_ArrayForEach(w, cJSON_GetObjectItem(g, "weights")) {
            const char *name = cJSON_GetObjectItem(w, "name")->valuestring;
            int is_top = 0;
            for (int t = 0; top[t]; t++)
                is_top |= strncmp(name, top[t], strlen(top[t])) == 0;
            if (is_top)
                continue;
            cJSON *shape = cJSON_GetObjectItem(w, "shape");
            int nd = cJSON_GetArraySize(shape);
            int64_t keras[4], ours[4];
            for (int d = 0; d < nd; d++)
                keras[d] = (int64_t)cJSON_GetArrayItem(shape, d)->valuedouble;
            if (nd == 4) { /* [kh, kw, in, out] -> [out, in, kh, kw] */
                ours[0] = keras[3]; ours[1] = keras[2];
                ours[2] = keras[0]; ours[3] = keras[1];
            } else if (nd == 2) { /* [in, out] -> [out, in] */
                ours[0] = keras[1]; ours[1] = keras[0];
            } else {
                ours[0] = keras[0];
            }
            cnn_param *p = cnn_net_find_param(net, name);
            ck_assert_msg(p != NULL, "%s: no parameter %s", arch, name);
            ck_assert_int_eq(p->ndim, nd);
            for (int d = 0; d < nd; d++)
                ck_assert_msg(p->shape[d] == ours[d], "%s dim %d: %lld, Keras says %lld",
                              name, d, (long long)p->shape[d], (long long)ours[d]);
            matched++;
        }
    }
    ck_assert_int_eq(matched, cnn_net_param_count(net));
    cnn_net_free(net);
    cJSON_Delete(root);
    free(text);
}

START_TEST(test_manifest_inception)
{
    static const char *const top[] = {"predictions/", NULL};
    check_manifest("inception_v3", "inceptionv3_full_model.json", top);
}
END_TEST

START_TEST(test_manifest_vgg16)
{
    static const char *const top[] = {"predictions/", "fc1/", "fc2/", NULL};
    check_manifest("vgg16", "vgg16_full_model.json", top);
}
END_TEST

START_TEST(test_input_too_small)
{
    cnn_error err;
    cnn_net *net = build_filled("inception_v3");
    ck_assert_int_eq(cnn_net_plan(net, 1, 75, 75, 0, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, 1, 74, 90, 0, &err), CNN_ERR_SHAPE);
    ck_assert_msg(strstr(err.message, "too small") != NULL, "%s", err.message);
    cnn_net_free(net);
    net = build_filled("vgg16");
    ck_assert_int_eq(cnn_net_plan(net, 1, 32, 32, 0, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, 1, 32, 31, 0, &err), CNN_ERR_SHAPE);
    ck_assert_msg(strstr(err.message, "block5_pool") != NULL, "%s", err.message);
    cnn_net_free(net);
}
END_TEST

/* ------------------------------------------------- forward vs PyTorch */

/* |ours - torch| <= 1e-4 * (|torch| + max|torch|): 1e-4 relative to the
 * layer's scale (float32 vs a double reference). */
static void compare(const char *what, const float *got, const golden_array *want)
{
    float scale = 0;
    for (size_t i = 0; i < want->count; i++)
        scale = fmaxf(scale, fabsf(want->data[i]));
    assert_close(what, got, want->data, want->count, 1e-4 * scale, 1e-4);
}

static void check_forward(const char *arch, int size, const char *const *layers,
                          int training_plan)
{
    golden_file *g = golden_load(GOLDEN);
    cnn_net *net = build_filled(arch);
    cnn_error err;
    for (int i = 0; layers[i]; i++)
        ck_assert_int_eq(cnn_net_keep(net, layers[i], CNN_KEEP_OUTPUT, &err), CNN_OK);
    ck_assert_msg(cnn_net_plan(net, BATCH, size, size, training_plan, &err) == CNN_OK,
                  "%s", err.message);
    fill_input(cnn_net_input(net), (size_t)BATCH * 3 * size * size);
    cnn_net_forward(net, 0);
    char key[96];
    for (int i = 0; layers[i]; i++) {
        int c, h, w;
        const float *y = cnn_net_layer_output(net, layers[i], &c, &h, &w);
        snprintf(key, sizeof key, "%s/%s", arch, layers[i]);
        const golden_array *want = golden_get(g, key);
        ck_assert_uint_eq((size_t)c * h * w, want->count);
        compare(key, y + (size_t)(BATCH - 1) * c * h * w, want); /* last image */
    }
    int per;
    const float *out = cnn_net_output(net, &per);
    ck_assert_int_eq(per, 1);
    snprintf(key, sizeof key, "%s/logit", arch);
    compare(key, out, golden_get(g, key));
    cnn_net_free(net);
    golden_free(g);
}

static const char *const inception_layers[] = {"mixed0", "mixed5", "mixed10", NULL};
static const char *const vgg_layers[] = {"block3_pool", "block5_pool", NULL};

START_TEST(test_forward_inception)
{
    check_forward("inception_v3", INCEPTION_SIZE, inception_layers, 0);
}
END_TEST

START_TEST(test_forward_inception_training_plan)
{
    check_forward("inception_v3", INCEPTION_SIZE, inception_layers, 1);
}
END_TEST

START_TEST(test_forward_vgg16)
{
    check_forward("vgg16", VGG_SIZE, vgg_layers, 0);
    check_forward("vgg16", VGG_SIZE, vgg_layers, 1);
}
END_TEST

/* The stem up to mixed0 with the genuine Keras ImageNet weights. */
START_TEST(test_forward_stem_imagenet)
{
    const char *ref = ref_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/tfjs-inception_v3-imagenet-mixed0/model.json", ref);
    cnn_error err;
    cnn_tfjs_model *tf;
    ck_assert_msg(cnn_tfjs_load(&tf, path, 0, &err) == CNN_OK, "%s (set REF)", err.message);
    cnn_head_spec spec = {CNN_HEAD_NONE, "mixed0", 0, 0};
    cnn_net *net;
    ck_assert_int_eq(cnn_inception_v3_build(&net, &spec, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_alloc_params(net, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_param_count(net), tf->count);
    for (int i = 0; i < cnn_net_param_count(net); i++) {
        cnn_param *p = cnn_net_param(net, i);
        const cnn_tfjs_tensor *t = cnn_tfjs_find(tf, p->name);
        ck_assert_msg(t && t->count == p->count, "%s", p->name);
        for (int d = 0; d < p->ndim; d++)
            ck_assert_int_eq(t->shape[d], p->shape[d]);
        memcpy(p->data, t->data, p->count * sizeof(float));
    }
    cnn_tfjs_free(tf);
    ck_assert_int_eq(cnn_net_plan(net, 1, 75, 75, 0, &err), CNN_OK);
    fill_input(cnn_net_input(net), (size_t)3 * 75 * 75);
    cnn_net_forward(net, 0);
    golden_file *g = golden_load("test/golden/models_stem.bin");
    const golden_array *want = golden_get(g, "mixed0");
    int per;
    const float *y = cnn_net_output(net, &per);
    ck_assert_int_eq(per, (int)want->count);
    compare("stem mixed0 (ImageNet weights)", y, want);
    golden_free(g);
    cnn_net_free(net);
}
END_TEST

/* ------------------------------------------------- backward vs finite differences */

typedef struct {
    cnn_net *net;
} logit_ctx;

static double logit_sum(void *p)
{
    logit_ctx *ctx = p;
    cnn_net_forward(ctx->net, 0);
    int per;
    const float *y = cnn_net_output(ctx->net, &per);
    return y[0];
}

/* Inference-mode forward (batch norm with moving statistics) of the whole
 * network at its smallest input, d(logit)/d(parameter) for a sample of the
 * parameters of every layer type and for the input. */
static void check_whole_backward(const char *arch, int size, const char *const *params)
{
    cnn_net *net = build_filled(arch);
    cnn_error err;
    ck_assert_int_eq(cnn_net_keep(net, "input_1", CNN_KEEP_GRAD, &err), CNN_OK);
    ck_assert_int_eq(cnn_net_plan(net, 1, size, size, 1, &err), CNN_OK);
    size_t nx = (size_t)3 * size * size;
    fill_input(cnn_net_input(net), nx);
    logit_ctx ctx = {net};
    cnn_net_zero_grad(net);
    logit_sum(&ctx);
    float one = 1;
    cnn_net_backward(net, &one);
    float *dx = malloc(nx * sizeof *dx);
    memcpy(dx, cnn_net_input_grad(net), nx * sizeof *dx);
    for (int i = 0; params[i]; i++) {
        cnn_param *p = cnn_net_find_param(net, params[i]);
        ck_assert_msg(p && p->grad, "%s", params[i]);
        gradcheck(p->name, logit_sum, &ctx, p->data, p->grad, p->count, 2, 1e-3,
                  1e-3, 5e-2);
    }
    gradcheck("input_1", logit_sum, &ctx, cnn_net_input(net), dx, nx, 4, 1e-3,
              1e-3, 5e-2);
    free(dx);
    cnn_net_free(net);
}

START_TEST(test_backward_inception)
{
    static const char *const params[] = {
        "conv2d_1/kernel", "batch_normalization_1/beta", "conv2d_40/kernel",
        "batch_normalization_62/beta", "conv2d_94/kernel", "batch_normalization_86/beta",
        "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias", NULL};
    check_whole_backward("inception_v3", 75, params);
}
END_TEST

START_TEST(test_backward_vgg16)
{
    static const char *const params[] = {
        "block1_conv1/kernel", "block3_conv2/kernel",
        "block5_conv3/kernel", "block5_conv3/bias", "dense_1/kernel", "dense_2/bias", NULL};
    check_whole_backward("vgg16", 32, params);
}
END_TEST

/* ------------------------------------------------- model files */

/* A small InceptionV3 model (head on mixed0) with deterministic weights. */
static cnn_model *small_model(int hidden)
{
    cnn_model_config cfg;
    cnn_model_config_default(&cfg, CNN_ARCH_INCEPTION_V3);
    cfg.input_size = 75;
    snprintf(cfg.head_attach, sizeof cfg.head_attach, "mixed0");
    cfg.head_hidden = hidden;
    cfg.head_dropout = 0.25f;
    cfg.threshold = 0.37f;
    snprintf(cfg.provenance, sizeof cfg.provenance, "test \"quoted\", comma");
    cnn_model *m;
    cnn_error err;
    ck_assert_msg(cnn_model_create(&m, &cfg, 42, &err) == CNN_OK, "%s", err.message);
    cnn_net *net = cnn_model_net(m);
    for (int i = 0; i < cnn_net_param_count(net); i++)
        fill_deterministic(cnn_net_param(net, i));
    return m;
}

static void assert_same_params(cnn_model *a, cnn_model *b)
{
    cnn_net *na = cnn_model_net(a), *nb = cnn_model_net(b);
    ck_assert_int_eq(cnn_net_param_count(na), cnn_net_param_count(nb));
    for (int i = 0; i < cnn_net_param_count(na); i++) {
        cnn_param *p = cnn_net_param(na, i), *q = cnn_net_param(nb, i);
        ck_assert_str_eq(p->name, q->name);
        ck_assert_msg(memcmp(p->data, q->data, p->count * sizeof(float)) == 0,
                      "%s differs", p->name);
    }
}

START_TEST(test_save_load_round_trip)
{
    make_tmpdir("test_models");
    cnn_error err;
    cnn_model *m = small_model(4);
    ck_assert_msg(cnn_model_save(m, tmp_path("m.safetensors"), NULL, &err) == CNN_OK,
                  "%s", err.message);
    cnn_model *l;
    ck_assert_msg(cnn_model_load(&l, tmp_path("m.safetensors"), &err) == CNN_OK, "%s",
                  err.message);
    assert_same_params(m, l);
    const cnn_model_config *a = cnn_model_config_of(m), *b = cnn_model_config_of(l);
    ck_assert_int_eq(a->arch, b->arch);
    ck_assert_int_eq(a->head, b->head);
    ck_assert_int_eq(a->input_size, b->input_size);
    ck_assert_int_eq(a->preprocess, b->preprocess);
    ck_assert_str_eq(a->head_attach, b->head_attach);
    ck_assert_int_eq(a->head_hidden, b->head_hidden);
    ck_assert(a->head_dropout == b->head_dropout);
    ck_assert(a->threshold == b->threshold);
    ck_assert_int_eq(b->num_classes, 2);
    ck_assert_str_eq(b->class_names[1], "PNEUMONIA");
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->provenance, b->provenance);

    /* the loaded (mapped) model predicts what the original does */
    size_t in = (size_t)2 * 3 * 75 * 75;
    float *x = malloc(in * sizeof *x), p1[2], p2[2];
    fill_input(x, in);
    ck_assert_int_eq(cnn_model_predict(m, x, 2, p1, &err), CNN_OK);
    ck_assert_int_eq(cnn_model_predict(l, x, 2, p2, &err), CNN_OK);
    ck_assert(memcmp(p1, p2, sizeof p1) == 0);
    ck_assert(p1[0] > 0 && p1[0] < 1);

    /* trainable copy: writable, same values */
    ck_assert_int_eq(cnn_model_make_trainable(l, &err), CNN_OK);
    assert_same_params(m, l);
    cnn_net_find_param(cnn_model_net(l), "dense_2/bias")->data[0] += 1;
    cnn_model_free(l);
    free(x);
    cnn_model_free(m);
    remove_tmpdir();
}
END_TEST

/* A head overlay on a base file: own tensors override the base's. */
START_TEST(test_overlay)
{
    make_tmpdir("test_models");
    cnn_error err;
    cnn_model *m = small_model(4);
    ck_assert_int_eq(cnn_model_save(m, tmp_path("base.safetensors"), NULL, &err), CNN_OK);
    cnn_param *w = cnn_net_find_param(cnn_model_net(m), "dense_1/kernel");
    for (size_t i = 0; i < w->count; i++)
        w->data[i] = 0.5f - (float)i / 1000;
    ck_assert_int_eq(cnn_model_save(m, tmp_path("head.safetensors"), "mixed0", &err),
                     CNN_ERR_ARG); /* no base named */
    snprintf(cnn_model_config_of(m)->base, sizeof cnn_model_config_of(m)->base,
             "base.safetensors");
    ck_assert_msg(cnn_model_save(m, tmp_path("head.safetensors"), "mixed0", &err) == CNN_OK,
                  "%s", err.message);
    cnn_st_file *f;
    ck_assert_int_eq(cnn_st_open(&f, tmp_path("head.safetensors"), &err), CNN_OK);
    ck_assert_int_eq(cnn_st_count(f), 4); /* dense_1, dense_2 kernel and bias */
    ck_assert_str_eq(cnn_st_metadata(f, "base"), "base.safetensors");
    cnn_st_close(f);
    cnn_model *l;
    ck_assert_msg(cnn_model_load(&l, tmp_path("head.safetensors"), &err) == CNN_OK, "%s",
                  err.message);
    assert_same_params(m, l);
    cnn_model_free(l);

    /* matching load: copies by name, reports the count */
    cnn_model *c = small_model(4);
    int copied;
    ck_assert_int_eq(cnn_model_load_matching(c, tmp_path("head.safetensors"), &copied, &err),
                     CNN_OK);
    ck_assert_int_eq(copied, 4);
    ck_assert(memcmp(cnn_net_find_param(cnn_model_net(c), "dense_1/kernel")->data, w->data,
                     w->count * sizeof(float)) == 0);
    cnn_model_free(c);

    unlink(tmp_path("base.safetensors"));
    ck_assert_int_ne(cnn_model_load(&l, tmp_path("head.safetensors"), &err), CNN_OK);
    ck_assert_msg(strstr(err.message, "base.safetensors") != NULL, "%s", err.message);
    cnn_model_free(m);
    remove_tmpdir();
}
END_TEST

/* Writes m's tensors to path, leaving out `skip`, giving `reshape` a wrong
 * shape, adding a tensor `extra`, and storing batch-norm betas as F16. */
static void write_variant_meta(cnn_model *m, const char *path, const char *skip,
                               const char *reshape, const char *extra,
                               const char *const *meta)
{
    cnn_error err;
    cnn_st_writer *w = cnn_st_writer_new();
    cnn_net *net = cnn_model_net(m);
    static uint16_t half[4096];
    static const float junk[8];
    ck_assert_int_eq(cnn_st_writer_metadata(w, "architecture", "inception_v3", &err), CNN_OK);
    ck_assert_int_eq(cnn_st_writer_metadata(w, "input_size", "75", &err), CNN_OK);
    ck_assert_int_eq(cnn_st_writer_metadata(w, "head_attach", "mixed0", &err), CNN_OK);
    ck_assert_int_eq(cnn_st_writer_metadata(w, "head_hidden", "4", &err), CNN_OK);
    for (; meta && meta[0]; meta += 2) /* more key, value pairs */
        ck_assert_int_eq(cnn_st_writer_metadata(w, meta[0], meta[1], &err), CNN_OK);
    size_t used = 0;
    for (int i = 0; i < cnn_net_param_count(net); i++) {
        cnn_param *p = cnn_net_param(net, i);
        if (skip && strcmp(p->name, skip) == 0)
            continue;
        int64_t shape[4];
        memcpy(shape, p->shape, sizeof shape);
        if (reshape && strcmp(p->name, reshape) == 0)
            shape[0] = p->shape[1], shape[1] = p->shape[0]; /* same size */
        if (ends_with(p->name, "/beta")) {
            ck_assert_uint_le(used + p->count, 4096);
            for (size_t k = 0; k < p->count; k++)
                half[used + k] = cnn_f32_to_f16(p->data[k]);
            ck_assert_int_eq(cnn_st_writer_add(w, p->name, CNN_DTYPE_F16, p->ndim, shape,
                                               half + used, &err), CNN_OK);
            used += p->count;
        } else {
            ck_assert_int_eq(cnn_st_writer_add(w, p->name, CNN_DTYPE_F32, p->ndim, shape,
                                               p->data, &err), CNN_OK);
        }
    }
    if (extra) {
        int64_t shape[1] = {8};
        ck_assert_int_eq(cnn_st_writer_add(w, extra, CNN_DTYPE_F32, 1, shape, junk, &err),
                         CNN_OK);
    }
    ck_assert_msg(cnn_st_writer_save(w, path, &err) == CNN_OK, "%s", err.message);
    cnn_st_writer_free(w);
}

static void write_variant(cnn_model *m, const char *path, const char *skip,
                          const char *reshape, const char *extra)
{
    write_variant_meta(m, path, skip, reshape, extra, NULL);
}

START_TEST(test_load_errors)
{
    make_tmpdir("test_models");
    cnn_error err;
    cnn_model *m = small_model(4), *l;
    const char *path = tmp_path("v.safetensors");

    write_variant(m, path, NULL, NULL, NULL); /* valid, betas as F16 */
    ck_assert_msg(cnn_model_load(&l, path, &err) == CNN_OK, "%s", err.message);
    cnn_param *b = cnn_net_find_param(cnn_model_net(l), "batch_normalization_3/beta");
    cnn_param *b0 = cnn_net_find_param(cnn_model_net(m), "batch_normalization_3/beta");
    for (size_t k = 0; k < b->count; k++)
        ck_assert(b->data[k] == cnn_f16_to_f32(cnn_f32_to_f16(b0->data[k])));
    cnn_model_free(l);

    write_variant(m, path, "conv2d_3/kernel", NULL, NULL);
    ck_assert_int_eq(cnn_model_load(&l, path, &err), CNN_ERR_FORMAT);
    ck_assert_msg(strstr(err.message, "missing tensor conv2d_3/kernel"), "%s", err.message);

    write_variant(m, path, NULL, "conv2d_3/kernel", NULL);
    ck_assert_int_eq(cnn_model_load(&l, path, &err), CNN_ERR_SHAPE);
    ck_assert_msg(strstr(err.message, "conv2d_3/kernel has shape [32,64,3,3]") &&
                  strstr(err.message, "needs [64,32,3,3]"), "%s", err.message);

    write_variant(m, path, NULL, NULL, "conv2d_99/kernel");
    ck_assert_int_eq(cnn_model_load(&l, path, &err), CNN_ERR_FORMAT);
    ck_assert_msg(strstr(err.message, "conv2d_99/kernel is not a parameter"), "%s",
                  err.message);

    FILE *f = fopen(path, "wb");
    fputs("not a model", f);
    fclose(f);
    ck_assert_int_ne(cnn_model_load(&l, path, &err), CNN_OK);
    ck_assert_int_ne(cnn_model_load(&l, tmp_path("absent.safetensors"), &err), CNN_OK);
    cnn_model_free(m);
    remove_tmpdir();
}
END_TEST

/* The input pipeline (resize filter, JPEG quality) is stored in the model
 * file; files from before it was (model v1) load as bicubic without JPEG,
 * which is what programs did with them then. */
START_TEST(test_input_pipeline_metadata)
{
    make_tmpdir("test_models");
    cnn_error err;
    cnn_model *m = small_model(4), *l;
    const char *path = tmp_path("p.safetensors");
    /* new models: bilinear and 75 */
    ck_assert_int_eq(cnn_model_config_of(m)->resize_filter, CNN_RESIZE_BILINEAR);
    ck_assert_int_eq(cnn_model_config_of(m)->input_jpeg_quality, 75);
    static const struct {
        cnn_resize_filter filter;
        int quality;
        const char *name;
    } cases[] = {{CNN_RESIZE_BILINEAR, 75, "bilinear"}, {CNN_RESIZE_LANCZOS, 63, "lanczos"},
                 {CNN_RESIZE_NEAREST, 0, "nearest"}, {CNN_RESIZE_BOX, 100, "box"},
                 {CNN_RESIZE_BICUBIC, 1, "bicubic"}};
    for (int i = 0; i < 5; i++) {
        cnn_model_config_of(m)->resize_filter = cases[i].filter;
        cnn_model_config_of(m)->input_jpeg_quality = cases[i].quality;
        ck_assert_msg(cnn_model_save(m, path, NULL, &err) == CNN_OK, "%s", err.message);
        cnn_st_file *f;
        ck_assert_int_eq(cnn_st_open(&f, path, &err), CNN_OK);
        ck_assert_str_eq(cnn_st_metadata(f, "resize_filter"), cases[i].name);
        char q[8];
        snprintf(q, sizeof q, "%d", cases[i].quality);
        ck_assert_str_eq(cnn_st_metadata(f, "input_jpeg_quality"), q);
        cnn_st_close(f);
        ck_assert_msg(cnn_model_load(&l, path, &err) == CNN_OK, "%s", err.message);
        ck_assert_int_eq(cnn_model_config_of(l)->resize_filter, cases[i].filter);
        ck_assert_int_eq(cnn_model_config_of(l)->input_jpeg_quality, cases[i].quality);
        cnn_model_free(l);
    }

    /* without the keys (as every file written before them): bicubic, 0 */
    write_variant(m, path, NULL, NULL, NULL);
    ck_assert_msg(cnn_model_load(&l, path, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(cnn_model_config_of(l)->resize_filter, CNN_RESIZE_BICUBIC);
    ck_assert_int_eq(cnn_model_config_of(l)->input_jpeg_quality, 0);
    cnn_model_free(l);
    /* one key alone: the other keeps its v1 meaning */
    const char *only_q[] = {"input_jpeg_quality", "40", NULL};
    write_variant_meta(m, path, NULL, NULL, NULL, only_q);
    ck_assert_msg(cnn_model_load(&l, path, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(cnn_model_config_of(l)->resize_filter, CNN_RESIZE_BICUBIC);
    ck_assert_int_eq(cnn_model_config_of(l)->input_jpeg_quality, 40);
    cnn_model_free(l);

    /* bad values refuse the file, naming what is wrong */
    static const struct {
        const char *key, *value, *says;
    } bad[] = {{"resize_filter", "sinc", "\"sinc\""},
               {"resize_filter", "", "resize filter"},
               {"input_jpeg_quality", "101", "input_jpeg_quality"},
               {"input_jpeg_quality", "-1", "input_jpeg_quality"},
               {"input_jpeg_quality", "75.5", "input_jpeg_quality"}};
    for (int i = 0; i < 5; i++) {
        const char *meta[] = {bad[i].key, bad[i].value, NULL};
        write_variant_meta(m, path, NULL, NULL, NULL, meta);
        l = NULL;
        ck_assert_int_ne(cnn_model_load(&l, path, &err), CNN_OK);
        ck_assert_ptr_null(l);
        printf("%s=\"%s\": %s\n", bad[i].key, bad[i].value, err.message);
        ck_assert_msg(strstr(err.message, bad[i].says), "%s", err.message);
    }
    cnn_model_free(m);
    remove_tmpdir();
}
END_TEST

/* With no hidden layer the logit is sum_c w_c mean(A_c) + b, so Grad-CAM is
 * relu(sum_c w_c A_c) / max, computable by hand from the layer output. */
START_TEST(test_gradcam)
{
    cnn_error err;
    cnn_model_config cfg;
    cnn_model_config_default(&cfg, CNN_ARCH_INCEPTION_V3);
    cfg.input_size = 75;
    cfg.head_hidden = 0;
    snprintf(cfg.head_attach, sizeof cfg.head_attach, "mixed5");
    cnn_model *m;
    ck_assert_int_eq(cnn_model_create(&m, &cfg, 3, &err), CNN_OK);
    cnn_net *net = cnn_model_net(m);
    for (int i = 0; i < cnn_net_param_count(net); i++)
        fill_deterministic(cnn_net_param(net, i));
    /* mostly positive channel weights, so that the map is not all zero */
    cnn_param *dw = cnn_net_find_param(net, "dense_1/kernel");
    for (size_t i = 0; i < dw->count; i++)
        dw->data[i] = fabsf(dw->data[i]) * (i % 3 ? 1.0f : -1.5f);
    ck_assert_str_eq(cnn_model_gradcam_layer(m), "mixed5");
    size_t in = (size_t)3 * 75 * 75;
    float *x = malloc(in * sizeof *x);
    fill_input(x, in);

    float prob, *heat;
    int h, w;
    ck_assert_msg(cnn_model_gradcam(m, x, &prob, &heat, &h, &w, &err) == CNN_OK, "%s",
                  err.message);
    ck_assert_int_eq(h, 3);
    ck_assert_int_eq(w, 3);

    ck_assert_int_eq(cnn_net_keep(net, "mixed5", CNN_KEEP_OUTPUT, &err), CNN_OK);
    float p2;
    ck_assert_int_eq(cnn_model_predict(m, x, 1, &p2, &err), CNN_OK);
    ck_assert_float_eq_tol(prob, p2, 1e-6);
    int c;
    const float *a = cnn_net_layer_output(net, "mixed5", &c, &h, &w);
    const float *wt = cnn_net_find_param(net, "dense_1/kernel")->data;
    float want[9], top = 0;
    for (int i = 0; i < 9; i++) {
        double s = 0;
        for (int ch = 0; ch < c; ch++)
            s += (double)wt[ch] * a[ch * 9 + i];
        want[i] = s > 0 ? (float)s : 0;
        top = fmaxf(top, want[i]);
    }
    ck_assert(top > 0);
    int zeros = 0;
    for (int i = 0; i < 9; i++) {
        ck_assert_float_eq_tol(heat[i], want[i] / top, 1e-4);
        zeros += want[i] == 0;
    }
    ck_assert_int_lt(zeros, 9);
    free(heat);
    free(x);
    cnn_model_free(m);
}
END_TEST

/* A heat map leaves the network as the program set it up: which layers are
 * frozen, every layer's keep marks, which parameters a plan freezes, and
 * what a forward computes (bit for bit), the pooled features included. */
START_TEST(test_gradcam_leaves_setup)
{
    cnn_error err;
    cnn_model_config cfg;
    cnn_model_config_default(&cfg, CNN_ARCH_INCEPTION_V3);
    cfg.input_size = 75;
    cfg.head_hidden = HEAD_HIDDEN;
    snprintf(cfg.head_attach, sizeof cfg.head_attach, "mixed1");
    cnn_model *m;
    ck_assert_int_eq(cnn_model_create(&m, &cfg, 3, &err), CNN_OK);
    cnn_net *net = cnn_model_net(m);
    for (int i = 0; i < cnn_net_param_count(net); i++)
        fill_deterministic(cnn_net_param(net, i));
    /* a set-up as a fine-tuning run's: base frozen, a layer kept */
    ck_assert_int_eq(cnn_net_freeze_until(net, "mixed0", &err), CNN_OK);
    ck_assert_int_eq(cnn_net_keep(net, "mixed1", CNN_KEEP_OUTPUT, &err), CNN_OK);
    size_t in = (size_t)3 * 75 * 75;
    float *x = malloc(BATCH * in * sizeof *x);
    fill_input(x, BATCH * in);
    const int layers = cnn_net_layer_count(net), params = cnn_net_param_count(net);
    const int features = cnn_model_feature_count(m);
    int *marks = malloc((size_t)layers * sizeof *marks);
    int *frozen = malloc((size_t)params * sizeof *frozen);
    float *feat = malloc((size_t)BATCH * features * sizeof *feat);
    float before[BATCH], after[BATCH];
    ck_assert_int_eq(cnn_model_forward(m, x, BATCH, before, &err), CNN_OK);
    memcpy(feat, cnn_model_features(m), (size_t)BATCH * features * sizeof *feat);
    int frozen_until = cnn_net_frozen_until(net);
    for (int i = 0; i < layers; i++)
        marks[i] = cnn_net_keep_marks(net, cnn_net_layer_name(net, i));
    for (int i = 0; i < params; i++)
        frozen[i] = cnn_net_param(net, i)->frozen;

    float prob, *heat;
    int h, w;
    ck_assert_msg(cnn_model_gradcam(m, x, &prob, &heat, &h, &w, &err) == CNN_OK, "%s",
                  err.message);
    free(heat);

    ck_assert_int_eq(cnn_net_frozen_until(net), frozen_until);
    for (int i = 0; i < layers; i++)
        ck_assert_msg(cnn_net_keep_marks(net, cnn_net_layer_name(net, i)) == marks[i],
                      "%s: marks changed", cnn_net_layer_name(net, i));
    ck_assert_int_eq(cnn_model_forward(m, x, BATCH, after, &err), CNN_OK);
    ck_assert_mem_eq(after, before, sizeof before);
    ck_assert_mem_eq(cnn_model_features(m), feat, (size_t)BATCH * features * sizeof *feat);
    for (int i = 0; i < params; i++)
        ck_assert_msg(cnn_net_param(net, i)->frozen == frozen[i], "%s",
                      cnn_net_param(net, i)->name);
    free(feat);
    free(frozen);
    free(marks);
    free(x);
    cnn_model_free(m);
}
END_TEST

Suite *models_suite(void)
{
    Suite *s = suite_create("models");
    TCase *tc = tcase_create("structure");
    tcase_add_test(tc, test_parameter_counts);
    /* Set REF and they run (and fail if it is wrong); without REF they run
     * when ../shared/ref exists, as in CI, and are skipped by name for a
     * clone without it. */
    int have_ref = getenv("REF") || access(ref_dir(), R_OK) == 0;
    if (have_ref) {
        tcase_add_test(tc, test_manifest_inception);
        tcase_add_test(tc, test_manifest_vgg16);
    }
    tcase_add_test(tc, test_input_too_small);
    suite_add_tcase(s, tc);
    tc = tcase_create("forward");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_forward_inception);
    tcase_add_test(tc, test_forward_inception_training_plan);
    tcase_add_test(tc, test_forward_vgg16);
    if (have_ref)
        tcase_add_test(tc, test_forward_stem_imagenet);
    else
        fprintf(stderr, "test_models: no %s (set REF): skipping the Keras "
                "manifest and ImageNet stem tests\n", ref_dir());
    suite_add_tcase(s, tc);
    tc = tcase_create("backward");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_backward_inception);
    tcase_add_test(tc, test_backward_vgg16);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_save_load_round_trip);
    tcase_add_test(tc, test_overlay);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_input_pipeline_metadata);
    tcase_add_test(tc, test_gradcam);
    tcase_add_test(tc, test_gradcam_leaves_setup);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cnn_set_threads(1); /* the CPU is shared with other suites */
    return run_suite(models_suite());
}
