/*
 * yb_ports.c - writes ROOT/run/ports.tab.
 */
#include "yb_ports.h"
#include "pal.h"
#include "yb_buf.h"
#include "yb_tab.h"

#include <stdio.h>

/* Generous: at most a few hundred listeners. */
#define YB_LIMIT_PORTS_FILE (256 * 1024)

int yb_ports_write(const char *root, const struct yb_bound_port *ports, size_t n)
{
    char dir[PAL_PATH_MAX], path[PAL_PATH_MAX];
    int rc = pal_path_join(dir, sizeof(dir), root, "run");
    if (rc == 0)
        rc = pal_path_join(path, sizeof(path), dir, "ports.tab");
    if (rc == 0)
        rc = pal_file_mkdirs(dir);
    if (rc != 0)
        return rc;
    struct yb_buf out;
    yb_buf_init(&out, YB_LIMIT_PORTS_FILE);
    rc =
        yb_buf_append_cstr(&out, "# written by yubind at start-up and reload: service, ip, port\n");
    for (size_t i = 0; i < n && rc == 0; i++) {
        char ip[PAL_ADDR_TEXT_MAX], port[8];
        rc = pal_addr_format(&ports[i].addr, false, ip, sizeof(ip));
        if (rc != 0)
            break;
        snprintf(port, sizeof(port), "%u", (unsigned)pal_addr_port(&ports[i].addr));
        struct yb_slice f[3] = { yb_slice_cstr(ports[i].service), yb_slice_cstr(ip),
                                 yb_slice_cstr(port) };
        rc = yb_tab_format_record(&out, f, 3);
    }
    if (rc == 0)
        rc = pal_file_replace(path, out.p, out.len);
    yb_buf_free(&out);
    return rc;
}
