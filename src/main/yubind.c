/*
 * yubind.c - the server program: command line, configuration, life cycle.
 *
 * Today it loads and validates the configuration, logs, and keeps the
 * snapshot current (external edits, SIGHUP / reload requests) until asked to
 * stop. The listeners and protocols hang off this loop as they arrive.
 */
#include "pal.h"
#include "yb_config.h"
#include "yb_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef YUBIN_VERSION
#define YUBIN_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_CONFIG = 1, EXIT_USAGE = 2 };

struct options {
    const char *root;
    bool check_config;
};

struct main_state {
    pal_mutex lock;
    pal_cond cond;
    unsigned pending; /* PAL_PROC_* bits */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: yubind -r ROOT [--check-config]\n"
            "       yubind --version | --help\n"
            "\n"
            "  -r, --root ROOT   the data root (server.tab, mailusers.tab, domains/, spool/ ...)\n"
            "  --check-config    load and validate every tab file under ROOT, then exit\n"
            "  --version         print the version and exit\n"
            "  -h, --help        print this help and exit\n"
            "\n"
            "yubind runs in the foreground and logs to stderr and ROOT/logs/.\n"
            "SIGHUP reloads the configuration; SIGTERM or SIGINT stops the server.\n");
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
            o->check_config = true;
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
    if (o->root == NULL || o->root[0] == '\0') {
        fprintf(stderr, "yubind: the data root is required: yubind -r ROOT (try --help)\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static void on_proc_event(void *arg, unsigned event)
{
    struct main_state *st = arg;
    pal_mutex_lock(&st->lock);
    st->pending |= event;
    pal_cond_signal(&st->cond);
    pal_mutex_unlock(&st->lock);
}

static void apply_logging(const char *root, const struct yb_config *cfg)
{
    char logdir[PAL_PATH_MAX];
    enum yb_log_level level = (enum yb_log_level)yb_vars_num(yb_config_vars(cfg), YB_VAR_LogLevel);
    if (pal_path_join(logdir, sizeof(logdir), root, "logs") != 0 ||
        yb_log_configure(logdir, true, level) != 0) {
        yb_log_configure(NULL, true, level);
        yb_log_warn("yubind", "cannot write logs under %s/logs; logging to stderr only", root);
    }
}

static size_t count_records(const struct yb_config *cfg)
{
    size_t n = 0;
    for (unsigned i = 0; i < YB_CF__COUNT; i++)
        n += yb_config_tab(cfg, (enum yb_conf_file_id)i)->nrec;
    return n;
}

/* Waits for events, re-checking the tab files every ConfigCheckInterval. */
static int run(struct yb_confstore *store)
{
    struct main_state st;
    memset(&st, 0, sizeof(st));
    if (pal_mutex_init(&st.lock) != 0 || pal_cond_init(&st.cond) != 0)
        return EXIT_CONFIG;
    int rc = pal_proc_events_start(on_proc_event, &st);
    if (rc != 0) {
        yb_log_error("yubind", "cannot receive stop/reload events: %s", yb_strerror(rc));
        return EXIT_CONFIG;
    }
    yb_log_info("yubind", "yubind %s started on %s (pid %llu)", YUBIN_VERSION,
                yb_confstore_root(store), (unsigned long long)pal_proc_id());
    for (;;) {
        struct yb_config *cfg = yb_confstore_get(store);
        unsigned interval = (unsigned)yb_vars_num(yb_config_vars(cfg), YB_VAR_ConfigCheckInterval);
        yb_config_unref(&cfg);

        pal_mutex_lock(&st.lock);
        if (st.pending == 0)
            pal_cond_timedwait(&st.cond, &st.lock, interval * 1000u);
        unsigned ev = st.pending;
        st.pending = 0;
        pal_mutex_unlock(&st.lock);

        if (ev & PAL_PROC_SHUTDOWN)
            break;
        bool changed = false;
        char err[YB_CONF_ERR_MAX];
        rc = yb_confstore_check(store, (ev & PAL_PROC_RELOAD) != 0, &changed, err, sizeof(err));
        if (rc != 0) {
            yb_log_error("config", "%s; keeping the previous configuration", err);
        } else if (changed) {
            cfg = yb_confstore_get(store);
            apply_logging(yb_confstore_root(store), cfg);
            yb_log_info("config", "configuration reloaded (generation %llu, %zu records)",
                        (unsigned long long)yb_config_generation(cfg), count_records(cfg));
            yb_config_unref(&cfg);
        } else if (ev & PAL_PROC_RELOAD) {
            yb_log_info("config", "reload requested; no file changed");
        }
    }
    yb_log_info("yubind", "shutting down");
    pal_proc_events_stop();
    pal_cond_destroy(&st.cond);
    pal_mutex_destroy(&st.lock);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct options opt;
    int rc = parse_args(argc, argv, &opt);
    if (rc != EXIT_OK)
        return rc;
    yb_log_configure(NULL, true, YB_LOG_INFO);

    struct yb_confstore *store = NULL;
    char err[YB_CONF_ERR_MAX];
    rc = yb_confstore_open(opt.root, &store, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "yubind: configuration error: %s\n", err);
        return EXIT_CONFIG;
    }
    struct yb_config *cfg = yb_confstore_get(store);
    if (opt.check_config) {
        printf("yubind: configuration OK: %s (%zu records)\n", opt.root, count_records(cfg));
        yb_config_unref(&cfg);
        yb_confstore_close(&store);
        return EXIT_OK;
    }
    apply_logging(opt.root, cfg);
    yb_config_unref(&cfg);
    rc = run(store);
    yb_confstore_close(&store);
    yb_log_close();
    return rc;
}
