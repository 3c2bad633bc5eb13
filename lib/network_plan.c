/* network_plan.c - shapes for a (batch, height, width), in-place decisions,
 * buffer lifetimes and their placement in one arena.
 *
 * Time runs 0..L-1 through forward (layer i at time i) and L..2L-1 through
 * backward (layer i at time 2L-1-i). Every buffer gets an inclusive interval
 * [t0, t1]; buffers whose intervals overlap get disjoint memory, the others
 * may share it. In-place layers (ReLU over batch norm, inference batch norm
 * over its convolution) write into their input's buffer, so a
 * conv -> BN -> ReLU block costs one buffer when inferring; such a batch
 * norm and ReLU are then fused into the convolution (choose_fusion). The
 * plan also picks each convolution's algorithm (choose_algorithms) and
 * gives Winograd layers an arena item for their transformed filter, and
 * finds the groups of branches that run side by side (network_branches.c).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "big_alloc.h"
#include "conv_direct.h"
#include "network_internal.h"
#include "winograd_kinds.h"

#define ALIGN_FLOATS 16 /* 64-byte alignment of every buffer */

static cnn_status infer_shapes(cnn_net *net, int batch, int height, int width,
                               cnn_error *err)
{
    for (int i = 0; i < net->nlayers; i++) {
        net_layer *l = &net->layers[i];
        const net_layer *in = l->ninputs ? &net->layers[l->inputs[0]] : NULL;
        cnn_error e;
        char msg[600];
        switch (l->kind) {
        case LAYER_INPUT:
            l->c = l->units;
            l->h = height;
            l->w = width;
            break;
        case LAYER_CONV:
            if (cnn_conv_shape_init(&l->conv, in->c, in->h, in->w, l->units,
                                    l->kh, l->kw, l->stride_h, l->stride_w,
                                    l->pad, &e) != CNN_OK)
                goto too_small;
            l->c = l->units;
            l->h = l->conv.out_h;
            l->w = l->conv.out_w;
            break;
        case LAYER_POOL:
            if (cnn_pool_shape_init(&l->pooling, in->c, in->h, in->w, l->kh,
                                    l->kw, l->stride_h, l->stride_w, l->pad,
                                    &e) != CNN_OK)
                goto too_small;
            l->c = in->c;
            l->h = l->pooling.out_h;
            l->w = l->pooling.out_w;
            break;
        case LAYER_BATCHNORM:
        case LAYER_ACTIVATION:
        case LAYER_DROPOUT:
            l->c = in->c;
            l->h = in->h;
            l->w = in->w;
            break;
        case LAYER_GLOBAL_AVGPOOL:
            l->c = in->c;
            l->h = l->w = 1;
            break;
        case LAYER_FLATTEN:
            l->c = in->c * in->h * in->w;
            l->h = l->w = 1;
            break;
        case LAYER_CONCAT:
            l->c = 0;
            l->h = in->h;
            l->w = in->w;
            for (int k = 0; k < l->ninputs; k++) {
                const net_layer *part = &net->layers[l->inputs[k]];
                if (part->h != l->h || part->w != l->w) {
                    snprintf(msg, sizeof msg,
                             "parts differ in size (%dx%d vs %dx%d) at input %dx%d",
                             part->h, part->w, l->h, l->w, height, width);
                    return net_fail_layer(err, l, msg);
                }
                l->c += part->c;
            }
            break;
        case LAYER_DENSE:
            if (in->c * in->h * in->w != l->in_features) {
                snprintf(msg, sizeof msg,
                         "expects %d inputs per image, gets %d (%dx%dx%d) at "
                         "input %dx%d", l->in_features, in->c * in->h * in->w,
                         in->c, in->h, in->w, height, width);
                return net_fail_layer(err, l, msg);
            }
            l->c = l->units;
            l->h = l->w = 1;
            break;
        }
        l->out_floats = (size_t)batch * (size_t)l->c * (size_t)l->h * (size_t)l->w;
        continue;
    too_small:
        snprintf(msg, sizeof msg, "input %dx%d is too small for this network (%s)",
                 height, width, e.message);
        return net_fail_layer(err, l, msg);
    }
    return CNN_OK;
}

/* Whether layer i may write its output over its single input. */
static int can_run_in_place(const cnn_net *net, int i, int training)
{
    const net_layer *l = &net->layers[i];
    if (l->keep || l->ninputs != 1 || l->inputs[0] == 0)
        return 0;
    const net_layer *p = &net->layers[l->inputs[0]];
    if (p->consumers != 1 || p->keep)
        return 0;
    /* the producer's backward must not need its own output, which we
     * overwrite: plain convolutions and batch norms qualify */
    int producer_ok = (p->kind == LAYER_CONV && p->act == CNN_ACT_NONE) ||
                      p->kind == LAYER_BATCHNORM;
    if (!producer_ok)
        return 0;
    if (l->kind == LAYER_ACTIVATION)
        return l->act != CNN_ACT_SOFTMAX;
    /* batch norm needs its input in backward unless it is frozen */
    if (l->kind == LAYER_BATCHNORM)
        return p->kind == LAYER_CONV && (!training || l->frozen);
    return 0;
}

static int has_trainable(const cnn_net *net, const net_layer *l)
{
    if (l->frozen)
        return 0;
    for (int k = 0; k < l->nparams; k++)
        if (net->params[l->first_param + k].kind == CNN_PARAM_WEIGHT)
            return 1;
    return 0;
}

static void widen(net_item *it, int t)
{
    if (t < it->t0)
        it->t0 = t;
    if (t > it->t1)
        it->t1 = t;
}

static void use_item(net_item *it, size_t floats, int t0, int t1)
{
    it->used = 1;
    it->floats = floats;
    it->t0 = t0;
    it->t1 = t1;
}

/* Every buffer a group of branches reads or writes lives through the whole
 * group: its layers run in no fixed order. */
static void widen_groups(cnn_net *net, net_item *act)
{
    for (int i = 1; i < net->nlayers; i++) {
        const int last = net->layers[i].group_last;
        for (int j = i; j <= last; j++) {
            const net_layer *l = &net->layers[j];
            widen(&act[l->tensor], i);
            widen(&act[l->tensor], last);
            for (int k = 0; k < l->ninputs; k++)
                widen(&act[net->layers[l->inputs[k]].tensor], last);
        }
    }
}

/* The convolution workspace layer l needs, in floats. */
static size_t conv_workspace_need(const cnn_net *net, const net_layer *l,
                                  int training)
{
    size_t f = 0;
    if (l->kind == LAYER_CONV)
        f = cnn_conv_workspace_floats(&l->conv);
    if (l->direct && cnn_conv_direct_workspace_floats(&l->conv) > f)
        f = cnn_conv_direct_workspace_floats(&l->conv);
    if (l->fused_bn && (size_t)l->c > f)
        f = (size_t)l->c; /* the batch norm's scale */
    if (l->wino) {
        /* the backward keeps the transformed weight gradient in the
         * workspace, before its chunks */
        const wino_ops *w = wino_ops_of(l->wino);
        size_t fw = w->workspace_floats(&l->conv, net->plan_batch);
        if (training && l->runs_backward) {
            size_t fb = w->backward_workspace_floats(&l->conv, net->plan_batch);
            if (fb > fw)
                fw = fb;
        }
        if (fw > f)
            f = fw;
    }
    return f;
}

/* Lifetimes of every buffer; groups: there are groups of branches. */
static void plan_items(cnn_net *net, int training, int groups)
{
    const int L = net->nlayers, INF = 2 * L;
    net_item *act = net->items, *grad = net->items + L, *aux = net->items + 2 * L;
    net_item *ws = net->items + 3 * L, *wino = net->items + 3 * L + 3;
    net_item *ws_b = net->items + 4 * L + 3;
    memset(net->items, 0, (size_t)net->nitems * sizeof *net->items);

    /* activations: from the producer to the last reader */
    for (int i = 0; i < L; i++) {
        net_layer *l = &net->layers[i];
        if (l->tensor == i)
            use_item(&act[i], l->out_floats, i, i);
        for (int k = 0; k < l->ninputs; k++)
            widen(&act[net->layers[l->inputs[k]].tensor], i);
        if (l->keep & CNN_KEEP_OUTPUT || i == 0 || i == L - 1)
            widen(&act[l->tensor], INF);
    }
    widen_groups(net, act);

    /* conv workspace; scratch_a: a dense layer's pre-softmax values and the
     * activation gradient of kept layers; scratch_b: gradient accumulation */
    size_t conv_ws = 1, branch_ws = 1, scratch_a = 1, scratch_b = 1;
    for (int i = 0; i < L; i++) {
        net_layer *l = &net->layers[i];
        size_t f = conv_workspace_need(net, l, training);
        if (f > conv_ws)
            conv_ws = f;
        /* the filter lives with the plan (the backward reads it too) */
        if (l->wino)
            use_item(&wino[i], wino_ops_of(l->wino)->filter_floats(&l->conv) +
                                   (l->fused_bn ? (size_t)l->c : 0), 0, INF);
        int a_user = (l->kind == LAYER_DENSE && l->act == CNN_ACT_SOFTMAX) ||
                     (training && (l->keep & CNN_KEEP_GRAD) && l->act != CNN_ACT_NONE);
        if (a_user && l->out_floats > scratch_a)
            scratch_a = l->out_floats;
        if (training && net->grad_of[l->tensor] && l->out_floats > scratch_b)
            scratch_b = l->out_floats;
    }
    use_item(&ws[0], conv_ws, 0, INF);
    use_item(&ws[1], scratch_a, 0, INF);
    use_item(&ws[2], scratch_b, 0, INF);
    /* the second thread's workspace serves the groups' layers only */
    for (int i = 1; i < L; i++)
        for (int j = i; j <= net->layers[i].group_last; j++) {
            size_t f = conv_workspace_need(net, &net->layers[j], training);
            if (f > branch_ws)
                branch_ws = f;
        }
    if (groups)
        use_item(ws_b, branch_ws, 0, INF);

    for (int i = 0; i < L; i++) {
        net_layer *l = &net->layers[i];
        int bt = training && l->runs_backward ? 2 * L - 1 - i : i;
        if (l->kind == LAYER_POOL && l->pool == CNN_POOL_MAX && training &&
            l->runs_backward)
            use_item(&aux[i], l->out_floats, i, bt); /* int32 argmax */
        else if (l->kind == LAYER_DROPOUT && training)
            use_item(&aux[i], (l->out_floats + 3) / 4, i, bt); /* u8 mask */
        else if (l->kind == LAYER_BATCHNORM && training && !l->frozen)
            use_item(&aux[i], 2 * (size_t)l->c, i, bt); /* mean, invstd */
        if (!training || !l->runs_backward)
            continue;
        /* what backward reads */
        int needs_x = (l->kind == LAYER_CONV || l->kind == LAYER_DENSE ||
                       l->kind == LAYER_BATCHNORM) && !l->frozen;
        int needs_y = l->kind == LAYER_ACTIVATION ||
                      ((l->kind == LAYER_CONV || l->kind == LAYER_DENSE) &&
                       l->act != CNN_ACT_NONE);
        if (needs_x)
            widen(&act[net->layers[l->inputs[0]].tensor], bt);
        if (needs_y)
            widen(&act[l->tensor], bt);
    }

    if (!training)
        return;
    /* gradients: from the first consumer's backward to the producer's */
    for (int i = 0; i < L; i++) {
        net_layer *l = &net->layers[i];
        if (l->tensor == i && net->grad_of[i]) /* marked as needed */
            use_item(&grad[i], l->out_floats, 2 * L - 1 - i, 2 * L - 1 - i);
    }
    for (int i = 0; i < L; i++) {
        net_layer *l = &net->layers[i];
        if (!l->runs_backward)
            continue;
        int bt = 2 * L - 1 - i;
        for (int k = 0; k < l->ninputs; k++)
            if (l->dx_needed[k])
                widen(&grad[net->layers[l->inputs[k]].tensor], bt);
        if (grad[l->tensor].used)
            widen(&grad[l->tensor], bt);
        if (l->keep & CNN_KEEP_GRAD)
            widen(&grad[l->tensor], INF);
    }
    if (grad[net->layers[L - 1].tensor].used)
        widen(&grad[net->layers[L - 1].tensor], L);
}

typedef struct {
    size_t begin, end;
} span;

static int by_begin(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static int by_size_desc(const void *a, const void *b, void *items)
{
    const net_item *it = items;
    size_t x = it[*(const int *)a].floats, y = it[*(const int *)b].floats;
    return (x < y) - (x > y);
}

/* Greedy placement, largest first: each buffer goes to the lowest offset
 * that does not collide with an already placed buffer alive at the same
 * time. Returns the arena size in floats. */
static cnn_status place_items(cnn_net *net, size_t *arena_floats, cnn_error *err)
{
    int n = net->nitems;
    int *order = malloc((size_t)n * sizeof *order);
    span *busy = malloc((size_t)n * sizeof *busy);
    int *placed = malloc((size_t)n * sizeof *placed);
    if (!order || !busy || !placed) {
        free(order);
        free(busy);
        free(placed);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory planning buffers");
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!net->items[i].used)
            continue;
        net->items[i].floats = (net->items[i].floats + ALIGN_FLOATS - 1) /
                               ALIGN_FLOATS * ALIGN_FLOATS;
        order[m++] = i;
    }
    qsort_r(order, (size_t)m, sizeof *order, by_size_desc, net->items);
    size_t total = 0;
    int nplaced = 0;
    for (int k = 0; k < m; k++) {
        net_item *it = &net->items[order[k]];
        int nb = 0;
        for (int j = 0; j < nplaced; j++) {
            const net_item *o = &net->items[placed[j]];
            if (o->t0 <= it->t1 && it->t0 <= o->t1)
                busy[nb++] = (span){o->offset, o->offset + o->floats};
        }
        qsort(busy, (size_t)nb, sizeof *busy, by_begin);
        size_t offset = 0;
        for (int j = 0; j < nb; j++) {
            if (busy[j].begin >= offset + it->floats)
                break;
            if (busy[j].end > offset)
                offset = busy[j].end;
        }
        it->offset = offset;
        if (offset + it->floats > total)
            total = offset + it->floats;
        placed[nplaced++] = order[k];
    }
    free(order);
    free(busy);
    free(placed);
    *arena_floats = total;
    return CNN_OK;
}

/* Which convolutions run Winograd: $CNN_WINOGRAD=0 none, =all every one
 * that can, else (the default) those the rule of each kind picks; and,
 * unless $CNN_WINOGRAD=0, which of the others with few taps run direct
 * (after choose_fusion: not those with a batch norm in their output). */
static void choose_algorithms(cnn_net *net, int batch, int training)
{
    const char *env = getenv("CNN_WINOGRAD");
    int mode = !env || !*env ? 1 : strcmp(env, "0") == 0 ? 0
                                 : strcmp(env, "all") == 0 ? 2 : 1;
    for (int i = 0; i < net->nlayers; i++) {
        net_layer *l = &net->layers[i];
        l->wino_valid = 0;
        l->wino_u = NULL;
        l->wino = l->kind == LAYER_CONV && mode
                      ? wino_kind_for(&l->conv, batch, training && !l->frozen,
                                      mode == 2)
                      : 0;
        l->direct = l->kind == LAYER_CONV && mode && !l->wino &&
                    !l->fused_bn && cnn_conv_direct_applicable(&l->conv);
    }
}

/* Batch norm with running statistics in place over a convolution (an
 * inference plan, or frozen), and a ReLU in place over that batch norm, run
 * in the convolution's output stage instead of as passes of their own. A
 * ReLU in place over any other batch norm (one being trained) runs in that
 * batch norm's forward pass. Fused layers' backward passes stay their own. */
static void choose_fusion(cnn_net *net)
{
    for (int i = 0; i < net->nlayers; i++) {
        net_layer *l = &net->layers[i];
        l->fused_bn = l->fused_relu = l->fused = 0;
    }
    for (int i = 1; i < net->nlayers; i++) {
        net_layer *m = &net->layers[i];
        if (m->kind != LAYER_BATCHNORM || !m->inplace)
            continue;
        net_layer *p = &net->layers[m->inputs[0]];
        if (p->kind != LAYER_CONV || p->act != CNN_ACT_NONE)
            continue;
        p->fused_bn = i;
        m->fused = 1;
    }
    for (int i = 1; i < net->nlayers; i++) {
        net_layer *r = &net->layers[i];
        if (r->kind != LAYER_ACTIVATION || r->act != CNN_ACT_RELU ||
            !r->inplace || net->layers[r->inputs[0]].kind != LAYER_BATCHNORM)
            continue;
        net_layer *m = &net->layers[r->inputs[0]];
        if (m->fused)
            net->layers[m->inputs[0]].fused_relu = 1;
        else
            m->fused_relu = 1;
        r->fused = 1;
    }
}

/* Gradient block for the unfrozen weights. */
static cnn_status plan_param_grads(cnn_net *net, int training, cnn_error *err)
{
    size_t total = 0;
    for (int i = 0; i < net->nparams; i++) {
        cnn_param *p = &net->params[i];
        p->frozen = net->layers[p->layer].frozen;
        p->grad = NULL;
        if (training && !p->frozen && p->kind == CNN_PARAM_WEIGHT)
            total += p->count;
    }
    if (total != net->grad_floats) {
        free(net->grad_block);
        net->grad_block = NULL;
        net->grad_floats = 0;
        if (total) {
            net->grad_block = calloc(total, sizeof(float));
            if (!net->grad_block)
                return cnn_fail(err, CNN_ERR_NOMEM,
                                "out of memory for %zu gradients", total);
            net->grad_floats = total;
        }
    }
    float *g = net->grad_block;
    for (int i = 0; i < net->nparams; i++) {
        cnn_param *p = &net->params[i];
        if (training && !p->frozen && p->kind == CNN_PARAM_WEIGHT) {
            p->grad = g;
            g += p->count;
        }
    }
    return CNN_OK;
}

cnn_status cnn_net_plan(cnn_net *net, int batch, int height, int width,
                        int training, cnn_error *err)
{
    assert(batch > 0);
    cnn_status st = cnn_net_build_status(net, err);
    if (st != CNN_OK)
        return st;
    if (net->nlayers < 2 || net->layers[0].kind != LAYER_INPUT)
        return cnn_fail(err, CNN_ERR_ARG, "network has no input and layers");
    if (height <= 0 || width <= 0)
        return cnn_fail(err, CNN_ERR_SHAPE, "input size %dx%d is not positive",
                        height, width);
    if (net->planned && net->plan_batch == batch && net->plan_h == height &&
        net->plan_w == width && net->plan_training == training &&
        net->plan_frozen_until == net->frozen_until &&
        net->plan_keep_version == net->keep_version)
        return CNN_OK;
    net->planned = 0;
    const int L = net->nlayers;

    st = infer_shapes(net, batch, height, width, err);
    if (st != CNN_OK)
        return st;
    net->plan_batch = batch;
    for (int i = 0; i < L; i++) {
        net->layers[i].consumers = 0;
        net->layers[i].frozen = i <= net->frozen_until;
    }
    for (int i = 0; i < L; i++)
        for (int k = 0; k < net->layers[i].ninputs; k++)
            net->layers[net->layers[i].inputs[k]].consumers++;

    free(net->items);
    free(net->grad_of);
    free(net->grad_written);
    net->nitems = 4 * L + 4;
    net->items = calloc((size_t)net->nitems, sizeof *net->items);
    net->grad_of = calloc((size_t)L, sizeof *net->grad_of);
    net->grad_written = calloc((size_t)L, sizeof *net->grad_written);
    if (!net->items || !net->grad_of || !net->grad_written)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory planning buffers");

    /* in place, and which gradients are needed (marked in grad_of for now) */
    for (int i = 0; i < L; i++) {
        net_layer *l = &net->layers[i];
        l->inplace = can_run_in_place(net, i, training);
        l->tensor = l->inplace ? net->layers[l->inputs[0]].tensor : i;
        l->runs_backward = 0;
        memset(l->dx_needed, 0, sizeof l->dx_needed);
        if (!training)
            continue;
        int any = 0;
        for (int k = 0; k < l->ninputs; k++) {
            l->dx_needed[k] = net->grad_of[net->layers[l->inputs[k]].tensor] != NULL;
            any |= l->dx_needed[k];
        }
        l->runs_backward = any || has_trainable(net, l);
        if (l->runs_backward || (l->keep & CNN_KEEP_GRAD))
            net->grad_of[l->tensor] = (float *)net; /* marker, replaced below */
    }

    choose_fusion(net);
    choose_algorithms(net, batch, training);
    int groups = net_plan_branches(net, cnn_get_threads());
    plan_items(net, training, groups);
    size_t floats = 0;
    st = place_items(net, &floats, err);
    if (st != CNN_OK)
        return st;
    /* keep the arena across plans unless it is too small or far too big */
    if (floats > net->arena_floats || floats < net->arena_floats / 2 || !net->arena) {
        free(net->arena);
        net->arena_floats = 0;
        net->arena = cnn_big_alloc(floats * sizeof(float));
        if (!net->arena)
            return cnn_fail(err, CNN_ERR_NOMEM,
                            "out of memory for a %zu MB activation arena",
                            floats * sizeof(float) >> 20);
        net->arena_floats = floats;
    }
    for (int i = 0; i < L; i++) {
        net_layer *l = &net->layers[i];
        l->out = net->arena + net->items[l->tensor].offset;
        l->aux_data = net->items[2 * L + i].used
                          ? net->arena + net->items[2 * L + i].offset
                          : NULL;
        net->grad_of[i] = net->items[L + i].used
                              ? net->arena + net->items[L + i].offset
                              : NULL;
        if (l->wino) {
            l->wino_u = net->arena + net->items[3 * L + 3 + i].offset;
            l->bn_scale = l->fused_bn
                              ? l->wino_u + wino_ops_of(l->wino)->filter_floats(&l->conv)
                              : NULL;
        }
    }
    net->plan_floats = floats;
    net->workspace = net->arena + net->items[3 * L].offset;
    net->scratch_a = net->arena + net->items[3 * L + 1].offset;
    net->scratch_b = net->arena + net->items[3 * L + 2].offset;
    net->workspace_b = groups ? net->arena + net->items[4 * L + 3].offset : NULL;

    st = plan_param_grads(net, training, err);
    if (st != CNN_OK)
        return st;
    net->planned = 1;
    net->plan_batch = batch;
    net->plan_h = height;
    net->plan_w = width;
    net->plan_training = training;
    net->plan_frozen_until = net->frozen_until;
    net->plan_keep_version = net->keep_version;
    return CNN_OK;
}

size_t cnn_net_arena_bytes(const cnn_net *net)
{
    return net->plan_floats * sizeof(float);
}
