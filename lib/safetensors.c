/* safetensors.c - mapped, fully validated reading and atomic writing of
 * safetensors weight files (see safetensors.h for the format and the
 * alignment rules). */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "safetensors.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

/* The reference implementation refuses headers above 100 MB; so do we. */
#define MAX_HEADER_BYTES (100u << 20)
/* Offsets and sizes must be exact in a JSON (double) number. */
#define MAX_EXACT_INT 9007199254740992.0 /* 2^53 */

typedef struct {
    char *key;
    char *value;
} meta_entry;

struct cnn_st_file {
    char *path;
    void *map;            /* whole file, read-only */
    size_t map_size;
    int count;
    cnn_st_tensor *tensors;   /* in header order */
    int *by_name;             /* indices sorted by name, for lookups */
    void **copies;            /* aligned copies of unaligned F32 tensors */
    int meta_count;
    meta_entry *meta;
};

static size_t dtype_size(cnn_dtype d)
{
    return d == CNN_DTYPE_F32 ? 4 : 2;
}

static const char *dtype_name(cnn_dtype d)
{
    return d == CNN_DTYPE_F32 ? "F32" : "F16";
}

/* ---------------------------------------------------------------- half floats */

uint16_t cnn_f32_to_f16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t exp = (u >> 23) & 0xffu;
    uint32_t man = u & 0x7fffffu;

    if (exp == 0xff) /* inf stays inf; NaN stays a (quiet) NaN */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0));
    int e = (int)exp - 127 + 15; /* rebiased half exponent */
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u); /* overflow -> inf */
    if (e <= 0) {
        /* subnormal half (or zero): shift the full significand into place */
        if (e < -10)
            return (uint16_t)sign;
        uint32_t full = man | 0x800000u;
        int shift = 14 - e; /* 13 bits of mantissa drop + (1 - e) */
        uint32_t half = full >> shift;
        uint32_t rest = full & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rest = man & 0x1fffu;
    /* round to nearest even; a carry into the exponent is still correct
     * (it may round up to inf, as it should) */
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1)))
        half++;
    return (uint16_t)(sign | half);
}

float cnn_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 0x400u));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* ---------------------------------------------------------------- reading */

void cnn_st_close(cnn_st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->count; i++) {
        free(f->tensors[i].name);
        if (f->copies)
            free(f->copies[i]);
    }
    for (int i = 0; i < f->meta_count; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->tensors);
    free(f->by_name);
    free(f->copies);
    free(f->meta);
    if (f->map && f->map != MAP_FAILED)
        munmap(f->map, f->map_size);
    free(f->path);
    free(f);
}

/* Reads a JSON number that must be a non-negative integer below 2^53. */
static int json_uint(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return 0;
    double d = item->valuedouble;
    if (!(d >= 0) || d >= MAX_EXACT_INT || d != floor(d))
        return 0;
    *out = (uint64_t)d;
    return 1;
}

static cnn_status parse_metadata(cnn_st_file *f, const cJSON *obj,
                                 cnn_error *err)
{
    if (!cJSON_IsObject(obj))
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: __metadata__ is not a JSON object", f->path);
    int n = cJSON_GetArraySize(obj);
    f->meta = calloc(n ? (size_t)n : 1, sizeof *f->meta);
    if (!f->meta)
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", f->path);
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (!cJSON_IsString(it))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: metadata value of '%s' is not a string",
                            f->path, it->string);
        if (cnn_st_metadata(f, it->string))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: metadata key '%s' appears twice", f->path,
                            it->string);
        meta_entry *e = &f->meta[f->meta_count];
        e->key = strdup(it->string);
        e->value = strdup(it->valuestring);
        if (!e->key || !e->value) {
            free(e->key);
            free(e->value);
            return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", f->path);
        }
        f->meta_count++;
    }
    return CNN_OK;
}

/* Fills t from one header entry; [*begin, *end) is its byte range relative
 * to the data section (checked against data_size). */
static cnn_status parse_tensor(cnn_st_file *f, const cJSON *entry,
                               size_t data_size, cnn_st_tensor *t,
                               uint64_t *begin, uint64_t *end, cnn_error *err)
{
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: entry '%s' is not a JSON object", f->path, name);
    if (!name[0])
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: a tensor has an empty name",
                        f->path);
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *it = entry->child; it; it = it->next) {
        const cJSON **slot = !strcmp(it->string, "dtype")          ? &dtype
                             : !strcmp(it->string, "shape")        ? &shape
                             : !strcmp(it->string, "data_offsets") ? &offsets
                                                                   : NULL;
        if (!slot)
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: tensor '%s' has an unknown field '%s'",
                            f->path, name, it->string);
        if (*slot)
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: tensor '%s' has field '%s' twice", f->path,
                            name, it->string);
        *slot = it;
    }
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) ||
        !cJSON_IsArray(offsets))
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: tensor '%s' needs a string \"dtype\" and arrays "
                        "\"shape\" and \"data_offsets\"", f->path, name);

    if (!strcmp(dtype->valuestring, "F32"))
        t->dtype = CNN_DTYPE_F32;
    else if (!strcmp(dtype->valuestring, "F16"))
        t->dtype = CNN_DTYPE_F16;
    else
        return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                        "%s: tensor '%s' has dtype '%.32s'; only F32 and F16 "
                        "are supported", f->path, name, dtype->valuestring);

    int ndim = cJSON_GetArraySize(shape);
    if (ndim > (int)(sizeof t->shape / sizeof t->shape[0]))
        return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                        "%s: tensor '%s' has %d dimensions (at most 8)",
                        f->path, name, ndim);
    t->ndim = ndim;
    uint64_t count = 1;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        uint64_t v;
        if (!json_uint(d, &v))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: tensor '%s': shape entries must be "
                            "non-negative integers", f->path, name);
        t->shape[i] = (int64_t)v;
        if (v && count > UINT64_MAX / 8 / v) /* no overflow below */
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: tensor '%s': shape is absurdly large",
                            f->path, name);
        count *= v;
    }

    if (cJSON_GetArraySize(offsets) != 2 ||
        !json_uint(offsets->child, begin) ||
        !json_uint(offsets->child->next, end))
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets must be two "
                        "non-negative integers", f->path, name);
    if (*begin > *end)
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] end "
                        "before they begin", f->path, name,
                        (unsigned long long)*begin, (unsigned long long)*end);
    if (*end > data_size)
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] reach "
                        "beyond the data section (%zu bytes)", f->path, name,
                        (unsigned long long)*begin, (unsigned long long)*end,
                        data_size);
    uint64_t bytes = count * dtype_size(t->dtype);
    if (bytes != *end - *begin)
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: tensor '%s': shape holds %llu bytes of %s but "
                        "data_offsets span %llu", f->path, name,
                        (unsigned long long)bytes, dtype_name(t->dtype),
                        (unsigned long long)(*end - *begin));
    t->count = (size_t)count;
    t->name = strdup(name);
    if (!t->name)
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", f->path);
    return CNN_OK;
}

typedef struct {
    uint64_t begin, end;
    int index;
} byte_range;

static int compare_ranges(const void *a, const void *b)
{
    const byte_range *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int compare_names(const void *a, const void *b, void *file)
{
    const cnn_st_tensor *t = ((const cnn_st_file *)file)->tensors;
    return strcmp(t[*(const int *)a].name, t[*(const int *)b].name);
}

/* Checks that no two non-empty ranges overlap and that names are unique;
 * builds the by-name index. */
static cnn_status check_layout(cnn_st_file *f, byte_range *ranges,
                               cnn_error *err)
{
    qsort(ranges, (size_t)f->count, sizeof *ranges, compare_ranges);
    uint64_t covered = 0;
    int last = -1;
    for (int i = 0; i < f->count; i++) {
        if (ranges[i].begin == ranges[i].end)
            continue; /* empty tensors occupy nothing */
        if (last >= 0 && ranges[i].begin < covered)
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: tensors '%s' and '%s' overlap in the data "
                            "section", f->path,
                            f->tensors[ranges[last].index].name,
                            f->tensors[ranges[i].index].name);
        covered = ranges[i].end;
        last = i;
    }

    size_t n = f->count > 0 ? (size_t)f->count : 1;
    f->by_name = malloc(n * sizeof *f->by_name);
    if (!f->by_name)
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->count; i++)
        f->by_name[i] = i;
    qsort_r(f->by_name, (size_t)f->count, sizeof *f->by_name, compare_names,
            f);
    for (int i = 1; i < f->count; i++)
        if (!strcmp(f->tensors[f->by_name[i]].name,
                    f->tensors[f->by_name[i - 1]].name))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: tensor name '%s' appears twice", f->path,
                            f->tensors[f->by_name[i]].name);
    return CNN_OK;
}

/* Points every tensor into the mapping; F32 tensors that are not 4-byte
 * aligned there (files from writers that do not align) get an aligned copy. */
static cnn_status place_data(cnn_st_file *f, const byte_range *ranges,
                             const unsigned char *data, cnn_error *err)
{
    for (int i = 0; i < f->count; i++) {
        cnn_st_tensor *t = &f->tensors[ranges[i].index];
        const unsigned char *p = data + ranges[i].begin;
        t->data = p;
        if (t->dtype != CNN_DTYPE_F32 || ((uintptr_t)p & 3) == 0)
            continue;
        if (!f->copies) {
            f->copies = calloc((size_t)f->count, sizeof *f->copies);
            if (!f->copies)
                return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory",
                                f->path);
        }
        size_t bytes = ranges[i].end - ranges[i].begin;
        void *copy = malloc(bytes ? bytes : 1);
        if (!copy)
            return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", f->path);
        memcpy(copy, p, bytes);
        f->copies[ranges[i].index] = copy;
        t->data = copy;
    }
    return CNN_OK;
}

/* cJSON skips a NUL byte between tokens as white space and ends a name at
 * one (raw, or escaped as \u0000), so a header holding one would be read
 * as something else than it says: refused up front. A backslash outside a
 * string is a JSON error anyway, so no string tracking is needed. */
static cnn_status refuse_nul(const cnn_st_file *f, const char *json, size_t len,
                             cnn_error *err)
{
    for (size_t i = 0; i < len; i++) {
        if (json[i] == '\0')
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: the header holds a NUL byte at byte %zu of "
                            "the header", f->path, i);
        if (json[i] != '\\' || i + 1 >= len)
            continue;
        if (i + 5 < len && json[i + 1] == 'u' &&
            !memcmp(json + i + 2, "0000", 4))
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: the header holds an escaped NUL (\\u0000) at "
                            "byte %zu of the header", f->path, i);
        i++; /* skip the escaped character: \\u0000 is no NUL */
    }
    return CNN_OK;
}

static cnn_status parse_header(cnn_st_file *f, const char *json, size_t len,
                               size_t data_size, const unsigned char *data,
                               cnn_error *err)
{
    cnn_status nul = refuse_nul(f, json, len, err);
    if (nul != CNN_OK)
        return nul;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t pos = at && at >= json && at <= json + len ? (size_t)(at - json)
                                                          : 0;
        return cnn_fail(err, CNN_ERR_FORMAT,
                        "%s: the header is not valid JSON (near byte %zu of "
                        "%zu)", f->path, pos, len);
    }
    for (const char *p = end; p < json + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return cnn_fail(err, CNN_ERR_FORMAT,
                            "%s: unexpected bytes after the header's JSON",
                            f->path);
        }
    cnn_status st = CNN_OK;
    byte_range *ranges = NULL;
    if (!cJSON_IsObject(root)) {
        st = cnn_fail(err, CNN_ERR_FORMAT,
                      "%s: the header is not a JSON object", f->path);
        goto done;
    }
    int entries = cJSON_GetArraySize(root);
    f->tensors = calloc((size_t)(entries ? entries : 1), sizeof *f->tensors);
    ranges = calloc((size_t)(entries ? entries : 1), sizeof *ranges);
    if (!f->tensors || !ranges) {
        st = cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", f->path);
        goto done;
    }
    int seen_metadata = 0;
    for (const cJSON *it = root->child; it && st == CNN_OK; it = it->next) {
        if (!strcmp(it->string, "__metadata__")) {
            if (seen_metadata++)
                st = cnn_fail(err, CNN_ERR_FORMAT,
                              "%s: __metadata__ appears twice", f->path);
            else
                st = parse_metadata(f, it, err);
            continue;
        }
        byte_range *r = &ranges[f->count];
        st = parse_tensor(f, it, data_size, &f->tensors[f->count], &r->begin,
                          &r->end, err);
        r->index = f->count;
        if (f->tensors[f->count].name)
            f->count++;
    }
    if (st == CNN_OK)
        st = check_layout(f, ranges, err);
    if (st == CNN_OK)
        st = place_data(f, ranges, data, err);
done:
    free(ranges);
    cJSON_Delete(root);
    return st;
}

cnn_status cnn_st_open(cnn_st_file **out, const char *path, cnn_error *err)
{
    *out = NULL;
    cnn_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    cnn_status st = CNN_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) {
        st = cnn_fail(err, CNN_ERR_IO, "%s: cannot open: %s", path,
                      strerror(errno));
        goto fail;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = cnn_fail(err, CNN_ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    if (sb.st_size < 8) {
        st = cnn_fail(err, CNN_ERR_FORMAT,
                      "%s: truncated: %lld bytes, shorter than the 8-byte "
                      "header length", path, (long long)sb.st_size);
        goto fail;
    }
    f->map_size = (size_t)sb.st_size;
    f->map = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        st = cnn_fail(err, CNN_ERR_IO, "%s: cannot map: %s", path,
                      strerror(errno));
        goto fail;
    }
    close(fd);
    fd = -1;

    const unsigned char *bytes = f->map;
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--)
        header_len = header_len << 8 | bytes[i];
    if (header_len > f->map_size - 8) {
        st = cnn_fail(err, CNN_ERR_FORMAT,
                      "%s: header length %llu is larger than the rest of the "
                      "file (%zu bytes): truncated or not a safetensors file",
                      path, (unsigned long long)header_len, f->map_size - 8);
        goto fail;
    }
    if (header_len > MAX_HEADER_BYTES) {
        st = cnn_fail(err, CNN_ERR_TOO_LARGE,
                      "%s: header of %llu bytes exceeds the %u-byte limit",
                      path, (unsigned long long)header_len, MAX_HEADER_BYTES);
        goto fail;
    }
    size_t data_start = 8 + (size_t)header_len;
    st = parse_header(f, (const char *)bytes + 8, (size_t)header_len,
                      f->map_size - data_start, bytes + data_start, err);
    if (st != CNN_OK)
        goto fail;
    *out = f;
    return CNN_OK;
fail:
    if (fd >= 0)
        close(fd);
    cnn_st_close(f);
    return st;
}

int cnn_st_count(const cnn_st_file *f)
{
    return f->count;
}

const cnn_st_tensor *cnn_st_tensor_at(const cnn_st_file *f, int i)
{
    assert(i >= 0 && i < f->count);
    return &f->tensors[i];
}

const cnn_st_tensor *cnn_st_find(const cnn_st_file *f, const char *name)
{
    int lo = 0, hi = f->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const cnn_st_tensor *t = &f->tensors[f->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0)
            return t;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *cnn_st_metadata(const cnn_st_file *f, const char *key)
{
    for (int i = 0; i < f->meta_count; i++)
        if (!strcmp(f->meta[i].key, key))
            return f->meta[i].value;
    return NULL;
}

static void format_shape(char *buf, size_t size, int ndim,
                         const int64_t *shape)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld",
                                 i ? ", " : "", (long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

cnn_status cnn_st_read_f32(const cnn_st_file *f, const char *name, int ndim,
                           const int64_t *shape, float *dst, cnn_error *err)
{
    const cnn_st_tensor *t = cnn_st_find(f, name);
    if (!t)
        return cnn_fail(err, CNN_ERR_FORMAT, "%s: no tensor named '%s'",
                        f->path, name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char have[160], want[160];
        format_shape(have, sizeof have, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, shape);
        return cnn_fail(err, CNN_ERR_SHAPE,
                        "%s: tensor '%s' has shape %s, expected %s", f->path,
                        name, have, want);
    }
    if (t->dtype == CNN_DTYPE_F32) {
        memcpy(dst, t->data, t->count * 4);
    } else {
        const unsigned char *p = t->data;
        for (size_t i = 0; i < t->count; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2); /* F16 data may sit at any even offset */
            dst[i] = cnn_f16_to_f32(h);
        }
    }
    return CNN_OK;
}

/* ---------------------------------------------------------------- writing */

typedef struct {
    char *name;
    cnn_dtype dtype;
    int ndim;
    int64_t shape[8];
    size_t bytes;
    const void *data;
    uint64_t offset;
} pending_tensor;

struct cnn_st_writer {
    int count, cap;
    pending_tensor *tensors;
    int meta_count, meta_cap;
    meta_entry *meta;
};

cnn_st_writer *cnn_st_writer_new(void)
{
    return calloc(1, sizeof(cnn_st_writer));
}

void cnn_st_writer_free(cnn_st_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->count; i++)
        free(w->tensors[i].name);
    for (int i = 0; i < w->meta_count; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    free(w->tensors);
    free(w->meta);
    free(w);
}

cnn_status cnn_st_writer_add(cnn_st_writer *w, const char *name,
                             cnn_dtype dtype, int ndim, const int64_t *shape,
                             const void *data, cnn_error *err)
{
    assert(dtype == CNN_DTYPE_F32 || dtype == CNN_DTYPE_F16);
    if (!name[0] || !strcmp(name, "__metadata__"))
        return cnn_fail(err, CNN_ERR_ARG, "invalid tensor name '%s'", name);
    if (ndim < 0 || ndim > 8)
        return cnn_fail(err, CNN_ERR_ARG, "tensor '%s': %d dimensions (0..8)",
                        name, ndim);
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && count > (1ull << 50) / (uint64_t)shape[i]))
            return cnn_fail(err, CNN_ERR_ARG, "tensor '%s': bad shape", name);
        count *= (uint64_t)shape[i];
    }
    assert(data || count == 0);
    for (int i = 0; i < w->count; i++)
        if (!strcmp(w->tensors[i].name, name))
            return cnn_fail(err, CNN_ERR_ARG, "tensor '%s' added twice", name);
    if (w->count == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        pending_tensor *t = realloc(w->tensors, (size_t)cap * sizeof *t);
        if (!t)
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        w->tensors = t;
        w->cap = cap;
    }
    pending_tensor *t = &w->tensors[w->count];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim)
        memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->bytes = (size_t)count * dtype_size(dtype);
    t->data = data;
    w->count++;
    return CNN_OK;
}

cnn_status cnn_st_writer_metadata(cnn_st_writer *w, const char *key,
                                  const char *value, cnn_error *err)
{
    char *v = strdup(value);
    if (!v)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < w->meta_count; i++)
        if (!strcmp(w->meta[i].key, key)) { /* a second set replaces */
            free(w->meta[i].value);
            w->meta[i].value = v;
            return CNN_OK;
        }
    if (w->meta_count == w->meta_cap) {
        int cap = w->meta_cap ? 2 * w->meta_cap : 16;
        meta_entry *m = realloc(w->meta, (size_t)cap * sizeof *m);
        if (!m) {
            free(v);
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
        }
        w->meta = m;
        w->meta_cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory");
    }
    w->meta[w->meta_count].key = k;
    w->meta[w->meta_count].value = v;
    w->meta_count++;
    return CNN_OK;
}

/* The header JSON, padded with spaces so that 8 + its length is a multiple
 * of 8. Assigns offsets: all F32 tensors first, then F16, back to back (no
 * gaps, as other readers require), so every F32 tensor is 4-byte aligned. */
static char *build_header(cnn_st_writer *w, size_t *len, uint64_t *data_bytes)
{
    uint64_t offset = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < w->count; i++) {
            pending_tensor *t = &w->tensors[i];
            if ((t->dtype == CNN_DTYPE_F32) != (pass == 0))
                continue;
            t->offset = offset;
            offset += t->bytes;
        }
    *data_bytes = offset;

    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && w->meta_count) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        ok = meta != NULL;
        for (int i = 0; ok && i < w->meta_count; i++)
            ok = cJSON_AddStringToObject(meta, w->meta[i].key,
                                         w->meta[i].value) != NULL;
    }
    for (int i = 0; ok && i < w->count; i++) {
        const pending_tensor *t = &w->tensors[i];
        cJSON *e = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
        cJSON *offs = e ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
        ok = e && shape && offs &&
             cJSON_AddStringToObject(e, "dtype", dtype_name(t->dtype));
        for (int d = 0; ok && d < t->ndim; d++)
            ok = cJSON_AddItemToArray(shape,
                                      cJSON_CreateNumber((double)t->shape[d]));
        ok = ok &&
             cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)t->offset)) &&
             cJSON_AddItemToArray(offs, cJSON_CreateNumber(
                                            (double)(t->offset + t->bytes)));
    }
    char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!json)
        return NULL;
    size_t n = strlen(json);
    size_t padded = (n + 8 + 7) / 8 * 8 - 8;
    char *out = realloc(json, padded + 1);
    if (!out) {
        free(json);
        return NULL;
    }
    memset(out + n, ' ', padded - n);
    out[padded] = '\0';
    *len = padded;
    return out;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Makes the rename durable: fsync the directory that holds path. */
static int sync_directory(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return 0;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return 0;
    int ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

cnn_status cnn_st_writer_save(cnn_st_writer *w, const char *path,
                              cnn_error *err)
{
    size_t header_len;
    uint64_t data_bytes;
    char *header = build_header(w, &header_len, &data_bytes);
    if (!header)
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", path);

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp) {
        free(header);
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".XXXXXX", 8);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        cnn_status st = cnn_fail(err, CNN_ERR_IO,
                                 "%s: cannot create a temporary file: %s",
                                 path, strerror(errno));
        free(tmp);
        free(header);
        return st;
    }
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; i++)
        len_bytes[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
    int ok = fchmod(fd, 0644) == 0 && write_all(fd, len_bytes, 8) &&
             write_all(fd, header, header_len);
    for (int pass = 0; ok && pass < 2; pass++)
        for (int i = 0; ok && i < w->count; i++) {
            const pending_tensor *t = &w->tensors[i];
            if ((t->dtype == CNN_DTYPE_F32) == (pass == 0))
                ok = write_all(fd, t->data, t->bytes);
        }
    ok = ok && fsync(fd) == 0;
    int saved_errno = errno;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) != 0) {
        saved_errno = errno;
        ok = 0;
    }
    cnn_status st = CNN_OK;
    if (!ok) {
        st = cnn_fail(err, CNN_ERR_IO, "%s: cannot write: %s", path,
                      strerror(saved_errno));
        unlink(tmp);
    } else if (!sync_directory(path)) {
        st = cnn_fail(err, CNN_ERR_IO, "%s: written, but syncing its "
                      "directory failed: %s", path, strerror(errno));
    }
    free(tmp);
    free(header);
    return st;
}

/* name is base + "." + what mkstemp puts for XXXXXX: six of [A-Za-z0-9]. */
static int is_temporary_of(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) || name[n] != '.' || strlen(name + n + 1) != 6)
        return 0;
    for (const char *p = name + n + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9')))
            return 0;
    return 1;
}

cnn_status cnn_st_remove_temporaries(const char *path, int *removed,
                                     cnn_error *err)
{
    char *dir_copy = strdup(path), *base_copy = strdup(path);
    if (!dir_copy || !base_copy) {
        free(dir_copy);
        free(base_copy);
        return cnn_fail(err, CNN_ERR_NOMEM, "%s: out of memory", path);
    }
    const char *base = basename(base_copy);
    DIR *d = opendir(dirname(dir_copy));
    cnn_status st = d ? CNN_OK
                      : cnn_fail(err, CNN_ERR_IO, "%s: cannot list its "
                                 "directory: %s", path, strerror(errno));
    int count = 0;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        struct stat sb;
        if (!is_temporary_of(e->d_name, base) ||
            fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0)
            st = cnn_fail(err, CNN_ERR_IO, "cannot remove %s, a temporary "
                          "left next to %s: %s", e->d_name, path,
                          strerror(errno));
        else
            count++;
    }
    if (d)
        closedir(d);
    free(dir_copy);
    free(base_copy);
    if (removed)
        *removed = count;
    return st;
}
