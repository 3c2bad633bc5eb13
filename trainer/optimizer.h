/* optimizer.h - Adam over the trainable parameters of a network (those of
 * layers after the freeze point), with its moments kept per parameter so
 * that checkpoints can save and restore them. */
#ifndef TRAINER_OPTIMIZER_H
#define TRAINER_OPTIMIZER_H

#include "network.h"

typedef struct {
    int count;
    cnn_param **params;  /* optimized weights (not BN running statistics) */
    float **m, **v;      /* first and second moments, per parameter */
    long step;           /* updates done; Adam's bias correction uses it */
    double beta1, beta2, eps;
} adam_state;

/* Collects the weights of layers after cnn_net_frozen_until(net), with zero
 * moments. */
cnn_status adam_init(adam_state *a, cnn_net *net, cnn_error *err);
/* One update from the parameters' accumulated gradients. */
void adam_step(adam_state *a, double lr, double weight_decay);
void adam_free(adam_state *a);

/* 1 when parameter p belongs to a trainable layer of net (weights and
 * batch-norm statistics both count: they change while training). */
int param_is_trainable(cnn_net *net, const cnn_param *p);

#endif
