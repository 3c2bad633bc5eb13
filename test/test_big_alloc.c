/* test_big_alloc.c - cnn_big_alloc: alignment, the huge-page rounding,
 * huge pages advised up to 64 MB only, refusal of sizes that would wrap. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
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

/* 1 if the mapping holding p carries MADV_HUGEPAGE ("hg" in its VmFlags
 * in /proc/self/smaps), 0 if not, -1 if smaps cannot tell. */
static int huge_page_advised(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int inside = 0, found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && strncmp(line, "VmFlags:", 8) == 0)
            found = strstr(line, " hg") != NULL;
    }
    fclose(f);
    return found;
}

/* Batch-1 arenas get huge pages, batched ones (above 64 MB) do not. */
START_TEST(test_huge_page_advice_cap)
{
    FILE *thp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!thp)
        return; /* a kernel without THP: madvise is refused, nothing to see */
    fclose(thp);
    void *arena = cnn_big_alloc((size_t)20 << 20);
    void *batched = cnn_big_alloc((size_t)100 << 20);
    ck_assert_ptr_nonnull(arena);
    ck_assert_ptr_nonnull(batched);
    ck_assert_int_eq(huge_page_advised(arena), 1);
    ck_assert_int_eq(huge_page_advised(batched), 0);
    free(arena);
    free(batched);
}
END_TEST

static Suite *big_alloc_suite(void)
{
    Suite *s = suite_create("big_alloc");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, test_big_alloc);
    tcase_add_test(tc, test_huge_page_advice_cap);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(big_alloc_suite());
}
