/* tmpdir.h - one scratch directory per test, for tests that write files. */
#ifndef TEST_TMPDIR_H
#define TEST_TMPDIR_H

/* Creates /tmp/<prefix>.XXXXXX (fails the test if it cannot). */
void make_tmpdir(const char *prefix);
/* Removes the directory and the files in it. */
void remove_tmpdir(void);
/* The directory's name. */
const char *tmpdir_name(void);
/* "<dir>/<name>"; the last four results stay valid. */
const char *tmp_path(const char *name);

#endif
