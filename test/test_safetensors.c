/* test_safetensors.c - safetensors files: write -> read round trips are
 * bit-exact (F32 and F16) and laid out as documented (data section 8-aligned,
 * F32 tensors 4-aligned, no gaps); half-float conversion against hand-worked
 * IEEE values; a file written by numpy with unaligned tensors
 * (test/fixtures/weights/foreign.safetensors); and malformed files (built
 * byte by byte in a temporary directory), each rejected with a clear error. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnn.h"
#include "safetensors.h"
#include "util/golden.h"
#include "util/suite.h"
#include "util/tmpdir.h"

static int count_files(void)
{
    DIR *d = opendir(tmpdir_name());
    ck_assert(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- half floats */

START_TEST(half_conversion_known_values)
{
    /* value, IEEE binary16 bits (worked out by hand from the format) */
    static const struct { float x; uint16_t h; } cases[] = {
        {0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3c00}, {-2.0f, 0xc000},
        {0.5f, 0x3800}, {65504.0f, 0x7bff},        /* largest finite */
        {0x1p-14f, 0x0400},                        /* smallest normal */
        {0x1p-24f, 0x0001},                        /* smallest subnormal */
        {0x1.ff8p-15f, 0x03ff},                    /* largest subnormal */
        {0.1f, 0x2e66},                            /* rounds down */
        {1.0f + 0x1p-11f, 0x3c00},                 /* tie -> even (down) */
        {1.0f + 3 * 0x1p-11f, 0x3c02},             /* tie -> even (up) */
        {65520.0f, 0x7c00},                        /* rounds up to inf */
        {1e10f, 0x7c00}, {-1e10f, 0xfc00},
        {0x1p-25f, 0x0000},                        /* tie -> even: zero */
        {0x1.8p-25f, 0x0001},                      /* above the tie */
        {0x1.8p-24f, 0x0002},                      /* 1.5 ulp tie -> 2 */
        {INFINITY, 0x7c00}, {-INFINITY, 0xfc00},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(cnn_f32_to_f16(cases[i].x) == cases[i].h,
                      "f32->f16(%a) = 0x%04x, want 0x%04x", cases[i].x,
                      cnn_f32_to_f16(cases[i].x), cases[i].h);
    }
    /* exact values convert back exactly */
    ck_assert(cnn_f16_to_f32(0x0001) == 0x1p-24f);
    ck_assert(cnn_f16_to_f32(0x03ff) == 0x1.ff8p-15f);
    ck_assert(cnn_f16_to_f32(0x7bff) == 65504.0f);
    ck_assert(cnn_f16_to_f32(0xc000) == -2.0f);
    ck_assert(isnan(cnn_f16_to_f32(cnn_f32_to_f16(NAN))));
    /* every finite half survives half -> float -> half */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00)
            continue;
        ck_assert_msg(cnn_f32_to_f16(cnn_f16_to_f32((uint16_t)h)) == h,
                      "half 0x%04x does not survive a round trip", h);
    }
}
END_TEST

/* ---------------------------------------------------------------- round trips */

static uint64_t read_u64_le(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

START_TEST(round_trip_is_bit_exact)
{
    make_tmpdir("test_safetensors");
    /* F16 first with an odd element count, so a naive writer would leave the
     * F32 tensors after it unaligned. Odd float bit patterns included. */
    float a[2 * 3 * 5];
    for (int i = 0; i < 30; i++)
        a[i] = (float)(i * 0.37 - 4.1);
    uint32_t special[4] = {0x7fc00001u, 0x80000000u, 0x00000001u, 0x7f7fffffu};
    memcpy(a, special, sizeof special); /* NaN payload, -0, subnormal, max */
    uint16_t h[3] = {0x3c00, 0x8001, 0x7e00};
    float scalar = 42.5f;
    float c[7];
    for (int i = 0; i < 7; i++)
        c[i] = 1.0f / (float)(i + 1);

    cnn_error err;
    cnn_st_writer *w = cnn_st_writer_new();
    ck_assert(w != NULL);
    int64_t sh_h[1] = {3}, sh_a[3] = {2, 3, 5}, sh_c[2] = {7, 1}, sh_e[2] = {0, 4};
    ck_assert(cnn_st_writer_add(w, "half/odd", CNN_DTYPE_F16, 1, sh_h, h, &err) == CNN_OK);
    ck_assert(cnn_st_writer_add(w, "conv2d_1/kernel", CNN_DTYPE_F32, 3, sh_a, a, &err) == CNN_OK);
    ck_assert(cnn_st_writer_add(w, "scalar", CNN_DTYPE_F32, 0, NULL, &scalar, &err) == CNN_OK);
    ck_assert(cnn_st_writer_add(w, "empty", CNN_DTYPE_F32, 2, sh_e, NULL, &err) == CNN_OK);
    ck_assert(cnn_st_writer_add(w, "c", CNN_DTYPE_F32, 2, sh_c, c, &err) == CNN_OK);
    ck_assert(cnn_st_writer_add(w, "c", CNN_DTYPE_F32, 2, sh_c, c, &err) == CNN_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "twice"));
    ck_assert(cnn_st_writer_metadata(w, "architecture", "inception_v3", &err) == CNN_OK);
    ck_assert(cnn_st_writer_metadata(w, "quote", "a \"b\"\n\\c", &err) == CNN_OK);
    ck_assert(cnn_st_writer_metadata(w, "architecture", "vgg16", &err) == CNN_OK);
    const char *path = tmp_path("rt.safetensors");
    ck_assert_msg(cnn_st_writer_save(w, path, &err) == CNN_OK, "%s", err.message);
    cnn_st_writer_free(w);
    ck_assert_int_eq(count_files(), 1); /* no temporary file left behind */

    /* layout, checked on the raw bytes */
    FILE *fp = fopen(path, "rb");
    ck_assert(fp != NULL);
    unsigned char raw[4096];
    size_t size = fread(raw, 1, sizeof raw, fp);
    fclose(fp);
    uint64_t n = read_u64_le(raw);
    ck_assert_int_eq((8 + n) % 8, 0);
    size_t data_bytes = sizeof a + sizeof scalar + sizeof c + sizeof h;
    ck_assert_uint_eq(size, 8 + n + data_bytes); /* no gaps, nothing extra */
    ck_assert(raw[8] == '{');

    cnn_st_file *f;
    ck_assert_msg(cnn_st_open(&f, path, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(cnn_st_count(f), 5);
    const char *order[5] = {"half/odd", "conv2d_1/kernel", "scalar", "empty", "c"};
    for (int i = 0; i < 5; i++) {
        const cnn_st_tensor *t = cnn_st_tensor_at(f, i);
        ck_assert_str_eq(t->name, order[i]);
        if (t->dtype == CNN_DTYPE_F32)
            ck_assert_int_eq((uintptr_t)t->data % 4, 0);
    }
    const cnn_st_tensor *t = cnn_st_find(f, "conv2d_1/kernel");
    ck_assert(t && t->dtype == CNN_DTYPE_F32 && t->ndim == 3 && t->count == 30);
    ck_assert(t->shape[0] == 2 && t->shape[1] == 3 && t->shape[2] == 5);
    ck_assert(memcmp(t->data, a, sizeof a) == 0);
    t = cnn_st_find(f, "half/odd");
    ck_assert(t && t->dtype == CNN_DTYPE_F16 && t->count == 3);
    ck_assert(memcmp(t->data, h, sizeof h) == 0);
    t = cnn_st_find(f, "scalar");
    ck_assert(t && t->ndim == 0 && t->count == 1 && *(const float *)t->data == 42.5f);
    t = cnn_st_find(f, "empty");
    ck_assert(t && t->count == 0 && t->ndim == 2 && t->shape[0] == 0);
    ck_assert(cnn_st_find(f, "nope") == NULL);
    ck_assert_str_eq(cnn_st_metadata(f, "architecture"), "vgg16");
    ck_assert_str_eq(cnn_st_metadata(f, "quote"), "a \"b\"\n\\c");
    ck_assert(cnn_st_metadata(f, "missing") == NULL);

    float got[30];
    ck_assert(cnn_st_read_f32(f, "conv2d_1/kernel", 3, sh_a, got, &err) == CNN_OK);
    ck_assert(memcmp(got, a, sizeof a) == 0);
    float gh[3];
    ck_assert(cnn_st_read_f32(f, "half/odd", 1, sh_h, gh, &err) == CNN_OK);
    ck_assert(gh[0] == 1.0f && gh[1] == -0x1p-24f && isnan(gh[2]));
    cnn_st_close(f);

    /* overwriting an existing file replaces it */
    w = cnn_st_writer_new();
    ck_assert(cnn_st_writer_add(w, "only", CNN_DTYPE_F32, 2, sh_c, c, &err) == CNN_OK);
    ck_assert(cnn_st_writer_save(w, path, &err) == CNN_OK);
    cnn_st_writer_free(w);
    ck_assert(cnn_st_open(&f, path, &err) == CNN_OK);
    ck_assert_int_eq(cnn_st_count(f), 1);
    ck_assert(cnn_st_metadata(f, "architecture") == NULL);
    cnn_st_close(f);
    ck_assert_int_eq(count_files(), 1);

    /* a directory that does not exist: a clear I/O error */
    w = cnn_st_writer_new();
    ck_assert(cnn_st_writer_save(w, "/nonexistent-dir/x.safetensors", &err) == CNN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent-dir/x.safetensors"));
    cnn_st_writer_free(w);
    remove_tmpdir();
}
END_TEST

/* Temporaries a killed save left: only <path>.XXXXXX regular files go. */
START_TEST(stale_temporaries_are_removed)
{
    make_tmpdir("test_safetensors");
    static const char *const keep[] = {
        "m.safetensors", "m.safetensors.Ab3xY", "m.safetensors.Ab3xY-",
        "m.safetensors.Ab3xYz.x", "n.safetensors.Ab3xYz", "m.safetensorsAb3xYz"};
    static const char *const stale[] = {"m.safetensors.Ab3xYz",
                                        "m.safetensors.000000"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        fclose(fopen(tmp_path(keep[i]), "w"));
    for (size_t i = 0; i < sizeof stale / sizeof *stale; i++)
        fclose(fopen(tmp_path(stale[i]), "w"));
    ck_assert_int_eq(mkdir(tmp_path("m.safetensors.Dir123"), 0755), 0);
    ck_assert_int_eq(symlink("m.safetensors", tmp_path("m.safetensors.Lnk123")), 0);
    int removed = -1;
    cnn_error err;
    ck_assert_int_eq(cnn_st_remove_temporaries(tmp_path("m.safetensors"), &removed,
                                               &err), CNN_OK);
    ck_assert_int_eq(removed, 2);
    for (size_t i = 0; i < sizeof stale / sizeof *stale; i++)
        ck_assert_int_ne(access(tmp_path(stale[i]), F_OK), 0);
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        ck_assert_int_eq(access(tmp_path(keep[i]), F_OK), 0);
    ck_assert_int_eq(count_files(), 8);
    ck_assert_int_eq(rmdir(tmp_path("m.safetensors.Dir123")), 0);
    ck_assert_int_eq(cnn_st_remove_temporaries("/nonexistent-dir/m.safetensors",
                                               NULL, &err), CNN_ERR_IO);
    remove_tmpdir();
}
END_TEST

START_TEST(reads_a_file_written_elsewhere)
{
    golden_file *g = golden_load("test/golden/weights.bin");
    cnn_error err;
    cnn_st_file *f;
    ck_assert_msg(cnn_st_open(&f, "test/fixtures/weights/foreign.safetensors", &err) == CNN_OK,
                  "%s", err.message);
    ck_assert_int_eq(cnn_st_count(f), 3);
    ck_assert_str_eq(cnn_st_tensor_at(f, 0)->name, "a"); /* header order */
    ck_assert_str_eq(cnn_st_metadata(f, "note"), "written by numpy");
    const char *names[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        char key[64];
        snprintf(key, sizeof key, "foreign/%s", names[i]);
        const golden_array *want = golden_get(g, key);
        const cnn_st_tensor *t = cnn_st_find(f, names[i]);
        ck_assert(t != NULL);
        if (t->dtype == CNN_DTYPE_F32) /* unaligned in the file: copied */
            ck_assert_int_eq((uintptr_t)t->data % 4, 0);
        int64_t shape[8];
        for (int d = 0; d < want->ndim; d++)
            shape[d] = want->dims[d];
        float got[16];
        ck_assert(cnn_st_read_f32(f, names[i], want->ndim, shape, got, &err) == CNN_OK);
        ck_assert_msg(memcmp(got, want->data, want->count * 4) == 0, "%s differs", key);
    }
    cnn_st_close(f);
    golden_free(g);
}
END_TEST

/* ---------------------------------------------------------------- malformed */

/* Writes a file: u64 header length n, header_bytes bytes of header (which
 * may hold NUL bytes), then data_len bytes of data. */
static const char *write_bytes(const char *name, uint64_t n, const char *header,
                               size_t header_bytes, size_t data_len)
{
    const char *path = tmp_path(name);
    FILE *fp = fopen(path, "wb");
    ck_assert(fp != NULL);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(n >> (8 * i));
    fwrite(len, 1, 8, fp);
    fwrite(header, 1, header_bytes, fp);
    for (size_t i = 0; i < data_len; i++)
        fputc((int)(i * 7), fp);
    fclose(fp);
    return path;
}

/* The same with a header text (header_len < 0: its real length). */
static const char *write_raw(const char *name, long long header_len,
                             const char *header, size_t data_len)
{
    uint64_t n = header_len < 0 ? strlen(header) : (uint64_t)header_len;
    return write_bytes(name, n, header, strlen(header), data_len);
}

static void expect_rejected(const char *path, cnn_status code,
                            const char *words)
{
    cnn_error err = {0};
    cnn_st_file *f = (cnn_st_file *)1;
    cnn_status st = cnn_st_open(&f, path, &err);
    ck_assert_msg(st == code, "%s: got %s (%s), want %s", path,
                  cnn_status_name(st), err.message, cnn_status_name(code));
    ck_assert(f == NULL);
    ck_assert_msg(strstr(err.message, words) != NULL,
                  "message '%s' lacks '%s'", err.message, words);
    ck_assert_msg(strstr(err.message, path) != NULL,
                  "message '%s' does not name the file", err.message);
}

#define T(name, shape, b, e) \
    "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

START_TEST(rejects_malformed_files)
{
    make_tmpdir("test_safetensors");
    const char *good = "{" T("x", "[2,2]", 0, 16) "}";
    cnn_error err;
    cnn_st_file *f;
    ck_assert(cnn_st_open(&f, write_raw("good", -1, good, 16), &err) == CNN_OK);
    cnn_st_close(f);

    /* truncated: inside the length, inside the header, inside the data */
    FILE *fp = fopen(tmp_path("tiny"), "wb");
    fwrite("\x10\0\0", 1, 3, fp);
    fclose(fp);
    expect_rejected(tmp_path("tiny"), CNN_ERR_FORMAT, "truncated");
    expect_rejected(write_raw("cut_header", (long long)strlen(good), "{\"x\":{\"dty", 0),
                    CNN_ERR_FORMAT, "larger than the rest of the file");
    expect_rejected(write_raw("cut_data", -1, good, 15), CNN_ERR_FORMAT,
                    "beyond the data section");
    expect_rejected(write_raw("huge_len", 1LL << 62, good, 16), CNN_ERR_FORMAT,
                    "header length");
    ck_assert(cnn_st_open(&f, tmp_path("absent"), &err) == CNN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "cannot open"));

    /* the JSON itself */
    expect_rejected(write_raw("bad_json", -1, "{\"x\":{\"dtype\":\"F32\",", 16),
                    CNN_ERR_FORMAT, "not valid JSON");
    expect_rejected(write_raw("garbage_after", -1, "{} x", 0), CNN_ERR_FORMAT,
                    "after the header");
    expect_rejected(write_raw("not_object", -1, "[1,2]", 0), CNN_ERR_FORMAT,
                    "not a JSON object");
    expect_rejected(write_raw("entry_not_object", -1, "{\"x\":3}", 0),
                    CNN_ERR_FORMAT, "not a JSON object");
    expect_rejected(write_raw("no_dtype", -1,
                              "{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                    CNN_ERR_FORMAT, "\"dtype\"");
    expect_rejected(write_raw("extra_field", -1,
                              "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
                              "\"data_offsets\":[0,4],\"zz\":1}}", 4),
                    CNN_ERR_FORMAT, "unknown field 'zz'");
    expect_rejected(write_raw("meta_number", -1, "{\"__metadata__\":{\"k\":1}}", 0),
                    CNN_ERR_FORMAT, "not a string");

    /* dtypes, shapes, offsets */
    expect_rejected(write_raw("bf16", -1,
                              "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],"
                              "\"data_offsets\":[0,4]}}", 4),
                    CNN_ERR_UNSUPPORTED, "only F32 and F16");
    expect_rejected(write_raw("wrong_shape", -1, "{" T("x", "[2,3]", 0, 16) "}", 24),
                    CNN_ERR_FORMAT, "data_offsets span 16");
    expect_rejected(write_raw("negative_dim", -1, "{" T("x", "[-1,4]", 0, 16) "}", 16),
                    CNN_ERR_FORMAT, "non-negative integers");
    expect_rejected(write_raw("fraction_dim", -1, "{" T("x", "[1.5]", 0, 4) "}", 16),
                    CNN_ERR_FORMAT, "non-negative integers");
    expect_rejected(write_raw("beyond_end", -1, "{" T("x", "[2,2]", 8, 24) "}", 16),
                    CNN_ERR_FORMAT, "beyond the data section");
    expect_rejected(write_raw("reversed", -1, "{" T("x", "[0]", 8, 4) "}", 16),
                    CNN_ERR_FORMAT, "end before they begin");
    expect_rejected(write_raw("one_offset", -1,
                              "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],"
                              "\"data_offsets\":[0]}}", 4),
                    CNN_ERR_FORMAT, "two non-negative integers");
    expect_rejected(write_raw("overflow_shape", -1,
                              "{" T("x", "[4294967296,4294967296,16]", 0, 16) "}", 16),
                    CNN_ERR_FORMAT, "absurdly large");
    expect_rejected(write_raw("overlap", -1,
                              "{" T("x", "[2,2]", 0, 16) "," T("y", "[2]", 12, 20) "}", 20),
                    CNN_ERR_FORMAT, "overlap");
    expect_rejected(write_raw("duplicate", -1,
                              "{" T("x", "[2]", 0, 8) "," T("x", "[2]", 8, 16) "}", 16),
                    CNN_ERR_FORMAT, "appears twice");

    /* NUL bytes, raw or escaped, would cut names short: refused as such */
    static const char nul_name[] = "{\"x\0y\":{\"dtype\":\"F32\",\"shape\":[1],"
                                   "\"data_offsets\":[0,4]}}";
    expect_rejected(write_bytes("nul_name", sizeof nul_name - 1, nul_name,
                                sizeof nul_name - 1, 4),
                    CNN_ERR_FORMAT, "NUL byte at byte 3 of the header");
    static const char nul_space[] = "{\0" T("x", "[1]", 0, 4) "}";
    expect_rejected(write_bytes("nul_space", sizeof nul_space - 1, nul_space,
                                sizeof nul_space - 1, 4),
                    CNN_ERR_FORMAT, "NUL byte at byte 1 of the header");
    expect_rejected(write_raw("nul_escaped", -1, "{" T("x\\u0000y", "[1]", 0, 4) "}", 4),
                    CNN_ERR_FORMAT, "escaped NUL (\\u0000) at byte 3 of the header");
    /* an escaped backslash followed by the text u0000 is no NUL */
    ck_assert(cnn_st_open(&f, write_raw("backslash_u", -1,
                                        "{" T("x\\\\u0000y", "[1]", 0, 4) "}", 4),
                          &err) == CNN_OK);
    ck_assert_str_eq(cnn_st_tensor_at(f, 0)->name, "x\\u0000y");
    cnn_st_close(f);

    /* gaps and unordered offsets are fine */
    ck_assert(cnn_st_open(&f, write_raw("gaps", -1,
                                        "{" T("y", "[1]", 12, 16) "," T("x", "[1]", 0, 4) "}", 16),
                          &err) == CNN_OK);
    cnn_st_close(f);

    /* reading: a missing tensor, a wrong shape */
    ck_assert(cnn_st_open(&f, tmp_path("good"), &err) == CNN_OK);
    float dst[8];
    int64_t want[2] = {4, 1};
    ck_assert_int_eq(cnn_st_read_f32(f, "missing/kernel", 2, want, dst, &err), CNN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "no tensor named 'missing/kernel'"));
    ck_assert_int_eq(cnn_st_read_f32(f, "x", 2, want, dst, &err), CNN_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(err.message, "'x' has shape [2, 2], expected [4, 1]"));
    int64_t three[3] = {2, 2, 1};
    ck_assert_int_eq(cnn_st_read_f32(f, "x", 3, three, dst, &err), CNN_ERR_SHAPE);
    cnn_st_close(f);
    remove_tmpdir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, half_conversion_known_values);
    tcase_add_test(tc, round_trip_is_bit_exact);
    tcase_add_test(tc, reads_a_file_written_elsewhere);
    tcase_add_test(tc, stale_temporaries_are_removed);
    tcase_add_test(tc, rejects_malformed_files);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
