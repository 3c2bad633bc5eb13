/* test_checkpoint.c - checkpoint files: every field and tensor comes back
 * bit for bit, mismatched or damaged files are refused (a flipped data bit
 * or an edited value by the checksum; files from before checksums load,
 * marked unverified), and saving replaces the previous file without leaving
 * temporaries behind, its own or those of killed saves. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../trainer/checkpoint.h"
#include "util/suite.h"

static char dir[64];
static char path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_checkpoint.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
}

static void teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

static int files_in_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static ckpt_state sample_state(int *order, int n)
{
    ckpt_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.fingerprint, sizeof st.fingerprint, "model=vgg16 lr=0.001 \"quoted\"");
    st.epoch = 7;
    st.stage = 2;
    st.stage_epoch = 3;
    st.adam_step = 1234567;
    cnn_rng_seed(&st.rng, 99);
    cnn_rng_next(&st.rng);
    st.es_best_value = 0.1 + 0.2; /* not representable in few digits */
    st.es_best_epoch = 5;
    st.es_bad_epochs = 2;
    st.es_stopped_epoch = 0;
    st.csv_offset = 4096;
    st.train_seconds = 1234.5678901234;
    st.pass_seconds = 1000.0 / 3.0;
    st.images_trained = 33000;
    for (int i = 0; i < n; i++)
        order[i] = (i * 37) % n;
    st.order = order;
    st.order_len = n;
    return st;
}

START_TEST(round_trip_is_exact)
{
    float a[6], b[2 * 3 * 2 * 2], c[1];
    for (int i = 0; i < 6; i++) a[i] = 1.0f / (float)(i + 3);
    for (int i = 0; i < 24; i++) b[i] = -(float)i * 1e-7f;
    c[0] = 3.0e38f;
    ckpt_tensor t[] = {{"param/dense/kernel", a, 2, {2, 3}},
                       {"adam_m/conv/kernel", b, 4, {2, 3, 2, 2}},
                       {"best/x", c, 1, {1}}};
    int order[100];
    ckpt_state st = sample_state(order, 100);
    ck_assert_int_eq(checkpoint_save(path, &st, t, 3, NULL), CNN_OK);

    float a2[6] = {0}, b2[24] = {0}, c2[1] = {0};
    ckpt_tensor t2[] = {{"param/dense/kernel", a2, 2, {2, 3}},
                        {"adam_m/conv/kernel", b2, 4, {2, 3, 2, 2}},
                        {"best/x", c2, 1, {1}}};
    ckpt_state back;
    cnn_error err;
    ck_assert_msg(checkpoint_load(path, &back, t2, 3, &err) == CNN_OK, "%s", err.message);
    ck_assert_mem_eq(a, a2, sizeof a);
    ck_assert_mem_eq(b, b2, sizeof b);
    ck_assert_mem_eq(c, c2, sizeof c);
    ck_assert_str_eq(back.fingerprint, st.fingerprint);
    ck_assert_int_eq(back.epoch, 7);
    ck_assert_int_eq(back.stage, 2);
    ck_assert_int_eq(back.stage_epoch, 3);
    ck_assert_int_eq(back.adam_step, 1234567);
    ck_assert_mem_eq(&back.rng, &st.rng, sizeof st.rng);
    ck_assert(back.es_best_value == st.es_best_value);
    ck_assert_int_eq(back.es_best_epoch, 5);
    ck_assert_int_eq(back.es_bad_epochs, 2);
    ck_assert_int_eq(back.csv_offset, 4096);
    ck_assert(back.train_seconds == st.train_seconds);
    ck_assert(back.pass_seconds == st.pass_seconds);
    ck_assert_int_eq(back.images_trained, 33000);
    ck_assert_int_eq(back.order_len, 100);
    ck_assert_mem_eq(back.order, order, sizeof order);
    free(back.order);
}
END_TEST

START_TEST(infinite_best_value_round_trips)
{
    float a[1] = {1};
    ckpt_tensor t[] = {{"w", a, 1, {1}}};
    int order[1];
    ckpt_state st = sample_state(order, 1);
    st.es_best_value = INFINITY;
    ck_assert_int_eq(checkpoint_save(path, &st, t, 1, NULL), CNN_OK);
    ckpt_state back;
    ck_assert_int_eq(checkpoint_load(path, &back, t, 1, NULL), CNN_OK);
    ck_assert(isinf(back.es_best_value) && back.es_best_value > 0);
    free(back.order);
}
END_TEST

START_TEST(mismatched_tensors_are_refused)
{
    float a[6] = {0};
    ckpt_tensor t[] = {{"w", a, 2, {2, 3}}};
    int order[4];
    ckpt_state st = sample_state(order, 4);
    ck_assert_int_eq(checkpoint_save(path, &st, t, 1, NULL), CNN_OK);
    ckpt_state back;
    ckpt_tensor wrong_shape[] = {{"w", a, 2, {3, 2}}};
    ck_assert_int_ne(checkpoint_load(path, &back, wrong_shape, 1, NULL), CNN_OK);
    ck_assert_ptr_null(back.order);
    ckpt_tensor missing[] = {{"v", a, 2, {2, 3}}};
    ck_assert_int_ne(checkpoint_load(path, &back, missing, 1, NULL), CNN_OK);
}
END_TEST

START_TEST(damaged_file_is_refused_and_save_replaces_atomically)
{
    float a[256];
    for (int i = 0; i < 256; i++) a[i] = (float)i;
    ckpt_tensor t[] = {{"w", a, 1, {256}}};
    int order[8];
    ckpt_state st = sample_state(order, 8);
    ck_assert_int_eq(checkpoint_save(path, &st, t, 1, NULL), CNN_OK);
    st.epoch = 8;
    ck_assert_int_eq(checkpoint_save(path, &st, t, 1, NULL), CNN_OK);
    ck_assert_int_eq(files_in_dir(), 1); /* no temporaries left */
    ckpt_state back;
    ck_assert_int_eq(checkpoint_load(path, &back, t, 1, NULL), CNN_OK);
    ck_assert_int_eq(back.epoch, 8);
    free(back.order);

    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ck_assert_int_eq(truncate(path, size - 100), 0);
    ck_assert_int_ne(checkpoint_load(path, &back, t, 1, NULL), CNN_OK);
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.safetensors", dir);
    ck_assert_int_eq(checkpoint_load(missing, &back, t, 1, NULL), CNN_ERR_IO);
}
END_TEST

/* The file's bytes (*len of them; caller frees) and writing them back. */
static char *slurp(size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *bytes = malloc(*len);
    ck_assert_uint_eq(fread(bytes, 1, *len, f), *len);
    fclose(f);
    return bytes;
}

static void spill(const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

/* Where text first occurs in the file's bytes. */
static size_t find(const char *bytes, size_t len, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= len; i++)
        if (!memcmp(bytes + i, text, n))
            return i;
    ck_abort_msg("'%s' not in the checkpoint", text);
    return 0;
}

static void expect_checksum_refusal(const ckpt_tensor *t, const char *what)
{
    ckpt_state back;
    cnn_error err = {0};
    ck_assert_msg(checkpoint_load(path, &back, t, 1, &err) == CNN_ERR_FORMAT,
                  "%s was accepted", what);
    ck_assert_msg(strstr(err.message, "checksum mismatch") != NULL, "%s: %s",
                  what, err.message);
    ck_assert_ptr_null(back.order);
}

START_TEST(checksum_refuses_a_flipped_byte_or_an_edited_epoch)
{
    float a[256];
    for (int i = 0; i < 256; i++) a[i] = (float)i;
    ckpt_tensor t[] = {{"w", a, 1, {256}}};
    int order[8];
    ckpt_state st = sample_state(order, 8);
    ck_assert_int_eq(checkpoint_save(path, &st, t, 1, NULL), CNN_OK);
    ckpt_state back;
    ck_assert_int_eq(checkpoint_load(path, &back, t, 1, NULL), CNN_OK);
    ck_assert_int_eq(back.verified, 1);
    free(back.order);

    size_t len;
    char *bytes = slurp(&len);
    bytes[len - 7] ^= 0x10; /* in a[254]'s mantissa */
    spill(bytes, len);
    expect_checksum_refusal(t, "a flipped data bit");
    bytes[len - 7] ^= 0x10;
    size_t at = find(bytes, len, "\"epoch\":\"7\"");
    bytes[at + 9] = '5';
    spill(bytes, len);
    expect_checksum_refusal(t, "an edited epoch");
    bytes[at + 9] = '7';
    at = find(bytes, len, "\"adam_step\":\"1234567\"");
    bytes[at + 13] = '2';
    spill(bytes, len);
    expect_checksum_refusal(t, "an edited Adam step");
    free(bytes);
}
END_TEST

/* Checkpoints from before checksums load, marked as not verified. */
START_TEST(checkpoint_without_checksum_loads_unverified)
{
    float a[4] = {1, 2, 3, 4};
    ckpt_tensor t[] = {{"w", a, 1, {4}}};
    int order[3];
    ckpt_state st = sample_state(order, 3);
    ck_assert_int_eq(checkpoint_save(path, &st, t, 1, NULL), CNN_OK);
    size_t len;
    char *bytes = slurp(&len);
    /* renamed in place: the file no longer has a "checksum" key */
    memcpy(bytes + find(bytes, len, "\"checksum\":"), "\"chucksum\":", 11);
    spill(bytes, len);
    free(bytes);
    ckpt_state back;
    cnn_error err;
    ck_assert_msg(checkpoint_load(path, &back, t, 1, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(back.verified, 0);
    ck_assert_int_eq(back.epoch, 7);
    free(back.order);
}
END_TEST

/* A save killed before its rename leaves path.XXXXXX; the next save removes
 * it, and nothing else. */
START_TEST(save_removes_stale_temporaries)
{
    float a[4] = {0};
    ckpt_tensor t[] = {{"w", a, 1, {4}}};
    int order[2];
    ckpt_state st = sample_state(order, 2);
    char stale[160], other[160];
    snprintf(stale, sizeof stale, "%s.Qz09aB", path);
    snprintf(other, sizeof other, "%s.notes", path);
    fclose(fopen(stale, "w"));
    fclose(fopen(other, "w"));
    ck_assert_int_eq(checkpoint_save(path, &st, t, 1, NULL), CNN_OK);
    ck_assert_int_ne(access(stale, F_OK), 0);
    ck_assert_int_eq(access(other, F_OK), 0);
    ck_assert_int_eq(files_in_dir(), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_is_exact);
    tcase_add_test(tc, infinite_best_value_round_trips);
    tcase_add_test(tc, mismatched_tensors_are_refused);
    tcase_add_test(tc, damaged_file_is_refused_and_save_replaces_atomically);
    tcase_add_test(tc, checksum_refuses_a_flipped_byte_or_an_edited_epoch);
    tcase_add_test(tc, checkpoint_without_checksum_loads_unverified);
    tcase_add_test(tc, save_removes_stale_temporaries);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
