/* network.c - building the layer graph and managing its parameters
 * (allocation, He initialization, lookup, freezing, keep marks). Shapes and
 * memory are planned in network_plan.c, passes run in network_run.c. */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network_internal.h"

cnn_net *cnn_net_new(void)
{
    cnn_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->frozen_until = -1;
    cnn_rng_seed(&net->rng, 0x5eed);
    return net;
}

static int build_failed(cnn_net *net, cnn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int build_failed(cnn_net *net, cnn_status code, const char *fmt, ...)
{
    if (net->build_status == CNN_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(net->build_message, sizeof net->build_message, fmt, ap);
        va_end(ap);
        net->build_status = code;
    }
    return -1;
}

/* The array with room for one more item (its capacity doubles); NULL when
 * out of memory, the array then unchanged. */
static void *room_for_one_more(void *items, int count, int *cap, size_t item_size,
                               int first_cap)
{
    if (count < *cap)
        return items;
    int new_cap = *cap ? 2 * *cap : first_cap;
    void *grown = realloc(items, (size_t)new_cap * item_size);
    if (grown)
        *cap = new_cap;
    return grown;
}

/* Appends a layer named `name` reading `inputs`; -1 after any failure. */
static int add_layer(cnn_net *net, const char *name, layer_kind kind,
                     int ninputs, const int *inputs)
{
    if (net->build_status != CNN_OK)
        return -1;
    if (strlen(name) >= NET_NAME_LEN)
        return build_failed(net, CNN_ERR_ARG, "layer name too long: %s", name);
    if (cnn_net_find_layer(net, name) >= 0)
        return build_failed(net, CNN_ERR_ARG, "duplicate layer name %s", name);
    if (ninputs > NET_MAX_INPUTS)
        return build_failed(net, CNN_ERR_ARG, "layer %s: too many inputs", name);
    for (int i = 0; i < ninputs; i++)
        if (inputs[i] < 0 || inputs[i] >= net->nlayers)
            return build_failed(net, CNN_ERR_ARG,
                                "layer %s: input %d is not an earlier layer",
                                name, inputs[i]);
    if (kind != LAYER_INPUT && ninputs == 0)
        return build_failed(net, CNN_ERR_ARG, "layer %s has no input", name);
    net_layer *layers = room_for_one_more(net->layers, net->nlayers, &net->cap_layers,
                                          sizeof *layers, 64);
    if (!layers)
        return build_failed(net, CNN_ERR_NOMEM, "out of memory");
    net->layers = layers;
    net_layer *l = &net->layers[net->nlayers];
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", name);
    l->kind = kind;
    l->ninputs = ninputs;
    if (ninputs)
        memcpy(l->inputs, inputs, (size_t)ninputs * sizeof *inputs);
    l->first_param = net->nparams;
    l->param = (net_layer_params){-1, -1, -1, -1, -1, -1};
    l->aux = -1;
    net->planned = 0;
    return net->nlayers++;
}

/* Appends the parameter "<layer's name>/<suffix>" of layer `layer`; its
 * index in net->params, -1 after any failure. */
static int add_param(cnn_net *net, int layer, const char *suffix,
                     cnn_param_kind kind, int ndim, const int64_t *shape)
{
    if (net->build_status != CNN_OK)
        return -1;
    cnn_param *params = room_for_one_more(net->params, net->nparams, &net->cap_params,
                                          sizeof *params, 128);
    if (!params)
        return build_failed(net, CNN_ERR_NOMEM, "out of memory");
    net->params = params;
    cnn_param *p = &net->params[net->nparams];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s/%s", net->layers[layer].name, suffix);
    p->kind = kind;
    p->ndim = ndim;
    p->count = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->count *= (size_t)shape[i];
    }
    p->layer = layer;
    net->layers[layer].nparams++;
    return net->nparams++;
}

int cnn_net_layer_channels(const cnn_net *net, int i)
{
    assert(i >= 0 && i < net->nlayers);
    const net_layer *l = &net->layers[i];
    switch (l->kind) {
    case LAYER_INPUT:
    case LAYER_CONV:
    case LAYER_DENSE:
        return l->units;
    case LAYER_CONCAT: {
        int c = 0;
        for (int k = 0; k < l->ninputs; k++) {
            int ck = cnn_net_layer_channels(net, l->inputs[k]);
            if (ck < 0)
                return -1;
            c += ck;
        }
        return c;
    }
    case LAYER_FLATTEN:
        return -1;
    default:
        return cnn_net_layer_channels(net, l->inputs[0]);
    }
}

int cnn_net_add_input(cnn_net *net, const char *name, int channels)
{
    assert(channels > 0);
    int i = add_layer(net, name, LAYER_INPUT, 0, NULL);
    if (i >= 0)
        net->layers[i].units = channels;
    return i;
}

int cnn_net_add_conv(cnn_net *net, const char *name, int input, int filters,
                     int kh, int kw, int stride_h, int stride_w,
                     cnn_padding pad, int use_bias, cnn_act act)
{
    assert(filters > 0 && kh > 0 && kw > 0 && stride_h > 0 && stride_w > 0);
    assert(act != CNN_ACT_SOFTMAX);
    int i = add_layer(net, name, LAYER_CONV, 1, &input);
    if (i < 0)
        return -1;
    int in_c = cnn_net_layer_channels(net, input);
    if (in_c < 0)
        return build_failed(net, CNN_ERR_ARG, "conv %s needs a spatial input", name);
    net_layer *l = &net->layers[i];
    l->units = filters;
    l->kh = kh;
    l->kw = kw;
    l->stride_h = stride_h;
    l->stride_w = stride_w;
    l->pad = pad;
    l->use_bias = use_bias;
    l->act = act;
    int64_t kshape[4] = {filters, in_c, kh, kw};
    l->param.kernel = add_param(net, i, "kernel", CNN_PARAM_WEIGHT, 4, kshape);
    if (use_bias) {
        int64_t bshape[1] = {filters};
        l->param.bias = add_param(net, i, "bias", CNN_PARAM_WEIGHT, 1, bshape);
    }
    return net->build_status == CNN_OK ? i : -1;
}

int cnn_net_add_batchnorm(cnn_net *net, const char *name, int input,
                          int scale, float eps, float momentum)
{
    int i = add_layer(net, name, LAYER_BATCHNORM, 1, &input);
    if (i < 0)
        return -1;
    int c = cnn_net_layer_channels(net, input);
    if (c < 0)
        return build_failed(net, CNN_ERR_ARG, "batch norm %s needs channels", name);
    net_layer *l = &net->layers[i];
    l->scale = scale;
    l->eps = eps;
    l->momentum = momentum;
    int64_t shape[1] = {c};
    /* Keras' order: gamma, beta, moving_mean, moving_variance */
    if (scale)
        l->param.gamma = add_param(net, i, "gamma", CNN_PARAM_WEIGHT, 1, shape);
    l->param.beta = add_param(net, i, "beta", CNN_PARAM_WEIGHT, 1, shape);
    l->param.mean = add_param(net, i, "moving_mean", CNN_PARAM_STATE, 1, shape);
    l->param.variance = add_param(net, i, "moving_variance", CNN_PARAM_STATE, 1,
                                  shape);
    return net->build_status == CNN_OK ? i : -1;
}

int cnn_net_add_activation(cnn_net *net, const char *name, int input,
                           cnn_act act)
{
    int i = add_layer(net, name, LAYER_ACTIVATION, 1, &input);
    if (i >= 0)
        net->layers[i].act = act;
    return i;
}

int cnn_net_add_pool(cnn_net *net, const char *name, int input,
                     cnn_pool_kind kind, int kh, int kw, int stride_h,
                     int stride_w, cnn_padding pad)
{
    assert(kh > 0 && kw > 0 && stride_h > 0 && stride_w > 0);
    int i = add_layer(net, name, LAYER_POOL, 1, &input);
    if (i < 0)
        return -1;
    net_layer *l = &net->layers[i];
    l->pool = kind;
    l->kh = kh;
    l->kw = kw;
    l->stride_h = stride_h;
    l->stride_w = stride_w;
    l->pad = pad;
    return i;
}

int cnn_net_add_global_avgpool(cnn_net *net, const char *name, int input)
{
    return add_layer(net, name, LAYER_GLOBAL_AVGPOOL, 1, &input);
}

int cnn_net_add_concat(cnn_net *net, const char *name, int count,
                       const int *inputs)
{
    return add_layer(net, name, LAYER_CONCAT, count, inputs);
}

int cnn_net_add_flatten(cnn_net *net, const char *name, int input)
{
    return add_layer(net, name, LAYER_FLATTEN, 1, &input);
}

int cnn_net_add_dense(cnn_net *net, const char *name, int input,
                      int in_features, int units, int use_bias, cnn_act act)
{
    assert(in_features > 0 && units > 0);
    int i = add_layer(net, name, LAYER_DENSE, 1, &input);
    if (i < 0)
        return -1;
    net_layer *l = &net->layers[i];
    l->in_features = in_features;
    l->units = units;
    l->use_bias = use_bias;
    l->act = act;
    int64_t kshape[2] = {units, in_features};
    l->param.kernel = add_param(net, i, "kernel", CNN_PARAM_WEIGHT, 2, kshape);
    if (use_bias) {
        int64_t bshape[1] = {units};
        l->param.bias = add_param(net, i, "bias", CNN_PARAM_WEIGHT, 1, bshape);
    }
    return net->build_status == CNN_OK ? i : -1;
}

int cnn_net_add_dropout(cnn_net *net, const char *name, int input, float rate)
{
    assert(rate >= 0 && rate < 1);
    int i = add_layer(net, name, LAYER_DROPOUT, 1, &input);
    if (i >= 0)
        net->layers[i].rate = rate;
    return i;
}

void cnn_net_truncate(cnn_net *net, int last)
{
    assert(last >= 0 && last < net->nlayers);
    assert(!net->param_block); /* before parameters exist */
    net->nlayers = last + 1;
    net->nparams = net->layers[last].first_param + net->layers[last].nparams;
    if (net->frozen_until > last)
        net->frozen_until = last;
    net->planned = 0;
}

cnn_status cnn_net_build_status(const cnn_net *net, cnn_error *err)
{
    if (net->build_status != CNN_OK)
        return cnn_fail(err, net->build_status, "building the network: %s",
                        net->build_message);
    return CNN_OK;
}

cnn_status net_fail_layer(cnn_error *err, const net_layer *l, const char *what)
{
    return cnn_fail(err, CNN_ERR_SHAPE, "layer %s: %s", l->name, what);
}

/* ---------------------------------------------------------------- parameters */

cnn_status cnn_net_alloc_params(cnn_net *net, cnn_error *err)
{
    assert(!net->param_block);
    size_t total = 0;
    for (int i = 0; i < net->nparams; i++)
        if (!net->params[i].data)
            total += net->params[i].count;
    if (total == 0)
        return CNN_OK;
    /* calloc: pages of parameters that get bound elsewhere are never touched */
    net->param_block = calloc(total, sizeof(float));
    if (!net->param_block)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for %zu parameters",
                        total);
    float *p = net->param_block;
    for (int i = 0; i < net->nparams; i++)
        if (!net->params[i].data) {
            net->params[i].data = p;
            p += net->params[i].count;
        }
    return CNN_OK;
}

cnn_status cnn_net_own_params(cnn_net *net, cnn_error *err)
{
    size_t total = cnn_net_total_params(net);
    float *block = malloc(total ? total * sizeof(float) : 1);
    if (!block)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for %zu parameters",
                        total);
    float *p = block;
    for (int i = 0; i < net->nparams; i++) {
        cnn_param *q = &net->params[i];
        if (q->data)
            memcpy(p, q->data, q->count * sizeof(float));
        else
            memset(p, 0, q->count * sizeof(float));
        q->data = p;
        p += q->count;
    }
    free(net->param_block);
    net->param_block = block;
    return CNN_OK;
}

void cnn_net_bind_param(cnn_param *p, float *data)
{
    p->data = data;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

void cnn_net_init_he(cnn_net *net, uint64_t seed)
{
    cnn_rng rng;
    cnn_rng_seed(&rng, seed);
    for (int i = 0; i < net->nparams; i++) {
        cnn_param *p = &net->params[i];
        assert(p->data);
        float value = 0.0f;
        if (ends_with(p->name, "/kernel")) {
            /* fan_in: every dimension but the first (out) */
            double fan_in = (double)p->count / (double)p->shape[0];
            float sd = (float)sqrt(2.0 / fan_in);
            for (size_t k = 0; k < p->count; k++)
                p->data[k] = sd * cnn_rng_normal(&rng);
            continue;
        }
        if (ends_with(p->name, "/gamma") || ends_with(p->name, "/moving_variance"))
            value = 1.0f;
        for (size_t k = 0; k < p->count; k++)
            p->data[k] = value;
    }
}

int cnn_net_param_count(const cnn_net *net)
{
    return net->nparams;
}

cnn_param *cnn_net_param(cnn_net *net, int i)
{
    assert(i >= 0 && i < net->nparams);
    return &net->params[i];
}

cnn_param *cnn_net_find_param(cnn_net *net, const char *name)
{
    for (int i = 0; i < net->nparams; i++)
        if (strcmp(net->params[i].name, name) == 0)
            return &net->params[i];
    return NULL;
}

size_t cnn_net_total_params(const cnn_net *net)
{
    size_t total = 0;
    for (int i = 0; i < net->nparams; i++)
        total += net->params[i].count;
    return total;
}

int cnn_net_layer_count(const cnn_net *net)
{
    return net->nlayers;
}

const char *cnn_net_layer_name(const cnn_net *net, int i)
{
    assert(i >= 0 && i < net->nlayers);
    return net->layers[i].name;
}

int cnn_net_find_layer(const cnn_net *net, const char *name)
{
    for (int i = 0; i < net->nlayers; i++)
        if (strcmp(net->layers[i].name, name) == 0)
            return i;
    return -1;
}

int cnn_net_layer_is_pool(const cnn_net *net, int i)
{
    assert(i >= 0 && i < net->nlayers);
    return net->layers[i].kind == LAYER_POOL;
}

int cnn_net_layer_input(const cnn_net *net, int i, int k)
{
    assert(i >= 0 && i < net->nlayers);
    return k >= 0 && k < net->layers[i].ninputs ? net->layers[i].inputs[k] : -1;
}

cnn_status cnn_net_freeze_until(cnn_net *net, const char *layer, cnn_error *err)
{
    int last = -1;
    if (layer) {
        last = cnn_net_find_layer(net, layer);
        if (last < 0)
            return cnn_fail(err, CNN_ERR_ARG, "cannot freeze: no layer named %s",
                            layer);
    }
    net->frozen_until = last;
    return CNN_OK;
}

int cnn_net_frozen_until(const cnn_net *net)
{
    return net->frozen_until;
}

cnn_status cnn_net_keep(cnn_net *net, const char *layer, int what,
                        cnn_error *err)
{
    int i = cnn_net_find_layer(net, layer);
    if (i < 0)
        return cnn_fail(err, CNN_ERR_ARG, "no layer named %s", layer);
    if (net->layers[i].keep != what) {
        net->layers[i].keep = what;
        net->keep_version++;
    }
    return CNN_OK;
}

int cnn_net_keep_marks(const cnn_net *net, const char *layer)
{
    int i = cnn_net_find_layer(net, layer);
    return i < 0 ? -1 : net->layers[i].keep;
}

void cnn_net_set_batchnorm_running_stats(cnn_net *net, int use_running)
{
    net->bn_running_stats = use_running != 0;
}

void cnn_net_seed(cnn_net *net, uint64_t seed)
{
    cnn_rng_seed(&net->rng, seed);
}

void cnn_net_set_batch_share(cnn_net *net, int first, int total)
{
    net->share_first = first;
    net->share_total = total;
}

void cnn_net_free(cnn_net *net)
{
    if (!net)
        return;
    free(net->layers);
    free(net->params);
    free(net->param_block);
    free(net->grad_block);
    free(net->items);
    free(net->arena);
    free(net->grad_of);
    free(net->grad_written);
    free(net);
}
