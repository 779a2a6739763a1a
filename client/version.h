/* The client's version string. */
#ifndef ZD_CLIENT_VERSION_H
#define ZD_CLIENT_VERSION_H

/* "0.1.0": the project version from meson. Static storage. */
const char *cli_version(void);

#endif
