/* multipart.c - multipart/form-data parsing (see multipart.h).
 *
 * Layout of a body (RFC 2046 section 5.1.1), B being the boundary:
 *   [preamble CRLF] "--" B [padding] CRLF headers CRLF content
 *   CRLF "--" B [padding] CRLF headers CRLF content ...
 *   CRLF "--" B "--" [epilogue]
 * The CRLF before each delimiter belongs to the delimiter, not the content. */
#include "multipart.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static multipart_status fail(char *message, size_t size, multipart_status s,
                             const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static multipart_status fail(char *message, size_t size, multipart_status s,
                             const char *fmt, ...)
{
    if (message && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, size, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* ---------------------------------------------------------------- header values */

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* RFC 2045 token characters (anything printable but tspecials). */
static int is_token_char(char c)
{
    return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?=", c);
}

/* RFC 2046 bchars (the space is allowed too, but not as the last one). */
static int is_boundary_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || (c && strchr("'()+_,-./:=? ", c));
}

/* Copies n bytes of src into dst [size] (NUL-terminated); when they do not
 * fit, cuts before the UTF-8 character that would overflow. */
static void copy_utf8(char *dst, size_t size, const char *src, size_t n)
{
    if (n >= size) {
        n = size - 1;
        /* Back up over continuation bytes (10xxxxxx) to a character start. */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Reads one "; name=value" parameter at *p (a NUL-terminated header value).
 * value is a token or a quoted string; inside quotes \" and \\ stand for "
 * and \, while any other backslash is literal (browsers send Windows paths
 * unescaped). Returns 1 with a parameter, 0 at the end, -1 on bad syntax. */
static int next_param(const char **p, char *name, size_t name_size,
                      char *value, size_t value_size)
{
    const char *s = *p;
    while (is_space(*s))
        s++;
    if (*s == '\0')
        return 0;
    if (*s != ';')
        return -1;
    s++;
    while (is_space(*s))
        s++;
    const char *n0 = s;
    while (is_token_char(*s))
        s++;
    if (s == n0)
        return -1;
    copy_utf8(name, name_size, n0, (size_t)(s - n0));
    while (is_space(*s))
        s++;
    if (*s != '=')
        return -1;
    s++;
    while (is_space(*s))
        s++;

    /* Unescaped value, built in a bounded scratch copy. */
    char buf[1024];
    size_t len = 0;
    if (*s == '"') {
        s++;
        for (;;) {
            char c = *s;
            if (c == '\0')
                return -1; /* unterminated quoted string */
            if (c == '"') {
                s++;
                break;
            }
            if (c == '\\' && (s[1] == '"' || s[1] == '\\')) {
                c = s[1];
                s++;
            }
            s++;
            if (len < sizeof buf)
                buf[len++] = c;
        }
    } else {
        while (is_token_char(*s)) {
            if (len < sizeof buf)
                buf[len++] = *s;
            s++;
        }
        if (len == 0)
            return -1;
    }
    copy_utf8(value, value_size, buf, len);
    *p = s;
    return 1;
}

/* Skips the media type at s if it is `type` (case-insensitive); returns the
 * rest (parameters) or NULL. */
static const char *match_type(const char *s, const char *type)
{
    while (is_space(*s))
        s++;
    size_t n = strlen(type);
    if (strncasecmp(s, type, n) != 0)
        return NULL;
    s += n;
    if (*s != '\0' && *s != ';' && !is_space(*s))
        return NULL;
    return s;
}

multipart_status multipart_boundary(const char *content_type, char *out)
{
    out[0] = '\0';
    if (!content_type)
        return MULTIPART_ERR_BOUNDARY;
    const char *p = match_type(content_type, "multipart/form-data");
    if (!p)
        return MULTIPART_ERR_BOUNDARY;
    char name[32], value[MULTIPART_BOUNDARY_MAX + 2];
    int r;
    while ((r = next_param(&p, name, sizeof name, value, sizeof value)) == 1) {
        if (strcasecmp(name, "boundary") != 0)
            continue;
        size_t n = strlen(value);
        /* value holds up to 71 characters, so 71 means "too long". */
        if (n == 0 || n > MULTIPART_BOUNDARY_MAX || value[n - 1] == ' ')
            return MULTIPART_ERR_BOUNDARY;
        for (size_t i = 0; i < n; i++)
            if (!is_boundary_char(value[i]))
                return MULTIPART_ERR_BOUNDARY;
        memcpy(out, value, n + 1);
        return MULTIPART_OK;
    }
    return MULTIPART_ERR_BOUNDARY;
}

/* ---------------------------------------------------------------- part headers */

/* Interprets one header line "Name: value" (NUL-terminated) into part. */
static multipart_status parse_header(char *line, multipart_part *part,
                                     int *has_disposition, char *message,
                                     size_t message_size)
{
    char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return fail(message, message_size, MULTIPART_ERR_SYNTAX,
                    "a part header line has no field name");
    for (char *c = line; c < colon; c++)
        if (!is_token_char(*c))
            return fail(message, message_size, MULTIPART_ERR_SYNTAX,
                        "a part header has an invalid field name");
    *colon = '\0';
    const char *value = colon + 1;

    if (strcasecmp(line, "Content-Type") == 0) {
        while (is_space(*value))
            value++;
        copy_utf8(part->content_type, sizeof part->content_type, value,
                  strlen(value));
        return MULTIPART_OK;
    }
    if (strcasecmp(line, "Content-Disposition") != 0)
        return MULTIPART_OK; /* other headers do not matter here */

    const char *p = match_type(value, "form-data");
    if (!p)
        return fail(message, message_size, MULTIPART_ERR_SYNTAX,
                    "a part's Content-Disposition is not form-data");
    *has_disposition = 1;
    char name[32], v[512];
    int r;
    while ((r = next_param(&p, name, sizeof name, v, sizeof v)) == 1) {
        if (strcasecmp(name, "name") == 0) {
            copy_utf8(part->name, sizeof part->name, v, strlen(v));
        } else if (strcasecmp(name, "filename") == 0) {
            copy_utf8(part->filename, sizeof part->filename, v, strlen(v));
            part->has_filename = 1;
        }
    }
    if (r < 0)
        return fail(message, message_size, MULTIPART_ERR_SYNTAX,
                    "a part's Content-Disposition parameters are malformed");
    return MULTIPART_OK;
}

/* Parses the header block starting at body[*pos] up to and including the
 * empty line; leaves *pos at the first content byte. */
static multipart_status parse_headers(const uint8_t *body, size_t len,
                                      size_t *pos, multipart_part *part,
                                      char *message, size_t message_size)
{
    size_t start = *pos, p = *pos;
    int has_disposition = 0;
    for (;;) {
        size_t avail = len - p;
        size_t budget = MULTIPART_MAX_HEADER_BYTES - (p - start);
        size_t window = avail < budget ? avail : budget;
        const uint8_t *eol = memmem(body + p, window, "\r\n", 2);
        if (!eol) {
            if (avail <= budget)
                return fail(message, message_size, MULTIPART_ERR_TRUNCATED,
                            "the body ends inside a part's headers");
            return fail(message, message_size, MULTIPART_ERR_LIMIT,
                        "a part's headers are longer than %d bytes",
                        MULTIPART_MAX_HEADER_BYTES);
        }
        size_t n = (size_t)(eol - (body + p));
        if (n == 0) { /* the empty line: headers end */
            *pos = p + 2;
            break;
        }
        char line[MULTIPART_MAX_HEADER_BYTES + 1];
        memcpy(line, body + p, n);
        line[n] = '\0';
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)line[i];
            if ((c < 32 && c != '\t') || c == 127)
                return fail(message, message_size, MULTIPART_ERR_SYNTAX,
                            "a part header holds a control character");
        }
        if (is_space(line[0]))
            return fail(message, message_size, MULTIPART_ERR_SYNTAX,
                        "folded part header lines are not supported");
        multipart_status s = parse_header(line, part, &has_disposition,
                                          message, message_size);
        if (s != MULTIPART_OK)
            return s;
        p += n + 2;
    }
    if (!has_disposition)
        return fail(message, message_size, MULTIPART_ERR_SYNTAX,
                    "a part has no Content-Disposition: form-data header");
    return MULTIPART_OK;
}

/* ---------------------------------------------------------------- body */

multipart_status multipart_parse(const uint8_t *body, size_t len,
                                 const char *boundary, multipart_form *form,
                                 char *message, size_t message_size)
{
    memset(form, 0, sizeof *form);
    if (message && message_size)
        message[0] = '\0';
    size_t blen = strlen(boundary);
    if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX)
        return fail(message, message_size, MULTIPART_ERR_BOUNDARY,
                    "the boundary is empty or too long");

    /* delim = CRLF "--" boundary; the first one may lack its CRLF. */
    char delim[MULTIPART_BOUNDARY_MAX + 5];
    size_t dlen = (size_t)snprintf(delim, sizeof delim, "\r\n--%s", boundary);

    size_t pos;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        pos = dlen - 2;
    } else {
        const uint8_t *d = len ? memmem(body, len, delim, dlen) : NULL;
        if (!d)
            return fail(message, message_size, MULTIPART_ERR_TRUNCATED,
                        "the body holds no boundary delimiter");
        pos = (size_t)(d - body) + dlen;
    }

    for (;;) {
        /* Just after a delimiter: "--" closes, else padding and CRLF. */
        if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
            return MULTIPART_OK;
        while (pos < len && is_space((char)body[pos]))
            pos++;
        if (len - pos < 2)
            return fail(message, message_size, MULTIPART_ERR_TRUNCATED,
                        "the body ends after a boundary delimiter");
        if (body[pos] != '\r' || body[pos + 1] != '\n')
            return fail(message, message_size, MULTIPART_ERR_SYNTAX,
                        "a boundary delimiter is not followed by CRLF");
        pos += 2;

        if (form->count == MULTIPART_MAX_PARTS)
            return fail(message, message_size, MULTIPART_ERR_LIMIT,
                        "more than %d parts", MULTIPART_MAX_PARTS);
        multipart_part *part = &form->parts[form->count];
        multipart_status s = parse_headers(body, len, &pos, part, message,
                                           message_size);
        if (s != MULTIPART_OK)
            return s;

        const uint8_t *end = memmem(body + pos, len - pos, delim, dlen);
        if (!end)
            return fail(message, message_size, MULTIPART_ERR_TRUNCATED,
                        "the body ends inside a part (no closing boundary)");
        part->data = body + pos;
        part->len = (size_t)(end - (body + pos));
        form->count++;
        pos = (size_t)(end - body) + dlen;
    }
}

const multipart_part *multipart_find(const multipart_form *form,
                                     const char *name)
{
    for (int i = 0; i < form->count; i++)
        if (strcmp(form->parts[i].name, name) == 0)
            return &form->parts[i];
    return NULL;
}
