/* Signatures over record bodies, shared by client and server.
 *
 * A client signs the canonical bytes of each record (the serialized inner message) with its device key;
 * the server checks that signature against the public key of the certificate the session presented, so
 * a record cannot be forged by another device nor altered on the way. The scheme is fixed: ECDSA P-256
 * over SHA-256 of the body, DER-encoded signature (any key type OpenSSL can sign with SHA-256 works, but
 * devices carry P-256 keys, see HACKING.md).
 *
 * OpenSSL failures leave entries in the thread's error queue, which would later confuse SSL_get_error on
 * a TLS connection of the same thread; every function here clears the queue before returning an error. */
#ifndef ZD_NET_SIGN_H
#define ZD_NET_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

/* The longest signature we accept or produce. A DER ECDSA P-256 signature is at most 72 bytes; the cap
 * leaves room for larger keys while refusing absurd input before OpenSSL sees it. */
#define NET_SIGN_MAX_BYTES 512

/* Loads a PEM private key (unencrypted) from path into *out; the caller frees it with EVP_PKEY_free.
 * Returns ZD_OK; ZD_ENOT_FOUND when the file cannot be opened; ZD_EINVALID_ARGUMENT when it holds no
 * usable key. *out is untouched on failure. */
zd_err net_sign_key_load(const char *path, EVP_PKEY **out);

/* Loads a PEM certificate from path into *out; the caller frees it with X509_free. Errors as
 * net_sign_key_load. */
zd_err net_sign_cert_load(const char *path, X509 **out);

/* Signs body[0..body_len) with key. On ZD_OK, *sig is a malloc'd DER signature of *sig_len bytes that
 * the caller frees. Returns ZD_EINVALID_ARGUMENT for a NULL key, ZD_EINTERNAL when OpenSSL fails. An
 * empty body is allowed (the hash of nothing is still a hash). */
zd_err net_sign_body(EVP_PKEY *key, const uint8_t *body, size_t body_len, uint8_t **sig, size_t *sig_len);

/* Verifies that sig is key's signature over body. Returns ZD_OK when it is; ZD_EUNAUTHENTICATED when it
 * is not (altered body, altered or truncated signature, another key); ZD_EINVALID_ARGUMENT for a NULL
 * key, an empty signature or one over NET_SIGN_MAX_BYTES; ZD_EINTERNAL when OpenSSL fails otherwise.
 * Nothing is retained. */
zd_err net_sign_verify_key(EVP_PKEY *key, const uint8_t *body, size_t body_len, const uint8_t *sig,
                           size_t sig_len);

/* As net_sign_verify_key, with the public key of cert (the session's peer certificate on the server). */
zd_err net_sign_verify(X509 *cert, const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len);

#endif
