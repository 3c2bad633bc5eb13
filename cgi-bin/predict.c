/* predict.c - the upload handler, a CGI/1.1 program (RFC 3875).
 *
 * POST multipart/form-data with the X-ray in the field "xray" (any part with
 * a file name is taken when there is no such field). Answers an HTML result
 * page, or JSON with "Accept: application/json" or "?format=json".
 *
 *   method other than POST         405 (Allow: POST) with a short page
 *                                  pointing to the form
 *   no CONTENT_LENGTH              411
 *   CONTENT_LENGTH over 20 MiB     413, decided before reading anything
 *                                  (a body up to 256 MiB is then read and
 *                                  dropped, never kept)
 *   bad CONTENT_LENGTH, missing or bad boundary, a body shorter than
 *   CONTENT_LENGTH, malformed multipart, no file, an empty file     400
 *   a file that is not a PNG, JPEG or DICOM image we can decode     415
 *   an image over 40 megapixels    413
 *   an image the input gate refuses (not a frontal chest X-ray the
 *   model can judge), or a DICOM file whose header says so (a lateral
 *   view, another body part or modality): a page saying so and why, or the JSON of
 *   ./infer --json (verdict NOT_A_CHEST_XRAY, reason)               422
 *   the model cannot be loaded or run                               500
 *
 * Environment: PNEUMONIA_MODEL (model file; default the repository's
 * weights/pneumonia.safetensors beside cgi-bin/, or the installed one: see
 * default_model.h), CNN_THREADS (threads for the model). The body is read into memory only: nothing is written to disk.
 * Every handled error exits 0 (the error is in the response). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "analysis.h"
#include "cgi.h"
#include "default_model.h"
#include "dicom.h"
#include "html.h"
#include "image.h"
#include "model.h"
#include "multipart.h"

#define MAX_BODY_BYTES ((size_t)20 * 1024 * 1024)
/* A refused body up to this size is read and dropped before answering:
 * fcgiwrap fails the whole request (502) when the CGI leaves its input
 * unread. Bigger ones are left unread (nginx's own limit is below this). */
#define MAX_DRAIN_BYTES ((size_t)256 * 1024 * 1024)
/* Detector X-rays reach about 15 megapixels. Decoding costs up to 20 bytes a
 * pixel (a 16-bit RGBA PNG's rows plus the float image), so this bounds a
 * request's memory near 800 MB whatever a small compressed file claims. */
#define MAX_IMAGE_PIXELS ((size_t)40 * 1000 * 1000)
/* Longest side of the images on the result page. */
#define SHOWN_SIDE 512

/* Sends an HTML or JSON page from a memory stream's contents. */
static void send_stream(const cgi_request *req, int status, char *buf,
                        size_t len)
{
    const char *type = req->format == CGI_FORMAT_JSON
                           ? "application/json"
                           : "text/html; charset=utf-8";
    /* Images come inline as data: URIs and the stylesheet from this site;
     * nothing else may load or run. */
    const char *extra =
        req->format == CGI_FORMAT_JSON
            ? NULL
            : "Content-Security-Policy: default-src 'none'; img-src data:; "
              "style-src 'self'; form-action 'self'; base-uri 'none'; "
              "frame-ancestors 'none'\r\n";
    char headers[512];
    if (status == 405) {
        snprintf(headers, sizeof headers, "Allow: POST\r\n%s", extra ? extra : "");
        extra = headers;
    }
    cgi_respond(stdout, status, type, extra, buf, len);
}

static void fail(const cgi_request *req, int status, const char *title,
                 const char *detail)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        cgi_respond(stdout, 500, "text/plain; charset=utf-8", NULL,
                    "out of memory\n", 14);
        return;
    }
    if (req->format == CGI_FORMAT_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddNumberToObject(e, "status", status);
        cJSON_AddStringToObject(e, "title", title);
        cJSON_AddStringToObject(e, "message", detail);
        char *text = cJSON_PrintUnformatted(o);
        if (text) {
            fprintf(out, "%s\n", text);
            free(text);
        }
        cJSON_Delete(o);
    } else {
        html_error_page(out, status, title, detail);
    }
    fclose(out);
    send_stream(req, status, buf, len);
    free(buf);
}

/* The model file: $PNEUMONIA_MODEL, else the default model's place. */
static void model_path(char *buf, size_t size)
{
    const char *env = getenv("PNEUMONIA_MODEL");
    if (env && *env)
        snprintf(buf, size, "%s", env);
    else
        default_model_path(buf, size);
}

/* Classifies the uploaded image and sends the result page or JSON. */
static void answer(const cgi_request *req, const multipart_part *file)
{
    cnn_error err;
    cnn_image img;
    cnn_dicom_info dicom;
    cnn_status st = cnn_image_decode_ex(file->data, file->len, MAX_IMAGE_PIXELS,
                                        &img, &dicom, &err);
    if (st != CNN_OK) {
        char detail[700];
        snprintf(detail, sizeof detail,
                 "Upload a chest X-ray as a PNG, JPEG or DICOM file (%s).",
                 err.message);
        if (st == CNN_ERR_NOMEM)
            fail(req, 500, "Out of memory",
                 "This is a problem on the server, not with your file. Please "
                 "try again later.");
        else if (st == CNN_ERR_TOO_LARGE)
            fail(req, 413, "The image is too large", detail);
        else
            fail(req, 415, "The file is not an image we can read", detail);
        return;
    }
    char path[PATH_MAX];
    model_path(path, sizeof path);
    cnn_set_threads(0); /* $CNN_THREADS, else all cores */
    cnn_model *m = NULL;
    analysis a = {0};
    int json = req->format == CGI_FORMAT_JSON;
    st = cnn_model_load(&m, path, &err);
    if (st == CNN_OK)
        st = analysis_run(m, &img, dicom.refusal, !json, &a, &err);
    int refused = st == CNN_OK && a.check != CNN_GATE_ACCEPTED;
    uint8_t *xray = NULL, *heat = NULL;
    size_t xray_len = 0, heat_len = 0;
    char note[96];
    snprintf(note, sizeof note, "The DICOM file has %d frames: only the first "
             "was analysed.", dicom.frames);
    if (st == CNN_OK && !json && !refused) {
        analysis plain = a;
        plain.heat = NULL; /* the same image without the overlay */
        st = analysis_png(&plain, &img, SHOWN_SIDE, &xray, &xray_len, &err);
        if (st == CNN_OK)
            st = analysis_png(&a, &img, SHOWN_SIDE, &heat, &heat_len, &err);
    }
    if (st != CNN_OK) {
        fprintf(stderr, "predict: model failure: %s\n", err.message);
        fail(req, 500, "The model could not analyse the image",
             "This is a problem on the server, not with your file. Please try "
             "again later.");
    } else {
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        int written = out != NULL;
        if (out) {
            if (json) {
                cJSON *o = analysis_json(&a, cnn_model_config_of(m),
                                         file->filename);
                char *text = o ? cJSON_PrintUnformatted(o) : NULL;
                if (text)
                    fprintf(out, "%s\n", text);
                written = text != NULL;
                free(text);
                cJSON_Delete(o);
            } else {
                html_result r = {
                    .filename = file->filename,
                    .result = &a,
                    .model = cnn_model_config_of(m),
                    .xray_png = xray,
                    .xray_len = xray_len,
                    .heat_png = heat,
                    .heat_len = heat_len,
                    .note = dicom.frames > 1 ? note : NULL,
                };
                if (refused)
                    html_refused_page(out, &r);
                else
                    html_result_page(out, &r);
            }
            fclose(out);
        }
        if (written)
            send_stream(req, refused ? 422 : 200, buf, len);
        else
            fail(req, 500, "Out of memory", "Please try again later.");
        free(buf);
    }
    free(xray);
    free(heat);
    analysis_free(&a);
    cnn_model_free(m);
    cnn_image_free(&img);
}

int main(void)
{
    cgi_request req;
    cgi_request_from_env(&req);

    if (strcmp(req.method, "POST") != 0) {
        if (req.length_valid && req.content_length <= MAX_DRAIN_BYTES)
            cgi_discard_body(STDIN_FILENO, req.content_length);
        fail(&req, 405, "Use the upload form",
             "This address analyses X-rays sent with POST from the upload "
             "form on the home page.");
        return 0;
    }
    if (!req.has_length) {
        fail(&req, 411, "The request has no length",
             "Send the X-ray with the upload form (a multipart/form-data POST "
             "with Content-Length).");
        return 0;
    }
    if (!req.length_valid) {
        fail(&req, 400, "The request length is not a number",
             "Content-Length must be a decimal number of bytes.");
        return 0;
    }
    if (req.content_length > MAX_BODY_BYTES) {
        if (req.content_length <= MAX_DRAIN_BYTES)
            cgi_discard_body(STDIN_FILENO, req.content_length);
        fail(&req, 413, "The file is too large",
             "Uploads are limited to 20 MB. Chest X-rays as PNG or JPEG are "
             "usually much smaller.");
        return 0;
    }
    char boundary[MULTIPART_BOUNDARY_MAX + 1];
    if (multipart_boundary(req.content_type, boundary) != MULTIPART_OK) {
        cgi_discard_body(STDIN_FILENO, req.content_length);
        fail(&req, 400, "The request is not a form upload",
             "Expected multipart/form-data with a boundary, as the upload "
             "form sends.");
        return 0;
    }
    uint8_t *body = malloc(req.content_length ? req.content_length : 1);
    if (!body) {
        fail(&req, 500, "Out of memory", "Please try again later.");
        return 0;
    }
    size_t got = cgi_read_body(STDIN_FILENO, body, req.content_length);
    char message[200];
    multipart_form form;
    multipart_status ms;
    if (got < req.content_length) {
        snprintf(message, sizeof message,
                 "The upload ended after %zu of %zu bytes. Please try again.",
                 got, req.content_length);
        fail(&req, 400, "The upload is incomplete", message);
    } else if ((ms = multipart_parse(body, got, boundary, &form, message,
                                     sizeof message)) != MULTIPART_OK) {
        fail(&req, 400, "The upload is malformed", message);
    } else {
        const multipart_part *file = multipart_find(&form, "xray");
        for (int i = 0; !file && i < form.count; i++)
            if (form.parts[i].has_filename)
                file = &form.parts[i];
        if (!file)
            fail(&req, 400, "No file was uploaded",
                 "Choose a chest X-ray image in the form, then send it.");
        else if (file->len == 0)
            fail(&req, 400, "The file is empty",
                 "The uploaded file has no content. Choose a chest X-ray "
                 "image (PNG or JPEG).");
        else
            answer(&req, file);
    }
    free(body);
    return 0;
}
