/* tfjs2safetensors.c - converts a TensorFlow.js layers model (model.json +
 * weight shards) into a safetensors file of float32 tensors with Keras names
 * in the library's layout (see lib/tfjs.h), then reads the result back and
 * checks it bit for bit.
 *
 * Exit status: 0 converted, 1 the input could not be converted or the
 * output not written, 2 bad command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "safetensors.h"
#include "tfjs.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: tfjs2safetensors [options] MODEL_JSON OUTPUT.safetensors\n"
        "\n"
        "Converts a TensorFlow.js layers model (model.json and the weight\n"
        "shards it names, float32 / float16 / uint8 / uint16 quantized) into\n"
        "a safetensors file of float32 tensors named like Keras\n"
        "(\"conv2d_1/kernel\"), conv kernels as [out, in, kh, kw] and dense\n"
        "kernels as [out, in]. The output is written atomically and verified.\n"
        "\n"
        "options:\n"
        "  --meta KEY=VALUE   add a __metadata__ entry (repeatable)\n"
        "  --list FILE        also write a JSON list of the tensors' names,\n"
        "                     layer classes and shapes to FILE\n"
        "  --quiet            print nothing on success\n"
        "  --help             show this help\n");
}

/* One JSON object per line: {"name":..,"class":..,"shape":[..]}. */
static int write_listing(const cnn_tfjs_model *m, const char *path)
{
    FILE *f = fopen(path, "w");
    int ok = f && fputs("[\n", f) >= 0;
    for (int i = 0; ok && i < m->count; i++) {
        const cnn_tfjs_tensor *t = &m->tensors[i];
        cJSON *e = cJSON_CreateObject();
        cJSON *shape = cJSON_CreateArray();
        ok = e && shape && cJSON_AddStringToObject(e, "name", t->name) &&
             cJSON_AddStringToObject(e, "class", t->layer_class) &&
             cJSON_AddItemToObject(e, "shape", shape);
        if (!ok)
            cJSON_Delete(shape);
        for (int d = 0; ok && d < t->ndim; d++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        char *line = ok ? cJSON_PrintUnformatted(e) : NULL;
        cJSON_Delete(e);
        ok = line && fprintf(f, "%s%s\n", line, i + 1 < m->count ? "," : "") > 0;
        free(line);
    }
    ok = ok && fputs("]\n", f) >= 0;
    ok = (f && fclose(f) == 0) && ok;
    return ok;
}

/* Reads the written file back: same names, shapes and bits. */
static cnn_status verify(const cnn_tfjs_model *m, const char *path,
                         cnn_error *err)
{
    cnn_st_file *f;
    cnn_status st = cnn_st_open(&f, path, err);
    if (st != CNN_OK)
        return st;
    if (cnn_st_count(f) != m->count)
        st = cnn_fail(err, CNN_ERR_FORMAT, "%s: %d tensors written, %d read back",
                      path, m->count, cnn_st_count(f));
    for (int i = 0; st == CNN_OK && i < m->count; i++) {
        const cnn_tfjs_tensor *t = &m->tensors[i];
        const cnn_st_tensor *s = cnn_st_find(f, t->name);
        int same = s && s->dtype == CNN_DTYPE_F32 && s->ndim == t->ndim &&
                   !memcmp(s->shape, t->shape, (size_t)t->ndim * sizeof *t->shape) &&
                   !memcmp(s->data, t->data, t->count * sizeof(float));
        if (!same)
            st = cnn_fail(err, CNN_ERR_FORMAT, "%s: tensor '%s' reads back differently",
                          path, t->name);
    }
    cnn_st_close(f);
    return st;
}

int main(int argc, char **argv)
{
    const char *inputs[2];
    int ninputs = 0, quiet = 0;
    const char *listing = NULL;
    cnn_st_writer *w = cnn_st_writer_new();
    cnn_error err;
    if (!w) {
        fprintf(stderr, "tfjs2safetensors: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            cnn_st_writer_free(w);
            return 0;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--list") || !strcmp(a, "--meta")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tfjs2safetensors: %s needs a value\n", a);
                goto bad_usage;
            }
            const char *v = argv[++i];
            if (a[2] == 'l') {
                listing = v;
                continue;
            }
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) {
                fprintf(stderr, "tfjs2safetensors: --meta wants KEY=VALUE, got '%s'\n", v);
                goto bad_usage;
            }
            char key[256];
            if ((size_t)(eq - v) >= sizeof key) {
                fprintf(stderr, "tfjs2safetensors: metadata key too long\n");
                goto bad_usage;
            }
            memcpy(key, v, (size_t)(eq - v));
            key[eq - v] = '\0';
            if (cnn_st_writer_metadata(w, key, eq + 1, &err) != CNN_OK) {
                fprintf(stderr, "tfjs2safetensors: %s\n", err.message);
                cnn_st_writer_free(w);
                return 1;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tfjs2safetensors: unknown option '%s'\n", a);
            goto bad_usage;
        } else if (ninputs < 2) {
            inputs[ninputs++] = a;
        } else {
            fprintf(stderr, "tfjs2safetensors: too many arguments\n");
            goto bad_usage;
        }
    }
    if (ninputs != 2) {
        fprintf(stderr, "tfjs2safetensors: need MODEL_JSON and OUTPUT\n");
        goto bad_usage;
    }

    cnn_tfjs_model *m;
    if (cnn_tfjs_load(&m, inputs[0], 0, &err) != CNN_OK) {
        fprintf(stderr, "tfjs2safetensors: %s\n", err.message);
        cnn_st_writer_free(w);
        return 1;
    }
    cnn_status st = CNN_OK;
    size_t values = 0;
    for (int i = 0; st == CNN_OK && i < m->count; i++) {
        const cnn_tfjs_tensor *t = &m->tensors[i];
        st = cnn_st_writer_add(w, t->name, CNN_DTYPE_F32, t->ndim, t->shape,
                               t->data, &err);
        values += t->count;
    }
    if (st == CNN_OK)
        st = cnn_st_writer_save(w, inputs[1], &err);
    if (st == CNN_OK)
        st = verify(m, inputs[1], &err);
    if (st != CNN_OK) {
        fprintf(stderr, "tfjs2safetensors: %s\n", err.message);
    } else if (listing && !write_listing(m, listing)) {
        fprintf(stderr, "tfjs2safetensors: cannot write the listing %s\n", listing);
        st = CNN_ERR_IO;
    } else if (!quiet) {
        printf("%s: %d tensors, %zu values (stored as %d float32, %d float16, "
               "%d uint8, %d uint16)\n", inputs[1], m->count, values,
               m->stored_float32, m->stored_float16, m->stored_uint8,
               m->stored_uint16);
    }
    cnn_tfjs_free(m);
    cnn_st_writer_free(w);
    return st == CNN_OK ? 0 : 1;

bad_usage:
    usage(stderr);
    cnn_st_writer_free(w);
    return 2;
}
