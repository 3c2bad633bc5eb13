/* checkpoint.c - training state to and from a safetensors file, with a
 * checksum over everything a resume uses. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "safetensors.h"

#define CKPT_FORMAT "pneumonia-trainer-checkpoint-1"

/* The scalar state's metadata keys, in the order they are written and
 * hashed. */
enum {
    K_FORMAT, K_FINGERPRINT, K_EPOCH, K_STAGE, K_STAGE_EPOCH, K_ADAM_STEP,
    K_RNG, K_ES_BEST_VALUE, K_ES_BEST_EPOCH, K_ES_BAD_EPOCHS,
    K_ES_STOPPED_EPOCH, K_CSV_OFFSET, K_TRAIN_SECONDS, K_PASS_SECONDS,
    K_IMAGES_TRAINED, K_ORDER, KEY_COUNT
};
static const char *const keys[KEY_COUNT] = {
    "format", "fingerprint", "epoch", "stage", "stage_epoch", "adam_step",
    "rng", "es_best_value", "es_best_epoch", "es_bad_epochs",
    "es_stopped_epoch", "csv_offset", "train_seconds", "pass_seconds",
    "images_trained", "order"};

/* FNV-1a, 64 bits: a flipped bit anywhere changes it; not a defence against
 * deliberate forgery, which a checkpoint does not need. */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv1a(uint64_t h, const void *bytes, size_t n)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

/* Every key and value (with its terminating NUL, so that no two lists hash
 * alike), then every tensor's name, shape and float data. */
static uint64_t checksum(const char *const values[KEY_COUNT],
                         const ckpt_tensor *tensors, int count)
{
    uint64_t h = FNV_OFFSET;
    for (int k = 0; k < KEY_COUNT; k++) {
        h = fnv1a(h, keys[k], strlen(keys[k]) + 1);
        h = fnv1a(h, values[k], strlen(values[k]) + 1);
    }
    for (int i = 0; i < count; i++) {
        const ckpt_tensor *t = &tensors[i];
        size_t n = 1;
        for (int d = 0; d < t->ndim; d++)
            n *= (size_t)t->shape[d];
        h = fnv1a(h, t->name, strlen(t->name) + 1);
        h = fnv1a(h, &t->ndim, sizeof t->ndim);
        h = fnv1a(h, t->shape, (size_t)t->ndim * sizeof *t->shape);
        h = fnv1a(h, t->data, n * sizeof *t->data);
    }
    return h;
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
    char num[KEY_COUNT][80];
    const char *v[KEY_COUNT];
    for (int k = 0; k < KEY_COUNT; k++)
        v[k] = num[k];
    v[K_FORMAT] = CKPT_FORMAT;
    v[K_FINGERPRINT] = st->fingerprint;
    snprintf(num[K_EPOCH], 80, "%d", st->epoch);
    snprintf(num[K_STAGE], 80, "%d", st->stage);
    snprintf(num[K_STAGE_EPOCH], 80, "%d", st->stage_epoch);
    snprintf(num[K_ADAM_STEP], 80, "%ld", st->adam_step);
    snprintf(num[K_RNG], 80, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
             st->rng.s[0], st->rng.s[1], st->rng.s[2], st->rng.s[3]);
    /* %.17g round-trips a double exactly */
    snprintf(num[K_ES_BEST_VALUE], 80, "%.17g", st->es_best_value);
    snprintf(num[K_ES_BEST_EPOCH], 80, "%d", st->es_best_epoch);
    snprintf(num[K_ES_BAD_EPOCHS], 80, "%d", st->es_bad_epochs);
    snprintf(num[K_ES_STOPPED_EPOCH], 80, "%d", st->es_stopped_epoch);
    snprintf(num[K_CSV_OFFSET], 80, "%ld", st->csv_offset);
    snprintf(num[K_TRAIN_SECONDS], 80, "%.17g", st->train_seconds);
    snprintf(num[K_PASS_SECONDS], 80, "%.17g", st->pass_seconds);
    snprintf(num[K_IMAGES_TRAINED], 80, "%ld", st->images_trained);
    char *order = order_string(st->order, st->order_len);
    v[K_ORDER] = order;
    cnn_st_writer *w = cnn_st_writer_new();
    if (!w || !order) {
        cnn_st_writer_free(w);
        free(order);
        return cnn_fail(err, CNN_ERR_NOMEM, "checkpoint: out of memory");
    }
    char sum[20];
    snprintf(sum, sizeof sum, "%016" PRIx64, checksum(v, tensors, count));
    cnn_status s = CNN_OK;
    for (int k = 0; !s && k < KEY_COUNT; k++)
        s = cnn_st_writer_metadata(w, keys[k], v[k], err);
    if (!s)
        s = cnn_st_writer_metadata(w, "checksum", sum, err);
    for (int i = 0; !s && i < count; i++)
        s = cnn_st_writer_add(w, tensors[i].name, CNN_DTYPE_F32, tensors[i].ndim,
                              tensors[i].shape, tensors[i].data, err);
    /* a save killed before its rename leaves its temporary: earlier ones
     * go now */
    if (!s)
        s = cnn_st_remove_temporaries(path, NULL, err);
    if (!s)
        s = cnn_st_writer_save(w, path, err);
    cnn_st_writer_free(w);
    free(order);
    return s;
}

static cnn_status parse_long(const char *path, const char *key, const char *v,
                             long *out, cnn_error *err)
{
    char *end;
    errno = 0;
    *out = strtol(v, &end, 10);
    if (errno || end == v || *end)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: bad '%s' value '%s'", path, key, v);
    return CNN_OK;
}

static cnn_status parse_int(const char *path, const char *key, const char *v,
                            int *out, cnn_error *err)
{
    long x;
    cnn_status s = parse_long(path, key, v, &x, err);
    *out = (int)x;
    return s;
}

static cnn_status parse_double(const char *path, const char *key,
                               const char *v, double *out, cnn_error *err)
{
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

/* Compares the stored checksum (if any: files from before checksums have
 * none) with the one of what was read. */
static cnn_status verify(const cnn_st_file *f, const char *path,
                         const char *const v[KEY_COUNT],
                         const ckpt_tensor *tensors, int count, ckpt_state *st,
                         cnn_error *err)
{
    const char *stored = cnn_st_metadata(f, "checksum");
    if (!stored)
        return CNN_OK;
    char sum[20];
    snprintf(sum, sizeof sum, "%016" PRIx64, checksum(v, tensors, count));
    if (strcmp(stored, sum))
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: checksum mismatch (stored %s, contents give %s): "
                        "the file was damaged or edited; resume from a good "
                        "copy or train afresh", path, stored, sum);
    st->verified = 1;
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
    const char *v[KEY_COUNT];
    for (int k = 0; !s && k < KEY_COUNT; k++)
        if (!(v[k] = cnn_st_metadata(f, keys[k])))
            s = cnn_fail(err, CNN_ERR_FORMAT, "%s: checkpoint lacks '%s'", path,
                         keys[k]);
    if (!s && strcmp(v[K_FORMAT], CKPT_FORMAT))
        s = cnn_fail(err, CNN_ERR_FORMAT, "%s: not a trainer checkpoint (%s)",
                     path, v[K_FORMAT]);
    for (int i = 0; !s && i < count; i++)
        s = cnn_st_read_f32(f, tensors[i].name, tensors[i].ndim, tensors[i].shape,
                            tensors[i].data, err);
    if (!s) s = verify(f, path, v, tensors, count, st, err);
    if (!s) snprintf(st->fingerprint, sizeof st->fingerprint, "%s", v[K_FINGERPRINT]);
    if (!s) s = parse_int(path, keys[K_EPOCH], v[K_EPOCH], &st->epoch, err);
    if (!s) s = parse_int(path, keys[K_STAGE], v[K_STAGE], &st->stage, err);
    if (!s) s = parse_int(path, keys[K_STAGE_EPOCH], v[K_STAGE_EPOCH], &st->stage_epoch, err);
    if (!s) s = parse_long(path, keys[K_ADAM_STEP], v[K_ADAM_STEP], &st->adam_step, err);
    if (!s) s = parse_rng(path, v[K_RNG], &st->rng, err);
    if (!s) s = parse_double(path, keys[K_ES_BEST_VALUE], v[K_ES_BEST_VALUE], &st->es_best_value, err);
    if (!s) s = parse_int(path, keys[K_ES_BEST_EPOCH], v[K_ES_BEST_EPOCH], &st->es_best_epoch, err);
    if (!s) s = parse_int(path, keys[K_ES_BAD_EPOCHS], v[K_ES_BAD_EPOCHS], &st->es_bad_epochs, err);
    if (!s) s = parse_int(path, keys[K_ES_STOPPED_EPOCH], v[K_ES_STOPPED_EPOCH], &st->es_stopped_epoch, err);
    if (!s) s = parse_long(path, keys[K_CSV_OFFSET], v[K_CSV_OFFSET], &st->csv_offset, err);
    if (!s) s = parse_double(path, keys[K_TRAIN_SECONDS], v[K_TRAIN_SECONDS], &st->train_seconds, err);
    if (!s) s = parse_double(path, keys[K_PASS_SECONDS], v[K_PASS_SECONDS], &st->pass_seconds, err);
    if (!s) s = parse_long(path, keys[K_IMAGES_TRAINED], v[K_IMAGES_TRAINED], &st->images_trained, err);
    if (!s) s = parse_order(path, v[K_ORDER], st, err);
    cnn_st_close(f);
    if (s) {
        free(st->order);
        st->order = NULL;
        st->order_len = 0;
    }
    return s;
}
