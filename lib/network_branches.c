/* network_branches.c - independent branches of a network's forward pass,
 * run side by side, one thread each.
 *
 * At batch 1 an Inception block's layers are small: a second thread makes
 * OpenBLAS only ~1.45x faster on a 17x17 map and no faster on an 8x8 one,
 * while two branches on one thread each run twice as fast as one. A group
 * is the layers strictly between a fork (the block's input) and a
 * concatenation: they read only the fork and each other, and nothing after
 * the concatenation reads them. Its branches (the parts connected without
 * the fork) are dealt to the two threads, the costliest first, each to the
 * less loaded thread; the group runs side by side only when that beats
 * running its layers one after another on both threads. Only the forward
 * pass runs them so: a training plan's backward keeps the layers' order.
 *
 * $CNN_BRANCHES=0 turns this off (for comparisons).
 */
#include <stdlib.h>
#include <string.h>

#include "network_internal.h"

/* Time on one thread over time on two for a layer of the group: OpenBLAS
 * on InceptionV3's 768->192 1x1 convolution over 17x17 maps took 1.45x
 * less time on two threads at batch 1, 1.58x at batch 2, 1.77x at 4 and
 * 1.96x at 16 (1x1 over 8x8 maps: 1.0x at batch 1, 1.47x at 4). */
static double two_thread_speedup(int batch)
{
    return batch <= 1 ? 1.45 : batch <= 3 ? 1.6 : 1.8;
}

/* Work of a layer, in multiply-adds or their equivalent: a pooling tap is
 * counted as 30 (measured on one thread at batch 1: a 3x3 average pool over
 * 192 maps of 17x17, 0.5 million taps, took 0.15 ms, as long as 12 million
 * multiply-adds of a 1x1 convolution there, 25 a tap). */
static double layer_cost(const net_layer *l, int batch)
{
    if (l->kind == LAYER_CONV)
        return (double)batch * l->c * l->h * l->w * l->conv.in_c * l->conv.kh *
               l->conv.kw;
    if (l->kind == LAYER_POOL)
        return 30.0 * (double)l->out_floats * l->pooling.kh * l->pooling.kw;
    return 0.0;
}

/* Layers that may run in a group: they use no shared scratch but the
 * workspace handed to them. */
static int may_branch(const net_layer *l)
{
    switch (l->kind) {
    case LAYER_CONV:
    case LAYER_BATCHNORM:
    case LAYER_POOL:
    case LAYER_CONCAT:
        return 1;
    case LAYER_ACTIVATION:
        return l->act != CNN_ACT_SOFTMAX;
    default:
        return 0;
    }
}

/* The fork of concatenation c: the one layer outside (fork, c) that the
 * layers in between read, when those layers read nothing else before it;
 * -1 if there is none. */
static int find_fork(const cnn_net *net, int c)
{
    const net_layer *cat = &net->layers[c];
    int lo = c;
    for (int k = 0; k < cat->ninputs; k++)
        if (cat->inputs[k] < lo)
            lo = cat->inputs[k];
    for (;;) {
        int lowest = lo, reads_below = 0;
        for (int j = lo; j < c; j++) {
            const net_layer *l = &net->layers[j];
            if (!may_branch(l))
                return -1;
            for (int k = 0; k < l->ninputs; k++)
                if (l->inputs[k] < lo) {
                    reads_below = 1;
                    if (l->inputs[k] < lowest)
                        lowest = l->inputs[k];
                }
        }
        if (!reads_below)
            return -1;
        if (lowest == lo - 1)
            return lowest;
        lo = lowest + 1; /* take in the layers up to what was read */
    }
}

/* Nothing after c reads a layer of (fork, c). */
static int closed_after(const cnn_net *net, int fork, int c)
{
    for (int m = c + 1; m < net->nlayers; m++) {
        const net_layer *l = &net->layers[m];
        for (int k = 0; k < l->ninputs; k++)
            if (l->inputs[k] > fork && l->inputs[k] < c)
                return 0;
    }
    return 1;
}

static int root_of(int *parent, int i)
{
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

typedef struct {
    int root, thread;
    double cost;
} branch;

static int by_cost_desc(const void *a, const void *b)
{
    const branch *x = a, *y = b;
    return (x->cost < y->cost) - (x->cost > y->cost);
}

/* Deals the branches of (fork, c) to the threads; returns whether running
 * them side by side pays. parent, branches: scratch for nlayers. */
static int deal_branches(cnn_net *net, int fork, int c, int *parent,
                         branch *branches)
{
    const int batch = net->plan_batch;
    for (int j = fork + 1; j < c; j++)
        parent[j] = j;
    for (int j = fork + 1; j < c; j++) {
        const net_layer *l = &net->layers[j];
        for (int k = 0; k < l->ninputs; k++)
            if (l->inputs[k] > fork)
                parent[root_of(parent, j)] = root_of(parent, l->inputs[k]);
    }
    int nb = 0;
    double total = 0.0;
    for (int j = fork + 1; j < c; j++) {
        double cost = layer_cost(&net->layers[j], batch);
        total += cost;
        int r = root_of(parent, j), b = 0;
        while (b < nb && branches[b].root != r)
            b++;
        if (b == nb)
            branches[nb++] = (branch){r, 0, 0.0};
        branches[b].cost += cost;
    }
    if (nb < 2)
        return 0;
    qsort(branches, (size_t)nb, sizeof *branches, by_cost_desc);
    double load[2] = {0.0, 0.0};
    for (int b = 0; b < nb; b++) {
        branches[b].thread = load[1] < load[0];
        load[branches[b].thread] += branches[b].cost;
    }
    double longest = load[0] > load[1] ? load[0] : load[1];
    if (longest * two_thread_speedup(batch) >= total)
        return 0;
    for (int j = fork + 1; j < c; j++) {
        int r = root_of(parent, j), b = 0;
        while (branches[b].root != r)
            b++;
        net->layers[j].branch_thread = branches[b].thread;
    }
    return 1;
}

int net_plan_branches(cnn_net *net, int threads)
{
    const int L = net->nlayers;
    for (int i = 0; i < L; i++)
        net->layers[i].group_last = net->layers[i].branch_thread = 0;
    const char *env = getenv("CNN_BRANCHES");
    if (threads < 2 || (env && strcmp(env, "0") == 0))
        return 0;
    int *parent = malloc((size_t)L * sizeof *parent);
    branch *branches = malloc((size_t)L * sizeof *branches);
    if (!parent || !branches) {
        free(parent);
        free(branches);
        return 0; /* run one layer after another */
    }
    int groups = 0, below = L; /* groups so far start at or after below */
    for (int c = L - 1; c > 0; c--) {
        if (net->layers[c].kind != LAYER_CONCAT || c >= below)
            continue;
        int fork = find_fork(net, c);
        if (fork < 0 || !closed_after(net, fork, c) ||
            !deal_branches(net, fork, c, parent, branches))
            continue;
        net->layers[fork + 1].group_last = c - 1;
        below = fork + 1;
        groups++;
    }
    free(parent);
    free(branches);
    return groups;
}
