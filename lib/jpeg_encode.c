/* jpeg_encode.c - an image through a JPEG export and back, in memory, with
 * libjpeg-turbo: the compression artefacts a real pipeline adds (used by
 * the model's input pipeline and by training augmentation).
 * libjpeg's error_exit longjmps back here and becomes a cnn_error. */
#include <math.h>
#include <stdio.h>
/* jpeglib.h needs FILE and size_t first. */
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>

#include "image.h"

typedef struct {
    struct jpeg_error_mgr pub; /* first, so that cinfo->err points at us */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} encode_failure;

static void on_encode_error(j_common_ptr cinfo)
{
    encode_failure *f = (encode_failure *)cinfo->err;
    cinfo->err->format_message(cinfo, f->message);
    longjmp(f->jump, 1);
}

/* Everything that outlives setjmp, so that it is well defined after a
 * longjmp. */
typedef struct {
    struct jpeg_compress_struct cinfo;
    encode_failure failure;
    uint8_t *row;
    unsigned char *bytes;
    unsigned long len;
} jpeg_writer;

static uint8_t to_byte(float v)
{
    return (uint8_t)lrintf(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
}

/* Encodes into w->bytes; returns 0 after a libjpeg error. */
static int encode(jpeg_writer *w, const cnn_image *src, int quality)
{
    const int c = src->channels;
    const size_t plane = (size_t)src->width * src->height;
    w->cinfo.err = jpeg_std_error(&w->failure.pub);
    w->failure.pub.error_exit = on_encode_error;
    if (setjmp(w->failure.jump))
        return 0;
    jpeg_create_compress(&w->cinfo);
    jpeg_mem_dest(&w->cinfo, &w->bytes, &w->len);
    w->cinfo.image_width = (JDIMENSION)src->width;
    w->cinfo.image_height = (JDIMENSION)src->height;
    w->cinfo.input_components = c;
    w->cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&w->cinfo);
    jpeg_set_quality(&w->cinfo, quality, TRUE);
    jpeg_start_compress(&w->cinfo, TRUE);
    while (w->cinfo.next_scanline < w->cinfo.image_height) {
        const size_t y = w->cinfo.next_scanline;
        for (int x = 0; x < src->width; x++)
            for (int ch = 0; ch < c; ch++)
                w->row[(size_t)x * c + ch] =
                    to_byte(src->data[ch * plane + y * src->width + x]);
        JSAMPROW rows[1] = {w->row};
        jpeg_write_scanlines(&w->cinfo, rows, 1);
    }
    jpeg_finish_compress(&w->cinfo);
    return 1;
}

cnn_status cnn_image_jpeg_roundtrip(const cnn_image *src, int quality,
                                    cnn_image *dst, cnn_error *err)
{
    *dst = (cnn_image){0};
    if (quality < 1 || quality > 100)
        return cnn_fail(err, CNN_ERR_ARG, "JPEG quality %d outside 1..100",
                        quality);
    if (src->channels != 1 && src->channels != 3)
        return cnn_fail(err, CNN_ERR_ARG, "JPEG needs 1 or 3 channels, not %d",
                        src->channels);
    if (src->width <= 0 || src->height <= 0 || src->width > JPEG_MAX_DIMENSION ||
        src->height > JPEG_MAX_DIMENSION)
        return cnn_fail(err, CNN_ERR_ARG, "cannot encode a %dx%d image as JPEG",
                        src->width, src->height);
    jpeg_writer *w = calloc(1, sizeof *w);
    if (w)
        w->row = malloc((size_t)src->width * src->channels);
    if (!w || !w->row) {
        free(w);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory encoding a JPEG");
    }
    int ok = encode(w, src, quality);
    jpeg_destroy_compress(&w->cinfo);
    cnn_status st = ok ? CNN_OK
                       : cnn_fail(err, CNN_ERR_FORMAT, "JPEG encoding failed: %s",
                                  w->failure.message);
    if (st == CNN_OK)
        st = cnn_jpeg_decode(w->bytes, w->len,
                             (size_t)src->width * (size_t)src->height, dst, err);
    free(w->bytes); /* jpeg_mem_dest's buffer is malloc'd */
    free(w->row);
    free(w);
    return st;
}
