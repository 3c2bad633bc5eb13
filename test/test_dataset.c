/* test_dataset.c - patient ids, folder scanning, and the stratified
 * patient-grouped split on a synthetic file list. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "util/suite.h"

static void expect_patient(const char *path, const char *want)
{
    char got[64];
    cnn_patient_id(path, got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", path,
                  got, want);
}

START_TEST(patient_ids)
{
    expect_patient("person123_bacteria_456.jpeg", "person123");
    expect_patient("person123_virus_457.jpeg", "person123");
    expect_patient("train/PNEUMONIA/person1000_bacteria_2931.jpeg", "person1000");
    expect_patient("IM-0117-0001.jpeg", "IM-0117");
    expect_patient("data/NORMAL/NORMAL2-IM-1234-0001.jpeg", "IM-1234");
    expect_patient("scan.png", "scan");
    expect_patient("dir.v2/personal_photo.jpg", "personal_photo");
    expect_patient("IM-abc-1.png", "IM-abc-1");
    char small[5];
    cnn_patient_id("person123_x.png", small, sizeof small);
    ck_assert_str_eq(small, "pers");
}
END_TEST

static void touch(const char *path)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    fclose(f);
}

START_TEST(scan_folder_tree)
{
    char root[] = "/tmp/test_dataset_XXXXXX", p[256];
    ck_assert_ptr_nonnull(mkdtemp(root));
    cnn_dataset ds;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_dataset_scan(root, &ds, &err), CNN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "no class folders"));

    const char *dirs[] = {"b_sick", "a_well", ".hidden", "a_well/nested"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        ck_assert_int_eq(mkdir(p, 0700), 0);
    }
    const char *files[] = {"b_sick/person2_virus_1.jpeg", "b_sick/person1_bacteria_9.JPG",
                           "a_well/IM-0002-0001.png", "a_well/notes.txt",
                           "a_well/IM-0001-0001.jpeg", ".hidden/x.png",
                           "a_well/nested/y.png", "a_well/.z.png"};
    for (int i = 0; i < 8; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        touch(p);
    }
    ck_assert_msg(cnn_dataset_scan(root, &ds, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(ds.num_classes, 2);
    ck_assert_str_eq(ds.class_names[0], "a_well");
    ck_assert_str_eq(ds.class_names[1], "b_sick");
    ck_assert_int_eq(ds.count, 4);
    const char *want[] = {"a_well/IM-0001-0001.jpeg", "a_well/IM-0002-0001.png",
                          "b_sick/person1_bacteria_9.JPG",
                          "b_sick/person2_virus_1.jpeg"};
    const char *patients[] = {"IM-0001", "IM-0002", "person1", "person2"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", root, want[i]);
        ck_assert_str_eq(ds.samples[i].path, p);
        ck_assert_str_eq(ds.samples[i].patient, patients[i]);
        ck_assert_int_eq(ds.samples[i].label, i / 2);
    }
    cnn_dataset_free(&ds);
    for (int i = 7; i >= 0; i--) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        unlink(p);
    }
    for (int i = 3; i >= 0; i--) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        rmdir(p);
    }
    rmdir(root);
    ck_assert_int_eq(cnn_dataset_scan("/nonexistent/dir", &ds, &err), CNN_ERR_IO);
}
END_TEST

/* 300 NORMAL patients (1-3 images) and 400 PNEUMONIA patients (1-6 images,
 * bacteria and virus), plus a patient with images in both classes. */
static void synthetic_dataset(cnn_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    ck_assert_int_eq(cnn_dataset_add_class(ds, "NORMAL", NULL), CNN_OK);
    ck_assert_int_eq(cnn_dataset_add_class(ds, "PNEUMONIA", NULL), CNN_OK);
    char name[128];
    int file = 0;
    for (int p = 0; p < 300; p++)
        for (int i = 0; i <= p % 3; i++) {
            snprintf(name, sizeof name, "NORMAL/%sIM-%04d-%04d.jpeg",
                     p % 2 ? "NORMAL2-" : "", p, i + 1);
            ck_assert_int_eq(cnn_dataset_add(ds, name, 0, NULL), CNN_OK);
        }
    for (int p = 0; p < 400; p++)
        for (int i = 0; i <= (p * 7) % 6; i++) {
            snprintf(name, sizeof name, "PNEUMONIA/person%d_%s_%d.jpeg", p,
                     i % 2 ? "virus" : "bacteria", file++);
            ck_assert_int_eq(cnn_dataset_add(ds, name, 1, NULL), CNN_OK);
        }
    ck_assert_int_eq(cnn_dataset_add(ds, "NORMAL/person5_odd_1.jpeg", 0, NULL),
                     CNN_OK);
}

static int side_of(const cnn_index_list *val, int i)
{
    for (int k = 0; k < val->count; k++)
        if (val->index[k] == i)
            return 1;
    return 0;
}

START_TEST(scan_finds_dicom_by_name_or_content)
{
    char root[] = "/tmp/test_dataset_XXXXXX", p[256];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(p, sizeof p, "%s/a", root);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    const char *files[] = {"a/x.dcm", "a/1.2.840.99", "a/IM000002", "a/notes.txt"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        touch(p);
    }
    /* Two files without a DICOM name but with the magic after 128 bytes. */
    uint8_t part10[132] = {0};
    memcpy(part10 + 128, "DICM", 4);
    for (int i = 1; i <= 2; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        FILE *f = fopen(p, "wb");
        ck_assert(f && fwrite(part10, 1, sizeof part10, f) == sizeof part10);
        fclose(f);
    }
    cnn_dataset ds;
    cnn_error err = {0};
    ck_assert_msg(cnn_dataset_scan(root, &ds, &err) == CNN_OK, "%s", err.message);
    ck_assert_int_eq(ds.count, 3);
    const char *want[] = {"a/1.2.840.99", "a/IM000002", "a/x.dcm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", root, want[i]);
        ck_assert_str_eq(ds.samples[i].path, p);
    }
    cnn_dataset_free(&ds);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", root, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/a", root);
    rmdir(p);
    rmdir(root);
}
END_TEST

START_TEST(split_by_patient_and_class)
{
    cnn_dataset ds;
    synthetic_dataset(&ds);
    cnn_index_list train, val;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_dataset_split(&ds, 0.2, 42, &train, &val, &err), CNN_OK);
    ck_assert_int_eq(train.count + val.count, ds.count);

    /* Every sample exactly once; no patient on both sides. */
    int *side = calloc((size_t)ds.count, sizeof(int));
    for (int k = 0; k < train.count; k++)
        side[train.index[k]] += 1;
    for (int k = 0; k < val.count; k++)
        side[val.index[k]] += 2;
    for (int i = 0; i < ds.count; i++)
        ck_assert_msg(side[i] == 1 || side[i] == 2, "sample %d on side %d", i,
                      side[i]);
    for (int i = 0; i < ds.count; i++)
        for (int j = i + 1; j < ds.count; j++)
            if (strcmp(ds.samples[i].patient, ds.samples[j].patient) == 0)
                ck_assert_msg(side[i] == side[j], "patient %s split",
                              ds.samples[i].patient);

    /* Per-class validation share near 0.2. */
    int total[2] = {0}, in_val[2] = {0};
    for (int i = 0; i < ds.count; i++) {
        total[ds.samples[i].label]++;
        in_val[ds.samples[i].label] += side[i] == 2;
    }
    for (int c = 0; c < 2; c++) {
        double share = (double)in_val[c] / total[c];
        ck_assert_msg(share > 0.19 && share < 0.21, "class %d share %.3f", c, share);
    }
    free(side);

    /* Deterministic for a seed, different for another. */
    cnn_index_list train2, val2;
    ck_assert_int_eq(cnn_dataset_split(&ds, 0.2, 42, &train2, &val2, &err), CNN_OK);
    ck_assert_int_eq(val2.count, val.count);
    ck_assert_mem_eq(val2.index, val.index, sizeof(int) * val.count);
    cnn_index_list_free(&train2);
    cnn_index_list_free(&val2);
    ck_assert_int_eq(cnn_dataset_split(&ds, 0.2, 43, &train2, &val2, &err), CNN_OK);
    int differ = val2.count != val.count;
    for (int k = 0; !differ && k < val.count; k++)
        differ = !side_of(&val2, val.index[k]);
    ck_assert(differ);
    cnn_index_list_free(&train2);
    cnn_index_list_free(&val2);
    cnn_index_list_free(&train);
    cnn_index_list_free(&val);

    ck_assert_int_eq(cnn_dataset_split(&ds, 0.0, 1, &train, &val, &err), CNN_OK);
    ck_assert_int_eq(val.count, 0);
    ck_assert_int_eq(train.count, ds.count);
    cnn_index_list_free(&train);
    cnn_index_list_free(&val);
    ck_assert_int_eq(cnn_dataset_split(&ds, 1.0, 1, &train, &val, &err), CNN_ERR_ARG);
    ck_assert_int_eq(cnn_dataset_all(&ds, &train, &err), CNN_OK);
    ck_assert_int_eq(train.count, ds.count);
    ck_assert_int_eq(train.index[ds.count - 1], ds.count - 1);
    cnn_index_list_free(&train);
    ck_assert_int_eq(cnn_dataset_add(&ds, "x.png", 2, &err), CNN_ERR_ARG);
    cnn_dataset_free(&ds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("dataset");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, patient_ids);
    tcase_add_test(tc, scan_folder_tree);
    tcase_add_test(tc, scan_finds_dicom_by_name_or_content);
    tcase_add_test(tc, split_by_patient_and_class);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
