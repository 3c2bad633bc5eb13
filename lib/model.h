/* model.h - the project's classifier: InceptionV3 or VGG16 plus a head,
 * with what is needed to use it (input size, preprocessing, class names,
 * decision threshold), loaded from and saved to safetensors. */
#ifndef CNN_MODEL_H
#define CNN_MODEL_H

#include "cnn.h"
#include "image.h"
#include "network.h"

typedef enum { CNN_ARCH_INCEPTION_V3, CNN_ARCH_VGG16 } cnn_arch;

typedef struct {
    cnn_arch arch;
    int input_size;          /* square input side, e.g. 224 or 299 */
    cnn_preproc preprocess;
    char head_attach[32];    /* backbone layer the head reads: "mixed7", "block5_pool" */
    int head_hidden;         /* units of the hidden dense layer (0: none) */
    float head_dropout;
    char class_names[2][32]; /* [0] negative "NORMAL", [1] positive "PNEUMONIA" */
    float threshold;         /* PNEUMONIA when probability >= threshold */
    char name[64];           /* shown to users, e.g. "InceptionV3 pneumonia" */
    char version[32];
    char provenance[512];    /* where the weights came from, how trained */
    char base[256];          /* file holding the frozen backbone, relative to
                                this file's directory ("" when self-contained) */
} cnn_model_config;

typedef struct cnn_model cnn_model;

/* Fills cfg with the project defaults for arch. */
void cnn_model_config_default(cnn_model_config *cfg, cnn_arch arch);
const char *cnn_arch_name(cnn_arch a);  /* "inception_v3", "vgg16" */
cnn_status cnn_arch_parse(const char *name, cnn_arch *out, cnn_error *err);

/* A new model with He-initialized weights (BN: beta 0, mean 0, var 1). */
cnn_status cnn_model_create(cnn_model **out, const cnn_model_config *cfg,
                            uint64_t seed, cnn_error *err);
/* Loads a model file (metadata + tensors, plus its base file if it names
 * one). Validated; weights are used from the mapping when possible. */
cnn_status cnn_model_load(cnn_model **out, const char *path, cnn_error *err);
/* Copies every tensor of `path` whose name matches one of m's parameters
 * (shapes must agree): how a pretrained backbone is brought in. Reports how
 * many were copied through *copied (may be NULL). */
cnn_status cnn_model_load_matching(cnn_model *m, const char *path, int *copied,
                                   cnn_error *err);
/* Saves metadata and tensors atomically. only_trainable_after: when not NULL,
 * saves only parameters of layers after that layer (a head/fine-tune overlay
 * whose cfg->base names the rest). */
cnn_status cnn_model_save(cnn_model *m, const char *path,
                          const char *only_after_layer, cnn_error *err);
void cnn_model_free(cnn_model *m);

cnn_model_config *cnn_model_config_of(cnn_model *m);
cnn_net *cnn_model_net(cnn_model *m);

/* Pneumonia probabilities of n preprocessed images [n, 3, S, S]. */
cnn_status cnn_model_predict(cnn_model *m, const float *images, int n,
                             float *prob, cnn_error *err);
/* Grad-CAM of the positive class on one preprocessed image, at the last
 * convolutional block (mixed10 / block5_conv3): heat [*h * *w] in [0, 1],
 * malloc'd (caller frees). Also returns the probability. */
cnn_status cnn_model_gradcam(cnn_model *m, const float *image, float *prob,
                             float **heat, int *h, int *w, cnn_error *err);

#endif
