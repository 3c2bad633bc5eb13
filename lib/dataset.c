/* dataset.c - folder-tree scanning, patient ids, and the stratified
 * patient-grouped split. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dataset.h"

/* ---------------------------------------------------------------- building */

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

cnn_status cnn_dataset_add_class(cnn_dataset *ds, const char *name,
                                 cnn_error *err)
{
    char **names = realloc(ds->class_names,
                           sizeof(char *) * (size_t)(ds->num_classes + 1));
    if (!names)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory adding a class");
    ds->class_names = names;
    if (!(names[ds->num_classes] = copy_string(name)))
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory adding a class");
    ds->num_classes++;
    return CNN_OK;
}

cnn_status cnn_dataset_add(cnn_dataset *ds, const char *path, int label,
                           cnn_error *err)
{
    if (label < 0 || label >= ds->num_classes)
        return cnn_fail(err, CNN_ERR_ARG, "%s: label %d outside 0..%d", path,
                        label, ds->num_classes - 1);
    /* Grow by doubling: capacity is the next power of two >= count. */
    if ((ds->count & (ds->count - 1)) == 0) {
        size_t cap = ds->count ? (size_t)ds->count * 2 : 1;
        cnn_sample *grown = realloc(ds->samples, sizeof(cnn_sample) * cap);
        if (!grown)
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory adding samples");
        ds->samples = grown;
    }
    char patient[256];
    cnn_patient_id(path, patient, sizeof patient);
    cnn_sample *s = &ds->samples[ds->count];
    s->label = label;
    s->path = copy_string(path);
    s->patient = copy_string(patient);
    if (!s->path || !s->patient) {
        free(s->path);
        free(s->patient);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory adding samples");
    }
    ds->count++;
    return CNN_OK;
}

void cnn_dataset_free(cnn_dataset *ds)
{
    for (int i = 0; i < ds->num_classes; i++)
        free(ds->class_names[i]);
    for (int i = 0; i < ds->count; i++) {
        free(ds->samples[i].path);
        free(ds->samples[i].patient);
    }
    free(ds->class_names);
    free(ds->samples);
    memset(ds, 0, sizeof *ds);
}

/* ---------------------------------------------------------------- scanning */

typedef struct {
    int count, cap;
    char **names;
} name_list;

static void name_list_free(name_list *l)
{
    for (int i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int name_list_add(name_list *l, const char *name)
{
    if (l->count == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **grown = realloc(l->names, sizeof(char *) * (size_t)cap);
        if (!grown)
            return 0;
        l->names = grown;
        l->cap = cap;
    }
    if (!(l->names[l->count] = copy_string(name)))
        return 0;
    l->count++;
    return 1;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".dcm") == 0 ||
                   strcasecmp(dot, ".dicom") == 0);
}

/* A DICOM file by content ("DICM" after the 128-byte preamble): archives
 * name their files IM000001 or by UID (1.2.840...) as often as *.dcm. */
static int is_dicom_file(const char *path)
{
    uint8_t head[132];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return got == sizeof head && memcmp(head + 128, "DICM", 4) == 0;
}

/* Sorted entries of dir: sub-folders (want_dirs) or image files. */
static cnn_status list_dir(const char *dir, int want_dirs, name_list *out,
                           cnn_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return cnn_fail(err, CNN_ERR_IO, "%s: cannot open folder: %s", dir,
                        strerror(errno));
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        struct stat st;
        int len = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (len < 0 || (size_t)len >= sizeof path) {
            if (!want_dirs && !has_image_extension(e->d_name))
                continue;
            closedir(d);
            return cnn_fail(err, CNN_ERR_ARG, "%s/%s: path too long", dir, e->d_name);
        }
        if (stat(path, &st) != 0)
            continue;
        if (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
            continue;
        if (!want_dirs && !has_image_extension(e->d_name) && !is_dicom_file(path))
            continue;
        if (!name_list_add(out, e->d_name)) {
            closedir(d);
            return cnn_fail(err, CNN_ERR_NOMEM, "out of memory listing %s", dir);
        }
    }
    closedir(d);
    if (out->count > 1)
        qsort(out->names, (size_t)out->count, sizeof(char *), compare_names);
    return CNN_OK;
}

cnn_status cnn_dataset_scan(const char *root, cnn_dataset *ds, cnn_error *err)
{
    memset(ds, 0, sizeof *ds);
    name_list classes = {0};
    cnn_status st = list_dir(root, 1, &classes, err);
    if (st == CNN_OK && classes.count == 0)
        st = cnn_fail(err, CNN_ERR_FORMAT, "%s: no class folders", root);
    char dir[4096], path[8192];
    for (int c = 0; st == CNN_OK && c < classes.count; c++) {
        st = cnn_dataset_add_class(ds, classes.names[c], err);
        name_list files = {0};
        snprintf(dir, sizeof dir, "%s/%s", root, classes.names[c]);
        if (st == CNN_OK)
            st = list_dir(dir, 0, &files, err);
        for (int f = 0; st == CNN_OK && f < files.count; f++) {
            snprintf(path, sizeof path, "%s/%s", dir, files.names[f]);
            st = cnn_dataset_add(ds, path, c, err);
        }
        name_list_free(&files);
    }
    name_list_free(&classes);
    if (st == CNN_OK && ds->count == 0)
        st = cnn_fail(err, CNN_ERR_FORMAT,
                      "%s: no .png/.jpg/.jpeg/.dcm images in its class folders", root);
    if (st != CNN_OK)
        cnn_dataset_free(ds);
    return st;
}

/* ---------------------------------------------------------------- patients */

void cnn_patient_id(const char *path, char *out, size_t cap)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    size_t len = 0;
    /* personN_... */
    if (strncmp(name, "person", 6) == 0 && isdigit((unsigned char)name[6])) {
        len = 6;
        while (isdigit((unsigned char)name[len]))
            len++;
        if (name[len] != '_' && name[len] != '.' && name[len] != '\0')
            len = 0;
    }
    /* ...IM-dddd-... anywhere (IM-0117-0001, NORMAL2-IM-1234-0001) */
    for (const char *im = name; len == 0 && (im = strstr(im, "IM-")) != NULL; im++) {
        size_t n = 3;
        while (isdigit((unsigned char)im[n]))
            n++;
        if (n > 3 && im[n] == '-') {
            name = im;
            len = n;
        }
    }
    /* Otherwise: the name without its extension. */
    if (len == 0) {
        const char *dot = strrchr(name, '.');
        len = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    }
    if (cap == 0)
        return;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, name, len);
    out[len] = '\0';
}

/* ---------------------------------------------------------------- split */

typedef struct {
    const char *patient;
    int index;
} patient_key;

static int compare_keys(const void *a, const void *b)
{
    const patient_key *x = a, *y = b;
    int c = strcmp(x->patient, y->patient);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

typedef struct {
    int first, count; /* run in the patient-sorted order */
    int label;        /* majority label */
} patient_group;

static cnn_status list_alloc(cnn_index_list *l, int count, cnn_error *err)
{
    l->count = 0;
    l->index = malloc(sizeof(int) * (size_t)(count > 0 ? count : 1));
    if (!l->index)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for %d indices", count);
    return CNN_OK;
}

void cnn_index_list_free(cnn_index_list *list)
{
    free(list->index);
    list->index = NULL;
    list->count = 0;
}

cnn_status cnn_dataset_all(const cnn_dataset *ds, cnn_index_list *out,
                           cnn_error *err)
{
    cnn_status st = list_alloc(out, ds->count, err);
    if (st != CNN_OK)
        return st;
    for (int i = 0; i < ds->count; i++)
        out->index[out->count++] = i;
    return CNN_OK;
}

cnn_status cnn_dataset_split(const cnn_dataset *ds, double val_fraction,
                             uint64_t seed, cnn_index_list *train,
                             cnn_index_list *val, cnn_error *err)
{
    train->index = val->index = NULL;
    train->count = val->count = 0;
    if (!(val_fraction >= 0.0 && val_fraction < 1.0))
        return cnn_fail(err, CNN_ERR_ARG,
                        "validation fraction %g is not in [0, 1)", val_fraction);
    const int n = ds->count, k = ds->num_classes;
    patient_key *order = malloc(sizeof(patient_key) * (size_t)(n ? n : 1));
    patient_group *groups = malloc(sizeof(patient_group) * (size_t)(n ? n : 1));
    int *votes = calloc((size_t)(k ? k : 1), sizeof(int));
    int *class_images = calloc((size_t)(k ? k : 1), sizeof(int));
    int *shuffled = malloc(sizeof(int) * (size_t)(n ? n : 1));
    unsigned char *in_val = calloc((size_t)(n ? n : 1), 1);
    cnn_status st = CNN_OK;
    if (!order || !groups || !votes || !class_images || !shuffled || !in_val) {
        st = cnn_fail(err, CNN_ERR_NOMEM, "out of memory splitting %d samples", n);
        goto done;
    }

    /* Group samples by patient; a group's class is its majority label. */
    for (int i = 0; i < n; i++)
        order[i] = (patient_key){ds->samples[i].patient, i};
    qsort(order, (size_t)n, sizeof *order, compare_keys);
    int ngroups = 0;
    for (int i = 0; i < n;) {
        int j = i;
        memset(votes, 0, sizeof(int) * (size_t)k);
        while (j < n && strcmp(order[j].patient, order[i].patient) == 0)
            votes[ds->samples[order[j++].index].label]++;
        int label = 0;
        for (int c = 1; c < k; c++)
            if (votes[c] > votes[label])
                label = c;
        groups[ngroups++] = (patient_group){i, j - i, label};
        class_images[label] += j - i;
        i = j;
    }

    /* Per class: shuffle its patients, take them while that approaches the
     * target image count. */
    cnn_rng rng;
    cnn_rng_seed(&rng, seed);
    for (int c = 0; c < k; c++) {
        int m = 0;
        for (int g = 0; g < ngroups; g++)
            if (groups[g].label == c)
                shuffled[m++] = g;
        for (int i = m - 1; i > 0; i--) {
            int j = (int)(cnn_rng_next(&rng) % (uint64_t)(i + 1));
            int t = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = t;
        }
        double target = val_fraction * class_images[c];
        int taken = 0;
        for (int i = 0; i < m; i++) {
            const patient_group *g = &groups[shuffled[i]];
            if (fabs(taken + g->count - target) < fabs(taken - target)) {
                taken += g->count;
                for (int s = 0; s < g->count; s++)
                    in_val[order[g->first + s].index] = 1;
            }
        }
    }

    if ((st = list_alloc(train, n, err)) != CNN_OK ||
        (st = list_alloc(val, n, err)) != CNN_OK)
        goto done;
    for (int i = 0; i < n; i++) {
        cnn_index_list *side = in_val[i] ? val : train;
        side->index[side->count++] = i;
    }
done:
    if (st != CNN_OK) {
        cnn_index_list_free(train);
        cnn_index_list_free(val);
    }
    free(order);
    free(groups);
    free(votes);
    free(class_images);
    free(shuffled);
    free(in_val);
    return st;
}
