/* safetensors.h - reading and writing safetensors weight files.
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 *   {"__metadata__": {"key": "string", ...},
 *    "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 * then the raw little-endian tensor bytes; offsets are relative to the end of
 * the header. Files are opened with mmap, so tensors can be used in place.
 *
 * Alignment: our writer pads the JSON with spaces so that the data section
 * starts at a multiple of 8, and stores all F32 tensors first, then the F16
 * ones, back to back (no gaps: other readers, e.g. the reference Rust/Python
 * implementation, reject gaps). So every F32 tensor is 4-byte aligned in the
 * mapping and used in place. Files from other writers may have unaligned F32
 * tensors: cnn_st_open then gives those an aligned private copy, so `data`
 * of an F32 tensor is always 4-byte aligned. F16 data may be unaligned in
 * files from others: read it with memcpy or cnn_st_read_f32.
 * Little-endian hosts only.
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
    const void *data;  /* inside the mapping (or an aligned copy, see
                          above); 4-byte aligned when F32 */
} cnn_st_tensor;

typedef struct cnn_st_file cnn_st_file;

/* Maps and validates the whole file: header length within the file, JSON
 * well-formed, known dtypes, shapes matching byte ranges, every range inside
 * the data section, no two ranges overlapping, names unique, header at most
 * 100 MB (else CNN_ERR_TOO_LARGE). Other dtypes (BF16, F64, I8, ...) are
 * rejected with CNN_ERR_UNSUPPORTED naming the tensor; open/map failures
 * with CNN_ERR_IO; every other defect with CNN_ERR_FORMAT. Messages name
 * the file and the problem. Tensors stay valid until cnn_st_close. Gaps
 * between tensors are accepted. */
cnn_status cnn_st_open(cnn_st_file **out, const char *path, cnn_error *err);
void cnn_st_close(cnn_st_file *f);

/* Tensors in header order (0 <= i < count); lookup by name (binary search,
 * NULL when absent). */
int cnn_st_count(const cnn_st_file *f);
const cnn_st_tensor *cnn_st_tensor_at(const cnn_st_file *f, int i);
const cnn_st_tensor *cnn_st_find(const cnn_st_file *f, const char *name);
/* A __metadata__ value, or NULL when absent. */
const char *cnn_st_metadata(const cnn_st_file *f, const char *key);

/* Copies a tensor into dst as float32 (converting F16), after checking that
 * its shape is exactly shape[ndim]; errors name the tensor and both shapes
 * (CNN_ERR_SHAPE), or say that it is missing (CNN_ERR_FORMAT). */
cnn_status cnn_st_read_f32(const cnn_st_file *f, const char *name, int ndim,
                           const int64_t *shape, float *dst, cnn_error *err);

/* Writing: collect tensors and metadata, then save atomically (temporary
 * file <path>.XXXXXX in the same directory, fsync, rename, fsync of the
 * directory; mode 0644). Data is referenced, not copied, until
 * cnn_st_writer_save returns. Adding a tensor name twice is an error
 * (CNN_ERR_ARG); setting a metadata key again replaces its value. The
 * header lists tensors in the order they were added. */
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
/* Removes what saves of path killed before their rename left behind:
 * regular files named <path>.XXXXXX (six letters or digits) in its
 * directory. Only while no other process is saving path. *removed (unless
 * NULL) is how many there were. */
cnn_status cnn_st_remove_temporaries(const char *path, int *removed,
                                     cnn_error *err);

/* float <-> IEEE half conversions (round to nearest even). */
uint16_t cnn_f32_to_f16(float x);
float cnn_f16_to_f32(uint16_t h);

#endif
