/* test_multipart.c - the multipart/form-data parser on hand-written bodies:
 * what browsers and curl send, and the malformed cases the CGI must refuse. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../cgi-bin/multipart.h"
#include "util/suite.h"

static multipart_status parse(const char *body, size_t len, const char *b,
                              multipart_form *form)
{
    char message[200];
    return multipart_parse((const uint8_t *)body, len, b, form, message,
                           sizeof message);
}

#define PARSE(lit, b, form) parse(lit, sizeof(lit) - 1, b, form)

START_TEST(boundary_token_and_quoted)
{
    char b[MULTIPART_BOUNDARY_MAX + 1];
    ck_assert_int_eq(multipart_boundary("multipart/form-data; boundary=abc", b),
                     MULTIPART_OK);
    ck_assert_str_eq(b, "abc");
    ck_assert_int_eq(multipart_boundary(
                         "Multipart/Form-Data;charset=utf-8;  BOUNDARY=\"a b:c\"", b),
                     MULTIPART_OK);
    ck_assert_str_eq(b, "a b:c");
    /* 70 characters is the RFC 2046 maximum. */
    char ct[200];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%070d", 7);
    ck_assert_int_eq(multipart_boundary(ct, b), MULTIPART_OK);
    ck_assert_int_eq((int)strlen(b), 70);
}
END_TEST

START_TEST(boundary_refused)
{
    char b[MULTIPART_BOUNDARY_MAX + 1];
    const char *bad[] = {
        NULL,
        "",
        "multipart/form-data",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"ends with space \"",
        "multipart/form-data; boundary=\"has\001control\"",
        "multipart/mixed; boundary=abc",
        "multipart/form-datax; boundary=abc",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=\"unterminated",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(multipart_boundary(bad[i], b) == MULTIPART_ERR_BOUNDARY,
                      "accepted %s", bad[i] ? bad[i] : "(null)");
    char ct[200];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%071d", 7);
    ck_assert_int_eq(multipart_boundary(ct, b), MULTIPART_ERR_BOUNDARY);
}
END_TEST

START_TEST(two_parts_with_preamble)
{
    static const char body[] =
        "preamble to ignore\r\n"
        "--XX\r\n"
        "Content-Disposition: form-data; name=\"note\"\r\n"
        "\r\n"
        "hello\r\nworld\r\n"
        "--XX  \r\n"
        "content-disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n"
        "Content-Type: image/png\r\n"
        "X-Other: ignored\r\n"
        "\r\n"
        "\x89PNG\r\n\x1a\n\0binary\r\n-XX\r\n"
        "--XX--\r\n"
        "epilogue";
    multipart_form f;
    ck_assert_int_eq(PARSE(body, "XX", &f), MULTIPART_OK);
    ck_assert_int_eq(f.count, 2);
    ck_assert_str_eq(f.parts[0].name, "note");
    ck_assert_int_eq(f.parts[0].has_filename, 0);
    ck_assert_uint_eq(f.parts[0].len, 12);
    ck_assert(memcmp(f.parts[0].data, "hello\r\nworld", 12) == 0);
    const multipart_part *file = multipart_find(&f, "file");
    ck_assert_ptr_nonnull(file);
    ck_assert_str_eq(file->filename, "x.png");
    ck_assert_int_eq(file->has_filename, 1);
    ck_assert_str_eq(file->content_type, "image/png");
    /* Content keeps its CRLFs, NUL and a near-miss delimiter. */
    static const char content[] = "\x89PNG\r\n\x1a\n\0binary\r\n-XX";
    ck_assert_uint_eq(file->len, sizeof content - 1);
    ck_assert(memcmp(file->data, content, sizeof content - 1) == 0);
    ck_assert_ptr_null(multipart_find(&f, "missing"));
}
END_TEST

START_TEST(empty_part_and_no_parts)
{
    multipart_form f;
    ck_assert_int_eq(PARSE("--b\r\nContent-Disposition: form-data; name=f; "
                           "filename=\"\"\r\n\r\n\r\n--b--",
                           "b", &f),
                     MULTIPART_OK);
    ck_assert_int_eq(f.count, 1);
    ck_assert_uint_eq(f.parts[0].len, 0);
    ck_assert_int_eq(f.parts[0].has_filename, 1);
    ck_assert_str_eq(f.parts[0].filename, "");
    ck_assert_int_eq(PARSE("--b--\r\n", "b", &f), MULTIPART_OK);
    ck_assert_int_eq(f.count, 0);
}
END_TEST

START_TEST(filename_escapes)
{
    multipart_form f;
    /* \" and \\ unescape (curl); a lone backslash stays (browsers' paths);
     * HTML is kept as is (escaping is the page's job). */
    ck_assert_int_eq(PARSE("--b\r\nContent-Disposition: form-data; name=\"f\"; "
                           "filename=\"C:\\dir\\a\\\"<b>\\\\.png\"\r\n\r\nx\r\n--b--",
                           "b", &f),
                     MULTIPART_OK);
    ck_assert_str_eq(f.parts[0].filename, "C:\\dir\\a\"<b>\\.png");
}
END_TEST

START_TEST(long_filename_cut_at_character)
{
    /* 300 two-byte characters (600 bytes): cut to whole characters. */
    char body[1024];
    int n = snprintf(body, sizeof body,
                     "--b\r\nContent-Disposition: form-data; name=f; filename=\"");
    for (int i = 0; i < 300; i++) {
        body[n++] = (char)0xC3;
        body[n++] = (char)0xA9;
    }
    n += snprintf(body + n, sizeof body - (size_t)n, "\"\r\n\r\nx\r\n--b--");
    multipart_form f;
    ck_assert_int_eq(parse(body, (size_t)n, "b", &f), MULTIPART_OK);
    size_t len = strlen(f.parts[0].filename);
    ck_assert_uint_eq(len, 254);
    ck_assert_int_eq((unsigned char)f.parts[0].filename[len - 1], 0xA9);
}
END_TEST

START_TEST(truncated_bodies)
{
    multipart_form f;
    ck_assert_int_eq(parse("", 0, "b", &f), MULTIPART_ERR_TRUNCATED);
    ck_assert_int_eq(PARSE("--b", "b", &f), MULTIPART_ERR_TRUNCATED);
    ck_assert_int_eq(PARSE("--b\r\nContent-Disp", "b", &f),
                     MULTIPART_ERR_TRUNCATED);
    ck_assert_int_eq(PARSE("--b\r\nContent-Disposition: form-data; name=f"
                           "\r\n\r\ndata without end",
                           "b", &f),
                     MULTIPART_ERR_TRUNCATED);
    /* The closing delimiter cut in its middle. */
    ck_assert_int_eq(PARSE("--b\r\nContent-Disposition: form-data; name=f"
                           "\r\n\r\ndata\r\n-",
                           "b", &f),
                     MULTIPART_ERR_TRUNCATED);
    /* A different boundary than the body uses. */
    ck_assert_int_eq(PARSE("--b\r\nContent-Disposition: form-data; name=f"
                           "\r\n\r\nx\r\n--b--",
                           "c", &f),
                     MULTIPART_ERR_TRUNCATED);
}
END_TEST

START_TEST(malformed_bodies)
{
    multipart_form f;
    /* Boundary as a prefix of a longer one. */
    ck_assert_int_eq(PARSE("--bb\r\nContent-Disposition: form-data; name=f"
                           "\r\n\r\nx\r\n--bb--",
                           "b", &f),
                     MULTIPART_ERR_SYNTAX);
    /* Bare LF line ends. */
    ck_assert_int_eq(PARSE("--b\nContent-Disposition: form-data; name=f"
                           "\n\nx\n--b--",
                           "b", &f),
                     MULTIPART_ERR_SYNTAX);
    /* No Content-Disposition, or not form-data. */
    ck_assert_int_eq(PARSE("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
                           "b", &f),
                     MULTIPART_ERR_SYNTAX);
    ck_assert_int_eq(PARSE("--b\r\nContent-Disposition: attachment; name=f"
                           "\r\n\r\nx\r\n--b--",
                           "b", &f),
                     MULTIPART_ERR_SYNTAX);
    /* Header without a colon, folded header, bad parameters. */
    ck_assert_int_eq(PARSE("--b\r\nno colon here\r\n\r\nx\r\n--b--", "b", &f),
                     MULTIPART_ERR_SYNTAX);
    ck_assert_int_eq(PARSE("--b\r\nContent-Disposition: form-data;\r\n"
                           " name=f\r\n\r\nx\r\n--b--",
                           "b", &f),
                     MULTIPART_ERR_SYNTAX);
    ck_assert_int_eq(PARSE("--b\r\nContent-Disposition: form-data; name=\"f"
                           "\r\n\r\nx\r\n--b--",
                           "b", &f),
                     MULTIPART_ERR_SYNTAX);
    ck_assert_int_eq(PARSE("--b\r\nContent-Disposition: form-data; name"
                           "\r\n\r\nx\r\n--b--",
                           "b", &f),
                     MULTIPART_ERR_SYNTAX);
}
END_TEST

START_TEST(limits)
{
    /* 17 parts: one over the limit. */
    char body[4096];
    size_t n = 0;
    for (int i = 0; i <= MULTIPART_MAX_PARTS; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "--b\r\nContent-Disposition: form-data; name=p%d"
                              "\r\n\r\nv\r\n", i);
    n += (size_t)snprintf(body + n, sizeof body - n, "--b--");
    multipart_form f;
    ck_assert_int_eq(parse(body, n, "b", &f), MULTIPART_ERR_LIMIT);

    /* A header block longer than the limit (even with the body complete). */
    static char big[MULTIPART_MAX_HEADER_BYTES + 200];
    n = (size_t)snprintf(big, sizeof big, "--b\r\nX-Pad: ");
    memset(big + n, 'a', MULTIPART_MAX_HEADER_BYTES);
    n += MULTIPART_MAX_HEADER_BYTES;
    n += (size_t)snprintf(big + n, sizeof big - n, "\r\n\r\nx\r\n--b--");
    ck_assert_int_eq(parse(big, n, "b", &f), MULTIPART_ERR_LIMIT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("multipart");
    TCase *tc = tcase_create("parser");
    tcase_add_test(tc, boundary_token_and_quoted);
    tcase_add_test(tc, boundary_refused);
    tcase_add_test(tc, two_parts_with_preamble);
    tcase_add_test(tc, empty_part_and_no_parts);
    tcase_add_test(tc, filename_escapes);
    tcase_add_test(tc, long_filename_cut_at_character);
    tcase_add_test(tc, truncated_bodies);
    tcase_add_test(tc, malformed_bodies);
    tcase_add_test(tc, limits);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
