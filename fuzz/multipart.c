/* multipart.c - libFuzzer target: the multipart/form-data parser on
 * arbitrary bodies. The first input line (up to LF) is the Content-Type the
 * boundary is taken from, the rest is the body; every part found must lie
 * inside the body (ASan checks the reads). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../cgi-bin/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 200 ? size : 200);
    if (!nl)
        return 0;
    char content_type[201];
    size_t ct_len = (size_t)(nl - data);
    memcpy(content_type, data, ct_len);
    content_type[ct_len] = '\0';
    const uint8_t *body = nl + 1;
    size_t len = size - ct_len - 1;

    char boundary[MULTIPART_BOUNDARY_MAX + 1];
    if (multipart_boundary(content_type, boundary) != MULTIPART_OK)
        return 0;
    multipart_form form;
    char message[200];
    if (multipart_parse(body, len, boundary, &form, message, sizeof message) ==
        MULTIPART_OK) {
        volatile unsigned sum = 0;
        for (int i = 0; i < form.count; i++) {
            const multipart_part *p = &form.parts[i];
            for (size_t j = 0; j < p->len; j++)
                sum += p->data[j];
            sum += (unsigned)strlen(p->name) + (unsigned)strlen(p->filename);
        }
    }
    return 0;
}
