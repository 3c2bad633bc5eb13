/* multipart.h - a strict, allocation-free parser for multipart/form-data
 * bodies (RFC 7578 on top of RFC 2046), as browsers and curl send them.
 *
 * The parser works on a complete body held in memory and never copies part
 * contents: each part's data points into the body. Delimiter lines must end
 * in CRLF (every browser and curl sends CRLF); a body without its closing
 * delimiter "--boundary--" is reported as truncated. */
#ifndef MULTIPART_H
#define MULTIPART_H

#include <stddef.h>
#include <stdint.h>

/* RFC 2046: a boundary has 1 to 70 characters. */
#define MULTIPART_BOUNDARY_MAX 70
/* More parts than this, or a part header block longer than this, is refused
 * (a real upload form has a handful of parts with short headers). */
#define MULTIPART_MAX_PARTS 16
#define MULTIPART_MAX_HEADER_BYTES 8192

typedef enum {
    MULTIPART_OK = 0,
    MULTIPART_ERR_BOUNDARY,   /* no usable boundary in the Content-Type */
    MULTIPART_ERR_SYNTAX,     /* malformed delimiter or part headers */
    MULTIPART_ERR_TRUNCATED,  /* the body ends before the closing delimiter */
    MULTIPART_ERR_LIMIT       /* too many parts or headers too long */
} multipart_status;

typedef struct {
    char name[128];          /* form field name ("" when absent) */
    char filename[256];      /* client's file name, truncated at a UTF-8
                                character boundary if longer */
    int has_filename;        /* 1 when the part had a filename parameter */
    char content_type[128];  /* "" when absent */
    const uint8_t *data;     /* the part's content, inside the body */
    size_t len;
} multipart_part;

typedef struct {
    int count;
    multipart_part parts[MULTIPART_MAX_PARTS];
} multipart_form;

/* Extracts the boundary parameter of a "multipart/form-data; boundary=..."
 * Content-Type (token or quoted string) into out [MULTIPART_BOUNDARY_MAX+1].
 * Returns MULTIPART_ERR_BOUNDARY when the type is not multipart/form-data or
 * the boundary is missing, empty, too long or holds characters RFC 2046
 * does not allow. */
multipart_status multipart_boundary(const char *content_type, char *out);

/* Splits body [len] into parts. On failure, message (when not NULL, of
 * message_size bytes) says what was wrong, for the error page. */
multipart_status multipart_parse(const uint8_t *body, size_t len,
                                 const char *boundary, multipart_form *form,
                                 char *message, size_t message_size);

/* The first part with this field name, or NULL. */
const multipart_part *multipart_find(const multipart_form *form,
                                     const char *name);

#endif
