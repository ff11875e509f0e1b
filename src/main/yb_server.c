/*
 * yb_server.c - yubind's runtime.
 *
 * Listeners come from server.tab variables, each bound to the protocol that
 * serves it. A protocol joins the table below when it exists in this build;
 * a listener variable whose protocol does not is reported once and not bound.
 */
#include "yb_server.h"
#include "ctrl_server.h"
#include "pal.h"
#include "pop3_server.h"
#include "smtp_server.h"
#include "yb_engine.h"
#include "yb_log.h"
#include "yb_ports.h"
#include "yb_stats.h"
#include "yb_ctrl_queue.h"
#include "yb_queue.h"
#include "yb_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct service_def {
    enum yb_var_id var;
    const char *what;
    const struct yb_proto *proto; /* NULL: not in this build yet */
    enum yb_listen_tls tls;
};

static const struct service_def services[] = {
    { YB_VAR_SmtpListen, "SMTP", &yb_smtp_proto_mx, YB_LISTEN_PLAIN },
    { YB_VAR_SubmissionListen, "submission", &yb_smtp_proto_submission, YB_LISTEN_PLAIN },
    { YB_VAR_SmtpsListen, "submission over TLS", &yb_smtp_proto_smtps, YB_LISTEN_IMPLICIT },
    { YB_VAR_Pop3Listen, "POP3", &yb_pop3_proto, YB_LISTEN_PLAIN },
    { YB_VAR_Pop3sListen, "POP3 over TLS", &yb_pop3s_proto, YB_LISTEN_IMPLICIT },
    { YB_VAR_ImapListen, "IMAP", NULL, YB_LISTEN_PLAIN },
    { YB_VAR_ImapsListen, "IMAP over TLS", NULL, YB_LISTEN_IMPLICIT },
    { YB_VAR_CtrlListen, "CTRL", &yb_ctrl_proto, YB_LISTEN_PLAIN },
    { YB_VAR_CtrlsListen, "CTRL over TLS", &yb_ctrl_proto_tls, YB_LISTEN_IMPLICIT },
};

#define MAX_SPECS      (YB_ARRAY_LEN(services) * YB_LIMIT_LISTEN_ADDRS)
#define TLS_REBUILD_MS (24u * 3600 * 1000) /* rotates session-ticket keys daily */

struct tls_sig {
    bool exists;
    uint64_t size, id;
    int64_t mtime;
};

struct server {
    struct yb_confstore *store;
    struct yb_engine *engine;
    struct yb_queue *queue;
    pal_mutex lock;
    pal_cond cond;
    unsigned pending; /* PAL_PROC_* */
    struct tls_sig tls_chain, tls_key;
    uint64_t tls_built_ms;
    uint64_t applied_generation; /* the snapshot listeners, limits and logs follow */
    bool warned_missing[YB_ARRAY_LEN(services)];
};

static void on_event(void *arg, unsigned ev)
{
    struct server *sv = arg;
    pal_mutex_lock(&sv->lock);
    sv->pending |= ev;
    pal_cond_signal(&sv->cond);
    pal_mutex_unlock(&sv->lock);
}

static void limits_from(const struct yb_vars *v, struct yb_engine_limits *l)
{
    yb_engine_limits_default(l);
    l->max_conns = (unsigned)yb_vars_num(v, YB_VAR_MaxConnections);
    l->max_conns_per_service = (unsigned)yb_vars_num(v, YB_VAR_MaxConnectionsPerService);
    l->max_conns_per_ip = (unsigned)yb_vars_num(v, YB_VAR_MaxConnectionsPerIP);
    l->idle_timeout_ms = (unsigned)yb_vars_num(v, YB_VAR_IdleTimeout) * 1000u;
    l->tls_handshake_ms = (unsigned)yb_vars_num(v, YB_VAR_TlsHandshakeTimeout) * 1000u;
    l->min_rate_bytes = (unsigned)yb_vars_num(v, YB_VAR_MinDataRate);
    l->min_rate_window_ms = (unsigned)yb_vars_num(v, YB_VAR_MinDataRateWindow) * 1000u;
    l->workers = (unsigned)yb_vars_num(v, YB_VAR_Workers);
    l->shutdown_grace_ms = (unsigned)yb_vars_num(v, YB_VAR_ShutdownGrace) * 1000u;
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

/* The name this server gives itself: SmtpServerDomain, RootDomain, or the host name. */
static void server_name(const struct yb_vars *v, char *buf, size_t size)
{
    const char *n = yb_vars_str(v, YB_VAR_SmtpServerDomain);
    if (n[0] == '\0')
        n = yb_vars_str(v, YB_VAR_RootDomain);
    if (n[0] != '\0') {
        snprintf(buf, size, "%s", n);
        return;
    }
    if (pal_hostname(buf, size) != 0)
        snprintf(buf, size, "localhost");
}

static void read_sig(const char *path, struct tls_sig *sig)
{
    struct pal_stat st;
    memset(sig, 0, sizeof(*sig));
    if (pal_fs_stat(path, &st) == 0) {
        sig->exists = true;
        sig->size = st.size;
        sig->id = st.file_id;
        sig->mtime = st.mtime_ns;
    }
}

static bool sig_eq(const struct tls_sig *a, const struct tls_sig *b)
{
    return a->exists == b->exists && a->size == b->size && a->id == b->id && a->mtime == b->mtime;
}

/*
 * Loads ROOT/tls/chain.pem and key.pem (generating a self-signed pair on
 * first start) into the engine. force rebuilds even if the files did not
 * change. A failure keeps the previous context.
 */
static int load_tls(struct server *sv, const struct yb_config *cfg, bool force)
{
    char dir[PAL_PATH_MAX], chain[PAL_PATH_MAX], key[PAL_PATH_MAX], name[256];
    char err[YB_TLS_ERR_MAX];
    const char *root = yb_confstore_root(sv->store);
    if (pal_path_join(dir, sizeof(dir), root, "tls") != 0 ||
        pal_path_join(chain, sizeof(chain), dir, "chain.pem") != 0 ||
        pal_path_join(key, sizeof(key), dir, "key.pem") != 0)
        return YB_ENAMETOOLONG;
    struct tls_sig c, k;
    read_sig(chain, &c);
    read_sig(key, &k);
    if (!force && sig_eq(&c, &sv->tls_chain) && sig_eq(&k, &sv->tls_key))
        return 0;
    if (!c.exists || !k.exists) {
        /* Neither: generate a pair. Only one: yb_tls_ensure_cert says which is missing. */
        server_name(yb_config_vars(cfg), name, sizeof(name));
        int rc = yb_tls_ensure_cert(dir, name, err, sizeof(err));
        if (rc != 0) {
            yb_log_error("tls", "cannot create a certificate in %s: %s", dir, err);
            return rc;
        }
        yb_log_warn("tls",
                    "no certificate in %s: generated a self-signed one for %s; "
                    "replace chain.pem and key.pem with a real one",
                    dir, name);
        read_sig(chain, &c);
        read_sig(key, &k);
    }
    struct yb_tls_ctx *ctx = NULL;
    int rc = yb_tls_openssl.ctx_new_server(chain, key, &ctx, err, sizeof(err));
    /* Remember this state either way, so a broken pair is reported once. */
    sv->tls_chain = c;
    sv->tls_key = k;
    if (rc != 0) {
        yb_log_error("tls", "%s; keeping the previous certificate", err);
        return rc;
    }
    yb_engine_set_tls(sv->engine, &yb_tls_openssl, ctx);
    yb_tls_openssl.ctx_unref(&ctx);
    sv->tls_built_ms = pal_time_mono_ms();
    yb_log_info("tls", "certificate loaded from %s", chain);
    return 0;
}

/* Binds the listeners server.tab asks for and writes ROOT/run/ports.tab. */
static int apply_listeners(struct server *sv, const struct yb_config *cfg)
{
    static struct yb_listen_spec specs[MAX_SPECS];
    static struct pal_addr bound[MAX_SPECS];
    struct yb_bound_port ports[MAX_SPECS];
    const struct yb_vars *v = yb_config_vars(cfg);
    size_t n = 0;
    for (size_t i = 0; i < YB_ARRAY_LEN(services); i++) {
        const struct yb_listen_list *l = yb_vars_listen(v, services[i].var);
        if (l->n == 0)
            continue;
        const char *var = yb_var_def(services[i].var)->name;
        if (services[i].proto == NULL) {
            if (!sv->warned_missing[i])
                yb_log_info("yubind", "%s: %s is not part of this build yet; not listening", var,
                            services[i].what);
            sv->warned_missing[i] = true;
            continue;
        }
        for (unsigned k = 0; k < l->n; k++) {
            specs[n] =
                (struct yb_listen_spec){ var, l->addr[k], services[i].proto, services[i].tls };
            n++;
        }
    }
    char err[256];
    int rc = yb_engine_set_listeners(sv->engine, specs, n, bound, err, sizeof(err));
    if (rc != 0) {
        yb_log_error("yubind", "%s", err);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        ports[i].service = specs[i].service;
        ports[i].addr = bound[i];
    }
    rc = yb_ports_write(yb_confstore_root(sv->store), ports, n);
    if (rc != 0)
        yb_log_error("yubind", "cannot write run/ports.tab: %s", yb_strerror(rc));
    return rc;
}

static void on_config_changed(struct server *sv)
{
    struct yb_config *cfg = yb_confstore_get(sv->store);
    struct yb_engine_limits lim;
    sv->applied_generation = yb_config_generation(cfg);
    apply_logging(yb_confstore_root(sv->store), cfg);
    limits_from(yb_config_vars(cfg), &lim);
    yb_engine_set_limits(sv->engine, &lim);
    apply_listeners(sv, cfg);
    yb_log_info("config", "configuration reloaded (generation %llu, %zu records)",
                (unsigned long long)yb_config_generation(cfg), yb_config_record_count(cfg));
    yb_config_unref(&cfg);
}

static int start(struct server *sv, const char *version)
{
    struct yb_config *cfg = yb_confstore_get(sv->store);
    const struct yb_vars *v = yb_config_vars(cfg);
    const char *root = yb_confstore_root(sv->store);
    struct yb_engine_limits lim;
    int rc;
    sv->applied_generation = yb_config_generation(cfg);
    yb_stats_start();
    apply_logging(root, cfg);
    limits_from(v, &lim);
    if ((rc = yb_engine_create(&lim, sv->store, &sv->engine)) != 0) {
        yb_log_error("yubind", "cannot create the connection engine: %s", yb_strerror(rc));
        goto out;
    }
    load_tls(sv, cfg, true); /* without TLS, plaintext service still starts */
    if ((rc = apply_listeners(sv, cfg)) != 0)
        goto out;
    const char *user = yb_vars_str(v, YB_VAR_RunAsUser);
    if (user[0] != '\0') {
        char err[PAL_SERVICE_ERR_MAX];
        rc = pal_drop_privileges(user, err, sizeof(err));
        if (rc == YB_ENOTSUP) {
            yb_log_warn("yubind", "RunAsUser is ignored on this platform");
            rc = 0;
        } else if (rc != 0) {
            yb_log_error("yubind", "RunAsUser %s: %s", user, err);
            goto out;
        }
    }
    /* The queue runners first: the SMTP server wakes them from its first commit. */
    if ((rc = yb_queue_create(sv->store, &sv->queue)) != 0 ||
        (rc = yb_queue_start(sv->queue)) != 0) {
        yb_log_error("yubind", "cannot start the queue runners: %s", yb_strerror(rc));
        goto out;
    }
    yb_ctrl_queue_install(sv->queue, root);
    if ((rc = yb_engine_start(sv->engine)) != 0) {
        yb_log_error("yubind", "cannot start the connection engine: %s", yb_strerror(rc));
        goto out;
    }
    yb_log_info("yubind", "yubind %s started on %s (pid %llu)", version, root,
                (unsigned long long)pal_proc_id());
out:
    yb_config_unref(&cfg);
    return rc;
}

int yb_server_run(struct yb_confstore *store, const char *version)
{
    struct server sv;
    memset(&sv, 0, sizeof(sv));
    sv.store = store;
    if (pal_mutex_init(&sv.lock) != 0 || pal_cond_init(&sv.cond) != 0)
        return 1;
    int rc = pal_proc_events_start(on_event, &sv);
    if (rc != 0) {
        yb_log_error("yubind", "cannot receive stop/reload events: %s", yb_strerror(rc));
        return 1;
    }
    rc = start(&sv, version);
    if (rc != 0) {
        if (sv.engine != NULL) {
            yb_engine_stop(sv.engine);
            yb_engine_destroy(&sv.engine);
        }
        yb_ctrl_queue_install(NULL, NULL);
        yb_queue_destroy(&sv.queue);
        pal_proc_events_stop();
        return 1;
    }
    pal_service_running();
    for (;;) {
        struct yb_config *cfg = yb_confstore_get(store);
        unsigned interval = (unsigned)yb_vars_num(yb_config_vars(cfg), YB_VAR_ConfigCheckInterval);
        pal_mutex_lock(&sv.lock);
        if (sv.pending == 0)
            pal_cond_timedwait(&sv.cond, &sv.lock, interval * 1000u);
        unsigned ev = sv.pending;
        sv.pending = 0;
        pal_mutex_unlock(&sv.lock);
        if (ev & PAL_PROC_SHUTDOWN) {
            yb_config_unref(&cfg);
            break;
        }
        bool force = (ev & PAL_PROC_RELOAD) != 0, changed = false;
        char err[YB_CONF_ERR_MAX];
        rc = yb_confstore_check(store, force, &changed, err, sizeof(err));
        /* A CTRL session may have reloaded an edit it made itself: follow
         * whatever snapshot is current, not only the ones this check built. */
        struct yb_config *now = yb_confstore_get(store);
        changed = changed || yb_config_generation(now) != sv.applied_generation;
        yb_config_unref(&now);
        if (rc != 0)
            yb_log_error("config", "%s; keeping the previous configuration", err);
        if (changed)
            on_config_changed(&sv);
        else if (force && rc == 0)
            yb_log_info("config", "reload requested; no file changed");
        load_tls(&sv, cfg, force || pal_time_mono_ms() - sv.tls_built_ms > TLS_REBUILD_MS);
        yb_config_unref(&cfg);
    }
    yb_log_info("yubind", "shutting down");
    yb_engine_stop(sv.engine);
    yb_engine_destroy(&sv.engine);
    yb_ctrl_queue_install(NULL, NULL);
    yb_queue_destroy(&sv.queue);
    pal_proc_events_stop();
    pal_cond_destroy(&sv.cond);
    pal_mutex_destroy(&sv.lock);
    return 0;
}
