/* html.c - the CGI's pages (see html.h). All pages share one skeleton that
 * loads /style.css from www/ and nothing from other sites. */
#include "html.h"

#include <math.h>
#include <string.h>

#include "cgi.h"

#define DATASET_CREDIT                                                        \
    "Trained on the chest X-ray set of Kermany, Zhang and Goldbaum (2018), "  \
    "&ldquo;Labeled Optical Coherence Tomography (OCT) and Chest X-Ray "     \
    "Images for Classification&rdquo;, Mendeley Data v2, "                   \
    "doi:10.17632/rscbjbr9sj.2 (CC BY 4.0)."

void html_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            if ((c < 32 && c != '\t' && c != '\n') || c == 127)
                fputs("\xEF\xBF\xBD", out);
            else
                fputc(c, out);
        }
    }
}

static void page_start(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>", out);
    html_escape(out, title);
    fputs(" &ndash; Pneumonia detector</title>\n"
          "<link rel=\"stylesheet\" href=\"/style.css\">\n"
          "</head>\n<body>\n<header><a class=\"home\" href=\"/\">Pneumonia "
          "detector</a></header>\n<main>\n", out);
}

static void page_end(FILE *out)
{
    fputs("<p class=\"again\"><a href=\"/\">Analyse another X-ray</a></p>\n"
          "</main>\n<footer>\n<p>" DATASET_CREDIT "</p>\n"
          "</footer>\n</body>\n</html>\n", out);
}

void html_error_page(FILE *out, int status, const char *title,
                     const char *detail)
{
    page_start(out, title);
    fprintf(out, "<h1>%d %s</h1>\n<p class=\"error\">", status,
            cgi_reason(status));
    html_escape(out, title);
    fputs("</p>\n<p>", out);
    html_escape(out, detail);
    fputs("</p>\n", out);
    page_end(out);
}

static void base64(FILE *out, const uint8_t *p, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        fputc(digits[v >> 18], out);
        fputc(digits[(v >> 12) & 63], out);
        fputc(digits[(v >> 6) & 63], out);
        fputc(digits[v & 63], out);
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        fputc(digits[v >> 18], out);
        fputc(digits[(v >> 12) & 63], out);
        fputc(i + 1 < n ? digits[(v >> 6) & 63] : '=', out);
        fputc('=', out);
    }
}

static void figure(FILE *out, const uint8_t *png, size_t len, const char *alt,
                   const char *caption)
{
    fputs("<figure>\n<img src=\"data:image/png;base64,", out);
    base64(out, png, len);
    fprintf(out, "\" alt=\"%s\">\n<figcaption>%s</figcaption>\n</figure>\n",
            alt, caption);
}

/* p with `decimals` decimals (scaled by 100 when percent), except that a
 * model's probability is never shown as certain: what would print as 100
 * or 0 prints as ">99.9" or "<0.1" (one unit of the last decimal in). */
static void probability_text(char *buf, size_t size, double p, int decimals,
                             int percent)
{
    double scale = percent ? 100.0 : 1.0, unit = pow(10.0, -decimals);
    const char *sign = percent ? "%" : "";
    if (p * scale >= scale - unit / 2)
        snprintf(buf, size, ">%.*f%s", decimals, scale - unit, sign);
    else if (p * scale < unit / 2)
        snprintf(buf, size, "<%.*f%s", decimals, unit, sign);
    else
        snprintf(buf, size, "%.*f%s", decimals, p * scale, sign);
}

/* The model's name, architecture, input size, version and provenance as
 * the first rows of the details list (left open for more rows). */
static void model_details(FILE *out, const html_result *r)
{
    fputs("<dl class=\"details\">\n<dt>File</dt><dd id=\"filename\">", out);
    html_escape(out, r->filename && *r->filename ? r->filename : "(no name)");
    fputs("</dd>\n<dt>Model</dt><dd>", out);
    html_escape(out, r->model->name);
    fputs(" (", out);
    html_escape(out, cnn_arch_name(r->model->arch));
    fputs(", input ", out);
    fprintf(out, "%dx%d)</dd>\n<dt>Version</dt><dd>", r->model->input_size,
            r->model->input_size);
    html_escape(out, r->model->version[0] ? r->model->version : "unversioned");
    if (r->model->provenance[0]) {
        fputs("</dd>\n<dt>Provenance</dt><dd>", out);
        html_escape(out, r->model->provenance);
    }
    fputs("</dd>\n<dt>Input checks</dt><dd id=\"gate\">", out);
    html_escape(out, r->result->gate);
    fputs("</dd>\n", out);
}

void html_refused_page(FILE *out, const html_result *r)
{
    const analysis *a = r->result;
    page_start(out, "Not a frontal chest X-ray");
    fputs("<h1>Not a frontal chest X-ray</h1>\n<section class=\"verdict refused\">\n"
          "<p class=\"label\">The model gives no verdict</p>\n"
          "<p>The upload does not look like a frontal chest X-ray that the "
          "model can judge: <strong id=\"reason\">", out);
    html_escape(out, a->reason);
    fputs("</strong>.</p>\n</section>\n<p>Upload a frontal chest X-ray (the "
          "whole chest, front or back view, as a grey PNG, JPEG or DICOM, at "
          "least ", out);
    fprintf(out, "%d pixels a side). A model judges only what it was trained "
                 "on; for anything else its answer would mean nothing.</p>\n",
            CNN_GATE_MIN_SIDE);
    fputs("<p class=\"notice\"><strong>" ANALYSIS_NOTICE "</strong></p>\n", out);
    model_details(out, r);
    fprintf(out, "<dt>Refused by</dt><dd id=\"check\">%s</dd>\n</dl>\n",
            cnn_gate_check_name(a->check));
    page_end(out);
}

void html_result_page(FILE *out, const html_result *r)
{
    const analysis *a = r->result;
    char shown[32], exact[32];
    probability_text(shown, sizeof shown, a->probability, 1, 1);
    probability_text(exact, sizeof exact, a->probability, 6, 0);
    page_start(out, "Result");
    fprintf(out, "<h1>Result</h1>\n<section class=\"verdict %s\">\n"
                 "<p class=\"label\">The model says</p>\n"
                 "<p class=\"class\" id=\"verdict\">",
            a->positive ? "positive" : "negative");
    html_escape(out, a->verdict);
    fputs("</p>\n<p>Pneumonia probability <strong id=\"probability\">", out);
    html_escape(out, shown);
    fputs("</strong> (the model answers ", out);
    html_escape(out, r->model->class_names[1]); /* from the model file */
    fprintf(out, " from %.1f%%)</p>\n"
                 "<meter min=\"0\" max=\"1\" value=\"%.4f\" low=\"%.4f\" "
                 "optimum=\"0\">", a->threshold * 100.0, a->probability,
            a->threshold);
    html_escape(out, shown);
    fputs("</meter>\n</section>\n", out);
    fputs("<p class=\"notice\"><strong>" ANALYSIS_NOTICE "</strong></p>\n", out);
    fputs("<div class=\"figures\">\n", out);
    figure(out, r->xray_png, r->xray_len, "The uploaded chest X-ray",
           "Uploaded X-ray");
    figure(out, r->heat_png, r->heat_len,
           "Heat map of the regions that raised the pneumonia score",
           "Grad-CAM heat map: red marks regions that raised the pneumonia "
           "score");
    fputs("</div>\n", out);
    if (r->note) {
        fputs("<p class=\"note\" id=\"note\">", out);
        html_escape(out, r->note);
        fputs("</p>\n", out);
    }
    model_details(out, r);
    fprintf(out, "<dt>Threshold</dt><dd id=\"threshold\">%.4f</dd>\n"
                 "<dt>Probability</dt><dd id=\"probability-exact\">", a->threshold);
    html_escape(out, exact);
    fputs("</dd>\n</dl>\n", out);
    page_end(out);
}
