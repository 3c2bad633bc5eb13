/* model.c - the classifier: a network (InceptionV3 / VGG16 + head) with its
 * metadata, created, loaded from and saved to safetensors, and used for
 * predictions and Grad-CAM. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heatmap.h"
#include "model.h"
#include "safetensors.h"

/* The binary head's global average pool: the features the gate measures. */
#define FEATURE_LAYER "global_average_pooling2d_1"

struct cnn_model {
    cnn_model_config cfg;
    cnn_net *net;
    cnn_st_file *own;   /* mappings parameters may point into */
    cnn_st_file *base;
    cnn_input_gate *gate; /* learned input checks; NULL: none */
};

const char *cnn_arch_name(cnn_arch a)
{
    return a == CNN_ARCH_VGG16 ? "vgg16" : "inception_v3";
}

cnn_status cnn_arch_parse(const char *name, cnn_arch *out, cnn_error *err)
{
    if (strcmp(name, "inception_v3") == 0)
        *out = CNN_ARCH_INCEPTION_V3;
    else if (strcmp(name, "vgg16") == 0)
        *out = CNN_ARCH_VGG16;
    else
        return cnn_fail(err, CNN_ERR_ARG,
                        "unknown architecture '%s' (inception_v3 or vgg16)", name);
    return CNN_OK;
}

static const char *head_name(cnn_head_kind h)
{
    return h == CNN_HEAD_NSFWJS ? "nsfwjs" : h == CNN_HEAD_NONE ? "none" : "binary";
}

void cnn_model_config_default(cnn_model_config *cfg, cnn_arch arch)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->arch = arch;
    cfg->head = CNN_HEAD_BINARY;
    cfg->head_hidden = 128;
    cfg->num_classes = 2;
    snprintf(cfg->class_names[0], sizeof cfg->class_names[0], "NORMAL");
    snprintf(cfg->class_names[1], sizeof cfg->class_names[1], "PNEUMONIA");
    cfg->threshold = 0.5f;
    cfg->resize_filter = CNN_RESIZE_BILINEAR;
    cfg->input_jpeg_quality = 75;
    snprintf(cfg->version, sizeof cfg->version, "0");
    if (arch == CNN_ARCH_INCEPTION_V3) {
        cfg->input_size = 299;
        cfg->preprocess = CNN_PREPROC_UNIT; /* as the nsfwjs backbone */
        snprintf(cfg->head_attach, sizeof cfg->head_attach, "mixed7");
        cfg->head_dropout = 0.3f;
        snprintf(cfg->name, sizeof cfg->name, "InceptionV3 pneumonia");
    } else {
        cfg->input_size = 224;
        cfg->preprocess = CNN_PREPROC_SYMMETRIC;
        snprintf(cfg->head_attach, sizeof cfg->head_attach, "block5_pool");
        cfg->head_dropout = 0.5f;
        snprintf(cfg->name, sizeof cfg->name, "VGG16 pneumonia");
    }
}

/* The network the configuration describes, parameters not yet allocated. */
static cnn_status build_net(const cnn_model_config *cfg, cnn_net **net,
                            cnn_error *err)
{
    cnn_head_spec spec = {cfg->head, cfg->head_attach, cfg->head_hidden,
                          cfg->head_dropout};
    int min = cfg->arch == CNN_ARCH_VGG16 ? 32 : 75;
    if (cfg->input_size < min)
        return cnn_fail(err, CNN_ERR_SHAPE, "%s needs an input of at least "
                        "%dx%d, not %d", cnn_arch_name(cfg->arch), min, min,
                        cfg->input_size);
    if (cfg->head == CNN_HEAD_BINARY && cfg->num_classes != 2)
        return cnn_fail(err, CNN_ERR_ARG, "the binary head needs 2 class names");
    if (cfg->arch == CNN_ARCH_VGG16)
        return cnn_vgg16_build(net, &spec, err);
    return cnn_inception_v3_build(net, &spec, err);
}

static cnn_status new_model(cnn_model **out, const cnn_model_config *cfg,
                            cnn_error *err)
{
    cnn_model *m = calloc(1, sizeof *m);
    if (!m)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    m->cfg = *cfg;
    cnn_status st = build_net(cfg, &m->net, err);
    /* the input gate reads the pooled features of the predicting pass */
    if (st == CNN_OK && cfg->head == CNN_HEAD_BINARY)
        st = cnn_net_keep(m->net, FEATURE_LAYER, CNN_KEEP_OUTPUT, err);
    if (st != CNN_OK) {
        cnn_net_free(m->net);
        free(m);
        return st;
    }
    *out = m;
    return CNN_OK;
}

cnn_status cnn_model_create(cnn_model **out, const cnn_model_config *cfg,
                            uint64_t seed, cnn_error *err)
{
    *out = NULL;
    cnn_model *m;
    cnn_status st = new_model(&m, cfg, err);
    if (st == CNN_OK)
        st = cnn_net_alloc_params(m->net, err);
    if (st != CNN_OK) {
        cnn_model_free(m);
        return st;
    }
    cnn_net_init_he(m->net, seed);
    cnn_net_seed(m->net, seed);
    *out = m;
    return CNN_OK;
}

void cnn_model_free(cnn_model *m)
{
    if (!m)
        return;
    cnn_net_free(m->net);
    cnn_st_close(m->own);
    cnn_st_close(m->base);
    cnn_gate_free(m->gate);
    free(m);
}

cnn_model_config *cnn_model_config_of(cnn_model *m)
{
    return &m->cfg;
}

cnn_net *cnn_model_net(cnn_model *m)
{
    return m->net;
}

/* ---------------------------------------------------------------- metadata */

static cnn_status parse_int(const char *key, const char *s, int *out,
                            cnn_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1000000)
        return cnn_fail(err, CNN_ERR_FORMAT, "metadata %s: '%s' is not a count",
                        key, s);
    *out = (int)v;
    return CNN_OK;
}

static cnn_status parse_float(const char *key, const char *s, float *out,
                              cnn_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return cnn_fail(err, CNN_ERR_FORMAT, "metadata %s: '%s' is not a number",
                        key, s);
    *out = (float)v;
    return CNN_OK;
}

static cnn_status copy_string(const char *key, const char *s, char *dst,
                              size_t size, cnn_error *err)
{
    if (strlen(s) >= size)
        return cnn_fail(err, CNN_ERR_FORMAT, "metadata %s is longer than %zu bytes",
                        key, size - 1);
    memcpy(dst, s, strlen(s) + 1);
    return CNN_OK;
}

static cnn_status parse_classes(const char *s, cnn_model_config *cfg,
                                cnn_error *err)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == CNN_MAX_CLASSES || len == 0 || len >= sizeof cfg->class_names[0])
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "metadata class_names '%s': at most %d non-empty "
                            "names of up to 31 bytes", s, CNN_MAX_CLASSES);
        memcpy(cfg->class_names[n], p, len);
        cfg->class_names[n][len] = 0;
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    cfg->num_classes = n;
    return CNN_OK;
}

/* Fills cfg from a file's metadata; architecture is required, the rest
 * falls back to the defaults. */
static cnn_status read_config(const cnn_st_file *f, const char *path,
                              cnn_model_config *cfg, cnn_error *err)
{
    const char *v = cnn_st_metadata(f, "architecture");
    if (!v)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: no 'architecture' in the "
                        "metadata: not a model file", path);
    cnn_arch arch = CNN_ARCH_INCEPTION_V3;
    cnn_status st = cnn_arch_parse(v, &arch, err);
    if (st != CNN_OK)
        return st;
    cnn_model_config_default(cfg, arch);
    /* files from before the input pipeline was recorded (model v1) */
    cfg->resize_filter = CNN_RESIZE_BICUBIC;
    cfg->input_jpeg_quality = 0;
    if ((v = cnn_st_metadata(f, "head"))) {
        if (strcmp(v, "binary") == 0)
            cfg->head = CNN_HEAD_BINARY;
        else if (strcmp(v, "nsfwjs") == 0)
            cfg->head = CNN_HEAD_NSFWJS;
        else
            return cnn_fail(err, CNN_ERR_FORMAT, "%s: unknown head '%s'", path, v);
        if (cfg->head == CNN_HEAD_NSFWJS)
            snprintf(cfg->head_attach, sizeof cfg->head_attach, "mixed10");
    }
    if (st == CNN_OK && (v = cnn_st_metadata(f, "input_size")))
        st = parse_int("input_size", v, &cfg->input_size, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "preprocessing")))
        st = cnn_preproc_parse(v, &cfg->preprocess, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "resize_filter")))
        st = cnn_resize_filter_parse(v, &cfg->resize_filter, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "input_jpeg_quality")))
        st = parse_int("input_jpeg_quality", v, &cfg->input_jpeg_quality, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "head_attach")))
        st = copy_string("head_attach", v, cfg->head_attach, sizeof cfg->head_attach, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "head_hidden")))
        st = parse_int("head_hidden", v, &cfg->head_hidden, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "head_dropout")))
        st = parse_float("head_dropout", v, &cfg->head_dropout, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "class_names")))
        st = parse_classes(v, cfg, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "threshold")))
        st = parse_float("threshold", v, &cfg->threshold, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "name")))
        st = copy_string("name", v, cfg->name, sizeof cfg->name, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "version")))
        st = copy_string("version", v, cfg->version, sizeof cfg->version, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "provenance")))
        st = copy_string("provenance", v, cfg->provenance, sizeof cfg->provenance, err);
    if (st == CNN_OK && (v = cnn_st_metadata(f, "base")))
        st = copy_string("base", v, cfg->base, sizeof cfg->base, err);
    if (st != CNN_OK && err) {
        char inner[512]; /* err->message cannot be both source and target */
        snprintf(inner, sizeof inner, "%s", err->message);
        return cnn_fail(err, st, "%s: %s", path, inner);
    }
    if (st != CNN_OK)
        return st;
    if (!(cfg->head_dropout >= 0 && cfg->head_dropout < 1) ||
        !(cfg->threshold >= 0 && cfg->threshold <= 1) ||
        cfg->input_jpeg_quality < 0 || cfg->input_jpeg_quality > 100)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: head_dropout must be in [0, 1), "
                        "threshold in [0, 1] and input_jpeg_quality in 0..100",
                        path);
    return CNN_OK;
}

/* The shortest decimal that reads back as the same float. */
static void float_text(char *buf, size_t size, float v)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v)
            return;
    }
}

static cnn_status write_config(cnn_st_writer *w, const cnn_model_config *cfg,
                               cnn_error *err)
{
    char num[64], classes[CNN_MAX_CLASSES * 33] = "";
    for (int i = 0; i < cfg->num_classes; i++) {
        if (i)
            strcat(classes, ",");
        strcat(classes, cfg->class_names[i]);
    }
    struct {
        const char *key;
        char value[600];
    } kv[15];
    int n = 0;
#define PUT(k, ...) (kv[n].key = k, snprintf(kv[n].value, sizeof kv[n].value, __VA_ARGS__), n++)
    PUT("architecture", "%s", cnn_arch_name(cfg->arch));
    PUT("head", "%s", head_name(cfg->head));
    PUT("input_size", "%d", cfg->input_size);
    PUT("preprocessing", "%s", cnn_preproc_name(cfg->preprocess));
    PUT("resize_filter", "%s", cnn_resize_filter_name(cfg->resize_filter));
    PUT("input_jpeg_quality", "%d", cfg->input_jpeg_quality);
    PUT("head_attach", "%s", cfg->head_attach);
    PUT("head_hidden", "%d", cfg->head_hidden);
    float_text(num, sizeof num, cfg->head_dropout);
    PUT("head_dropout", "%s", num);
    PUT("class_names", "%s", classes);
    float_text(num, sizeof num, cfg->threshold);
    PUT("threshold", "%s", num);
    PUT("name", "%s", cfg->name);
    PUT("version", "%s", cfg->version);
    PUT("provenance", "%s", cfg->provenance);
    if (cfg->base[0])
        PUT("base", "%s", cfg->base);
#undef PUT
    for (int i = 0; i < n; i++) {
        cnn_status st = cnn_st_writer_metadata(w, kv[i].key, kv[i].value, err);
        if (st != CNN_OK)
            return st;
    }
    return CNN_OK;
}

/* ---------------------------------------------------------------- loading */

static int same_shape(const cnn_st_tensor *t, const cnn_param *p)
{
    if (t->ndim != p->ndim)
        return 0;
    for (int d = 0; d < p->ndim; d++)
        if (t->shape[d] != p->shape[d])
            return 0;
    return 1;
}

static void shape_text(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ",%lld" : "%lld",
                                 (long long)shape[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static cnn_status wrong_shape(const char *path, const cnn_st_tensor *t,
                              const cnn_param *p, cnn_error *err)
{
    char have[96], want[96];
    shape_text(have, sizeof have, t->ndim, t->shape);
    shape_text(want, sizeof want, p->ndim, p->shape);
    return cnn_fail(err, CNN_ERR_SHAPE, "%s: tensor %s has shape %s, the model "
                    "needs %s", path, p->name, have, want);
}

/* dir of path + "/" + name, into buf. */
static cnn_status relative_path(const char *path, const char *name, char *buf,
                                size_t size, cnn_error *err)
{
    const char *slash = strrchr(path, '/');
    int n = slash ? snprintf(buf, size, "%.*s/%s", (int)(slash - path), path, name)
                  : snprintf(buf, size, "%s", name);
    if (n < 0 || (size_t)n >= size)
        return cnn_fail(err, CNN_ERR_ARG, "path too long: %s", name);
    return CNN_OK;
}

/* Binds or copies every parameter from the file (own overrides base). */
static cnn_status load_params(cnn_model *m, const char *path,
                              const char *base_path, cnn_error *err)
{
    cnn_net *net = m->net;
    /* unknown tensors in the model's own file mean a model mismatch */
    for (int i = 0; i < cnn_st_count(m->own); i++) {
        const cnn_st_tensor *t = cnn_st_tensor_at(m->own, i);
        if (!cnn_net_find_param(net, t->name) && !cnn_gate_tensor_name(t->name))
            return cnn_fail(err, CNN_ERR_FORMAT, "%s: tensor %s is not a "
                            "parameter of this %s model (head_attach %s)", path,
                            t->name, cnn_arch_name(m->cfg.arch), m->cfg.head_attach);
    }
    const cnn_st_file **source = calloc((size_t)cnn_net_param_count(net), sizeof *source);
    if (!source)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    cnn_status st = CNN_OK;
    for (int i = 0; i < cnn_net_param_count(net) && st == CNN_OK; i++) {
        cnn_param *p = cnn_net_param(net, i);
        const cnn_st_file *f = m->own;
        const char *fpath = path;
        const cnn_st_tensor *t = cnn_st_find(f, p->name);
        if (!t && m->base) {
            f = m->base;
            fpath = base_path;
            t = cnn_st_find(f, p->name);
        }
        if (!t) {
            st = cnn_fail(err, CNN_ERR_FORMAT, "%s: missing tensor %s%s%s", path,
                          p->name, m->base ? " (not in its base either: " : "",
                          m->base ? base_path : "");
            if (m->base && err)
                strncat(err->message, ")", sizeof err->message - strlen(err->message) - 1);
            break;
        }
        if (!same_shape(t, p)) {
            st = wrong_shape(fpath, t, p, err);
            break;
        }
        source[i] = f;
        if (t->dtype == CNN_DTYPE_F32)
            cnn_net_bind_param(p, (float *)t->data); /* read-only, in place */
    }
    if (st == CNN_OK)
        st = cnn_net_alloc_params(net, err);
    for (int i = 0; i < cnn_net_param_count(net) && st == CNN_OK; i++) {
        cnn_param *p = cnn_net_param(net, i);
        const cnn_st_tensor *t = cnn_st_find(source[i], p->name);
        if (t->dtype != CNN_DTYPE_F32)
            st = cnn_st_read_f32(source[i], p->name, p->ndim, p->shape, p->data, err);
    }
    free(source);
    return st;
}

cnn_status cnn_model_load(cnn_model **out, const char *path, cnn_error *err)
{
    *out = NULL;
    cnn_st_file *own;
    cnn_status st = cnn_st_open(&own, path, err);
    if (st != CNN_OK)
        return st;
    cnn_model_config cfg;
    st = read_config(own, path, &cfg, err);
    cnn_model *m = NULL;
    if (st == CNN_OK)
        st = new_model(&m, &cfg, err);
    if (st != CNN_OK) {
        cnn_st_close(own);
        return st;
    }
    m->own = own;
    char base_path[1024] = "";
    if (cfg.base[0]) {
        st = relative_path(path, cfg.base, base_path, sizeof base_path, err);
        if (st == CNN_OK)
            st = cnn_st_open(&m->base, base_path, err);
        if (st != CNN_OK && err) {
            char inner[512];
            snprintf(inner, sizeof inner, "%s", err->message);
            cnn_fail(err, st, "%s: its base %s: %s", path, cfg.base, inner);
        }
    }
    if (st == CNN_OK)
        st = load_params(m, path, base_path, err);
    if (st == CNN_OK)
        st = cnn_gate_read(own, path, cnn_model_feature_count(m), &m->gate, err);
    if (st != CNN_OK) {
        cnn_model_free(m);
        return st;
    }
    cnn_net_seed(m->net, 1);
    *out = m;
    return CNN_OK;
}

cnn_status cnn_model_make_trainable(cnn_model *m, cnn_error *err)
{
    if (!m->own && !m->base)
        return CNN_OK;
    cnn_status st = cnn_net_own_params(m->net, err);
    if (st != CNN_OK)
        return st;
    cnn_st_close(m->own);
    cnn_st_close(m->base);
    m->own = m->base = NULL;
    return CNN_OK;
}

cnn_status cnn_model_load_matching(cnn_model *m, const char *path, int *copied,
                                   cnn_error *err)
{
    if (copied)
        *copied = 0;
    cnn_status st = cnn_model_make_trainable(m, err);
    if (st != CNN_OK)
        return st;
    cnn_st_file *f;
    st = cnn_st_open(&f, path, err);
    if (st != CNN_OK)
        return st;
    int n = 0, attach = cnn_net_find_layer(m->net, m->cfg.head_attach);
    for (int i = 0; i < cnn_net_param_count(m->net) && st == CNN_OK; i++) {
        cnn_param *p = cnn_net_param(m->net, i);
        const cnn_st_tensor *t = cnn_st_find(f, p->name);
        if (!t)
            continue;
        /* a pretrained file's own classifier may share our head's names */
        if (!same_shape(t, p) && p->layer > attach)
            continue;
        if (!same_shape(t, p))
            st = wrong_shape(path, t, p, err);
        else
            st = cnn_st_read_f32(f, p->name, p->ndim, p->shape, p->data, err);
        n += st == CNN_OK;
    }
    cnn_st_close(f);
    if (copied)
        *copied = n;
    return st;
}

cnn_status cnn_model_save(cnn_model *m, const char *path,
                          const char *only_after_layer, cnn_error *err)
{
    int after = -1;
    if (only_after_layer) {
        after = cnn_net_find_layer(m->net, only_after_layer);
        if (after < 0)
            return cnn_fail(err, CNN_ERR_ARG, "cannot save after %s: no such layer",
                            only_after_layer);
        if (!m->cfg.base[0])
            return cnn_fail(err, CNN_ERR_ARG, "an overlay saved after %s needs "
                            "the model's base file set", only_after_layer);
    }
    cnn_st_writer *w = cnn_st_writer_new();
    if (!w)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    cnn_status st = write_config(w, &m->cfg, err);
    for (int i = 0; i < cnn_net_param_count(m->net) && st == CNN_OK; i++) {
        const cnn_param *p = cnn_net_param(m->net, i);
        if (p->layer > after)
            st = cnn_st_writer_add(w, p->name, CNN_DTYPE_F32, p->ndim, p->shape,
                                   p->data, err);
    }
    if (st == CNN_OK && m->gate)
        st = cnn_gate_write(w, m->gate, err);
    if (st == CNN_OK)
        st = cnn_st_writer_save(w, path, err);
    cnn_st_writer_free(w);
    return st;
}

/* ---------------------------------------------------------------- running */

int cnn_model_output_count(const cnn_model *m)
{
    return m->cfg.head == CNN_HEAD_NSFWJS ? 5 : 1;
}

cnn_status cnn_model_forward(cnn_model *m, const float *images, int n,
                             float *out, cnn_error *err)
{
    assert(n > 0);
    int s = m->cfg.input_size;
    cnn_status st = cnn_net_plan(m->net, n, s, s, 0, err);
    if (st != CNN_OK)
        return st;
    memcpy(cnn_net_input(m->net), images, (size_t)n * 3 * s * s * sizeof(float));
    cnn_net_forward(m->net, 0);
    int per;
    const float *y = cnn_net_output(m->net, &per);
    memcpy(out, y, (size_t)n * per * sizeof(float));
    return CNN_OK;
}

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

cnn_status cnn_model_predict(cnn_model *m, const float *images, int n,
                             float *prob, cnn_error *err)
{
    if (m->cfg.head != CNN_HEAD_BINARY)
        return cnn_fail(err, CNN_ERR_UNSUPPORTED, "predict needs the binary head "
                        "(this model has the %s head)", head_name(m->cfg.head));
    cnn_status st = cnn_model_forward(m, images, n, prob, err);
    if (st != CNN_OK)
        return st;
    for (int i = 0; i < n; i++)
        prob[i] = sigmoid(prob[i]);
    return CNN_OK;
}

const char *cnn_model_gradcam_layer(const cnn_model *m)
{
    const cnn_net *net = m->net;
    int at = cnn_net_find_layer(net, m->cfg.head_attach);
    assert(at >= 0);
    /* a pooled attach point: the map before the pool is finer */
    if (cnn_net_layer_is_pool(net, at))
        at = cnn_net_layer_input(net, at, 0);
    return cnn_net_layer_name(net, at);
}

cnn_status cnn_model_gradcam(cnn_model *m, const float *image, float *prob,
                             float **heat, int *h, int *w, cnn_error *err)
{
    *heat = NULL;
    if (m->cfg.head != CNN_HEAD_BINARY)
        return cnn_fail(err, CNN_ERR_UNSUPPORTED, "Grad-CAM needs the binary head");
    int s = m->cfg.input_size;
    cnn_saliency sal;
    cnn_status st = cnn_net_saliency(m->net, cnn_model_gradcam_layer(m), image,
                                     s, s, &sal, err);
    if (st != CNN_OK)
        return st;
    float *cam = malloc((size_t)sal.h * sal.w * sizeof *cam);
    if (!cam) {
        cnn_saliency_free(&sal);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a Grad-CAM map");
    }
    cnn_heatmap_gradcam(sal.c, sal.h * sal.w, sal.act, sal.grad, cam);
    *prob = sigmoid(sal.output);
    *heat = cam;
    *h = sal.h;
    *w = sal.w;
    cnn_saliency_free(&sal);
    return CNN_OK;
}

/* ---------------------------------------------------------------- input gate */

const cnn_input_gate *cnn_model_gate(const cnn_model *m)
{
    return m->gate;
}

cnn_status cnn_model_set_gate(cnn_model *m, cnn_input_gate *g, cnn_error *err)
{
    if (g && (g->features.dim != cnn_model_feature_count(m) ||
              g->layout.dim != CNN_GATE_THUMB_DIM))
        return cnn_fail(err, CNN_ERR_SHAPE, "input gate statistics of %d layout "
                        "and %d feature values; this model needs %d and %d",
                        g->layout.dim, g->features.dim, CNN_GATE_THUMB_DIM,
                        cnn_model_feature_count(m));
    cnn_gate_free(m->gate);
    m->gate = g;
    return CNN_OK;
}

int cnn_model_feature_count(const cnn_model *m)
{
    int i = m->cfg.head == CNN_HEAD_BINARY ? cnn_net_find_layer(m->net, FEATURE_LAYER) : -1;
    return i < 0 ? 0 : cnn_net_layer_channels(m->net, i);
}

const float *cnn_model_features(const cnn_model *m)
{
    if (m->cfg.head != CNN_HEAD_BINARY)
        return NULL;
    return cnn_net_layer_output(m->net, FEATURE_LAYER, NULL, NULL, NULL);
}
