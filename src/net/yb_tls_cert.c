/*
 * yb_tls_cert.c - a self-signed certificate for a fresh install, so every
 * TLS port works from the first start; the administrator replaces
 * chain.pem and key.pem with real ones later.
 */
#include "yb_tls.h"
#include "yb_tls_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pal_err.h"
#include "pal_file.h"

#define YB_CERT_DAYS       3652 /* ten years, leap days included */
#define YB_CN_MAX          64   /* RFC 5280 ub-common-name */
#define YB_HOSTNAME_MAX    253
#define YB_CERT_SERIAL_LEN 16 /* 128 random bits */

/* Letters, digits, '-', '.' and '_' (some internal names use it): no room for injection. */
static bool hostname_ok(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > YB_HOSTNAME_MAX || h[0] == '.' || h[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)h[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && ch != '-' && ch != '.' && ch != '_')
            return false;
    }
    return true;
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* subjectAltName dNSName:hostname, built from parts (not a config string). */
static int add_san(X509 *x, const char *hostname)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    int rc = -1;
    if (names == NULL || gn == NULL || ia5 == NULL ||
        !ASN1_STRING_set(ia5, hostname, (int)strlen(hostname)))
        goto done;
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    ia5 = NULL;
    if (!sk_GENERAL_NAME_push(names, gn))
        goto done;
    gn = NULL;
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1)
        rc = 0;
done:
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(names);
    return rc;
}

static int set_random_serial(X509 *x)
{
    unsigned char raw[YB_CERT_SERIAL_LEN];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    raw[0] &= 0x7f; /* positive, as RFC 5280 requires */
    raw[0] |= 0x40; /* and never zero, always the full length */
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    int rc = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL ? 0 : -1;
    BN_free(bn);
    return rc;
}

/* A self-signed X.509 v3 server certificate for hostname, signed by key. */
static X509 *make_cert(EVP_PKEY *key, const char *hostname)
{
    X509 *x = X509_new();
    if (x == NULL || !X509_set_version(x, X509_VERSION_3) || set_random_serial(x) != 0)
        goto fail;
    /* An hour of slack for clients whose clock runs a little behind. */
    if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), YB_CERT_DAYS, 0, NULL) == NULL)
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    /* A longer name cannot be a CN; the SAN, which clients check, always carries it. */
    if (strlen(hostname) <= YB_CN_MAX &&
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)hostname, -1,
                                    -1, 0))
        goto fail;
    if (!X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key))
        goto fail;
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    if (add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") != 0 ||
        add_ext(x, &v3, NID_ext_key_usage, "serverAuth") != 0 ||
        add_ext(x, &v3, NID_subject_key_identifier, "hash") != 0 || add_san(x, hostname) != 0)
        goto fail;
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

/* Writes what a memory BIO holds to path, atomically (pal_file_replace makes it 0600). */
static int write_bio(BIO *bio, const char *path, char *errbuf, size_t errsize)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || data == NULL) {
        snprintf(errbuf, errsize, "%s: nothing to write", path);
        return YB_EIO;
    }
    int rc = pal_file_replace(path, data, (size_t)len);
    if (rc != 0)
        snprintf(errbuf, errsize, "%s: cannot write: %s", path, yb_strerror(rc));
    return rc;
}

static int generate(const char *chain_path, const char *key_path, const char *hostname,
                    char *errbuf, size_t errsize)
{
    int rc = YB_EIO;
    X509 *cert = NULL;
    BIO *key_pem = NULL, *cert_pem = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL) {
        yb__tls_openssl_error(errbuf, errsize, "generating the TLS key");
        goto done;
    }
    cert = make_cert(key, hostname);
    if (cert == NULL) {
        yb__tls_openssl_error(errbuf, errsize, "making the self-signed certificate");
        goto done;
    }
    /* The key's PEM lives in secure memory, cleansed when freed. */
    key_pem = BIO_new(BIO_s_secmem());
    cert_pem = BIO_new(BIO_s_mem());
    if (key_pem == NULL || cert_pem == NULL ||
        !PEM_write_bio_PrivateKey(key_pem, key, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(cert_pem, cert)) {
        yb__tls_openssl_error(errbuf, errsize, "encoding the TLS key and certificate");
        goto done;
    }
    /*
     * Key first, then the chain: if writing the chain fails the key goes
     * again, so the next start does not find half a pair of our own making.
     */
    rc = write_bio(key_pem, key_path, errbuf, errsize);
    if (rc != 0)
        goto done;
    rc = write_bio(cert_pem, chain_path, errbuf, errsize);
    if (rc != 0)
        pal_fs_unlink(key_path);
done:
    BIO_free(key_pem);
    BIO_free(cert_pem);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

int yb_tls_ensure_cert(const char *tls_dir, const char *hostname, char *errbuf, size_t errsize)
{
    char chain_path[PAL_PATH_MAX], key_path[PAL_PATH_MAX];
    if (errsize > 0)
        errbuf[0] = '\0';
    if (tls_dir == NULL || hostname == NULL || !hostname_ok(hostname)) {
        snprintf(errbuf, errsize, "TLS certificate: invalid host name \"%.64s\"",
                 hostname != NULL ? hostname : "");
        return YB_EINVAL;
    }
    int rc = pal_file_mkdirs(tls_dir);
    if (rc != 0) {
        snprintf(errbuf, errsize, "%s: cannot create directory: %s", tls_dir, yb_strerror(rc));
        return rc;
    }
    if (pal_path_join(chain_path, sizeof(chain_path), tls_dir, "chain.pem") != 0 ||
        pal_path_join(key_path, sizeof(key_path), tls_dir, "key.pem") != 0) {
        snprintf(errbuf, errsize, "%s: path too long", tls_dir);
        return YB_ENAMETOOLONG;
    }
    bool have_chain = pal_file_exists(chain_path);
    bool have_key = pal_file_exists(key_path);
    if (have_chain && have_key)
        return 0;
    if (have_chain || have_key) {
        snprintf(errbuf, errsize, "%s exists but %s is missing; not generating a new pair over it",
                 have_chain ? chain_path : key_path, have_chain ? key_path : chain_path);
        return YB_ENOENT;
    }
    ERR_clear_error();
    return generate(chain_path, key_path, hostname, errbuf, errsize);
}
