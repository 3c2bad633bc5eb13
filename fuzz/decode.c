/* decode.c - libFuzzer target: cnn_image_decode on arbitrary bytes (PNG and
 * JPEG paths). A 4-megapixel limit keeps each input's memory and time small;
 * anything over it must be refused cleanly, never crash. */
#include <stddef.h>
#include <stdint.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cnn_image img;
    cnn_error err;
    if (cnn_image_decode(data, size, 4u * 1000u * 1000u, &img, &err) == CNN_OK) {
        /* Touch every pixel so that a wrong size would show under ASan. */
        size_t n = (size_t)img.width * img.height * img.channels;
        volatile float sum = 0.0f;
        for (size_t i = 0; i < n; i++)
            sum += img.data[i];
        cnn_image_free(&img);
    }
    return 0;
}
