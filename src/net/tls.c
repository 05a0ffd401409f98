/*
 * tls: context setup.  Session resumption is what lets FTPS bind a data
 * connection to its control connection: each control connection sets a
 * random session id context, and only a data connection that resumes a
 * session carrying the same context is accepted (see ftp_data.c).
 */
#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/buf.h"

const char *
tls_error(void)
{
	static __thread char msg[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return ("unknown TLS error");
	ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return (msg);
}

SSL_CTX *
tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_timeout(ctx, 3600);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		goto fail;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		goto fail;
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return (ctx);
fail:
	(void)str_fmt(err, errlen, "%s", tls_error());
	SSL_CTX_free(ctx);
	return (NULL);
}

int
tls_make_self_signed(const char *certpath, const char *keypath,
    const char *cn)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	FILE *f = NULL;
	int fd, rc = -EIO;

	if ((pkey = EVP_EC_gen("P-256")) == NULL)
		goto out;
	if ((x = X509_new()) == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto out;

	fd = open(keypath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	if ((f = fopen(certpath, "w")) == NULL) {
		rc = -errno;
		goto out;
	}
	if (PEM_write_X509(f, x) != 1)
		goto out;
	rc = fclose(f) == 0 ? 0 : -EIO;
	f = NULL;
out:
	if (f)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return (rc);
}
