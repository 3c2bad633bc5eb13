/* test_big_alloc.c - cnn_big_alloc: alignment, the huge-page rounding and
 * refusal of sizes that would wrap. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "big_alloc.h"
#include "util/suite.h"

/* Small and huge-page sizes come back aligned (big ones to 2 MB, so that
 * huge pages can back them) and writable end to end;
 * an impossible size is refused, not wrapped around to a tiny buffer. */
START_TEST(test_big_alloc)
{
    const size_t sizes[] = {1, 4096, ((size_t)2 << 20) + 12, (size_t)5 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = cnn_big_alloc(sizes[i]);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 64, 0);
        if (sizes[i] >= ((size_t)2 << 20)) /* whole huge pages */
            ck_assert_uint_eq((uintptr_t)p % ((size_t)2 << 20), 0);
        memset(p, 0xab, sizes[i]);
        ck_assert_uint_eq(p[sizes[i] - 1], 0xab);
        free(p);
    }
    ck_assert_ptr_null(cnn_big_alloc(SIZE_MAX - 100));
}
END_TEST

static Suite *big_alloc_suite(void)
{
    Suite *s = suite_create("big_alloc");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, test_big_alloc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(big_alloc_suite());
}
