/* The client home (`zerodrop --home DIR`, default ~/.zerodrop): the device's certificate and key, the
 * county CA, settings.ini and the local store. See HACKING.md for the layout.
 *
 * settings.ini is read with libinih. Unknown keys are ignored (other rooms and newer versions add their
 * own), but a malformed line or a bad value of a key we know is an error naming FILE:LINE. */
#ifndef ZD_CLIENT_HOME_H
#define ZD_CLIENT_HOME_H

#include <stddef.h>
#include <stdint.h>

#define CLI_PATH_MAX 4096

typedef struct cli_home {
    char dir[CLI_PATH_MAX];
    char cert[CLI_PATH_MAX];    /* dir/cert.pem */
    char key[CLI_PATH_MAX];     /* dir/key.pem */
    char ca[CLI_PATH_MAX];      /* dir/ca.pem */
    char store[CLI_PATH_MAX];   /* dir/store.sqlite */
    char session[CLI_PATH_MAX]; /* dir/session */
    /* [server] */
    char host[256];        /* default 127.0.0.1 */
    unsigned port;         /* default 7443 */
    char server_name[256]; /* the name the server certificate must carry; default localhost */
    unsigned timeout_ms;   /* how long to wait for the server; default 10000 */
    /* [client] */
    char institution[40];
    char level[16];
    char lang[8]; /* default "en" */
} cli_home;

/* The default home: $HOME/.zerodrop. Returns 0, or -1 when HOME is not set (or too long). */
int cli_home_default(char *out, size_t n);

/* Reads the home at dir: fills the paths and reads dir/settings.ini (a missing settings.ini leaves the
 * defaults). Returns 0, or -1 with one line in err (errlen bytes), such as "no client home at DIR (make
 * one with deploy/pki issue-device)". The certificate files are checked by whoever uses them. */
int cli_home_load(cli_home *h, const char *dir, char *err, size_t errlen);

#endif
