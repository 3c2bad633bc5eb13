/* dicom.c - libFuzzer target: DICOM decoding (lib/dicom_decode.cc, DCMTK)
 * on arbitrary bytes, whether or not they look like DICOM. A 4-megapixel
 * limit keeps each input's memory and time small; anything over it must be
 * refused cleanly, never crash, hang or abort. Seeds: fuzz/corpus/dicom/,
 * 16x16 images in every transfer syntax (test/gen_fixtures_dicom.py). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dicom.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cnn_image img;
    cnn_dicom_info info;
    cnn_error err;
    if (cnn_dicom_decode(data, size, 4u * 1000u * 1000u, &img, &info, &err) == CNN_OK) {
        /* Touch every pixel so that a wrong size would show under ASan. */
        size_t n = (size_t)img.width * img.height * img.channels;
        volatile float sum = 0.0f;
        for (size_t i = 0; i < n; i++)
            sum += img.data[i];
        cnn_image_free(&img);
    }
    /* The strings are terminated whatever the input. */
    volatile size_t len = strlen(info.modality) + strlen(info.body_part) +
                          strlen(info.view_position) + strlen(info.photometric) +
                          strlen(info.transfer_syntax) + strlen(info.voi) +
                          strlen(info.refusal);
    (void)len;
    return 0;
}
