/*
 * tls: context setup.  Session resumption is what lets FTPS bind a data
 * connection to its control connection: a control connection tags its
 * SSL (tls_tag_set), every session issued on it carries the tag (in the
 * ticket's application data, which the ticket key seals, and on the
 * cached session for session-id resumption), and a data connection that
 * resumed a session shows its tag (tls_tag_resumed).  Which tags a data
 * connection may carry is the FTP server's decision (ftp_tls.c).
 * The cluster key's text form is read and written here too, so the node,
 * the tracker and `shoal init` share one parser.
 */
#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>

#include "base/buf.h"
#include "base/parse.h"

/* What a peer context knows of the cluster key (stored on the SSL_CTX). */
struct peer_psk {
	uint8_t	psk[32];
	char	identity[40];
};

static int psk_index = -1;
/* The tag of a server SSL (a malloc'd TLS_TAG_LEN bytes, or NULL). */
static int tag_index = -1;

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

static void
tag_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

/* Puts the tag of ssl (if any) on sess; 0 if that fails. */
static int
tag_stamp(SSL *ssl, SSL_SESSION *sess)
{
	const uint8_t *tag;

	if (sess == NULL || (tag = SSL_get_ex_data(ssl, tag_index)) == NULL)
		return (1);
	return (SSL_SESSION_set1_ticket_appdata(sess, tag, TLS_TAG_LEN));
}

/* A ticket is about to be sealed: the tag goes inside it. */
static int
ticket_gen(SSL *ssl, void *arg)
{
	(void)arg;
	return (tag_stamp(ssl, SSL_get0_session(ssl)));
}

/* A session enters the server's cache (session-id resumption). */
static int
session_new(SSL *ssl, SSL_SESSION *sess)
{
	(void)tag_stamp(ssl, sess);
	return (0);	/* no reference kept */
}

int
tls_tag_set(SSL *ssl, const uint8_t tag[TLS_TAG_LEN])
{
	uint8_t *copy, *old;

	if ((copy = malloc(TLS_TAG_LEN)) == NULL)
		return (-ENOMEM);
	memcpy(copy, tag, TLS_TAG_LEN);
	old = SSL_get_ex_data(ssl, tag_index);
	if (SSL_set_ex_data(ssl, tag_index, copy) != 1) {
		free(copy);
		return (-ENOMEM);
	}
	free(old);
	return (0);
}

int
tls_tag_resumed(SSL *ssl, uint8_t tag[TLS_TAG_LEN])
{
	SSL_SESSION *sess;
	void *data = NULL;
	size_t len = 0;

	if (!SSL_session_reused(ssl) || (sess = SSL_get0_session(ssl)) ==
	    NULL)
		return (-ENOENT);
	SSL_SESSION_get0_ticket_appdata(sess, &data, &len);
	if (data == NULL || len != TLS_TAG_LEN)
		return (-ENOENT);
	memcpy(tag, data, TLS_TAG_LEN);
	return (0);
}

SSL_CTX *
tls_server_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "shoal-ftps";
	SSL_CTX *ctx = NULL;

	if (tag_index < 0 && (tag_index = SSL_get_ex_new_index(0, NULL, NULL,
	    NULL, tag_free)) < 0)
		goto fail;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_timeout(ctx, TLS_SESSION_SECS);
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1)
	    != 1 || SSL_CTX_set_session_ticket_cb(ctx, ticket_gen, NULL,
	    NULL) != 1)
		goto fail;
	SSL_CTX_sess_set_new_cb(ctx, session_new);
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

static bool
is_ip(const char *name, bool *v6)
{
	unsigned char a[16];

	*v6 = inet_pton(AF_INET6, name, a) == 1;
	return (*v6 || inet_pton(AF_INET, name, a) == 1);
}

static bool
is_host_name(const char *name)
{
	size_t i, label = 0, len = strlen(name);
	char c;

	if (len == 0 || len > 253)
		return (false);
	for (i = 0; i <= len; i++) {
		c = name[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || name[i - 1] == '-')
				return (false);
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0))
			label++;
		else
			return (false);
	}
	return (true);
}

int
tls_names_check(const char *names, char *why, size_t whylen)
{
	struct cursor c;
	struct span s;
	char one[254];
	unsigned n = 0;
	bool v6;

	if (names == NULL)
		return (0);
	cur_init(&c, names, strlen(names));
	do {
		s = cur_until(&c, ',');
		if (++n > TLS_NAMES_MAX) {
			(void)str_fmt(why, whylen, "more than %d names",
			    TLS_NAMES_MAX);
			return (-EINVAL);
		}
		if (s.len == 0 || s.len >= sizeof(one)) {
			(void)str_fmt(why, whylen, "'%.*s': %s", (int)s.len,
			    s.p, s.len ? "too long" : "an empty name");
			return (-EINVAL);
		}
		memcpy(one, s.p, s.len);
		one[s.len] = '\0';
		if (!is_ip(one, &v6) && !is_host_name(one)) {
			(void)str_fmt(why, whylen, "'%s' is neither an IP "
			    "address nor a host name", one);
			return (-EINVAL);
		}
	} while (cur_eat(&c, ','));
	return (0);
}

/* The subjectAltName value: "DNS:localhost,IP:127.0.0.1,IP:::1,...". */
static int
san_text(const char *names, struct buf *out)
{
	struct cursor c;
	struct span s;
	char one[254];
	bool v6;

	if (buf_printf(out, "DNS:localhost,IP:127.0.0.1,IP:::1") < 0)
		return (-ENOMEM);
	if (names == NULL)
		return (0);
	cur_init(&c, names, strlen(names));
	do {
		s = cur_until(&c, ',');
		if (s.len == 0 || s.len >= sizeof(one))
			return (-EINVAL);
		memcpy(one, s.p, s.len);
		one[s.len] = '\0';
		if (buf_printf(out, ",%s:%s", is_ip(one, &v6) ? "IP" : "DNS",
		    one) < 0)
			return (-ENOMEM);
	} while (cur_eat(&c, ','));
	return (0);
}

int
tls_make_self_signed(const char *certpath, const char *keypath,
    const char *cn, const char *names)
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
	{
		X509V3_CTX v3;
		X509_EXTENSION *ext;
		struct buf san;
		char why[300];

		if (tls_names_check(names, why, sizeof(why)) < 0) {
			rc = -EINVAL;
			goto out;
		}
		buf_init(&san, 16384);
		if (san_text(names, &san) < 0) {
			buf_release(&san);
			goto out;
		}
		X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_nconf_nid(NULL, &v3, NID_subject_alt_name,
		    san.data);
		buf_release(&san);
		if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
			X509_EXTENSION_free(ext);
			goto out;
		}
		X509_EXTENSION_free(ext);
	}
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

static const SSL_CIPHER *
psk_cipher(SSL *ssl)
{
	static const unsigned char aes128gcmsha256[] = { 0x13, 0x01 };

	return (SSL_CIPHER_find(ssl, aes128gcmsha256));
}

static SSL_SESSION *
psk_session(SSL *ssl, const struct peer_psk *pp)
{
	const SSL_CIPHER *c = psk_cipher(ssl);
	SSL_SESSION *sess;

	if (c == NULL || (sess = SSL_SESSION_new()) == NULL)
		return (NULL);
	if (!SSL_SESSION_set1_master_key(sess, pp->psk, sizeof(pp->psk)) ||
	    !SSL_SESSION_set_cipher(sess, c) ||
	    !SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION)) {
		SSL_SESSION_free(sess);
		return (NULL);
	}
	return (sess);
}

static const struct peer_psk *
ctx_psk(SSL *ssl)
{
	return (SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_index));
}

/* Server: accept only the identity of our cluster's key. */
static int
psk_find(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
	const struct peer_psk *pp = ctx_psk(ssl);

	*sess = NULL;
	if (pp && idlen == strlen(pp->identity) &&
	    CRYPTO_memcmp(id, pp->identity, idlen) == 0)
		*sess = psk_session(ssl, pp);
	/* No session: the handshake fails, there is no certificate. */
	return (1);
}

static int
psk_use(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
    SSL_SESSION **sess)
{
	const struct peer_psk *pp = ctx_psk(ssl);

	(void)md;
	*sess = NULL;
	if (pp == NULL || (*sess = psk_session(ssl, pp)) == NULL)
		return (0);
	*id = (const unsigned char *)pp->identity;
	*idlen = strlen(pp->identity);
	return (1);
}

static void
psk_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr) {
		OPENSSL_cleanse(ptr, sizeof(struct peer_psk));
		OPENSSL_free(ptr);
	}
}

static SSL_CTX *
psk_ctx(const uint8_t key[TLS_CLUSTER_KEY_LEN], int server,
    const char *psk_label, char *err, size_t errlen)
{
	static const char id_label[] = "shoal cluster id v1";
	unsigned char idmac[32];
	unsigned int len = 32;
	struct peer_psk *pp;
	SSL_CTX *ctx;
	int i;

	if (psk_index < 0)
		psk_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		    psk_free);
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL || (pp = OPENSSL_zalloc(sizeof(*pp))) == NULL) {
		SSL_CTX_free(ctx);
		(void)str_fmt(err, errlen, "%s", tls_error());
		return (NULL);
	}
	/* Separate keys for separate uses of the one cluster secret. */
	HMAC(EVP_sha256(), key, TLS_CLUSTER_KEY_LEN,
	    (const unsigned char *)psk_label, strlen(psk_label), pp->psk,
	    &len);
	HMAC(EVP_sha256(), key, TLS_CLUSTER_KEY_LEN,
	    (const unsigned char *)id_label, sizeof(id_label) - 1, idmac, &len);
	memcpy(pp->identity, "shoal-", 6);
	for (i = 0; i < 8; i++)
		snprintf(pp->identity + 6 + 2 * i, 3, "%02x", idmac[i]);
	SSL_CTX_set_ex_data(ctx, psk_index, pp);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (server)
		SSL_CTX_set_psk_find_session_callback(ctx, psk_find);
	else
		SSL_CTX_set_psk_use_session_callback(ctx, psk_use);
	return (ctx);
}

SSL_CTX *
tls_peer_ctx(const uint8_t key[TLS_CLUSTER_KEY_LEN], int server, char *err,
    size_t errlen)
{
	return (psk_ctx(key, server, "shoal peer psk v1", err, errlen));
}

SSL_CTX *
tls_tracker_ctx(const uint8_t key[TLS_CLUSTER_KEY_LEN], int server,
    char *err, size_t errlen)
{
	SSL_CTX *ctx = psk_ctx(key, server, "shoal tracker psk v1", err,
	    errlen);

	/* A tracker holds thousands of mostly idle links: buffers are
	 * given back between records. */
	if (ctx != NULL)
		SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return (ctx);
}

int
tls_cluster_key_parse(const char *s, uint8_t key[TLS_CLUSTER_KEY_LEN])
{
	/* span_hex leaves key as it was on failure. */
	return (span_hex(span_str(s), key, TLS_CLUSTER_KEY_LEN) < 0 ? -EINVAL :
	    0);
}

void
tls_cluster_key_hex(const uint8_t key[TLS_CLUSTER_KEY_LEN],
    char out[TLS_CLUSTER_KEY_HEX_LEN + 1])
{
	str_hex(key, TLS_CLUSTER_KEY_LEN, out);
}
