/* checkpoint.c - training state to and from a safetensors file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "safetensors.h"

#define CKPT_FORMAT "pneumonia-trainer-checkpoint-1"

static cnn_status put(cnn_st_writer *w, const char *key, const char *value,
                      cnn_error *err)
{
    return cnn_st_writer_metadata(w, key, value, err);
}

static cnn_status put_long(cnn_st_writer *w, const char *key, long v, cnn_error *err)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", v);
    return put(w, key, buf, err);
}

static cnn_status put_double(cnn_st_writer *w, const char *key, double v,
                             cnn_error *err)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v); /* round-trips exactly */
    return put(w, key, buf, err);
}

/* "i0,i1,..." for the data order; malloc'd. */
static char *order_string(const int *order, int n)
{
    size_t cap = (size_t)n * 12 + 1, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, i ? ",%d" : "%d", order[i]);
    return s;
}

cnn_status checkpoint_save(const char *path, const ckpt_state *st,
                           const ckpt_tensor *tensors, int count,
                           cnn_error *err)
{
    cnn_st_writer *w = cnn_st_writer_new();
    if (!w)
        return cnn_fail(err, CNN_ERR_NOMEM, "checkpoint: out of memory");
    char rng[80];
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
             st->rng.s[0], st->rng.s[1], st->rng.s[2], st->rng.s[3]);
    char *order = order_string(st->order, st->order_len);
    cnn_status s = order ? CNN_OK : cnn_fail(err, CNN_ERR_NOMEM, "checkpoint: out of memory");
    if (!s) s = put(w, "format", CKPT_FORMAT, err);
    if (!s) s = put(w, "fingerprint", st->fingerprint, err);
    if (!s) s = put_long(w, "epoch", st->epoch, err);
    if (!s) s = put_long(w, "stage", st->stage, err);
    if (!s) s = put_long(w, "stage_epoch", st->stage_epoch, err);
    if (!s) s = put_long(w, "adam_step", st->adam_step, err);
    if (!s) s = put(w, "rng", rng, err);
    if (!s) s = put_double(w, "es_best_value", st->es_best_value, err);
    if (!s) s = put_long(w, "es_best_epoch", st->es_best_epoch, err);
    if (!s) s = put_long(w, "es_bad_epochs", st->es_bad_epochs, err);
    if (!s) s = put_long(w, "es_stopped_epoch", st->es_stopped_epoch, err);
    if (!s) s = put_long(w, "csv_offset", st->csv_offset, err);
    if (!s) s = put_double(w, "train_seconds", st->train_seconds, err);
    if (!s) s = put_double(w, "pass_seconds", st->pass_seconds, err);
    if (!s) s = put_long(w, "images_trained", st->images_trained, err);
    if (!s) s = put(w, "order", order, err);
    for (int i = 0; !s && i < count; i++)
        s = cnn_st_writer_add(w, tensors[i].name, CNN_DTYPE_F32, tensors[i].ndim,
                              tensors[i].shape, tensors[i].data, err);
    if (!s)
        s = cnn_st_writer_save(w, path, err);
    cnn_st_writer_free(w);
    free(order);
    return s;
}

static cnn_status get(const cnn_st_file *f, const char *path, const char *key,
                      const char **out, cnn_error *err)
{
    *out = cnn_st_metadata(f, key);
    if (!*out)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: checkpoint lacks '%s'", path, key);
    return CNN_OK;
}

static cnn_status get_long(const cnn_st_file *f, const char *path, const char *key,
                           long *out, cnn_error *err)
{
    const char *v;
    cnn_status s = get(f, path, key, &v, err);
    if (s)
        return s;
    char *end;
    errno = 0;
    *out = strtol(v, &end, 10);
    if (errno || end == v || *end)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: bad '%s' value '%s'", path, key, v);
    return CNN_OK;
}

static cnn_status get_int(const cnn_st_file *f, const char *path, const char *key,
                          int *out, cnn_error *err)
{
    long v;
    cnn_status s = get_long(f, path, key, &v, err);
    *out = (int)v;
    return s;
}

static cnn_status get_double(const cnn_st_file *f, const char *path,
                             const char *key, double *out, cnn_error *err)
{
    const char *v;
    cnn_status s = get(f, path, key, &v, err);
    if (s)
        return s;
    char *end;
    *out = strtod(v, &end);
    if (end == v || *end)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: bad '%s' value '%s'", path, key, v);
    return CNN_OK;
}

static cnn_status parse_rng(const char *path, const char *v, cnn_rng *rng,
                            cnn_error *err)
{
    if (strlen(v) != 64)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: bad rng state", path);
    for (int i = 0; i < 4; i++) {
        char word[17];
        memcpy(word, v + 16 * i, 16);
        word[16] = '\0';
        char *end;
        rng->s[i] = strtoull(word, &end, 16);
        if (*end)
            return cnn_fail(err, CNN_ERR_FORMAT, "%s: bad rng state", path);
    }
    return CNN_OK;
}

static cnn_status parse_order(const char *path, const char *v, ckpt_state *st,
                              cnn_error *err)
{
    int n = *v ? 1 : 0;
    for (const char *p = v; *p; p++)
        n += *p == ',';
    st->order = malloc((size_t)(n ? n : 1) * sizeof *st->order);
    if (!st->order)
        return cnn_fail(err, CNN_ERR_NOMEM, "checkpoint: out of memory");
    st->order_len = n;
    const char *p = v;
    for (int i = 0; i < n; i++) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x < 0 || (*end != ',' && *end != '\0'))
            return cnn_fail(err, CNN_ERR_FORMAT, "%s: bad data order", path);
        st->order[i] = (int)x;
        p = *end ? end + 1 : end;
    }
    return CNN_OK;
}

cnn_status checkpoint_load(const char *path, ckpt_state *st,
                           const ckpt_tensor *tensors, int count,
                           cnn_error *err)
{
    memset(st, 0, sizeof *st);
    cnn_st_file *f;
    cnn_status s = cnn_st_open(&f, path, err);
    if (s)
        return s;
    const char *v;
    s = get(f, path, "format", &v, err);
    if (!s && strcmp(v, CKPT_FORMAT))
        s = cnn_fail(err, CNN_ERR_FORMAT, "%s: not a trainer checkpoint (%s)", path, v);
    if (!s) s = get(f, path, "fingerprint", &v, err);
    if (!s) snprintf(st->fingerprint, sizeof st->fingerprint, "%s", v);
    if (!s) s = get_int(f, path, "epoch", &st->epoch, err);
    if (!s) s = get_int(f, path, "stage", &st->stage, err);
    if (!s) s = get_int(f, path, "stage_epoch", &st->stage_epoch, err);
    if (!s) s = get_long(f, path, "adam_step", &st->adam_step, err);
    if (!s) s = get(f, path, "rng", &v, err);
    if (!s) s = parse_rng(path, v, &st->rng, err);
    if (!s) s = get_double(f, path, "es_best_value", &st->es_best_value, err);
    if (!s) s = get_int(f, path, "es_best_epoch", &st->es_best_epoch, err);
    if (!s) s = get_int(f, path, "es_bad_epochs", &st->es_bad_epochs, err);
    if (!s) s = get_int(f, path, "es_stopped_epoch", &st->es_stopped_epoch, err);
    if (!s) s = get_long(f, path, "csv_offset", &st->csv_offset, err);
    if (!s) s = get_double(f, path, "train_seconds", &st->train_seconds, err);
    if (!s) s = get_double(f, path, "pass_seconds", &st->pass_seconds, err);
    if (!s) s = get_long(f, path, "images_trained", &st->images_trained, err);
    if (!s) s = get(f, path, "order", &v, err);
    if (!s) s = parse_order(path, v, st, err);
    for (int i = 0; !s && i < count; i++)
        s = cnn_st_read_f32(f, tensors[i].name, tensors[i].ndim, tensors[i].shape,
                            tensors[i].data, err);
    cnn_st_close(f);
    if (s) {
        free(st->order);
        st->order = NULL;
        st->order_len = 0;
    }
    return s;
}
