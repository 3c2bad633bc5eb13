/* jpeg_decode.c - JPEG from a memory buffer with libjpeg(-turbo): baseline and
 * progressive; greyscale, YCbCr/RGB and CMYK/YCCK (converted to RGB); row by
 * row into a decode_sink (bounded memory). Large images are decoded at full
 * size and reduced by the sink's block means rather than by libjpeg's DCT
 * scaling, which is twice as fast but was measured 1.1-1.5 grey levels off
 * in the model input of an upscaled X-ray, against 0.05-0.1 (docs/web.md).
 * libjpeg's error_exit longjmps back here and becomes a cnn_error.
 *
 * As in png_decode.c, everything that outlives setjmp lives in a jpeg_reader
 * owned by the caller, so it is well defined after a longjmp. */
#include <stdio.h>
/* jpeglib.h needs FILE and size_t first. */
#include <jerror.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "decode_sink.h"

/* Progressive files may hold any number of scans; real ones have ~10.
 * Thousands of tiny scans only serve to burn CPU. */
#define MAX_SCANS 500
/* See check_coefficients: a 48-megapixel grey or 32-megapixel colour
 * (4:2:0) progressive JPEG. */
#define MAX_COEFFICIENT_BYTES ((uint64_t)96 << 20)

typedef struct {
    struct jpeg_error_mgr pub; /* first, so that cinfo->err points at us */
    jmp_buf jump;
    int truncated;
    int too_many_scans;
    char message[JMSG_LENGTH_MAX];
} jpeg_failure;

typedef struct {
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    struct jpeg_progress_mgr progress;
    int created;
    uint8_t *row;
    cnn_sink sink;
} jpeg_reader;

static void on_jpeg_error(j_common_ptr cinfo)
{
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    cinfo->err->format_message(cinfo, f->message);
    longjmp(f->jump, 1);
}

/* Warnings (level -1) are ignored except running out of data: libjpeg would
 * pad the image with grey and carry on, we call it truncated. */
static void on_jpeg_message(j_common_ptr cinfo, int level)
{
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        f->truncated = 1;
        longjmp(f->jump, 1);
    }
}

static void on_jpeg_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        ((jpeg_failure *)cinfo->err)->too_many_scans = 1;
        longjmp(((jpeg_failure *)cinfo->err)->jump, 1);
    }
}

/* One scanline of n pixels (components samples each) into colour floats
 * per pixel. CMYK goes to RGB as (1-C)(1-K) etc.; Adobe writers store CMYK
 * inverted (255 = no ink), which libjpeg reports as saw_Adobe_marker. */
static void convert_row(const uint8_t *row, int components, int adobe_inverted,
                        int n, float *dst)
{
    for (int x = 0; x < n; x++) {
        const uint8_t *s = row + (size_t)x * components;
        if (components == 4) {
            float k = adobe_inverted ? s[3] : 255.0f - s[3];
            for (int c = 0; c < 3; c++) {
                float ink_free = adobe_inverted ? s[c] : 255.0f - s[c];
                *dst++ = ink_free * k / 255.0f;
            }
        } else {
            for (int c = 0; c < components; c++)
                *dst++ = s[c];
        }
    }
}

/* libjpeg decodes a JPEG of several scans (progressive ones) from all of
 * its DCT coefficients, held in memory at full size (2 bytes a sample):
 * refused above this. */
static cnn_status check_coefficients(j_decompress_ptr cinfo, cnn_error *err)
{
    if (!jpeg_has_multiple_scans(cinfo))
        return CNN_OK;
    uint64_t bytes = 0;
    for (int c = 0; c < cinfo->num_components; c++) {
        const jpeg_component_info *ci = &cinfo->comp_info[c];
        uint64_t w = (ci->width_in_blocks + ci->h_samp_factor - 1) /
                     ci->h_samp_factor * ci->h_samp_factor;
        uint64_t h = (ci->height_in_blocks + ci->v_samp_factor - 1) /
                     ci->v_samp_factor * ci->v_samp_factor;
        bytes += w * h * sizeof(JBLOCK);
    }
    if (bytes > MAX_COEFFICIENT_BYTES)
        return cnn_fail(err, CNN_ERR_TOO_LARGE,
                        "progressive JPEG of %ux%u: decoding it takes %.0f MiB "
                        "of coefficients, over the %d MiB limit",
                        (unsigned)cinfo->image_width,
                        (unsigned)cinfo->image_height,
                        (double)bytes / (1 << 20),
                        (int)(MAX_COEFFICIENT_BYTES >> 20));
    return CNN_OK;
}

static cnn_status decode_inner(jpeg_reader *r, const uint8_t *bytes, size_t len,
                               size_t max_pixels, int colour_planes,
                               cnn_error *err)
{
    struct jpeg_decompress_struct *cinfo = &r->cinfo;
    cinfo->err = jpeg_std_error(&r->failure.pub);
    r->failure.pub.error_exit = on_jpeg_error;
    r->failure.pub.emit_message = on_jpeg_message;
    if (setjmp(r->failure.jump))
        return CNN_ERR_FORMAT;
    jpeg_create_decompress(cinfo);
    r->created = 1;
    r->progress.progress_monitor = on_jpeg_progress;
    cinfo->progress = &r->progress;
    jpeg_mem_src(cinfo, bytes, (unsigned long)len);
    jpeg_read_header(cinfo, TRUE);

    cnn_status st = cnn_image_check_dimensions(cinfo->image_width,
                                               cinfo->image_height, max_pixels,
                                               err);
    if (st == CNN_OK)
        st = check_coefficients(cinfo, err);
    if (st != CNN_OK)
        return st;
    int colour;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        colour = 1;
        break;
    case JCS_CMYK:
    case JCS_YCCK: /* libjpeg turns YCCK into (Adobe-inverted) CMYK */
        cinfo->out_color_space = JCS_CMYK;
        colour = 3;
        break;
    default:
        cinfo->out_color_space = JCS_RGB;
        colour = 3;
        break;
    }
    jpeg_start_decompress(cinfo);
    int components = cinfo->output_components;
    if (components != (cinfo->out_color_space == JCS_CMYK ? 4 : colour)) {
        snprintf(r->failure.message, sizeof r->failure.message,
                 "unexpected output layout (%d components)", components);
        return CNN_ERR_FORMAT;
    }
    int width = (int)cinfo->output_width;
    st = cnn_sink_begin(&r->sink, width, (int)cinfo->output_height, colour,
                        colour_planes, err);
    if (st != CNN_OK)
        return st;
    r->row = malloc((size_t)width * components);
    if (!r->row)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a JPEG row");
    int adobe_inverted = cinfo->saw_Adobe_marker;
    while (cinfo->output_scanline < cinfo->output_height && st == CNN_OK) {
        int y = (int)cinfo->output_scanline;
        JSAMPROW rows[1] = {r->row};
        if (jpeg_read_scanlines(cinfo, rows, 1) != 1) {
            r->failure.truncated = 1;
            return CNN_ERR_FORMAT;
        }
        convert_row(r->row, components, adobe_inverted, width, r->sink.row);
        st = cnn_sink_put(&r->sink, y, 0, 1, width, err);
    }
    /* Whatever follows the last scanline (normally just EOI) is not needed. */
    return st;
}

/* One attempt (see cnn_jpeg_decode); *restart: colour showed up with no
 * room for it at a grey image's reduction. */
static cnn_status decode_once(const uint8_t *bytes, size_t len,
                              size_t max_pixels, int colour_planes,
                              cnn_image *out, int *restart, cnn_error *err)
{
    jpeg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return cnn_fail(err, CNN_ERR_NOMEM, "cannot create a JPEG reader");
    cnn_status st = decode_inner(r, bytes, len, max_pixels, colour_planes, err);
    if (r->created)
        jpeg_destroy_decompress(&r->cinfo);
    free(r->row);
    *restart = r->sink.restart;
    if (st == CNN_OK) {
        cnn_sink_finish(&r->sink, out);
    } else {
        cnn_sink_free(&r->sink);
        if (r->failure.truncated)
            st = cnn_fail(err, CNN_ERR_FORMAT,
                          "truncated JPEG (data ends after %zu bytes)", len);
        else if (r->failure.too_many_scans)
            st = cnn_fail(err, CNN_ERR_FORMAT,
                          "corrupt JPEG: more than %d scans", MAX_SCANS);
        else if (r->failure.message[0])
            st = cnn_fail(err, CNN_ERR_FORMAT, "corrupt JPEG: %s",
                          r->failure.message);
    }
    free(r);
    return st;
}

cnn_status cnn_jpeg_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                           cnn_image *out, cnn_error *err)
{
    return cnn_sink_decode(decode_once, bytes, len, max_pixels, out, err);
}
