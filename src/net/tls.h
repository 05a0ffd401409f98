/*
 * tls: OpenSSL contexts and the node's self-signed certificate.
 */
#ifndef SHOAL_NET_TLS_H
#define SHOAL_NET_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/*
 * A server context for FTPS: TLS 1.2 or newer, session tickets on so data
 * connections can resume a control connection's session (for
 * TLS_SESSION_SECS).  NULL with err set if the certificate or key cannot
 * be loaded.
 */
#define TLS_SESSION_SECS	3600
SSL_CTX	*tls_server_ctx(const char *cert, const char *key, char *err,
	    size_t errlen);
/*
 * Tags a server SSL made from tls_server_ctx: every session issued on it
 * from now on carries a copy of tag, sealed in its ticket (the client
 * cannot read or change it) or kept with the cached session.  0, or
 * -ENOMEM.
 */
#define TLS_TAG_LEN	16
int	tls_tag_set(SSL *ssl, const uint8_t tag[TLS_TAG_LEN])
	    __attribute__((warn_unused_result));
/*
 * The tag of the session ssl resumed in its handshake: 0 with tag filled,
 * or -ENOENT when the handshake did not resume a session or resumed one
 * without a tag.
 */
int	tls_tag_resumed(SSL *ssl, uint8_t tag[TLS_TAG_LEN])
	    __attribute__((warn_unused_result));
/*
 * Writes a new P-256 key (mode 0600) and a self-signed certificate for
 * cn, whose subjectAltNames are localhost, 127.0.0.1, ::1 and the
 * comma-separated names (NULL: none), each an IP address (an IP SAN) or
 * a host name (a DNS SAN) that tls_names_check accepts.
 */
int	tls_make_self_signed(const char *certpath, const char *keypath,
	    const char *cn, const char *names)
	    __attribute__((warn_unused_result));
#define TLS_NAMES_MAX	32	/* names in --tls-names */
/*
 * Checks comma-separated names for the certificate: each an IPv4 or IPv6
 * address, or a host name of letters, digits and '-' in dot-separated
 * labels of 1 to 63 bytes (253 at most in all; no '-' at a label's ends).
 * -EINVAL (why filled with the bad name) otherwise.
 */
int	tls_names_check(const char *names, char *why, size_t whylen)
	    __attribute__((warn_unused_result));
/*
 * Contexts for the peer protocol: TLS 1.3 only, authenticated by a key
 * derived from the cluster key (external PSK with (EC)DHE, so sessions
 * keep forward secrecy).  There are no certificates: a peer without the
 * cluster key cannot complete the handshake, so nothing it sends is read.
 */
#define TLS_CLUSTER_KEY_LEN	32
SSL_CTX	*tls_peer_ctx(const uint8_t key[TLS_CLUSTER_KEY_LEN], int server,
	    char *err, size_t errlen);
/* The same for node <-> tracker links, with a key of their own, so a
 * tracker and a peer listener can never be mistaken for each other. */
SSL_CTX	*tls_tracker_ctx(const uint8_t key[TLS_CLUSTER_KEY_LEN], int server,
	    char *err, size_t errlen);

/*
 * The cluster key as text, the way `shoal init` prints it and
 * DIR/.shoal/cluster_key holds it: 64 hex digits, nothing else (a caller
 * strips the line's newline first).  Parsing returns 0, or -EINVAL with
 * key unchanged.  Either case of digit is read; lower case is written.
 */
#define TLS_CLUSTER_KEY_HEX_LEN	(2 * TLS_CLUSTER_KEY_LEN)
int	tls_cluster_key_parse(const char *s, uint8_t key[TLS_CLUSTER_KEY_LEN])
	    __attribute__((warn_unused_result));
void	tls_cluster_key_hex(const uint8_t key[TLS_CLUSTER_KEY_LEN],
	    char out[TLS_CLUSTER_KEY_HEX_LEN + 1]);

/* The first OpenSSL error as text, for logs. */
const char *tls_error(void);

#endif
