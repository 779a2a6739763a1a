/* Session tokens: 32 random bytes handed to the client once, kept in the database only as their SHA-256.
 *
 * A token is the bearer's proof of an earlier login, so the database must not hold anything that works as
 * one: it stores the digest, and a resumed login digests what the client sends and looks that up. The
 * digest of a 256-bit random value needs no salt or slow hash (nobody can guess the input). */
#ifndef ZD_SERVER_TOKEN_H
#define ZD_SERVER_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SRV_TOKEN_BYTES 32
#define SRV_TOKEN_DIGEST_BYTES 32
/* "\x" and 64 hex digits and the NUL: the digest as a PostgreSQL bytea text parameter */
#define SRV_TOKEN_PARAM_SIZE (2 + 2 * SRV_TOKEN_DIGEST_BYTES + 1)

/* Fills token with SRV_TOKEN_BYTES bytes from OpenSSL's RAND_bytes. Returns ZD_OK or ZD_EINTERNAL. */
zd_err srv_token_new(uint8_t token[SRV_TOKEN_BYTES]);

/* SHA-256 of len bytes of token into out. Returns ZD_OK or ZD_EINTERNAL. */
zd_err srv_token_digest(const uint8_t *token, size_t len, uint8_t out[SRV_TOKEN_DIGEST_BYTES]);

/* The digest of token as a bytea parameter in text form ("\x" + 64 lower-case hex digits) into out.
 * Returns ZD_OK, ZD_EINVALID_ARGUMENT when len is not SRV_TOKEN_BYTES (no token of ours has another
 * length), or ZD_EINTERNAL. */
zd_err srv_token_digest_param(const uint8_t *token, size_t len, char out[SRV_TOKEN_PARAM_SIZE]);

#endif
