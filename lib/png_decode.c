/* png_decode.c - PNG from a memory buffer with libpng: every colour type and
 * bit depth, Adam7, 16-bit precision kept; row by row into a decode_sink
 * (bounded memory); libpng's longjmp errors become cnn_error returns.
 *
 * All state that outlives setjmp lives in a png_reader owned by the caller
 * (not in locals of the function that calls setjmp), so after a longjmp it is
 * well defined and the caller frees whatever was allocated. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode_sink.h"

/* The longest side decoded, as in JPEG. */
#define MAX_SIDE 65535

typedef struct {
    const uint8_t *bytes;
    size_t len, pos;
    int truncated;      /* the read callback ran out of data */
    char message[200];  /* libpng's last error message */
    png_structp png;
    png_infop info;
    uint8_t *raw;       /* one row (of an Adam7 pass) as libpng gives it */
    cnn_sink sink;
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

/* Converts n decoded pixels (channels samples each, 8- or 16-bit
 * big-endian) into colour floats per pixel on the 0..255 scale; alpha, when
 * present, is the last sample and is composited over black. */
static void convert_row(const uint8_t *row, int channels, int sixteen,
                        int colour, int n, float *dst)
{
    const int has_alpha = channels > colour;
    const float max = sixteen ? 65535.0f : 255.0f;
    const float to_255 = 255.0f / max;
    for (int x = 0; x < n; x++) {
        float s[4] = {0};
        for (int c = 0; c < channels; c++) {
            size_t i = (size_t)x * channels + c;
            s[c] = sixteen ? (float)(row[2 * i] << 8 | row[2 * i + 1])
                           : (float)row[i];
        }
        float weight = has_alpha ? to_255 * (s[channels - 1] / max) : to_255;
        for (int c = 0; c < colour; c++)
            dst[(size_t)x * colour + c] = s[c] * weight;
    }
}

/* Returns CNN_OK, a size-check or sink failure (err set), or CNN_ERR_FORMAT
 * after a libpng error (the caller words the message). */
static cnn_status decode_inner(png_reader *r, size_t max_pixels,
                               int colour_planes, cnn_error *err)
{
    if (setjmp(png_jmpbuf(r->png)))
        return CNN_ERR_FORMAT;
    png_set_read_fn(r->png, r, read_from_buffer);
    /* Compressed text/ICC chunks must not inflate into huge buffers. */
    png_set_chunk_malloc_max(r->png, 8u << 20);
    /* Sizes are judged below (libpng's own limit, a million pixels a side,
     * would call a wider image corrupt). */
    png_set_user_limits(r->png, 0x7fffffff, 0x7fffffff);
    png_read_info(r->png, r->info);

    png_uint_32 width, height;
    int depth, colour_type, interlace;
    png_get_IHDR(r->png, r->info, &width, &height, &depth, &colour_type,
                 &interlace, NULL, NULL);
    cnn_status st = cnn_image_check_dimensions(width, height, max_pixels, err);
    if (st != CNN_OK)
        return st;
    /* libpng's buffers hold a few rows: a side longer than JPEG allows
     * would make them large whatever the pixel count. */
    if (width > MAX_SIDE || height > MAX_SIDE)
        return cnn_fail(err, CNN_ERR_TOO_LARGE, "image is %ux%u: sides over "
                        "%d pixels are not supported", (unsigned)width,
                        (unsigned)height, MAX_SIDE);

    if (colour_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(r->png);
    if (colour_type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(r->png);
    if (png_get_valid(r->png, r->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(r->png);
    /* No png_set_interlace_handling: Adam7 passes come as small images of
     * their own, placed below, so no whole image is ever buffered. */
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
    int colour = channels <= 2 ? 1 : 3;
    st = cnn_sink_begin(&r->sink, (int)width, (int)height, colour,
                        colour_planes, err);
    if (st != CNN_OK)
        return st;
    r->raw = malloc(rowbytes);
    if (!r->raw)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a PNG row");
    if (interlace == PNG_INTERLACE_NONE) {
        for (png_uint_32 y = 0; y < height && st == CNN_OK; y++) {
            png_read_row(r->png, r->raw, NULL);
            convert_row(r->raw, channels, sixteen, colour, (int)width,
                        r->sink.row);
            st = cnn_sink_put(&r->sink, (int)y, 0, 1, (int)width, err);
        }
        return st;
    }
    /* libpng skips the passes that hold no pixel of a small image */
    for (int pass = 0; pass < 7 && st == CNN_OK; pass++) {
        int cols = (int)PNG_PASS_COLS(width, pass);
        int rows = (int)PNG_PASS_ROWS(height, pass);
        if (cols == 0 || rows == 0)
            continue;
        for (int j = 0; j < rows && st == CNN_OK; j++) {
            png_read_row(r->png, r->raw, NULL);
            convert_row(r->raw, channels, sixteen, colour, cols, r->sink.row);
            st = cnn_sink_put(&r->sink, (int)PNG_ROW_FROM_PASS_ROW(j, pass),
                              PNG_PASS_START_COL(pass),
                              1 << PNG_PASS_COL_SHIFT(pass), cols, err);
        }
    }
    return st;
}

/* One attempt (see cnn_png_decode); *restart: colour showed up with no
 * room for it at a grey image's reduction. */
static cnn_status decode_once(const uint8_t *bytes, size_t len,
                              size_t max_pixels, int colour_planes,
                              cnn_image *out, int *restart, cnn_error *err)
{
    png_reader r = {.bytes = bytes, .len = len};
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_png_error,
                                   on_png_warning);
    if (!r.png)
        return cnn_fail(err, CNN_ERR_NOMEM, "cannot create a PNG reader");
    r.info = png_create_info_struct(r.png);
    if (!r.info) {
        png_destroy_read_struct(&r.png, NULL, NULL);
        return cnn_fail(err, CNN_ERR_NOMEM, "cannot create a PNG reader");
    }
    cnn_status st = decode_inner(&r, max_pixels, colour_planes, err);
    png_destroy_read_struct(&r.png, &r.info, NULL);
    free(r.raw);
    *restart = r.sink.restart;
    if (st == CNN_OK) {
        cnn_sink_finish(&r.sink, out);
        return CNN_OK;
    }
    cnn_sink_free(&r.sink);
    if (r.truncated)
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "truncated PNG (data ends after %zu bytes)", len);
    if (r.message[0])
        return cnn_fail(err, st, "corrupt PNG: %s", r.message);
    return st;
}

cnn_status cnn_png_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                          cnn_image *out, cnn_error *err)
{
    return cnn_sink_decode(decode_once, bytes, len, max_pixels, out, err);
}
