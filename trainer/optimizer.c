/* optimizer.c - Adam state and updates over a network's trainable weights. */
#include <stdlib.h>

#include "optimizer.h"

int param_is_trainable(cnn_net *net, const cnn_param *p)
{
    return p->layer > cnn_net_frozen_until(net);
}

cnn_status adam_init(adam_state *a, cnn_net *net, cnn_error *err)
{
    *a = (adam_state){0};
    /* Keras' Adam defaults */
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-7;
    int n = cnn_net_param_count(net);
    a->params = calloc((size_t)(n ? n : 1), sizeof *a->params);
    a->m = calloc((size_t)(n ? n : 1), sizeof *a->m);
    a->v = calloc((size_t)(n ? n : 1), sizeof *a->v);
    if (!a->params || !a->m || !a->v) {
        adam_free(a);
        return cnn_fail(err, CNN_ERR_NOMEM, "optimizer: out of memory");
    }
    for (int i = 0; i < n; i++) {
        cnn_param *p = cnn_net_param(net, i);
        if (p->kind != CNN_PARAM_WEIGHT || !param_is_trainable(net, p))
            continue;
        int k = a->count++;
        a->params[k] = p;
        a->m[k] = calloc(p->count, sizeof(float));
        a->v[k] = calloc(p->count, sizeof(float));
        if (!a->m[k] || !a->v[k]) {
            adam_free(a);
            return cnn_fail(err, CNN_ERR_NOMEM, "optimizer: out of memory");
        }
    }
    return CNN_OK;
}

void adam_step(adam_state *a, double lr, double weight_decay)
{
    a->step++;
    for (int k = 0; k < a->count; k++) {
        cnn_param *p = a->params[k];
        cnn_adam_update(p->count, p->data, p->grad, a->m[k], a->v[k], a->step,
                        (float)lr, (float)a->beta1, (float)a->beta2,
                        (float)a->eps, (float)weight_decay, 0);
    }
}

void adam_free(adam_state *a)
{
    for (int k = 0; k < a->count; k++) {
        free(a->m[k]);
        free(a->v[k]);
    }
    free(a->params);
    free(a->m);
    free(a->v);
    *a = (adam_state){0};
}
