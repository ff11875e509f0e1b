/*
 * yubind.c - the server program: command line, daemon and service modes.
 */
#include "pal.h"
#include "yb_config.h"
#include "yb_log.h"
#include "yb_passwd.h"
#include "yb_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef YUBIN_VERSION
#define YUBIN_VERSION "0.0.0"
#endif

#define SERVICE_NAME    "yubind"
#define SERVICE_DISPLAY "yubin mail server"

enum { EXIT_OK = 0, EXIT_CONFIG = 1, EXIT_USAGE = 2 };

enum mode { MODE_RUN, MODE_CHECK, MODE_DAEMON, MODE_SERVICE, MODE_INSTALL, MODE_REMOVE, MODE_HASH };

struct options {
    const char *root;
    enum mode mode;
    unsigned iterations;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: yubind -r ROOT [-d | --check-config]\n"
        "       yubind -r ROOT --install-service | --remove-service   (Windows)\n"
        "       yubind --version | --help\n"
        "\n"
        "  -r, --root ROOT     the data root (server.tab, mailusers.tab, domains/, spool/ ...)\n"
        "  -d, --daemon        detach (POSIX); the pid goes to ROOT/run/yubind.pid\n"
        "  --check-config      load and validate every tab file under ROOT, then exit\n"
        "  --install-service   register yubind -r ROOT as the Windows service \"yubind\"\n"
        "  --remove-service    stop and unregister the Windows service\n"
        "  --version           print the version and exit\n"
        "  -h, --help          print this help and exit\n"
        "\n"
        "In the foreground yubind logs to stderr and ROOT/logs/. SIGHUP reloads the\n"
        "configuration; SIGTERM or SIGINT stops the server.\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-r") == 0 || strcmp(a, "--root") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "yubind: %s needs a directory\n", a);
                return EXIT_USAGE;
            }
            o->root = argv[++i];
        } else if (strncmp(a, "--root=", 7) == 0) {
            o->root = a + 7;
        } else if (strcmp(a, "--check-config") == 0) {
            o->mode = MODE_CHECK;
        } else if (strcmp(a, "-d") == 0 || strcmp(a, "--daemon") == 0) {
            o->mode = MODE_DAEMON;
        } else if (strcmp(a, "--service") == 0) {
            o->mode = MODE_SERVICE;
        } else if (strcmp(a, "--install-service") == 0) {
            o->mode = MODE_INSTALL;
        } else if (strcmp(a, "--remove-service") == 0) {
            o->mode = MODE_REMOVE;
        } else if (strcmp(a, "--hash-password") == 0) {
            o->mode = MODE_HASH;
        } else if (strcmp(a, "--iterations") == 0) {
            char *end = NULL;
            unsigned long v = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || end == argv[i + 1] || *end != '\0' ||
                v < YB_PASSWD_MIN_ITERATIONS || v > YB_PASSWD_MAX_ITERATIONS) {
                fprintf(stderr, "yubind: --iterations wants a number from %u to %u\n",
                        YB_PASSWD_MIN_ITERATIONS, YB_PASSWD_MAX_ITERATIONS);
                return EXIT_USAGE;
            }
            o->iterations = (unsigned)v;
            i++;
        } else if (strcmp(a, "--version") == 0) {
            printf("yubind %s\n", YUBIN_VERSION);
            exit(EXIT_OK);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(EXIT_OK);
        } else {
            fprintf(stderr, "yubind: unknown option '%s' (try --help)\n", a);
            return EXIT_USAGE;
        }
    }
    if (o->mode != MODE_REMOVE && o->mode != MODE_HASH && (o->root == NULL || o->root[0] == '\0')) {
        fprintf(stderr, "yubind: the data root is required: yubind -r ROOT (try --help)\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int open_store(const char *root, struct yb_confstore **store_r)
{
    char err[YB_CONF_ERR_MAX];
    int rc = yb_confstore_open(root, store_r, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "yubind: configuration error: %s\n", err);
        yb_log_error("config", "%s", err);
    }
    return rc;
}

/* The Windows service body: the SCM calls it on its service thread. */
static int service_main(void *arg)
{
    const char *root = arg;
    struct yb_confstore *store = NULL;
    if (open_store(root, &store) != 0)
        return EXIT_CONFIG;
    int rc = yb_server_run(store, YUBIN_VERSION);
    yb_confstore_close(&store);
    return rc;
}

static int install_service(const char *root)
{
    char abs[PAL_PATH_MAX], err[PAL_SERVICE_ERR_MAX];
    int rc = pal_path_absolute(root, abs, sizeof(abs));
    if (rc != 0) {
        fprintf(stderr, "yubind: %s: %s\n", root, yb_strerror(rc));
        return EXIT_CONFIG;
    }
    const char *args[] = { "-r", abs };
    rc = pal_service_install(SERVICE_NAME, SERVICE_DISPLAY, args, 2, err, sizeof(err));
    if (rc == YB_ENOTSUP) {
        fprintf(stderr, "yubind: services are a Windows feature; use -d or a systemd unit\n");
        return EXIT_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "yubind: cannot install the service: %s\n", err);
        return EXIT_CONFIG;
    }
    printf("yubind: service \"%s\" installed for %s\n", SERVICE_NAME, abs);
    return EXIT_OK;
}

static int remove_service(void)
{
    char err[PAL_SERVICE_ERR_MAX];
    int rc = pal_service_remove(SERVICE_NAME, err, sizeof(err));
    if (rc == YB_ENOTSUP) {
        fprintf(stderr, "yubind: services are a Windows feature\n");
        return EXIT_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "yubind: cannot remove the service: %s\n", err);
        return EXIT_CONFIG;
    }
    printf("yubind: service \"%s\" removed\n", SERVICE_NAME);
    return EXIT_OK;
}

/* Reads the first line of stdin as a password and prints its stored form. */
static int hash_password(unsigned iterations)
{
    char buf[YB_LIMIT_PASSWORD + 3], out[YB_PASSWD_STORED_MAX];
    size_t n = fread(buf, 1, sizeof(buf), stdin);
    size_t len = 0;
    while (len < n && buf[len] != '\n')
        len++;
    if (len == n && n == sizeof(buf)) {
        fprintf(stderr, "yubind: the password is longer than %d bytes\n", YB_LIMIT_PASSWORD);
        return EXIT_USAGE;
    }
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len == 0) {
        fprintf(stderr, "yubind: no password on standard input\n");
        return EXIT_USAGE;
    }
    if (memchr(buf, '\0', len) != NULL) {
        fprintf(stderr, "yubind: the password contains a NUL byte\n");
        return EXIT_USAGE;
    }
    int rc = yb_passwd_hash(buf, len, iterations ? iterations : YB_PASSWD_DEFAULT_ITERATIONS, out,
                            sizeof(out));
    memset(buf, 0, sizeof(buf));
    if (rc != 0) {
        fprintf(stderr, "yubind: cannot hash the password: %s\n", yb_strerror(rc));
        return EXIT_USAGE;
    }
    printf("%s\n", out);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct options opt;
    int rc = parse_args(argc, argv, &opt);
    if (rc != EXIT_OK)
        return rc;
    yb_log_configure(NULL, true, YB_LOG_INFO);

    switch (opt.mode) {
    case MODE_HASH: return hash_password(opt.iterations);
    case MODE_INSTALL: return install_service(opt.root);
    case MODE_REMOVE: return remove_service();
    case MODE_SERVICE:
        rc = pal_service_run(SERVICE_NAME, service_main, (void *)opt.root);
        if (rc < 0) {
            fprintf(stderr, "yubind: --service is for the Windows service manager: %s\n",
                    yb_strerror(rc));
            return EXIT_USAGE;
        }
        return rc;
    default: break;
    }

    /* Configuration errors are reported here, before a daemon loses its terminal. */
    char root[PAL_PATH_MAX];
    struct yb_confstore *store = NULL;
    if (pal_path_absolute(opt.root, root, sizeof(root)) != 0)
        snprintf(root, sizeof(root), "%s", opt.root); /* open_store says why */
    if (open_store(root, &store) != 0)
        return EXIT_CONFIG;
    if (opt.mode == MODE_CHECK) {
        struct yb_config *cfg = yb_confstore_get(store);
        printf("yubind: configuration OK: %s (%zu records)\n", opt.root,
               yb_config_record_count(cfg));
        yb_config_unref(&cfg);
        yb_confstore_close(&store);
        return EXIT_OK;
    }
    if (opt.mode == MODE_DAEMON) {
        char run[PAL_PATH_MAX], pidfile[PAL_PATH_MAX], err[PAL_SERVICE_ERR_MAX];
        if (pal_path_join(run, sizeof(run), root, "run") != 0 ||
            pal_path_join(pidfile, sizeof(pidfile), run, "yubind.pid") != 0 ||
            pal_file_mkdirs(run) != 0) {
            fprintf(stderr, "yubind: cannot create %s/run\n", root);
            return EXIT_CONFIG;
        }
        /* No thread exists yet: the engine and the event thread start after this. */
        rc = pal_daemonize(pidfile, err, sizeof(err));
        if (rc == YB_ENOTSUP) {
            fprintf(stderr, "yubind: -d is not available here; use --install-service\n");
            return EXIT_USAGE;
        }
        if (rc != 0) {
            fprintf(stderr, "yubind: cannot detach: %s\n", err);
            return EXIT_CONFIG;
        }
        rc = yb_server_run(store, YUBIN_VERSION);
        pal_pidfile_remove(pidfile);
    } else {
        rc = yb_server_run(store, YUBIN_VERSION);
    }
    yb_confstore_close(&store);
    yb_log_close();
    return rc;
}
