/* tfjs.h - reading a TensorFlow.js layers model (model.json plus binary
 * weight shards) into named float32 tensors in the library's layout.
 *
 * The manifest ("weightsManifest") lists groups; a group's shard files
 * ("paths", relative to model.json's directory, no ".." and not absolute)
 * are concatenated and hold the group's weights back to back, in order.
 * Stored dtypes: float32; quantization {"dtype": "float16"}; and
 * {"dtype": "uint8" | "uint16", "min": m, "scale": s} with value = q * s + m
 * (computed in double precision and rounded to float32, as TF.js does).
 * Other dtypes (int32, bool, string, int8 ...) are rejected.
 *
 * Names: TF.js names like "model_1/conv2d_1/kernel:0" become the Keras
 * "<layer>/<weight>" form ("conv2d_1/kernel"): a ":N" suffix is dropped and
 * only the last two path components are kept (two weights that end up with
 * the same name are an error).
 *
 * Layout: kernels are transposed by the class of the layer that owns them in
 * modelTopology (nested models and Sequential included):
 *   Conv2D kernel [kh, kw, in, out] -> [out, in, kh, kw]
 *   Dense  kernel [in, out]         -> [out, in]
 * everything else is kept as is. A kernel of another class (DepthwiseConv2D,
 * SeparableConv2D, Conv2DTranspose, Conv1D ...) is rejected. Without a
 * modelTopology (a weights-only manifest), a 4-D "kernel" counts as Conv2D
 * and a 2-D one as Dense.
 */
#ifndef CNN_TFJS_H
#define CNN_TFJS_H

#include "cnn.h"

typedef struct {
    char *name;         /* Keras form, "conv2d_1/kernel" */
    char *layer_class;  /* owning layer's Keras class, "Conv2D" ("" unknown) */
    int ndim;
    int64_t shape[8];   /* our layout */
    size_t count;
    float *data;
} cnn_tfjs_tensor;

typedef struct {
    int count;
    cnn_tfjs_tensor *tensors; /* in manifest order */
    /* Statistics of what was stored, for reports. */
    int stored_float32, stored_float16, stored_uint8, stored_uint16;
} cnn_tfjs_model;

/* Reads model.json at path and its shards; validates the manifest (shapes,
 * dtypes, quantization fields), that the shards exist and hold exactly the
 * bytes the manifest needs, and that names are unique. Shards larger than
 * max_shard_bytes (0: 2 GiB) are rejected. */
cnn_status cnn_tfjs_load(cnn_tfjs_model **out, const char *path,
                         size_t max_shard_bytes, cnn_error *err);
const cnn_tfjs_tensor *cnn_tfjs_find(const cnn_tfjs_model *m,
                                     const char *name);
void cnn_tfjs_free(cnn_tfjs_model *m);

#endif
