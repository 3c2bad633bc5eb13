/* analyse_file.c - one image file as ./infer sees it (see analyse_file.h). */
#include <stdio.h>
#include <string.h>

#include "analyse_file.h"
#include "image.h"

cnn_status analyse_file(cnn_model *m, const char *path, int with_heat,
                        analysis *out, cnn_error *err)
{
    memset(out, 0, sizeof *out);
    cnn_image img;
    cnn_status s = cnn_image_load(path, 0, &img, err);
    if (s)
        return s;
    s = analysis_run(m, &img, with_heat, out, err);
    cnn_image_free(&img);
    if (s) {
        char message[sizeof err->message];
        snprintf(message, sizeof message, "%s", err->message);
        cnn_fail(err, s, "%s: %s", path, message);
    }
    return s;
}

int analyse_refused(const analysis *a)
{
    return a->verdict && !strcmp(a->verdict, ANALYSE_REFUSED_VERDICT);
}
