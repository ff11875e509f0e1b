/*
 * yb_maildir_name.c - reading Maildir file names (see yb_maildir.h):
 * the base name, the ",S=" / ",W=" fields and the delivery time.
 */
#include "yb_maildir.h"
#include "pal_file.h"

#include <string.h>

size_t yb_maildir_base_len(const char *filename)
{
    char sep = pal_maildir_info_sep();
    const char *p = strchr(filename, sep);
    /* Both separators are recognised when reading (a root copied between systems). */
    const char *q = strchr(filename, sep == ':' ? ';' : ':');
    if (q != NULL && q[1] == '2' && q[2] == ',' && (p == NULL || q < p))
        p = q;
    return p != NULL ? (size_t)(p - filename) : strlen(filename);
}

bool yb_maildir_name_field(const char *name, size_t base_len, char key, uint64_t *v_r)
{
    for (size_t i = 0; i + 3 <= base_len; i++) {
        if (name[i] != ',' || name[i + 1] != key || name[i + 2] != '=')
            continue;
        uint64_t v = 0;
        size_t j = i + 3, digits = 0;
        for (; j < base_len && name[j] >= '0' && name[j] <= '9' && digits < 19; j++, digits++)
            v = v * 10 + (uint64_t)(name[j] - '0');
        if (digits == 0 || (j < base_len && name[j] != ','))
            return false;
        *v_r = v;
        return true;
    }
    return false;
}

/* Reads decimal digits at *p (at most 19) into *v_r; false when there are none. */
static bool leading_number(const char **p, uint64_t *v_r)
{
    uint64_t v = 0;
    size_t digits = 0;
    for (; **p >= '0' && **p <= '9' && digits < 19; (*p)++, digits++)
        v = v * 10 + (uint64_t)(**p - '0');
    *v_r = v;
    return digits > 0;
}

void yb_maildir_name_time(const char *name, uint64_t *secs_r, uint64_t *usecs_r)
{
    const char *p = name;
    *secs_r = *usecs_r = 0;
    if (!leading_number(&p, secs_r))
        return;
    if (p[0] == '.' && p[1] == 'M') {
        p += 2;
        leading_number(&p, usecs_r);
    }
}
