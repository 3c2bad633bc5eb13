/* image_decode.c - picks the decoder (PNG, JPEG, DICOM) from the magic
 * bytes; file loading and the size checks shared by the decoders. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dicom.h"
#include "image.h"

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_magic[3] = {0xff, 0xd8, 0xff};

/* "900", "4.19", "0.000117": whole numbers from 10 up, 3 digits below. */
static void format_megapixels(double pixels, char *buf, size_t cap)
{
    double mp = pixels / 1e6;
    snprintf(buf, cap, mp >= 10.0 ? "%.0f" : "%.3g", mp);
}

cnn_status cnn_image_check_dimensions(uint64_t width, uint64_t height,
                                      size_t max_pixels, cnn_error *err)
{
    if (width == 0 || height == 0)
        return cnn_fail(err, CNN_ERR_FORMAT, "image has no pixels (%llux%llu)",
                        (unsigned long long)width, (unsigned long long)height);
    /* Both fit in 32 bits in PNG and 16 in JPEG, so the product cannot wrap. */
    if (width > 0xffffffffu || height > 0xffffffffu ||
        width * height > (uint64_t)max_pixels) {
        char have[32], limit[32];
        format_megapixels((double)width * (double)height, have, sizeof have);
        format_megapixels((double)max_pixels, limit, sizeof limit);
        return cnn_fail(err, CNN_ERR_TOO_LARGE,
                        "image is %llux%llu = %s megapixels, over the %s "
                        "megapixel limit",
                        (unsigned long long)width, (unsigned long long)height,
                        have, limit);
    }
    /* Decoders allocate up to 4 samples of 4 bytes per pixel; int indexes. */
    if (width > 0x7fffffff || height > 0x7fffffff ||
        width * height > SIZE_MAX / 16)
        return cnn_fail(err, CNN_ERR_TOO_LARGE, "image is %llux%llu: too large",
                        (unsigned long long)width, (unsigned long long)height);
    return CNN_OK;
}

cnn_status cnn_image_alloc(cnn_image *img, int width, int height, int channels,
                           cnn_error *err)
{
    if (width <= 0 || height <= 0 || channels <= 0)
        return cnn_fail(err, CNN_ERR_ARG, "bad image size %dx%dx%d", width,
                        height, channels);
    size_t count = (size_t)width * (size_t)height;
    if (count > SIZE_MAX / sizeof(float) / (size_t)channels)
        return cnn_fail(err, CNN_ERR_TOO_LARGE, "image %dx%dx%d too large",
                        width, height, channels);
    count *= (size_t)channels;
    img->data = malloc(count * sizeof(float));
    if (!img->data)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a %dx%dx%d image",
                        width, height, channels);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return CNN_OK;
}

void cnn_image_free(cnn_image *img)
{
    if (!img)
        return;
    free(img->data);
    img->data = NULL;
    img->width = img->height = img->channels = 0;
}

/* "89 50 4e 47 ("GIF8")": up to 8 bytes in hex, then the printable ones. */
static void describe_start(const uint8_t *bytes, size_t len, char *buf,
                           size_t cap)
{
    size_t n = len < 8 ? len : 8, used = 0;
    for (size_t i = 0; i < n && used + 4 < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%02x", i ? " " : "",
                                 bytes[i]);
    if (used + 4 + n >= cap)
        return;
    used += (size_t)snprintf(buf + used, cap - used, " \"");
    for (size_t i = 0; i < n; i++)
        buf[used++] = isprint(bytes[i]) ? (char)bytes[i] : '.';
    snprintf(buf + used, cap - used, "\"");
}

cnn_status cnn_image_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                            cnn_image *out, cnn_error *err)
{
    return cnn_image_decode_ex(bytes, len, max_pixels, out, NULL, err);
}

/* DICOM: without a caller's info, a header refusal is an error. */
static cnn_status decode_dicom(const uint8_t *bytes, size_t len,
                               size_t max_pixels, cnn_image *out,
                               cnn_dicom_info *dicom, cnn_error *err)
{
    cnn_dicom_info own;
    cnn_dicom_info *info = dicom ? dicom : &own;
    cnn_status st = cnn_dicom_decode(bytes, len, max_pixels, out, info, err);
    if (st == CNN_OK && !dicom && info->refusal[0]) {
        cnn_image_free(out);
        return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                        "not a frontal chest X-ray (%s)", info->refusal);
    }
    return st;
}

cnn_status cnn_image_decode_ex(const uint8_t *bytes, size_t len,
                               size_t max_pixels, cnn_image *out,
                               cnn_dicom_info *dicom, cnn_error *err)
{
    out->width = out->height = out->channels = 0;
    out->data = NULL;
    if (dicom)
        memset(dicom, 0, sizeof *dicom);
    if (max_pixels == 0)
        max_pixels = CNN_IMAGE_DEFAULT_MAX_PIXELS;
    if (len == 0)
        return cnn_fail(err, CNN_ERR_FORMAT, "empty file");
    if (len >= sizeof png_magic && memcmp(bytes, png_magic, sizeof png_magic) == 0)
        return cnn_png_decode(bytes, len, max_pixels, out, err);
    if (len >= sizeof jpeg_magic &&
        memcmp(bytes, jpeg_magic, sizeof jpeg_magic) == 0)
        return cnn_jpeg_decode(bytes, len, max_pixels, out, err);
    if (cnn_dicom_detect(bytes, len))
        return decode_dicom(bytes, len, max_pixels, out, dicom, err);
    char start[64] = "";
    describe_start(bytes, len, start, sizeof start);
    if (len < sizeof png_magic && memcmp(bytes, png_magic, len) == 0)
        return cnn_fail(err, CNN_ERR_FORMAT, "truncated PNG (only %zu bytes)",
                        len);
    return cnn_fail(err, CNN_ERR_FORMAT,
                    "not a PNG, JPEG or DICOM file (starts with %s)", start);
}

cnn_status cnn_image_load(const char *path, size_t max_pixels, cnn_image *out,
                          cnn_error *err)
{
    return cnn_image_load_ex(path, max_pixels, out, NULL, err);
}

cnn_status cnn_image_load_ex(const char *path, size_t max_pixels,
                             cnn_image *out, cnn_dicom_info *dicom,
                             cnn_error *err)
{
    if (dicom)
        memset(dicom, 0, sizeof *dicom);
    out->width = out->height = out->channels = 0;
    out->data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cnn_fail(err, CNN_ERR_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return cnn_fail(err, CNN_ERR_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes) {
        fclose(f);
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory for %zu bytes",
                        path, len);
    }
    size_t got = fread(bytes, 1, len, f);
    int read_failed = ferror(f);
    fclose(f);
    if (read_failed || got != len) {
        free(bytes);
        return cnn_fail(err, CNN_ERR_IO, "%s: read failed", path);
    }
    cnn_error inner = {0};
    cnn_status st_code = cnn_image_decode_ex(bytes, len, max_pixels, out, dicom,
                                             &inner);
    free(bytes);
    if (st_code != CNN_OK)
        return cnn_fail(err, st_code, "%s: %s", path, inner.message);
    return CNN_OK;
}
