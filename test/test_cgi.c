/* test_cgi.c - CGI request helpers: CONTENT_LENGTH parsing, the choice of
 * HTML or JSON from the query string and Accept, and body reading that
 * never consumes more than CONTENT_LENGTH bytes. */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../cgi-bin/cgi.h"
#include "util/suite.h"

START_TEST(content_length)
{
    size_t n = 7;
    ck_assert(cgi_parse_length("0", &n) && n == 0);
    ck_assert(cgi_parse_length("20971520", &n) && n == 20971520);
    const char *bad[] = {NULL, "", " 5", "5 ", "+5", "-5", "5x", "0x10",
                         "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!cgi_parse_length(bad[i], &n), "accepted %s",
                      bad[i] ? bad[i] : "(null)");
}
END_TEST

START_TEST(format_choice)
{
    /* A browser's default Accept: HTML. */
    ck_assert_int_eq(cgi_choose_format(NULL,
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        CGI_FORMAT_HTML);
    ck_assert_int_eq(cgi_choose_format(NULL, NULL), CGI_FORMAT_HTML);
    ck_assert_int_eq(cgi_choose_format("", "*/*"), CGI_FORMAT_HTML);
    ck_assert_int_eq(cgi_choose_format(NULL, "application/json"), CGI_FORMAT_JSON);
    ck_assert_int_eq(cgi_choose_format(NULL, "Application/JSON; charset=utf-8"),
                     CGI_FORMAT_JSON);
    ck_assert_int_eq(cgi_choose_format(NULL, "text/html;q=0.5, application/json"),
                     CGI_FORMAT_JSON);
    ck_assert_int_eq(cgi_choose_format(NULL, "text/html, application/json;q=0.9"),
                     CGI_FORMAT_HTML);
    ck_assert_int_eq(cgi_choose_format(NULL, "application/json;q=0"), CGI_FORMAT_HTML);
    /* Not a prefix match. */
    ck_assert_int_eq(cgi_choose_format(NULL, "application/jsonx"), CGI_FORMAT_HTML);
    /* The query string wins. */
    ck_assert_int_eq(cgi_choose_format("format=json", "text/html"), CGI_FORMAT_JSON);
    ck_assert_int_eq(cgi_choose_format("a=1&format=json", NULL), CGI_FORMAT_JSON);
    ck_assert_int_eq(cgi_choose_format("format=html", "application/json"),
                     CGI_FORMAT_HTML);
    ck_assert_int_eq(cgi_choose_format("format=jsonp", NULL), CGI_FORMAT_HTML);
    ck_assert_int_eq(cgi_choose_format("xformat=json", NULL), CGI_FORMAT_HTML);
}
END_TEST

START_TEST(reads_only_content_length)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], "0123456789", 10), 10);
    uint8_t buf[16] = {0};
    ck_assert_uint_eq(cgi_read_body(fds[0], buf, 4), 4);
    ck_assert(memcmp(buf, "0123", 4) == 0);
    cgi_discard_body(fds[0], 3);
    /* "456" is gone, "789" is still there; then the input ends early. */
    close(fds[1]);
    ck_assert_uint_eq(cgi_read_body(fds[0], buf, 16), 3);
    ck_assert(memcmp(buf, "789", 3) == 0);
    close(fds[0]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cgi");
    TCase *tc = tcase_create("request");
    tcase_add_test(tc, content_length);
    tcase_add_test(tc, format_choice);
    tcase_add_test(tc, reads_only_content_length);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
