/*
 * pal_random.c - the OS CSPRNG on POSIX: getrandom() where the C library has
 * it, else /dev/urandom.
 */
#include "pal_random.h"
#include "pal_err.h"
#include "pal_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#ifdef YB_HAVE_GETRANDOM
#include <sys/random.h>
#endif

int pal_random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
#ifdef YB_HAVE_GETRANDOM
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return YB_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
#else
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return YB_EIO;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            close(fd);
            return YB_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return 0;
#endif
}
