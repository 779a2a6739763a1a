/* The server's version string. */
#ifndef ZD_SERVER_VERSION_H
#define ZD_SERVER_VERSION_H

/* "0.1.0": the project version from meson. Static storage. */
const char *srv_version(void);

#endif
