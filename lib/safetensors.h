/* safetensors.h - reading and writing safetensors weight files.
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"key": "string", ...},
 *    "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the raw little-endian tensor bytes; offsets are relative to the end of
 * the header. Files are opened with mmap, so tensors can be used in place.
 */
#ifndef CNN_SAFETENSORS_H
#define CNN_SAFETENSORS_H

#include "cnn.h"

typedef enum { CNN_DTYPE_F32, CNN_DTYPE_F16 } cnn_dtype;

typedef struct {
    char *name;
    cnn_dtype dtype;
    int ndim;
    int64_t shape[8];
    size_t count;      /* elements */
    const void *data;  /* inside the mapping; 4-byte aligned when F32 */
} cnn_st_tensor;

typedef struct cnn_st_file cnn_st_file;

/* Maps and validates the whole file: header length within the file, JSON
 * well-formed, known dtypes, shapes matching byte ranges, every range inside
 * the data section, no two ranges overlapping. max_bytes caps the file size
 * (0: no cap). */
cnn_status cnn_st_open(cnn_st_file **out, const char *path, cnn_error *err);
void cnn_st_close(cnn_st_file *f);

int cnn_st_count(const cnn_st_file *f);
const cnn_st_tensor *cnn_st_tensor_at(const cnn_st_file *f, int i);
const cnn_st_tensor *cnn_st_find(const cnn_st_file *f, const char *name);
/* A __metadata__ value, or NULL when absent. */
const char *cnn_st_metadata(const cnn_st_file *f, const char *key);

/* Copies a tensor into dst as float32 (converting F16), after checking that
 * its shape is exactly shape[ndim]; errors name the tensor and both shapes. */
cnn_status cnn_st_read_f32(const cnn_st_file *f, const char *name, int ndim,
                           const int64_t *shape, float *dst, cnn_error *err);

/* Writing: collect tensors and metadata, then save atomically (temporary
 * file in the same directory, fsync, rename). Data is referenced, not
 * copied, until cnn_st_writer_save returns. */
typedef struct cnn_st_writer cnn_st_writer;
cnn_st_writer *cnn_st_writer_new(void);
cnn_status cnn_st_writer_add(cnn_st_writer *w, const char *name,
                             cnn_dtype dtype, int ndim, const int64_t *shape,
                             const void *data, cnn_error *err);
cnn_status cnn_st_writer_metadata(cnn_st_writer *w, const char *key,
                                  const char *value, cnn_error *err);
cnn_status cnn_st_writer_save(cnn_st_writer *w, const char *path,
                              cnn_error *err);
void cnn_st_writer_free(cnn_st_writer *w);

/* float <-> IEEE half conversions (round to nearest even). */
uint16_t cnn_f32_to_f16(float x);
float cnn_f16_to_f32(uint16_t h);

#endif
