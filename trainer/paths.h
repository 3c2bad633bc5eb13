/* paths.h - small file-system helpers of the trainer. */
#ifndef TRAINER_PATHS_H
#define TRAINER_PATHS_H

#include <stddef.h>

#include "cnn.h"

/* Copies text, cut to fit (for descriptions in fixed-size fields). */
void copy_text(char *dst, size_t size, const char *src);
/* The path of `target` relative to directory `dir` (both must exist; they
 * are resolved with realpath first), e.g. dir runs/inception_v3 and target
 * weights/backbone.safetensors give ../../weights/backbone.safetensors.
 * Falls back to target unchanged when either cannot be resolved. Returns 0,
 * or -1 when the result does not fit in size bytes. */
int path_relative(const char *dir, const char *target, char *out, size_t size);
/* mkdir -p */
cnn_status path_mkdirs(const char *dir, cnn_error *err);
int path_exists(const char *path);
/* 1 when a and b both exist and are the same file (device and inode): a
 * command that writes a new model refuses to replace the one it read. */
int path_same_file(const char *a, const char *b);

#endif
