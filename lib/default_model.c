/* default_model.c - the shipped model's place (see default_model.h). */
#include "default_model.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The places looked at in each directory, nearest first. */
static const char *const candidates[] = {
    DEFAULT_MODEL_FILE,
    "share/" DEFAULT_MODEL_PACKAGE "/" DEFAULT_MODEL_FILE,
};

void default_model_path(char *buf, size_t size)
{
    char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) {
        snprintf(buf, size, "%s", DEFAULT_MODEL_FILE);
        return;
    }
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0'; /* the program's directory (readlink gives an absolute path) */
    snprintf(buf, size, "%s/%s", dir, DEFAULT_MODEL_FILE);
    for (;;) {
        for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
            char path[PATH_MAX + 128];
            snprintf(path, sizeof path, "%s/%s", dir, candidates[i]);
            if (access(path, F_OK) == 0) {
                snprintf(buf, size, "%s", path);
                return;
            }
        }
        slash = strrchr(dir, '/');
        if (!slash)
            return;
        *slash = '\0'; /* one directory up; "" stands for the root */
    }
}
