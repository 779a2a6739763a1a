/* zerodrop's one error vocabulary.
 *
 * Every module returns these codes; OpenSSL, libpq, libuv and SQLite results are translated into them at
 * one helper per library. The values are those of zerodrop.v1.ErrorCode, so a code reaches the wire as
 * Error.code unchanged. */
#ifndef ZD_NET_ERR_H
#define ZD_NET_ERR_H

typedef enum zd_err {
    ZD_OK = 0,
    ZD_EBAD_FRAME = 1,
    ZD_EUNSUPPORTED_VERSION = 2,
    ZD_EUNAUTHENTICATED = 3,
    ZD_EFORBIDDEN = 4,
    ZD_EINVALID_ARGUMENT = 5,
    ZD_ENOT_FOUND = 6,
    ZD_ECONFLICT = 7,
    ZD_EOVERLOADED = 8,
    ZD_EINTERNAL = 9,
    ZD_EUNAVAILABLE = 10,
} zd_err;

#define ZD_ERR_COUNT 11

/* The wire name of a code ("BAD_FRAME"); "UNKNOWN" for values outside the vocabulary. */
const char *zd_err_name(int code);

/* A short plain-words sentence for a code, for people reading a client's stderr. */
const char *zd_err_text(int code);

/* Translates a libuv status (negative errno) into the vocabulary. */
zd_err zd_err_from_uv(int uv_status);

#endif
