/* html.h - the pages the CGI answers with: escaping of echoed text, error
 * pages and the result page (images inline as data: URIs). */
#ifndef HTML_H
#define HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"

/* Writes s with & < > " ' escaped (safe in text and quoted attributes);
 * control characters other than tab and newline become U+FFFD. */
void html_escape(FILE *out, const char *s);

/* A short page: the status, a title and a sentence on what to do. */
void html_error_page(FILE *out, int status, const char *title,
                     const char *detail);

typedef struct {
    const char *filename;         /* as the client sent it (escaped here) */
    const analysis *result;
    const cnn_model_config *model;
    const uint8_t *xray_png;      /* the uploaded X-ray, re-encoded */
    size_t xray_len;
    const uint8_t *heat_png;      /* Grad-CAM over the X-ray */
    size_t heat_len;
    const char *note;             /* shown under the images, or NULL (e.g.
                                     "only the first of 3 frames ...") */
} html_result;

/* The verdict, the probability (never "100.0%" or "0.0%": ">99.9%",
 * "<0.1%"), both images, the notice and the model's details. */
void html_result_page(FILE *out, const html_result *r);
/* For an image the input gate refused (HTTP 422): that the upload does not
 * look like a frontal chest X-ray and why, the notice, the model's details;
 * no verdict, probability or image (r's images are not used). */
void html_refused_page(FILE *out, const html_result *r);

#endif
