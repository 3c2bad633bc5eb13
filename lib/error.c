/* error.c - readable error reports returned by library functions. */
#include <stdarg.h>
#include <stdio.h>

#include "cnn.h"

cnn_status cnn_fail(cnn_error *err, cnn_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *cnn_status_name(cnn_status code)
{
    switch (code) {
    case CNN_OK: return "ok";
    case CNN_ERR_NOMEM: return "out of memory";
    case CNN_ERR_IO: return "I/O error";
    case CNN_ERR_FORMAT: return "malformed data";
    case CNN_ERR_SHAPE: return "shape mismatch";
    case CNN_ERR_ARG: return "invalid argument";
    case CNN_ERR_UNSUPPORTED: return "unsupported";
    case CNN_ERR_TOO_LARGE: return "too large";
    }
    return "unknown error";
}
