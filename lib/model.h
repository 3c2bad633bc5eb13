/* model.h - the project's classifier: InceptionV3 or VGG16 plus a head,
 * with what is needed to use it (input size, preprocessing, class names,
 * decision threshold), loaded from and saved to safetensors. */
#ifndef CNN_MODEL_H
#define CNN_MODEL_H

#include "cnn.h"
#include "image.h"
#include "input_gate.h"
#include "network.h"

typedef enum { CNN_ARCH_INCEPTION_V3, CNN_ARCH_VGG16 } cnn_arch;

#define CNN_MAX_CLASSES 8

typedef struct {
    cnn_arch arch;
    cnn_head_kind head;      /* CNN_HEAD_BINARY (default) or CNN_HEAD_NSFWJS */
    int input_size;          /* square input side, e.g. 224 or 299 */
    cnn_preproc preprocess;
    /* The input pipeline (cnn_model_input): an image not already at
     * input_size is resized with resize_filter, then, when
     * input_jpeg_quality > 0, passed through a JPEG export at that quality,
     * then scaled per `preprocess`. New models: bilinear and 75, the way the
     * Kermany copies were made from their originals, so that an original
     * and its copy reach the network alike. Files without these keys
     * (model v1): bicubic and no JPEG. */
    cnn_resize_filter resize_filter;
    int input_jpeg_quality;
    char head_attach[32];    /* backbone layer the head reads: "mixed7", "block5_pool" */
    int head_hidden;         /* units of the hidden dense layer (0: none) */
    float head_dropout;
    int num_classes;         /* 2 for the binary head, 5 for nsfwjs */
    char class_names[CNN_MAX_CLASSES][32]; /* binary: [0] negative "NORMAL",
                                              [1] positive "PNEUMONIA" */
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
 * one: base tensors first, the file's own override them). Validated: every
 * parameter present with its exact shape, no unknown tensor in the file.
 * Zero copy: float32 tensors are used in place from the read-only mapping
 * (no second copy in memory); float16 ones are converted into owned memory.
 * Such a model can predict and compute Grad-CAM; call
 * cnn_model_make_trainable before training it. */
cnn_status cnn_model_load(cnn_model **out, const char *path, cnn_error *err);
/* Copies every mapped parameter into memory the model owns (writable) and
 * releases the mappings. Needed before training or load_matching. */
cnn_status cnn_model_make_trainable(cnn_model *m, cnn_error *err);
/* Copies every tensor of `path` whose name matches one of m's parameters:
 * how a pretrained backbone is brought in. Shapes must agree in the
 * backbone; head tensors of another shape (the file's own classifier, e.g.
 * nsfwjs' dense_1) are skipped. Reports how many were copied through
 * *copied (may be NULL). Makes the model trainable (owned weights). */
cnn_status cnn_model_load_matching(cnn_model *m, const char *path, int *copied,
                                   cnn_error *err);
/* Saves metadata and tensors atomically. only_after_layer: when not NULL,
 * saves only parameters of layers after that layer (a head/fine-tune overlay
 * whose cfg->base must name the file holding the rest). */
cnn_status cnn_model_save(cnn_model *m, const char *path,
                          const char *only_after_layer, cnn_error *err);
void cnn_model_free(cnn_model *m);

cnn_model_config *cnn_model_config_of(cnn_model *m);
/* The layer Grad-CAM reads (see cnn_model_gradcam). */
const char *cnn_model_gradcam_layer(const cnn_model *m);
cnn_net *cnn_model_net(cnn_model *m);

/* The model's input [3][S][S] from a decoded image of any size through the
 * pipeline of cfg (see cnn_model_config): the one path that training
 * (cnn_loader, with augmentation between the resize and the JPEG step) and
 * every program use. */
cnn_status cnn_model_input(const cnn_model_config *cfg, const cnn_image *img,
                           float *out, cnn_error *err);

/* Pneumonia probabilities (sigmoid of the logit) of n preprocessed images
 * [n, 3, S, S] (binary head only). */
cnn_status cnn_model_predict(cnn_model *m, const float *images, int n,
                             float *prob, cnn_error *err);
/* Raw network outputs [n, cnn_model_output_count(m)]: the logit for the
 * binary head, the 5 softmax probabilities for nsfwjs. */
int cnn_model_output_count(const cnn_model *m);
cnn_status cnn_model_forward(cnn_model *m, const float *images, int n,
                             float *out, cnn_error *err);
/* Grad-CAM of the positive logit on one preprocessed image, at the last
 * convolutional block the head reads (InceptionV3: the attach layer, mixed7
 * in the shipped model; VGG16: the convolution before the attach pool,
 * block5_conv3):
 * heat [*h * *w] in [0, 1], malloc'd (caller frees). Also returns the
 * probability. Runs cnn_net_saliency, which leaves the network's frozen
 * layers and keep marks as they were (the next pass replans). */
cnn_status cnn_model_gradcam(cnn_model *m, const float *image, float *prob,
                             float **heat, int *h, int *w, cnn_error *err);

/* ---------------------------------------------------------------- input gate */

/* The learned statistics of the input gate (input_gate.h) that the model
 * file holds, or NULL (then only the image checks run). cnn_model_load
 * reads them when present; cnn_model_save writes them. */
const cnn_input_gate *cnn_model_gate(const cnn_model *m);
/* Gives the model g (NULL: none), replacing its own; checks that the
 * feature statistics fit cnn_model_feature_count (CNN_ERR_SHAPE; g is then
 * not taken). */
cnn_status cnn_model_set_gate(cnn_model *m, cnn_input_gate *g, cnn_error *err);
/* Values per image of the pooled features the binary head reads (its
 * global average pool: 768 for InceptionV3 at mixed7); 0 for other heads. */
int cnn_model_feature_count(const cnn_model *m);
/* Those features [n][count] of the images of the last cnn_model_predict,
 * cnn_model_forward or cnn_model_gradcam (no second forward pass); NULL
 * for other heads or before any pass. */
const float *cnn_model_features(const cnn_model *m);

#endif
