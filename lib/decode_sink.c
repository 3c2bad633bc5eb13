/* decode_sink.c - decoded rows into a bounded cnn_image (see decode_sink.h). */
#include <stdlib.h>
#include <string.h>

#include "decode_sink.h"

/* ceil(n / factor): the reduced size of a side. */
static uint64_t reduced(uint64_t n, int factor)
{
    return (n + (uint64_t)factor - 1) / (uint64_t)factor;
}

/* Whether w x h pixels of `planes` planes fit the bound. */
static int fits(uint64_t w, uint64_t h, int planes)
{
    /* sides are below 2^31, so w * h cannot wrap */
    return w * h <= CNN_IMAGE_MAX_DECODED_SAMPLES / (uint64_t)planes;
}

void cnn_sink_free(cnn_sink *s)
{
    free(s->img.data);
    free(s->row);
    memset(s, 0, sizeof *s);
}

cnn_status cnn_sink_begin(cnn_sink *s, int w, int h, int samples,
                          int colour_planes, cnn_error *err)
{
    memset(s, 0, sizeof *s);
    s->src_w = w;
    s->src_h = h;
    s->samples = samples;
    int planes = samples == 3 && colour_planes ? 3 : 1;
    s->factor = 1;
    while (!fits(reduced((uint64_t)w, s->factor),
                          reduced((uint64_t)h, s->factor), planes))
        s->factor++;
    s->img.width = (int)reduced((uint64_t)w, s->factor);
    s->img.height = (int)reduced((uint64_t)h, s->factor);
    s->img.channels = planes;
    /* zeroed: reduced pixels are sums until cnn_sink_finish */
    s->img.data = calloc((size_t)s->img.width * s->img.height * planes,
                         sizeof(float));
    s->row = malloc((size_t)w * samples * sizeof(float));
    if (!s->img.data || !s->row) {
        cnn_sink_free(s);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a %dx%d image",
                        w, h);
    }
    return CNN_OK;
}

static int row_is_grey(const float *row, int n)
{
    for (int i = 0; i < n; i++, row += 3)
        if (row[0] != row[1] || row[0] != row[2])
            return 0;
    return 1;
}

/* The first coloured pixel: every pixel before it was grey, so the green and
 * blue planes start as copies of the grey one. */
static cnn_status add_colour_planes(cnn_sink *s, cnn_error *err)
{
    if (!fits((uint64_t)s->img.width, (uint64_t)s->img.height, 3)) {
        s->restart = 1;
        return cnn_fail(err, CNN_ERR_TOO_LARGE, "no room for colour planes "
                        "at a reduction by %d", s->factor);
    }
    const size_t plane = (size_t)s->img.width * s->img.height;
    float *data = realloc(s->img.data, 3 * plane * sizeof *data);
    if (!data)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a %dx%d image",
                        s->img.width, s->img.height);
    memcpy(data + plane, data, plane * sizeof *data);
    memcpy(data + 2 * plane, data, plane * sizeof *data);
    s->img.data = data;
    s->img.channels = 3;
    return CNN_OK;
}

cnn_status cnn_sink_put(cnn_sink *s, int y, int x0, int dx, int n,
                        cnn_error *err)
{
    if (s->samples == 3 && s->img.channels == 1 && !row_is_grey(s->row, n)) {
        cnn_status st = add_colour_planes(s, err);
        if (st != CNN_OK)
            return st;
    }
    const int k = s->factor, channels = s->img.channels, step = s->samples;
    const size_t plane = (size_t)s->img.width * s->img.height;
    float *dst = s->img.data + (size_t)(y / k) * s->img.width;
    const float *src = s->row;
    if (k == 1) {
        for (int i = 0; i < n; i++, src += step)
            for (int c = 0; c < channels; c++)
                dst[c * plane + (size_t)x0 + (size_t)i * dx] = src[c];
    } else {
        for (int i = 0; i < n; i++, src += step) {
            size_t ox = ((size_t)x0 + (size_t)i * dx) / (size_t)k;
            for (int c = 0; c < channels; c++)
                dst[c * plane + ox] += src[c];
        }
    }
    return CNN_OK;
}

void cnn_sink_finish(cnn_sink *s, cnn_image *out)
{
    const int k = s->factor, w = s->img.width, h = s->img.height;
    const size_t plane = (size_t)w * h;
    for (int oy = 0; k > 1 && oy < h; oy++) {
        int bh = s->src_h - oy * k < k ? s->src_h - oy * k : k;
        for (int ox = 0; ox < w; ox++) {
            int bw = s->src_w - ox * k < k ? s->src_w - ox * k : k;
            for (int c = 0; c < s->img.channels; c++)
                s->img.data[c * plane + (size_t)oy * w + ox] /= (float)(bw * bh);
        }
    }
    *out = s->img;
    s->img.data = NULL;
    cnn_sink_free(s);
}

cnn_status cnn_sink_decode(cnn_sink_decoder decode, const uint8_t *bytes,
                           size_t len, size_t max_pixels, cnn_image *out,
                           cnn_error *err)
{
    out->width = out->height = out->channels = 0;
    out->data = NULL;
    int restart = 0;
    cnn_status st = decode(bytes, len, max_pixels, 0, out, &restart, err);
    if (restart)
        st = decode(bytes, len, max_pixels, 1, out, &restart, err);
    return st;
}
