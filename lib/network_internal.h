/* network_internal.h - the layer graph's data structures, shared by
 * network.c (building, parameters), network_plan.c (shapes and memory plan)
 * and network_run.c (forward and backward). Not part of the public API. */
#ifndef CNN_NETWORK_INTERNAL_H
#define CNN_NETWORK_INTERNAL_H

#include "network.h"

#define NET_MAX_INPUTS 8
#define NET_NAME_LEN 64

typedef enum {
    LAYER_INPUT,
    LAYER_CONV,
    LAYER_BATCHNORM,
    LAYER_ACTIVATION,
    LAYER_POOL,
    LAYER_GLOBAL_AVGPOOL,
    LAYER_CONCAT,
    LAYER_FLATTEN,
    LAYER_DENSE,
    LAYER_DROPOUT
} layer_kind;

/* A layer's parameters as indices into cnn_net.params, resolved by the
 * adders when the layer is built, so that the passes never look a parameter
 * up by name; -1: the layer has no such parameter. Indices (not pointers):
 * the params array grows while building and data is bound later. */
typedef struct {
    int kernel, bias;                   /* conv, dense */
    int gamma, beta, mean, variance;    /* batch norm */
} net_layer_params;

typedef struct {
    char name[NET_NAME_LEN];
    layer_kind kind;
    int ninputs;
    int inputs[NET_MAX_INPUTS];

    /* hyper-parameters (those of the kind) */
    int units;              /* conv filters, dense units, input channels */
    int in_features;        /* dense */
    int kh, kw, stride_h, stride_w;
    cnn_padding pad;
    int use_bias, scale;
    cnn_act act;
    cnn_pool_kind pool;
    float eps, momentum, rate;

    int first_param, nparams;
    net_layer_params param;
    int frozen;
    int keep;               /* CNN_KEEP_* flags */

    /* ---- filled by the plan ---- */
    int c, h, w;            /* output per image */
    size_t out_floats;      /* batch * c * h * w */
    cnn_conv_shape conv;
    cnn_pool_shape pooling;
    int tensor;             /* storage of the output (an input's when in place) */
    int inplace;            /* writes its output over its single input */
    int consumers;          /* layers reading the output */
    int runs_backward;      /* training plan: backward does something */
    int dx_needed[NET_MAX_INPUTS]; /* gradient wanted for input i */
    int aux;                /* arena item: argmax / mask / BN saves; -1 */
    int wino;               /* conv: its Winograd kind (winograd_kinds.h),
                               0: im2col + sgemm */
    int direct;             /* conv: forward by conv_direct.h */
    int wino_valid;         /* wino_u holds the filter of wino_sum's weights */
    uint64_t wino_sum;      /* checksum of the weights wino_u came from */
    int fused_bn;           /* conv: the batch norm run in its output stage
                               (running statistics), 0: none */
    int fused_relu;         /* conv: and the ReLU after that batch norm;
                               batch norm not fused: the ReLU after it */
    int fused;              /* batch norm / ReLU: done by its convolution */
    int group_last;         /* first layer of a group of branches run side
                               by side (network_branches.c): the group's
                               last layer; 0: none */
    int branch_thread;      /* in such a group: the thread that runs it */
    /* pointers into the arena, set by the plan */
    float *out;
    float *aux_data;
    float *wino_u;          /* transformed filter (arena, lives with the plan) */
    float *bn_scale;        /* fused batch norm's gamma / sqrt(var + eps) */
} net_layer;

/* One buffer to place in the arena: live over [t0, t1] (inclusive). */
typedef struct {
    size_t floats;
    int t0, t1;
    size_t offset;
    int used;
} net_item;

struct cnn_net {
    net_layer *layers;
    int nlayers, cap_layers;
    cnn_param *params;
    int nparams, cap_params;
    cnn_status build_status;
    char build_message[256];
    int frozen_until;

    float *param_block;     /* owned storage of parameters */
    float *grad_block;
    size_t grad_floats;

    /* plan */
    int planned, plan_batch, plan_h, plan_w, plan_training;
    int plan_frozen_until, plan_keep_version, keep_version;
    net_item *items;        /* activation items [0, nlayers), grads
                               [nlayers, 2 nlayers), aux after */
    int nitems;
    float *arena;
    size_t arena_floats;    /* allocated */
    size_t plan_floats;     /* needed by the current plan */
    float *workspace;       /* conv im2col, shared by every conv */
    float *workspace_b;     /* the second thread's in groups of branches */
    float *scratch_a;       /* activation-gradient temporary */
    float *scratch_b;       /* gradient accumulation temporary */
    float **grad_of;        /* [nlayers] gradient buffer of tensor t or NULL */
    int *grad_written;      /* [nlayers] during backward */
    int last_forward_training;
    int bn_running_stats;   /* cnn_net_set_batchnorm_running_stats */
    int last_forward_bn_batch; /* the last forward used batch statistics */
    cnn_rng rng;
    int share_first, share_total; /* cnn_net_set_batch_share; total 0: none */
};

/* Cuts the backbone after `attach` (NULL: default_attach) and appends the
 * head described by spec (head.c). avg_pools: average pools already named,
 * so that an added one continues Keras' numbering. */
cnn_status net_attach_head(cnn_net *net, const char *arch,
                           const char *default_attach,
                           const cnn_head_spec *spec, int avg_pools,
                           cnn_error *err);

/* Finds the groups of layers whose forward runs side by side on two
 * threads (network_branches.c); returns how many. */
int net_plan_branches(cnn_net *net, int threads);

/* Fills an error for a layer-specific shape problem. */
cnn_status net_fail_layer(cnn_error *err, const net_layer *l,
                          const char *what);

#endif
