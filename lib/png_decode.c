/* png_decode.c - PNG from a memory buffer with libpng: every colour type and
 * bit depth, Adam7, 16-bit precision kept; libpng's longjmp errors become
 * cnn_error returns.
 *
 * All state that outlives setjmp lives in a png_reader owned by the caller
 * (not in locals of the function that calls setjmp), so after a longjmp it is
 * well defined and the caller frees whatever was allocated. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

typedef struct {
    const uint8_t *bytes;
    size_t len, pos;
    int truncated;      /* the read callback ran out of data */
    char message[200];  /* libpng's last error message */
    png_structp png;
    png_infop info;
    uint8_t *rows;      /* one row, or the whole image when interlaced */
    cnn_image img;
} png_reader;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_reader *r = png_get_error_ptr(png);
    snprintf(r->message, sizeof r->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    /* Warnings (bad ancillary chunks, ...) do not stop decoding. */
    (void)png;
    (void)msg;
}

static void read_from_buffer(png_structp png, png_bytep dst, size_t n)
{
    png_reader *r = png_get_io_ptr(png);
    if (n > r->len - r->pos) {
        r->truncated = 1;
        png_error(png, "truncated");
    }
    memcpy(dst, r->bytes + r->pos, n);
    r->pos += n;
}

/* Converts one decoded row (channels samples per pixel, 8- or 16-bit
 * big-endian) into row y of the planar float image; alpha, when present, is
 * the last sample and is composited over black. */
static void convert_row(const uint8_t *row, int channels, int sixteen,
                        cnn_image *img, int y)
{
    const int colour = img->channels, has_alpha = channels > colour;
    const float max = sixteen ? 65535.0f : 255.0f;
    const float to_255 = 255.0f / max;
    const size_t plane = (size_t)img->width * img->height;
    float *dst = img->data + (size_t)y * img->width;
    for (int x = 0; x < img->width; x++) {
        float s[4] = {0};
        for (int c = 0; c < channels; c++) {
            size_t i = (size_t)x * channels + c;
            s[c] = sixteen ? (float)(row[2 * i] << 8 | row[2 * i + 1])
                           : (float)row[i];
        }
        float weight = has_alpha ? to_255 * (s[channels - 1] / max) : to_255;
        for (int c = 0; c < colour; c++)
            dst[c * plane + x] = s[c] * weight;
    }
}

/* Returns CNN_OK, a size-check failure (err set), or CNN_ERR_FORMAT after a
 * libpng error (the caller words the message). */
static cnn_status decode_inner(png_reader *r, size_t max_pixels, cnn_error *err)
{
    if (setjmp(png_jmpbuf(r->png)))
        return CNN_ERR_FORMAT;
    png_set_read_fn(r->png, r, read_from_buffer);
    /* Compressed text/ICC chunks must not inflate into huge buffers. */
    png_set_chunk_malloc_max(r->png, 8u << 20);
    png_read_info(r->png, r->info);

    png_uint_32 width, height;
    int depth, colour_type, interlace;
    png_get_IHDR(r->png, r->info, &width, &height, &depth, &colour_type,
                 &interlace, NULL, NULL);
    cnn_status st = cnn_image_check_dimensions(width, height, max_pixels, err);
    if (st != CNN_OK)
        return st;

    if (colour_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(r->png);
    if (colour_type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(r->png);
    if (png_get_valid(r->png, r->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(r->png);
    int passes = png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);

    int channels = png_get_channels(r->png, r->info);
    int sixteen = png_get_bit_depth(r->png, r->info) == 16;
    size_t rowbytes = png_get_rowbytes(r->png, r->info);
    if (channels < 1 || channels > 4 ||
        rowbytes != (size_t)width * channels * (sixteen ? 2 : 1)) {
        snprintf(r->message, sizeof r->message,
                 "unexpected layout after transforms (%d channels)", channels);
        return CNN_ERR_FORMAT;
    }
    st = cnn_image_alloc(&r->img, (int)width, (int)height, channels <= 2 ? 1 : 3,
                         err);
    if (st != CNN_OK)
        return st;

    if (passes == 1) {
        r->rows = malloc(rowbytes);
        if (!r->rows)
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a PNG row");
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(r->png, r->rows, NULL);
            convert_row(r->rows, channels, sixteen, &r->img, (int)y);
        }
    } else {
        /* Adam7: libpng fills rows in over several passes, so keep them all. */
        r->rows = malloc(rowbytes * height);
        if (!r->rows)
            return cnn_fail(err, CNN_ERR_NOMEM,
                            "out of memory for an interlaced PNG");
        for (int p = 0; p < passes; p++)
            for (png_uint_32 y = 0; y < height; y++)
                png_read_row(r->png, r->rows + y * rowbytes, NULL);
        for (png_uint_32 y = 0; y < height; y++)
            convert_row(r->rows + y * rowbytes, channels, sixteen, &r->img,
                        (int)y);
    }
    return CNN_OK;
}

cnn_status cnn_png_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                          cnn_image *out, cnn_error *err)
{
    png_reader r = {.bytes = bytes, .len = len};
    out->width = out->height = out->channels = 0;
    out->data = NULL;
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_png_error,
                                   on_png_warning);
    if (!r.png)
        return cnn_fail(err, CNN_ERR_NOMEM, "cannot create a PNG reader");
    r.info = png_create_info_struct(r.png);
    if (!r.info) {
        png_destroy_read_struct(&r.png, NULL, NULL);
        return cnn_fail(err, CNN_ERR_NOMEM, "cannot create a PNG reader");
    }
    cnn_status st = decode_inner(&r, max_pixels, err);
    png_destroy_read_struct(&r.png, &r.info, NULL);
    free(r.rows);
    if (st == CNN_OK) {
        *out = r.img;
        return CNN_OK;
    }
    cnn_image_free(&r.img);
    if (r.truncated)
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "truncated PNG (data ends after %zu bytes)", len);
    if (r.message[0])
        return cnn_fail(err, st, "corrupt PNG: %s", r.message);
    return st;
}
