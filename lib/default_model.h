/* default_model.h - where ./infer and the CGI find the shipped model when
 * none is named: the nearest of
 *   weights/pneumonia.safetensors                           (the repository)
 *   share/pneumonia-detection/weights/pneumonia.safetensors (`make install`)
 * in the program's own directory or a directory above it. So ./infer,
 * build/opt/bin/infer and cgi-bin/predict find the repository's model, and
 * PREFIX/bin/pneumonia-infer and PREFIX/lib/pneumonia-detection/cgi-bin/
 * predict the installed one, wherever PREFIX is (a DESTDIR tree included)
 * and whatever the working directory. */
#ifndef DEFAULT_MODEL_H
#define DEFAULT_MODEL_H

#include <stddef.h>

/* The package's directory under PREFIX/share and PREFIX/lib (mk/install.mk
 * installs there). */
#define DEFAULT_MODEL_PACKAGE "pneumonia-detection"
#define DEFAULT_MODEL_FILE "weights/pneumonia.safetensors"

/* Writes the nearest default model's path to buf; when there is none, the
 * repository form in the program's directory (so that the error names a
 * place it looked). */
void default_model_path(char *buf, size_t size);

#endif
