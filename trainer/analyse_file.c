/* analyse_file.c - one image file as ./infer sees it (see analyse_file.h):
 * the same decoding (DICOM included) and the same refusal of a DICOM
 * header that names no frontal chest X-ray. */
#include <stdio.h>
#include <string.h>

#include "analyse_file.h"
#include "dicom.h"
#include "image.h"

cnn_status analyse_file(cnn_model *m, const char *path, int with_heat,
                        analysis *out, cnn_error *err)
{
    memset(out, 0, sizeof *out);
    cnn_image img;
    cnn_dicom_info dicom;
    cnn_status s = cnn_image_load_ex(path, 0, &img, &dicom, err);
    if (s)
        return s;
    s = analysis_run(m, &img, dicom.refusal, with_heat, out, err);
    if (dicom.refusal[0])
        out->reason = NULL; /* it points into dicom, gone on return */
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
    return a->check != CNN_GATE_ACCEPTED;
}
