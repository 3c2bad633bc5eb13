/* tfjs.c - TensorFlow.js layers model import: parses model.json with cJSON,
 * reads and validates the weight shards, dequantizes, renames to Keras names
 * and transposes kernels into the library's layout (rules in tfjs.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "safetensors.h"
#include "tfjs.h"

#define MAX_MODEL_JSON (64u << 20)
#define DEFAULT_MAX_SHARD ((size_t)2 << 30)

/* Reads a whole regular file of at most max bytes. */
static cnn_status read_whole(const char *path, size_t max, unsigned char **buf,
                             size_t *len, cnn_error *err)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cnn_fail(err, CNN_ERR_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cnn_fail(err, CNN_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        return cnn_fail(err, CNN_ERR_TOO_LARGE,
                        "%s: %lld bytes, more than the %zu allowed", path,
                        (long long)sb.st_size, max);
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *p = malloc(size + 1);
    if (!p) {
        close(fd);
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, p + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != size) {
        free(p);
        return cnn_fail(err, CNN_ERR_IO, "%s: short read", path);
    }
    p[size] = '\0';
    *buf = p;
    *len = size;
    return CNN_OK;
}

/* ---------------------------------------------------------------- topology */

typedef struct {
    int count, cap;
    const char **names;   /* point into the parsed JSON */
    const char **classes;
} layer_classes;

static int add_layer_class(layer_classes *lc, const char *name,
                           const char *cls)
{
    if (lc->count == lc->cap) {
        int cap = lc->cap ? 2 * lc->cap : 64;
        const char **n = realloc(lc->names, (size_t)cap * sizeof *n);
        if (!n)
            return 0;
        lc->names = n;
        const char **c = realloc(lc->classes, (size_t)cap * sizeof *c);
        if (!c)
            return 0;
        lc->classes = c;
        lc->cap = cap;
    }
    lc->names[lc->count] = name;
    lc->classes[lc->count] = cls;
    lc->count++;
    return 1;
}

/* Records the class of every layer of a Keras model config, descending into
 * nested models. config is {"layers": [...]} or (old Sequential) a list. */
static int collect_layers(layer_classes *lc, const cJSON *model, int depth)
{
    if (depth > 16)
        return 1; /* absurd nesting: ignore what lies deeper */
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(model, "config");
    const cJSON *layers = cJSON_IsArray(config)
                              ? config
                              : cJSON_GetObjectItemCaseSensitive(config, "layers");
    if (!cJSON_IsArray(layers))
        return 1;
    for (const cJSON *l = layers->child; l; l = l->next) {
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(l, "class_name");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(l, "name");
        if (!cJSON_IsString(name))
            name = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(l, "config"), "name");
        if (!cJSON_IsString(cls) || !cJSON_IsString(name))
            continue;
        if (!add_layer_class(lc, name->valuestring, cls->valuestring))
            return 0;
        if (!collect_layers(lc, l, depth + 1))
            return 0;
    }
    return 1;
}

static const char *class_of(const layer_classes *lc, const char *layer)
{
    for (int i = 0; i < lc->count; i++)
        if (!strcmp(lc->names[i], layer))
            return lc->classes[i];
    return NULL;
}

/* ---------------------------------------------------------------- weights */

typedef enum { STORED_F32, STORED_F16, STORED_U8, STORED_U16 } stored_type;

static const size_t stored_size[] = {4, 2, 1, 2};

typedef struct {
    const char *model_path;
    const char *dir;          /* model.json's directory, with trailing '/' */
    size_t max_shard;
    layer_classes layers;
    int has_topology;
} import_ctx;

/* "model_1/conv2d_1/kernel:0" -> "conv2d_1/kernel" (malloc'd); NULL when
 * the name has no "<layer>/<weight>" form. */
static char *keras_name(const char *tfjs_name)
{
    size_t len = strlen(tfjs_name);
    const char *colon = strrchr(tfjs_name, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
        len = (size_t)(colon - tfjs_name);
    size_t last = len; /* the last '/' and the one before it */
    while (last > 0 && tfjs_name[last - 1] != '/')
        last--;
    if (last <= 1 || last >= len) /* no '/', empty layer or empty weight */
        return NULL;
    size_t start = last - 1;
    while (start > 0 && tfjs_name[start - 1] != '/')
        start--;
    if (start == last - 1)
        return NULL;
    size_t n = len - start;
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, tfjs_name + start, n);
        out[n] = '\0';
    }
    return out;
}

static int json_dim(const cJSON *item, int64_t *out)
{
    if (!cJSON_IsNumber(item))
        return 0;
    double d = item->valuedouble;
    if (!(d >= 0) || d > 4294967295.0 || d != floor(d))
        return 0;
    *out = (int64_t)d;
    return 1;
}

/* TF.js dequantizes as q * scale + min in double precision, rounding the
 * product before the sum. The volatile keeps the compiler from fusing the
 * two into one multiply-add (as -march=native would), which rounds once and
 * differs in the last bit, e.g. a tiny residue instead of an exact 0. */
static float dequantize(unsigned q, double scale, double min)
{
    volatile double product = q * scale;
    return (float)(product + min);
}

/* Decodes count stored values at src into floats (Keras layout). */
static void decode(stored_type type, const unsigned char *src, size_t count,
                   double min, double scale, float *dst)
{
    for (size_t i = 0; i < count; i++) {
        switch (type) {
        case STORED_F32:
            memcpy(&dst[i], src + 4 * i, 4);
            break;
        case STORED_F16: {
            uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
            dst[i] = cnn_f16_to_f32(h);
            break;
        }
        case STORED_U8:
            dst[i] = dequantize(src[i], scale, min);
            break;
        case STORED_U16: {
            unsigned q = (unsigned)(src[2 * i] | src[2 * i + 1] << 8);
            dst[i] = dequantize(q, scale, min);
            break;
        }
        }
    }
}

/* Keras kernel layouts -> ours (see tfjs.h). */
static void transpose_conv(const float *k, const int64_t *shape, float *dst)
{
    int64_t kh = shape[0], kw = shape[1], cin = shape[2], cout = shape[3];
    for (int64_t i = 0; i < kh; i++)
        for (int64_t j = 0; j < kw; j++)
            for (int64_t c = 0; c < cin; c++)
                for (int64_t o = 0; o < cout; o++)
                    dst[((o * cin + c) * kh + i) * kw + j] =
                        k[((i * kw + j) * cin + c) * cout + o];
}

static void transpose_dense(const float *k, const int64_t *shape, float *dst)
{
    int64_t in = shape[0], out = shape[1];
    for (int64_t i = 0; i < in; i++)
        for (int64_t o = 0; o < out; o++)
            dst[o * in + i] = k[i * out + o];
}

/* Which layout change a weight needs: 0 none, 'c' conv, 'd' dense. */
static cnn_status layout_of(const import_ctx *ctx, cnn_tfjs_tensor *t,
                            int *kind, cnn_error *err)
{
    const char *slash = strchr(t->name, '/');
    size_t layer_len = (size_t)(slash - t->name);
    const char *weight = slash + 1;
    int is_kernel = strlen(weight) >= 6 &&
                    !strcmp(weight + strlen(weight) - 6, "kernel");
    const char *cls = "";
    *kind = 0;
    if (ctx->has_topology) {
        char layer[256];
        if (layer_len >= sizeof layer)
            return cnn_fail(err, CNN_ERR_FORMAT, "%s: layer name of '%s' too long",
                            ctx->model_path, t->name);
        memcpy(layer, t->name, layer_len);
        layer[layer_len] = '\0';
        cls = class_of(&ctx->layers, layer);
        if (!cls)
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: weight '%s' belongs to layer '%s', which "
                            "modelTopology does not list", ctx->model_path,
                            t->name, layer);
        if (is_kernel) {
            if (!strcmp(weight, "kernel") &&
                (!strcmp(cls, "Conv2D") || !strcmp(cls, "Convolution2D")))
                *kind = 'c';
            else if (!strcmp(weight, "kernel") && !strcmp(cls, "Dense"))
                *kind = 'd';
            else
                return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                                "%s: weight '%s' of a %s layer: only Conv2D "
                                "and Dense kernels can be converted",
                                ctx->model_path, t->name, cls);
        }
    } else if (!strcmp(weight, "kernel")) {
        *kind = t->ndim == 4 ? 'c' : t->ndim == 2 ? 'd' : 0;
        cls = *kind == 'c' ? "Conv2D" : *kind == 'd' ? "Dense" : "";
        if (!*kind)
            return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                            "%s: kernel '%s' is %d-D; without modelTopology "
                            "only 4-D (Conv2D) and 2-D (Dense) kernels are "
                            "understood", ctx->model_path, t->name, t->ndim);
    }
    if ((*kind == 'c' && t->ndim != 4) || (*kind == 'd' && t->ndim != 2))
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: %s kernel '%s' has %d dimensions, expected %d",
                        ctx->model_path, cls, t->name, t->ndim,
                        *kind == 'c' ? 4 : 2);
    t->layer_class = strdup(cls);
    if (!t->layer_class)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    return CNN_OK;
}

/* Parses one weight entry of a group and decodes it from the group's bytes
 * at *offset (advanced). */
static cnn_status import_weight(const import_ctx *ctx, cnn_tfjs_model *m,
                                const cJSON *spec, const unsigned char *group,
                                size_t group_len, size_t *offset,
                                cnn_error *err)
{
    const char *path = ctx->model_path;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(spec, "name");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(spec, "shape");
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(spec, "dtype");
    const cJSON *quant = cJSON_GetObjectItemCaseSensitive(spec, "quantization");
    if (!cJSON_IsString(name) || !cJSON_IsArray(shape) || !cJSON_IsString(dtype))
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: a weight entry needs a string \"name\", an array "
                        "\"shape\" and a string \"dtype\"", path);
    const char *wname = name->valuestring;
    if (strcmp(dtype->valuestring, "float32"))
        return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                        "%s: weight '%s' has dtype '%.32s'; only float32 "
                        "weights (possibly quantized) are supported", path,
                        wname, dtype->valuestring);

    stored_type type = STORED_F32;
    double min = 0, scale = 1;
    if (quant) {
        const cJSON *qd = cJSON_GetObjectItemCaseSensitive(quant, "dtype");
        if (!cJSON_IsString(qd))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: weight '%s': quantization without a dtype",
                            path, wname);
        if (!strcmp(qd->valuestring, "float16")) {
            type = STORED_F16;
        } else if (!strcmp(qd->valuestring, "uint8") ||
                   !strcmp(qd->valuestring, "uint16")) {
            type = qd->valuestring[4] == '8' ? STORED_U8 : STORED_U16;
            const cJSON *qmin = cJSON_GetObjectItemCaseSensitive(quant, "min");
            const cJSON *qscale = cJSON_GetObjectItemCaseSensitive(quant, "scale");
            if (!cJSON_IsNumber(qmin) || !cJSON_IsNumber(qscale) ||
                !isfinite(qmin->valuedouble) || !isfinite(qscale->valuedouble))
                return cnn_fail(err, CNN_ERR_FORMAT,
                                "%s: weight '%s': %s quantization needs finite "
                                "numbers \"min\" and \"scale\"", path, wname,
                                qd->valuestring);
            min = qmin->valuedouble;
            scale = qscale->valuedouble;
        } else {
            return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                            "%s: weight '%s': quantization dtype '%.32s' is "
                            "not supported (float16, uint8, uint16 are)",
                            path, wname, qd->valuestring);
        }
    }

    cnn_tfjs_tensor *t = &m->tensors[m->count];
    memset(t, 0, sizeof *t);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > 8)
        return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                        "%s: weight '%s' has %d dimensions (at most 8)", path,
                        wname, ndim);
    int64_t keras_shape[8];
    uint64_t count = 1;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        if (!json_dim(d, &keras_shape[i]))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: weight '%s': shape entries must be "
                            "non-negative integers", path, wname);
        if (keras_shape[i] && count > ((uint64_t)1 << 40) / (uint64_t)keras_shape[i])
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: weight '%s': shape is absurdly large", path,
                            wname);
        count *= (uint64_t)keras_shape[i];
    }
    uint64_t bytes = count * stored_size[type];
    if (bytes > group_len - *offset)
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: weight '%s' needs %llu bytes at offset %zu, but "
                        "its group's shards hold only %zu bytes", path, wname,
                        (unsigned long long)bytes, *offset, group_len);

    t->name = keras_name(wname);
    if (!t->name)
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: weight name '%s' is not of the form "
                        "<layer>/<weight>", path, wname);
    m->count++; /* owned from here on: freed with the model */
    for (int j = 0; j < m->count - 1; j++)
        if (!strcmp(m->tensors[j].name, t->name))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: two weights are both named '%s' (after "
                            "dropping prefixes)", path, t->name);
    t->ndim = ndim;
    memcpy(t->shape, keras_shape, sizeof keras_shape);
    t->count = (size_t)count;

    int kind;
    cnn_status st = layout_of(ctx, t, &kind, err);
    if (st != CNN_OK)
        return st;
    t->data = malloc(count ? (size_t)count * sizeof(float) : 1);
    float *keras = kind ? malloc(count ? (size_t)count * sizeof(float) : 1) : NULL;
    if (!t->data || (kind && !keras)) {
        free(keras);
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    decode(type, group + *offset, t->count, min, scale, kind ? keras : t->data);
    if (kind == 'c') {
        transpose_conv(keras, keras_shape, t->data);
        int64_t ours[4] = {keras_shape[3], keras_shape[2], keras_shape[0],
                           keras_shape[1]};
        memcpy(t->shape, ours, sizeof ours);
    } else if (kind == 'd') {
        transpose_dense(keras, keras_shape, t->data);
        t->shape[0] = keras_shape[1];
        t->shape[1] = keras_shape[0];
    }
    free(keras);
    *offset += (size_t)bytes;
    int *stat[] = {&m->stored_float32, &m->stored_float16, &m->stored_uint8,
                   &m->stored_uint16};
    (*stat[type])++;
    return CNN_OK;
}

/* A shard path must stay inside model.json's directory. */
static int safe_relative_path(const char *p)
{
    if (!p[0] || p[0] == '/')
        return 0;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 0;
        s += n + (e != NULL);
    }
    return 1;
}

/* Reads a group's shard files, concatenated. */
static cnn_status read_group(const import_ctx *ctx, const cJSON *paths,
                             unsigned char **data, size_t *len, cnn_error *err)
{
    *data = NULL;
    *len = 0;
    if (!cJSON_IsArray(paths) || cJSON_GetArraySize(paths) < 1)
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: a weight group needs a non-empty \"paths\" array",
                        ctx->model_path);
    for (const cJSON *p = paths->child; p; p = p->next) {
        if (!cJSON_IsString(p) || !safe_relative_path(p->valuestring))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: shard path %s%s%s must be a relative path "
                            "inside the model's directory", ctx->model_path,
                            cJSON_IsString(p) ? "'" : "",
                            cJSON_IsString(p) ? p->valuestring : "(not a string)",
                            cJSON_IsString(p) ? "'" : "");
        size_t plen = strlen(ctx->dir) + strlen(p->valuestring) + 1;
        char *full = malloc(plen);
        if (!full)
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        snprintf(full, plen, "%s%s", ctx->dir, p->valuestring);
        unsigned char *shard;
        size_t shard_len;
        cnn_status st = read_whole(full, ctx->max_shard, &shard, &shard_len, err);
        free(full);
        if (st != CNN_OK)
            return st;
        unsigned char *grown = realloc(*data, *len + shard_len + 1);
        if (!grown) {
            free(shard);
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        }
        memcpy(grown + *len, shard, shard_len);
        free(shard);
        *data = grown;
        *len += shard_len;
    }
    return CNN_OK;
}

static cnn_status import_manifest(const import_ctx *ctx, cnn_tfjs_model *m,
                                  const cJSON *manifest, cnn_error *err)
{
    if (!cJSON_IsArray(manifest))
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: no \"weightsManifest\" array", ctx->model_path);
    int total = 0;
    for (const cJSON *g = manifest->child; g; g = g->next) {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(g, "weights");
        if (!cJSON_IsArray(w))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: a weight group has no \"weights\" array",
                            ctx->model_path);
        total += cJSON_GetArraySize(w);
    }
    m->tensors = calloc(total ? (size_t)total : 1, sizeof *m->tensors);
    if (!m->tensors)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");

    int group_no = 0;
    for (const cJSON *g = manifest->child; g; g = g->next, group_no++) {
        unsigned char *data;
        size_t len, offset = 0;
        cnn_status st = read_group(ctx, cJSON_GetObjectItemCaseSensitive(g, "paths"),
                                   &data, &len, err);
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(g, "weights");
        for (const cJSON *spec = w->child; st == CNN_OK && spec; spec = spec->next)
            st = import_weight(ctx, m, spec, data, len, &offset, err);
        free(data);
        if (st != CNN_OK)
            return st;
        if (offset != len)
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: weight group %d: the shards hold %zu bytes "
                            "but the manifest describes %zu",
                            ctx->model_path, group_no + 1, len, offset);
    }
    return CNN_OK;
}

cnn_status cnn_tfjs_load(cnn_tfjs_model **out, const char *path,
                         size_t max_shard_bytes, cnn_error *err)
{
    *out = NULL;
    unsigned char *text;
    size_t len;
    cnn_status st = read_whole(path, MAX_MODEL_JSON, &text, &len, err);
    if (st != CNN_OK)
        return st;
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    if (!root)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: not valid JSON", path);

    import_ctx ctx = {.model_path = path,
                      .max_shard = max_shard_bytes ? max_shard_bytes
                                                   : DEFAULT_MAX_SHARD};
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    char *dir = malloc(dir_len + 1);
    cnn_tfjs_model *m = calloc(1, sizeof *m);
    if (!dir || !m) {
        st = cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(dir, path, dir_len);
    dir[dir_len] = '\0';
    ctx.dir = dir;

    if (!cJSON_IsObject(root)) {
        st = cnn_fail(err, CNN_ERR_FORMAT, "%s: not a JSON object", path);
        goto done;
    }
    const cJSON *topo = cJSON_GetObjectItemCaseSensitive(root, "modelTopology");
    if (topo && !cJSON_IsNull(topo)) {
        const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(topo, "model_config");
        ctx.has_topology = 1;
        if (!collect_layers(&ctx.layers, cfg ? cfg : topo, 0)) {
            st = cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (ctx.layers.count == 0) {
            st = cnn_fail(err, CNN_ERR_FORMAT,
                          "%s: modelTopology lists no layers", path);
            goto done;
        }
    }
    st = import_manifest(&ctx, m,
                         cJSON_GetObjectItemCaseSensitive(root, "weightsManifest"),
                         err);
done:
    free(ctx.layers.names);
    free(ctx.layers.classes);
    free(dir);
    cJSON_Delete(root);
    if (st != CNN_OK) {
        cnn_tfjs_free(m);
        return st;
    }
    *out = m;
    return CNN_OK;
}

const cnn_tfjs_tensor *cnn_tfjs_find(const cnn_tfjs_model *m, const char *name)
{
    for (int i = 0; i < m->count; i++)
        if (!strcmp(m->tensors[i].name, name))
            return &m->tensors[i];
    return NULL;
}

void cnn_tfjs_free(cnn_tfjs_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->count; i++) {
        free(m->tensors[i].name);
        free(m->tensors[i].layer_class);
        free(m->tensors[i].data);
    }
    free(m->tensors);
    free(m);
}
