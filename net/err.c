/* Names and plain-words texts of the error vocabulary, and the libuv translation. */
#include "err.h"

#include <uv.h>

static const char *const names[ZD_ERR_COUNT] = {
    [ZD_OK] = "OK",
    [ZD_EBAD_FRAME] = "BAD_FRAME",
    [ZD_EUNSUPPORTED_VERSION] = "UNSUPPORTED_VERSION",
    [ZD_EUNAUTHENTICATED] = "UNAUTHENTICATED",
    [ZD_EFORBIDDEN] = "FORBIDDEN",
    [ZD_EINVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [ZD_ENOT_FOUND] = "NOT_FOUND",
    [ZD_ECONFLICT] = "CONFLICT",
    [ZD_EOVERLOADED] = "OVERLOADED",
    [ZD_EINTERNAL] = "INTERNAL",
    [ZD_EUNAVAILABLE] = "UNAVAILABLE",
};

static const char *const texts[ZD_ERR_COUNT] = {
    [ZD_OK] = "done",
    [ZD_EBAD_FRAME] = "the message was damaged in transit",
    [ZD_EUNSUPPORTED_VERSION] = "this program is too old or too new for the server; update it",
    [ZD_EUNAUTHENTICATED] = "you are not logged in, or the login was refused",
    [ZD_EFORBIDDEN] = "your role may not do this",
    [ZD_EINVALID_ARGUMENT] = "the input is not valid",
    [ZD_ENOT_FOUND] = "no such record",
    [ZD_ECONFLICT] = "this conflicts with a record already stored",
    [ZD_EOVERLOADED] = "the server is busy; try again in a moment",
    [ZD_EINTERNAL] = "the server failed; tell the county bureau",
    [ZD_EUNAVAILABLE] = "the server cannot reach its database; try again later",
};

const char *zd_err_name(int code)
{
    if (code < 0 || code >= ZD_ERR_COUNT)
        return "UNKNOWN";
    return names[code];
}

const char *zd_err_text(int code)
{
    if (code < 0 || code >= ZD_ERR_COUNT)
        return "unknown error";
    return texts[code];
}

zd_err zd_err_from_uv(int uv_status)
{
    switch (uv_status) {
    case 0:
        return ZD_OK;
    case UV_ENOMEM:
    case UV_ENOBUFS:
    case UV_EMFILE:
    case UV_ENFILE:
        return ZD_EOVERLOADED;
    case UV_ECONNREFUSED:
    case UV_ECONNRESET:
    case UV_ETIMEDOUT:
    case UV_EHOSTUNREACH:
    case UV_ENETUNREACH:
    case UV_EPIPE:
    case UV_EOF:
    case UV_ECANCELED:
        return ZD_EUNAVAILABLE;
    case UV_EINVAL:
        return ZD_EINVALID_ARGUMENT;
    default:
        return ZD_EINTERNAL;
    }
}
