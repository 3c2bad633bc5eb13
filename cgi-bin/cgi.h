/* cgi.h - the CGI/1.1 side of a request (RFC 3875): the request meta-variables
 * the upload handler needs, reading the body, and writing a response with a
 * "Status:" header. */
#ifndef CGI_H
#define CGI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CGI_FORMAT_HTML, CGI_FORMAT_JSON } cgi_format;

typedef struct {
    const char *method;        /* REQUEST_METHOD ("" when unset) */
    const char *content_type;  /* CONTENT_TYPE (NULL when unset) */
    int has_length;            /* CONTENT_LENGTH was set */
    int length_valid;          /* ... and is a decimal number that fits */
    size_t content_length;
    cgi_format format;         /* from QUERY_STRING format=, else Accept */
} cgi_request;

/* Reads the meta-variables from the environment. */
void cgi_request_from_env(cgi_request *r);

/* Parses a CONTENT_LENGTH value (1*digit, RFC 3875 4.1.2) into *out;
 * returns 0 for anything else (signs, spaces, overflow, empty). */
int cgi_parse_length(const char *s, size_t *out);

/* The answer format a client asked for: "format=json" / "format=html" in
 * the query string wins; otherwise JSON when the Accept header lists
 * application/json with a q-value above 0 and at least that of text/html
 * (a browser's default Accept thus gets HTML). */
cgi_format cgi_choose_format(const char *query, const char *accept);

/* Reads up to len bytes of the body from file descriptor fd into buf;
 * returns how many were read (fewer when the body ends early). Uses read(2),
 * not stdio, so that not a byte past len is consumed. */
size_t cgi_read_body(int fd, uint8_t *buf, size_t len);

/* Reads and drops up to len bytes (so that a server that streams the body
 * is not left writing into a closed pipe). Never reads past len. */
void cgi_discard_body(int fd, size_t len);

/* The reason phrase for the status codes the handler uses. */
const char *cgi_reason(int status);

/* Writes the CGI response: Status, Content-Type, Content-Length, headers
 * that stop caching and sniffing, extra_headers (complete "Name: value\r\n"
 * lines or NULL), a blank line, then the body. */
void cgi_respond(FILE *out, int status, const char *content_type,
                 const char *extra_headers, const char *body, size_t len);

#endif
