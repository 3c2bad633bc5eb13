/* suite.h - runs a Check suite the way every test runner here does. */
#ifndef TEST_SUITE_H
#define TEST_SUITE_H

#include <check.h>

/* Runs every test of s (output as CK_VERBOSITY says) and returns the
 * process exit status: EXIT_SUCCESS when all passed. */
int run_suite(Suite *s);

#endif
