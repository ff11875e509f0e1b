/*
 * yb_test.h - helpers shared by the unit tests (platform-free).
 */
#ifndef YB_TEST_H
#define YB_TEST_H

#include <stddef.h>

/*
 * Creates a fresh, unique, empty directory for one test under $YB_TEST_TMP
 * (set by ctest) or the system's temporary directory, and writes its path
 * into buf. Returns 0 or a YB_E* code.
 */
int yb_test_tmpdir(const char *name, char *buf, size_t size);

/* Writes data to path (replacing it). Returns 0 or a YB_E* code. */
int yb_test_write_file(const char *path, const void *data, size_t len);

/* Writes a NUL-terminated string to dir/name. */
int yb_test_write_in(const char *dir, const char *name, const char *text);

#endif
