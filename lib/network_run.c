/* network_run.c - forward and backward passes over a planned network.
 *
 * Buffers come from the plan (network_plan.c); nothing is allocated here.
 * Backward walks the layers in reverse. A tensor read by several layers
 * (an Inception block's input) receives its gradient from the first of them
 * directly and from the others through a scratch buffer that is added in.
 */
#include <assert.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <string.h>

#include "conv_direct.h"
#include "network_internal.h"
#include "winograd_kinds.h"
#include "zero_fill.h"

/* A parameter's values or gradient by its index (net_layer_params); NULL
 * for -1, the layer has no such parameter. */
static float *param_data(const cnn_net *net, int index)
{
    return index >= 0 ? net->params[index].data : NULL;
}

static float *param_grad(const cnn_net *net, int index)
{
    return index >= 0 ? net->params[index].grad : NULL;
}

static const float *input_of(const cnn_net *net, const net_layer *l, int k)
{
    return net->layers[l->inputs[k]].out;
}

/* Keras flattens channels-last: x [n, c, hw] -> y [n, hw, c]. */
static void flatten_nhwc(int n, int c, int hw, const float *x, float *y,
                         int backward)
{
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < hw; i++) {
                size_t nchw = ((size_t)b * c + ch) * hw + i;
                size_t nhwc = ((size_t)b * hw + i) * c + ch;
                if (backward)
                    y[nchw] = x[nhwc];
                else
                    y[nhwc] = x[nchw];
            }
}

/* A checksum of the weights' bits (two sums, the second position-weighted),
 * one vectorizable pass: a cached Winograd filter is reused only while the
 * weights it came from are unchanged, whoever changed them. Spread over the
 * threads, as it reads every weight of the layer at every forward (sums
 * modulo 2^32 do not depend on the order). */
static uint64_t weights_checksum(const float *w, size_t count)
{
    uint32_t plain = 0, weighted = 0;
#pragma omp parallel for simd schedule(static) \
    reduction(+ : plain, weighted) if (count >= 65536)
    for (size_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &w[i], sizeof u);
        plain += u;
        weighted += u * (2 * (uint32_t)i + 1);
    }
    return (uint64_t)weighted << 32 | plain;
}

/* The fused batch norm m's scale gamma / sqrt(var + eps) [c], as
 * cnn_batchnorm_forward_infer computes it. */
static void bn_scales(const cnn_net *net, const net_layer *m, float *scale)
{
    const float *gamma = param_data(net, m->param.gamma);
    const float *var = param_data(net, m->param.variance);
    for (int ch = 0; ch < m->c; ch++) {
        double invstd = 1.0 / sqrt((double)var[ch] + m->eps);
        scale[ch] = (float)((gamma ? gamma[ch] : 1.0) * invstd);
    }
}

/* The batch norm (and ReLU) fused into an im2col convolution: one pass
 * over its output y [n, c, hw] instead of two; scale [c] is scratch. */
static void bn_relu_pass(const cnn_net *net, const net_layer *l, float *y,
                         float *scale)
{
    const net_layer *m = &net->layers[l->fused_bn];
    const float *mean = param_data(net, m->param.mean);
    const float *beta = param_data(net, m->param.beta);
    const int n = net->plan_batch, c = l->c, hw = l->h * l->w;
    const int relu = l->fused_relu;
    bn_scales(net, m, scale);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            const float mk = mean[ch], sk = scale[ch], ck = beta[ch];
            float *p = y + ((size_t)b * c + ch) * hw;
            for (int i = 0; i < hw; i++) {
                float v = (p[i] - mk) * sk + ck;
                p[i] = relu && v < 0.0f ? 0.0f : v;
            }
        }
}

/* A Winograd convolution: the transformed filter (the plan's wino_u) is
 * made at every forward of a layer being trained (an optimizer step may
 * have changed the weights) and otherwise once per set of weights. */
static void forward_winograd(cnn_net *net, net_layer *l, const float *x,
                             float *workspace)
{
    const wino_ops *ops = wino_ops_of(l->wino);
    const float *w = param_data(net, l->param.kernel);
    if (net->plan_training && !l->frozen) {
        ops->filter(&l->conv, w, l->wino_u);
        l->wino_valid = 0;
    } else {
        uint64_t sum = weights_checksum(w, (size_t)l->conv.out_c * l->conv.in_c *
                                               l->conv.kh * l->conv.kw);
        if (!l->wino_valid || l->wino_sum != sum) {
            ops->filter(&l->conv, w, l->wino_u);
            l->wino_sum = sum;
            l->wino_valid = 1;
        }
    }
    const float *bias = param_data(net, l->param.bias);
    const float *mean = NULL, *beta = NULL, *scale = NULL;
    int relu = l->act == CNN_ACT_RELU;
    if (l->fused_bn) {
        const net_layer *m = &net->layers[l->fused_bn];
        bn_scales(net, m, l->bn_scale);
        mean = param_data(net, m->param.mean);
        beta = param_data(net, m->param.beta);
        scale = l->bn_scale;
        relu = l->fused_relu;
    }
    ops->forward_bn(&l->conv, net->plan_batch, x, l->wino_u, bias, mean, scale,
                    beta, relu, l->out, workspace);
}

static void skip_draws(cnn_rng *rng, size_t count)
{
    while (count--)
        cnn_rng_next(rng);
}

/* workspace: the convolution scratch of the thread running the layer. */
static void forward_layer(cnn_net *net, net_layer *l, int training,
                          float *workspace)
{
    const int n = net->plan_batch;
    const int hw = l->h * l->w;
    const float *x = l->ninputs ? input_of(net, l, 0) : NULL;
    const net_layer *in = l->ninputs ? &net->layers[l->inputs[0]] : NULL;
    switch (l->kind) {
    case LAYER_INPUT:
        break;
    case LAYER_CONV:
        if (l->wino) {
            forward_winograd(net, l, x, workspace);
            break;
        }
        if (l->direct) {
            cnn_conv_direct_forward(&l->conv, n, x,
                                    param_data(net, l->param.kernel),
                                    param_data(net, l->param.bias),
                                    l->act == CNN_ACT_RELU, l->out, workspace);
            break;
        }
        cnn_conv2d_forward(&l->conv, n, x, param_data(net, l->param.kernel),
                           param_data(net, l->param.bias), l->out, workspace);
        if (l->fused_bn) /* the workspace is free again */
            bn_relu_pass(net, l, l->out, workspace);
        else if (l->act == CNN_ACT_RELU)
            cnn_relu_forward(l->out_floats, l->out, l->out);
        break;
    case LAYER_BATCHNORM: {
        if (l->fused) /* done by the convolution before it */
            break;
        const float *gamma = param_data(net, l->param.gamma);
        const float *beta = param_data(net, l->param.beta);
        /* running statistics are updated only when trained; the plan made
         * them writable then (they are never bound to a read-only file) */
        float *mean = param_data(net, l->param.mean);
        float *var = param_data(net, l->param.variance);
        if (net->last_forward_bn_batch && !l->frozen)
            cnn_batchnorm_forward_train(n, l->c, hw, x, gamma, beta, mean, var,
                                        l->momentum, l->eps, l->fused_relu,
                                        l->out, l->aux_data, l->aux_data + l->c);
        else /* possibly in place */
            cnn_batchnorm_forward_infer(n, l->c, hw, x, gamma, beta, mean, var,
                                        l->eps, l->fused_relu, l->out);
        break;
    }
    case LAYER_ACTIVATION:
        if (l->fused)
            break;
        if (l->act == CNN_ACT_RELU)
            cnn_relu_forward(l->out_floats, x, l->out);
        else if (l->act == CNN_ACT_SOFTMAX)
            cnn_softmax_forward(n, l->c * hw, x, l->out);
        else if (l->out != x)
            memcpy(l->out, x, l->out_floats * sizeof(float));
        break;
    case LAYER_POOL:
        if (l->pool == CNN_POOL_MAX)
            cnn_maxpool_forward(&l->pooling, n, x, l->out, (int32_t *)l->aux_data);
        else
            cnn_avgpool_forward(&l->pooling, n, x, l->out);
        break;
    case LAYER_GLOBAL_AVGPOOL:
        cnn_global_avgpool_forward(n, l->c, in->h * in->w, x, l->out);
        break;
    case LAYER_CONCAT: {
        int channels[NET_MAX_INPUTS];
        const float *parts[NET_MAX_INPUTS];
        for (int k = 0; k < l->ninputs; k++) {
            channels[k] = net->layers[l->inputs[k]].c;
            parts[k] = input_of(net, l, k);
        }
        cnn_concat_forward(n, hw, l->ninputs, channels, parts, l->out);
        break;
    }
    case LAYER_FLATTEN:
        flatten_nhwc(n, in->c, in->h * in->w, x, l->out, 0);
        break;
    case LAYER_DENSE: {
        const float *w = param_data(net, l->param.kernel);
        const float *b = param_data(net, l->param.bias);
        if (l->act == CNN_ACT_SOFTMAX) {
            cnn_dense_forward(n, l->in_features, l->units, x, w, b, net->scratch_a);
            cnn_softmax_forward(n, l->units, net->scratch_a, l->out);
        } else {
            cnn_dense_forward(n, l->in_features, l->units, x, w, b, l->out);
            if (l->act == CNN_ACT_RELU)
                cnn_relu_forward(l->out_floats, l->out, l->out);
        }
        break;
    }
    case LAYER_DROPOUT:
        if (training && l->rate > 0) {
            /* a share of a global batch: the other images' draws are skipped */
            size_t per_image = l->out_floats / (size_t)n;
            size_t after = net->share_total ? (size_t)(net->share_total - n -
                                                       net->share_first) : 0;
            skip_draws(&net->rng, per_image * (size_t)net->share_first);
            cnn_dropout_forward(l->out_floats, l->rate, &net->rng, x, l->out,
                                (uint8_t *)l->aux_data);
            skip_draws(&net->rng, per_image * after);
        } else
            memcpy(l->out, x, l->out_floats * sizeof(float));
        break;
    }
}

/* Layers first..last, a group of branches (network_branches.c): each
 * thread runs its branches' layers in order, with its own workspace; nested
 * in this region, OpenBLAS and the library's loops run on that one thread.
 * With a team of one (nested), that thread runs them all; with one thread
 * configured, no region at all (OpenBLAS inside one is slow, conv.c). */
static void forward_branches(cnn_net *net, int first, int last, int training)
{
    if (cnn_get_threads() < 2) {
        for (int i = first; i <= last; i++)
            forward_layer(net, &net->layers[i], training, net->workspace);
        return;
    }
#pragma omp parallel num_threads(2)
    {
        int me = 0, team = 1;
#ifdef _OPENMP
        me = omp_get_thread_num();
        team = omp_get_num_threads();
#endif
        float *workspace = me ? net->workspace_b : net->workspace;
        for (int i = first; i <= last; i++)
            if (team == 1 || net->layers[i].branch_thread == me)
                forward_layer(net, &net->layers[i], training, workspace);
    }
}

void cnn_net_forward(cnn_net *net, int training)
{
    assert(net->planned);
    assert(!training || net->plan_training);
    net->last_forward_training = training;
    net->last_forward_bn_batch = training && !net->bn_running_stats;
    for (int i = 1; i < net->nlayers; i++) {
        net_layer *l = &net->layers[i];
        if (l->group_last) {
            forward_branches(net, i, l->group_last, training);
            i = l->group_last;
        } else
            forward_layer(net, l, training, net->workspace);
    }
}

float *cnn_net_input(cnn_net *net)
{
    assert(net->planned);
    return net->layers[0].out;
}

const float *cnn_net_output(const cnn_net *net, int *per_image)
{
    assert(net->planned);
    const net_layer *l = &net->layers[net->nlayers - 1];
    if (per_image)
        *per_image = l->c * l->h * l->w;
    return l->out;
}

const float *cnn_net_layer_output(const cnn_net *net, const char *layer,
                                  int *c, int *h, int *w)
{
    int i = cnn_net_find_layer(net, layer);
    if (i < 0 || !net->planned)
        return NULL;
    const net_layer *l = &net->layers[i];
    if (c)
        *c = l->c;
    if (h)
        *h = l->h;
    if (w)
        *w = l->w;
    return l->out;
}

const float *cnn_net_layer_grad(const cnn_net *net, const char *layer)
{
    int i = cnn_net_find_layer(net, layer);
    if (i < 0 || !net->planned || !net->plan_training ||
        !(net->layers[i].keep & CNN_KEEP_GRAD))
        return NULL;
    return net->grad_of[net->layers[i].tensor];
}

const float *cnn_net_input_grad(const cnn_net *net)
{
    return cnn_net_layer_grad(net, net->layers[0].name);
}

void cnn_net_zero_grad(cnn_net *net)
{
    if (net->grad_block)
        cnn_zero_fill(net->grad_block, net->grad_floats);
}

/* Where the gradient for input k goes: straight into the tensor's gradient
 * if nothing wrote it yet in this pass, else into scratch_b (then added). */
static float *dx_target(cnn_net *net, const net_layer *l, int k, int *accumulate)
{
    *accumulate = 0;
    if (!l->dx_needed[k])
        return NULL;
    int t = net->layers[l->inputs[k]].tensor;
    if (net->grad_written[t]) {
        *accumulate = 1;
        return net->scratch_b;
    }
    return net->grad_of[t];
}

static void dx_done(cnn_net *net, const net_layer *l, int k, int accumulate)
{
    if (!l->dx_needed[k])
        return;
    const net_layer *in = &net->layers[l->inputs[k]];
    float *g = net->grad_of[in->tensor];
    if (accumulate) {
        const float *s = net->scratch_b;
        size_t count = in->out_floats;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < count; i++)
            g[i] += s[i];
    }
    net->grad_written[in->tensor] = 1;
}

/* dy of a layer with a fused activation, turned into d(pre-activation):
 * in place unless the caller must keep dy (a CNN_KEEP_GRAD layer). */
static const float *through_activation(cnn_net *net, const net_layer *l,
                                       const float *dy)
{
    float *dz = (l->keep & CNN_KEEP_GRAD) ? net->scratch_a : (float *)dy;
    if (l->act == CNN_ACT_RELU)
        cnn_relu_backward(l->out_floats, l->out, dy, dz);
    else if (l->act == CNN_ACT_SOFTMAX)
        cnn_softmax_backward(net->plan_batch, l->units, l->out, dy, dz);
    else
        return dy;
    return dz;
}

static void backward_layer(cnn_net *net, net_layer *l)
{
    const int n = net->plan_batch;
    const int hw = l->h * l->w;
    float *dy = net->grad_of[l->tensor];
    const float *x = l->ninputs ? input_of(net, l, 0) : NULL;
    const net_layer *in = l->ninputs ? &net->layers[l->inputs[0]] : NULL;
    int acc = 0;
    float *dx;
    if (l->inplace) {
        /* the gradient is transformed in place, nothing to accumulate */
        dx = l->dx_needed[0] ? dy : NULL;
    } else {
        dx = l->ninputs == 1 ? dx_target(net, l, 0, &acc) : NULL;
    }
    switch (l->kind) {
    case LAYER_INPUT:
        return;
    case LAYER_CONV: {
        const float *dz = through_activation(net, l, dy);
        const float *w = param_data(net, l->param.kernel);
        /* Winograd's weight gradient and dx (through the filter its
         * forward transformed) after im2col's bias */
        float *dw = param_grad(net, l->param.kernel);
        cnn_conv2d_backward(&l->conv, n, x, w, dz, l->wino ? NULL : dx,
                            l->wino ? NULL : dw,
                            param_grad(net, l->param.bias), net->workspace);
        if (l->wino && (dx || dw))
            wino_ops_of(l->wino)->backward(&l->conv, n, x, dz, l->wino_u, dx,
                                           dw, net->workspace);
        break;
    }
    case LAYER_BATCHNORM: {
        const float *gamma = param_data(net, l->param.gamma);
        float *dgamma = param_grad(net, l->param.gamma);
        float *dbeta = param_grad(net, l->param.beta);
        const float *mean = param_data(net, l->param.mean);
        const float *var = param_data(net, l->param.variance);
        if (net->last_forward_bn_batch && !l->frozen) {
            cnn_batchnorm_backward_train(n, l->c, hw, x, gamma, l->aux_data,
                                         l->aux_data + l->c, dy, dx, dgamma,
                                         dbeta);
        } else if (!l->frozen) {
            cnn_batchnorm_backward_infer(n, l->c, hw, x, gamma, mean, var,
                                         l->eps, dy, dx, dgamma, dbeta);
        } else if (dx) {
            /* frozen: no parameter gradients, so x (which may be gone) is
             * not read; possibly in place */
            cnn_batchnorm_backward_infer(n, l->c, hw, x, gamma, mean, var,
                                         l->eps, dy, dx, NULL, NULL);
        }
        break;
    }
    case LAYER_ACTIVATION:
        if (!dx)
            break;
        if (l->act == CNN_ACT_RELU)
            cnn_relu_backward(l->out_floats, l->out, dy, dx);
        else if (l->act == CNN_ACT_SOFTMAX)
            cnn_softmax_backward(n, l->c * hw, l->out, dy, dx);
        else if (dx != dy)
            memcpy(dx, dy, l->out_floats * sizeof(float));
        break;
    case LAYER_POOL:
        if (!dx)
            break;
        if (l->pool == CNN_POOL_MAX)
            cnn_maxpool_backward(&l->pooling, n, dy, (const int32_t *)l->aux_data, dx);
        else
            cnn_avgpool_backward(&l->pooling, n, dy, dx);
        break;
    case LAYER_GLOBAL_AVGPOOL:
        if (dx)
            cnn_global_avgpool_backward(n, l->c, in->h * in->w, dy, dx);
        break;
    case LAYER_CONCAT: {
        int channels[NET_MAX_INPUTS];
        float *parts[NET_MAX_INPUTS];
        for (int k = 0; k < l->ninputs; k++)
            channels[k] = net->layers[l->inputs[k]].c;
        /* one call per part, so that each may be accumulated separately */
        for (int k = 0; k < l->ninputs; k++) {
            int a;
            float *target = dx_target(net, l, k, &a);
            if (!target)
                continue;
            for (int j = 0; j < l->ninputs; j++)
                parts[j] = j == k ? target : NULL;
            cnn_concat_backward(n, hw, l->ninputs, channels, dy, parts);
            dx_done(net, l, k, a);
        }
        return;
    }
    case LAYER_FLATTEN:
        if (dx)
            flatten_nhwc(n, in->c, in->h * in->w, dy, dx, 1);
        break;
    case LAYER_DENSE: {
        const float *dz = through_activation(net, l, dy);
        cnn_dense_backward(n, l->in_features, l->units, x,
                           param_data(net, l->param.kernel), dz, dx,
                           param_grad(net, l->param.kernel),
                           param_grad(net, l->param.bias));
        break;
    }
    case LAYER_DROPOUT:
        if (!dx)
            break;
        if (net->last_forward_training && l->rate > 0)
            cnn_dropout_backward(l->out_floats, l->rate, (const uint8_t *)l->aux_data,
                                 dy, dx);
        else
            memcpy(dx, dy, l->out_floats * sizeof(float));
        break;
    }
    if (!l->inplace && l->ninputs == 1)
        dx_done(net, l, 0, acc);
}

void cnn_net_backward(cnn_net *net, const float *doutput)
{
    assert(net->planned && net->plan_training);
    const int L = net->nlayers;
    memset(net->grad_written, 0, (size_t)L * sizeof *net->grad_written);
    const net_layer *last = &net->layers[L - 1];
    if (net->grad_of[last->tensor]) {
        memcpy(net->grad_of[last->tensor], doutput, last->out_floats * sizeof(float));
        net->grad_written[last->tensor] = 1;
    }
    for (int i = L - 1; i >= 1; i--) {
        net_layer *l = &net->layers[i];
        /* nothing reached this layer's output: it contributes nothing */
        if (!l->runs_backward || !net->grad_written[l->tensor])
            continue;
        backward_layer(net, l);
    }
    /* kept gradients that no path reached are zero */
    for (int i = 0; i < L; i++) {
        const net_layer *l = &net->layers[i];
        if ((l->keep & CNN_KEEP_GRAD) && !net->grad_written[l->tensor])
            memset(net->grad_of[l->tensor], 0, l->out_floats * sizeof(float));
    }
}
