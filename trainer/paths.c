/* paths.c - relative paths, directory creation. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "paths.h"

void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int path_relative(const char *dir, const char *target, char *out, size_t size)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (!realpath(dir, a) || !realpath(target, b)) {
        copy_text(out, size, target);
        return strlen(target) < size ? 0 : -1;
    }
    /* the end of the longest common directory prefix */
    size_t la = strlen(a), common = 0;
    if (strncmp(a, b, la) == 0 && b[la] == '/') {
        common = la;
    } else {
        for (size_t i = 0; a[i] && a[i] == b[i]; i++)
            if (a[i] == '/')
                common = i;
    }
    /* one "../" per directory of a below the common prefix */
    size_t ups = 0;
    for (const char *p = a + common; *p; p++)
        ups += *p == '/';
    const char *rest = b + common + 1;
    if (3 * ups + strlen(rest) >= size)
        return -1;
    for (size_t i = 0; i < ups; i++)
        memcpy(out + 3 * i, "../", 3);
    strcpy(out + 3 * ups, rest);
    return 0;
}

cnn_status path_mkdirs(const char *dir, cnn_error *err)
{
    char buf[PATH_MAX];
    copy_text(buf, sizeof buf, dir);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST)
            return cnn_fail(err, CNN_ERR_IO, "cannot create %s", buf);
        *p = c;
        if (!c)
            break;
    }
    return CNN_OK;
}

int path_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

int path_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}
