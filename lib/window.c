/* window.c - TensorFlow's 'valid' / 'same' sliding-window arithmetic. */
#include "cnn.h"

cnn_status cnn_window_1d(int in, int k, int stride, cnn_padding pad, int *out,
                         int *pad_begin, cnn_error *err)
{
    if (in <= 0 || k <= 0 || stride <= 0)
        return cnn_fail(err, CNN_ERR_SHAPE,
                        "window: input %d, kernel %d, stride %d must be positive",
                        in, k, stride);
    if (pad == CNN_PAD_VALID) {
        if (in < k)
            return cnn_fail(err, CNN_ERR_SHAPE,
                            "window: input %d is smaller than kernel %d", in, k);
        *out = (in - k) / stride + 1;
        *pad_begin = 0;
    } else {
        *out = (in + stride - 1) / stride;
        int total = (*out - 1) * stride + k - in;
        if (total < 0)
            total = 0;
        *pad_begin = total / 2; /* the odd pixel goes to the end */
    }
    return CNN_OK;
}
