/*
 * yb_test.c - helpers shared by the unit tests.
 */
#include "yb_test.h"
#include "pal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int yb_test_tmpdir(const char *name, char *buf, size_t size)
{
    const char *base = getenv("YB_TEST_TMP");
    if (base == NULL || base[0] == '\0')
        base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = getenv("TEMP");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    unsigned char rnd[6];
    int rc = pal_random_bytes(rnd, sizeof(rnd));
    if (rc != 0)
        return rc;
    int n =
        snprintf(buf, size, "%s/%s-%llu-%02x%02x%02x%02x%02x%02x", base, name,
                 (unsigned long long)pal_proc_id(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    if (n < 0 || (size_t)n >= size)
        return YB_ENAMETOOLONG;
    return pal_file_mkdirs(buf);
}

int yb_test_write_file(const char *path, const void *data, size_t len)
{
    struct pal_file *f = NULL;
    int rc = pal_fs_open(path, PAL_O_WRONLY | PAL_O_CREAT | PAL_O_TRUNC, 0644, &f);
    if (rc != 0)
        return rc;
    rc = pal_file_write_all(f, data, len);
    int crc = pal_fs_close(&f);
    return rc != 0 ? rc : crc;
}

int yb_test_write_in(const char *dir, const char *name, const char *text)
{
    char path[PAL_PATH_MAX];
    int rc = pal_path_join(path, sizeof(path), dir, name);
    if (rc != 0)
        return rc;
    return yb_test_write_file(path, text, strlen(text));
}
