/* png_encode.c - 8-bit RGB to PNG (memory buffer or file) with libpng.
 * As in png_decode.c, state that outlives setjmp lives in a caller-owned
 * struct. */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

typedef struct {
    uint8_t *bytes;
    size_t len, cap;
    int out_of_memory;
    char message[200];
    png_structp png;
    png_infop info;
} png_writer;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_writer *w = png_get_error_ptr(png);
    snprintf(w->message, sizeof w->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void append_bytes(png_structp png, png_bytep src, size_t n)
{
    png_writer *w = png_get_io_ptr(png);
    if (n > w->cap - w->len) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->len < n) {
            if (cap > SIZE_MAX / 2) {
                w->out_of_memory = 1;
                png_error(png, "PNG too large");
            }
            cap *= 2;
        }
        uint8_t *grown = realloc(w->bytes, cap);
        if (!grown) {
            w->out_of_memory = 1;
            png_error(png, "out of memory");
        }
        w->bytes = grown;
        w->cap = cap;
    }
    memcpy(w->bytes + w->len, src, n);
    w->len += n;
}

static void flush_nothing(png_structp png) { (void)png; }

static cnn_status encode_inner(png_writer *w, const uint8_t *rgb, int width,
                               int height)
{
    if (setjmp(png_jmpbuf(w->png)))
        return w->out_of_memory ? CNN_ERR_NOMEM : CNN_ERR_FORMAT;
    png_set_write_fn(w->png, w, append_bytes, flush_nothing);
    png_set_IHDR(w->png, w->info, (png_uint_32)width, (png_uint_32)height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    for (int y = 0; y < height; y++)
        png_write_row(w->png, rgb + (size_t)y * width * 3);
    png_write_end(w->png, NULL);
    return CNN_OK;
}

cnn_status cnn_png_encode_rgb(const uint8_t *rgb, int width, int height,
                              uint8_t **out_bytes, size_t *out_len,
                              cnn_error *err)
{
    *out_bytes = NULL;
    *out_len = 0;
    if (width <= 0 || height <= 0 || width > 0x7fffff / 3)
        return cnn_fail(err, CNN_ERR_ARG, "cannot write a %dx%d PNG", width,
                        height);
    png_writer w = {0};
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, on_png_error,
                                    on_png_warning);
    if (!w.png)
        return cnn_fail(err, CNN_ERR_NOMEM, "cannot create a PNG writer");
    w.info = png_create_info_struct(w.png);
    if (!w.info) {
        png_destroy_write_struct(&w.png, NULL);
        return cnn_fail(err, CNN_ERR_NOMEM, "cannot create a PNG writer");
    }
    cnn_status st = encode_inner(&w, rgb, width, height);
    png_destroy_write_struct(&w.png, &w.info);
    if (st != CNN_OK) {
        free(w.bytes);
        return cnn_fail(err, st, "PNG encoding failed: %s", w.message);
    }
    *out_bytes = w.bytes;
    *out_len = w.len;
    return CNN_OK;
}

cnn_status cnn_png_write_rgb(const char *path, const uint8_t *rgb, int width,
                             int height, cnn_error *err)
{
    uint8_t *bytes;
    size_t len;
    cnn_status st = cnn_png_encode_rgb(rgb, width, height, &bytes, &len, err);
    if (st != CNN_OK)
        return st;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(bytes);
        return cnn_fail(err, CNN_ERR_IO, "%s: cannot create: %s", path,
                        strerror(errno));
    }
    size_t written = fwrite(bytes, 1, len, f);
    free(bytes);
    if (fclose(f) != 0 || written != len)
        return cnn_fail(err, CNN_ERR_IO, "%s: write failed", path);
    return CNN_OK;
}
