/* jpeg_decode.c - JPEG from a memory buffer with libjpeg(-turbo): baseline and
 * progressive; greyscale, YCbCr/RGB and CMYK/YCCK (converted to RGB).
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

#include "image.h"

/* Progressive files may hold any number of scans; real ones have ~10.
 * Thousands of tiny scans only serve to burn CPU. */
#define MAX_SCANS 500

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
    cnn_image img;
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

/* One scanline (components samples per pixel) into row y of the planar
 * image. CMYK goes to RGB as (1-C)(1-K) etc.; Adobe writers store CMYK
 * inverted (255 = no ink), which libjpeg reports as saw_Adobe_marker. */
static void convert_row(const uint8_t *row, int components, int adobe_inverted,
                        cnn_image *img, int y)
{
    const size_t plane = (size_t)img->width * img->height;
    float *dst = img->data + (size_t)y * img->width;
    for (int x = 0; x < img->width; x++) {
        const uint8_t *s = row + (size_t)x * components;
        if (components == 4) {
            float k = adobe_inverted ? s[3] : 255.0f - s[3];
            for (int c = 0; c < 3; c++) {
                float ink_free = adobe_inverted ? s[c] : 255.0f - s[c];
                dst[c * plane + x] = ink_free * k / 255.0f;
            }
        } else {
            for (int c = 0; c < components; c++)
                dst[c * plane + x] = s[c];
        }
    }
}

static cnn_status decode_inner(jpeg_reader *r, const uint8_t *bytes, size_t len,
                               size_t max_pixels, cnn_error *err)
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
    if (st != CNN_OK)
        return st;
    int channels;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_CMYK:
    case JCS_YCCK: /* libjpeg turns YCCK into (Adobe-inverted) CMYK */
        cinfo->out_color_space = JCS_CMYK;
        channels = 3;
        break;
    default:
        cinfo->out_color_space = JCS_RGB;
        channels = 3;
        break;
    }
    jpeg_start_decompress(cinfo);
    int components = cinfo->output_components;
    if ((int)cinfo->output_width != (int)cinfo->image_width ||
        (int)cinfo->output_height != (int)cinfo->image_height ||
        components != (cinfo->out_color_space == JCS_CMYK ? 4 : channels)) {
        snprintf(r->failure.message, sizeof r->failure.message,
                 "unexpected output layout (%d components)", components);
        return CNN_ERR_FORMAT;
    }
    st = cnn_image_alloc(&r->img, (int)cinfo->output_width,
                         (int)cinfo->output_height, channels, err);
    if (st != CNN_OK)
        return st;
    r->row = malloc((size_t)cinfo->output_width * components);
    if (!r->row)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a JPEG row");
    int adobe_inverted = cinfo->saw_Adobe_marker;
    while (cinfo->output_scanline < cinfo->output_height) {
        int y = (int)cinfo->output_scanline;
        JSAMPROW rows[1] = {r->row};
        if (jpeg_read_scanlines(cinfo, rows, 1) != 1) {
            r->failure.truncated = 1;
            return CNN_ERR_FORMAT;
        }
        convert_row(r->row, components, adobe_inverted, &r->img, y);
    }
    /* Whatever follows the last scanline (normally just EOI) is not needed. */
    return CNN_OK;
}

cnn_status cnn_jpeg_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                           cnn_image *out, cnn_error *err)
{
    out->width = out->height = out->channels = 0;
    out->data = NULL;
    jpeg_reader *r = calloc(1, sizeof *r);
    if (!r)
        return cnn_fail(err, CNN_ERR_NOMEM, "cannot create a JPEG reader");
    cnn_status st = decode_inner(r, bytes, len, max_pixels, err);
    if (r->created)
        jpeg_destroy_decompress(&r->cinfo);
    free(r->row);
    if (st == CNN_OK) {
        *out = r->img;
    } else {
        cnn_image_free(&r->img);
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
