/* cgi.c - CGI/1.1 request variables and responses (see cgi.h). */
#include "cgi.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int cgi_parse_length(const char *s, size_t *out)
{
    if (!s || !*s)
        return 0;
    size_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        size_t d = (size_t)(*s - '0');
        if (v > (SIZE_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* The q-value of one media range "type/sub;q=0.5" (1 when absent). */
static double range_quality(const char *params, size_t n)
{
    const char *p = params, *end = params + n;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            break;
        p = semi + 1;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            char num[8] = "";
            size_t k = 0;
            for (p += 2; p < end && k < sizeof num - 1 && *p != ';'; p++)
                num[k++] = *p;
            num[k] = '\0';
            return strtod(num, NULL);
        }
    }
    return 1.0;
}

/* The q-value Accept gives exactly the media type `type` (0 when absent). */
static double accept_quality(const char *accept, const char *type)
{
    size_t tlen = strlen(type);
    const char *p = accept;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *r = p;
        while (r < p + n && (*r == ' ' || *r == '\t'))
            r++;
        size_t rlen = (size_t)(p + n - r);
        size_t type_len = strcspn(r, ";, \t");
        if (type_len > rlen)
            type_len = rlen;
        if (type_len == tlen && strncasecmp(r, type, tlen) == 0)
            return range_quality(r + type_len, rlen - type_len);
        p += n;
        if (*p == ',')
            p++;
    }
    return 0.0;
}

cgi_format cgi_choose_format(const char *query, const char *accept)
{
    if (query) {
        const char *p = query;
        while (*p) {
            size_t n = strcspn(p, "&;");
            if (n == 11 && strncmp(p, "format=json", 11) == 0)
                return CGI_FORMAT_JSON;
            if (n == 11 && strncmp(p, "format=html", 11) == 0)
                return CGI_FORMAT_HTML;
            p += n;
            if (*p)
                p++;
        }
    }
    if (accept) {
        double json = accept_quality(accept, "application/json");
        double html = accept_quality(accept, "text/html");
        if (json > 0 && json >= html)
            return CGI_FORMAT_JSON;
    }
    return CGI_FORMAT_HTML;
}

void cgi_request_from_env(cgi_request *r)
{
    memset(r, 0, sizeof *r);
    const char *m = getenv("REQUEST_METHOD");
    r->method = m ? m : "";
    r->content_type = getenv("CONTENT_TYPE");
    const char *len = getenv("CONTENT_LENGTH");
    /* RFC 3875: an empty CONTENT_LENGTH is the same as an unset one. */
    r->has_length = len && *len;
    r->length_valid = r->has_length && cgi_parse_length(len, &r->content_length);
    r->format = cgi_choose_format(getenv("QUERY_STRING"), getenv("HTTP_ACCEPT"));
}

/* read(2) that resumes after signals; 0 at the end of input or on error. */
static size_t read_some(int fd, uint8_t *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n >= 0)
            return (size_t)n;
        if (errno != EINTR)
            return 0;
    }
}

size_t cgi_read_body(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        size_t n = read_some(fd, buf + got, len - got);
        if (n == 0)
            break;
        got += n;
    }
    return got;
}

void cgi_discard_body(int fd, size_t len)
{
    uint8_t chunk[65536];
    while (len > 0) {
        size_t n = read_some(fd, chunk, len < sizeof chunk ? len : sizeof chunk);
        if (n == 0)
            break;
        len -= n;
    }
}

const char *cgi_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    }
    return "Error";
}

void cgi_respond(FILE *out, int status, const char *content_type,
                 const char *extra_headers, const char *body, size_t len)
{
    fprintf(out,
            "Status: %d %s\r\n"
            "Content-Type: %s\r\n"
            "Content-Length: %zu\r\n"
            "Cache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "Referrer-Policy: no-referrer\r\n"
            "%s"
            "\r\n",
            status, cgi_reason(status), content_type, len,
            extra_headers ? extra_headers : "");
    fwrite(body, 1, len, out);
    fflush(out);
}
