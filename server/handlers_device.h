/* Devices: the certificate fingerprints registered to each institution, checked at Hello, and the admin
 * requests that add, revoke and list them (server/handlers_device.c).
 *
 * A certificate the county CA signed and the CRL does not name is necessary but not enough: its SHA-256
 * fingerprint must also be in zd.device, registered to the institution the certificate names, and not
 * revoked there. Otherwise Hello gets Error{UNAUTHENTICATED, "this device is not registered with the
 * county"} and the session closes. Each accepted Hello records the device's contact time (the server's
 * clock), and Welcome carries the previous one (DESIGN §1, honest time). */
#ifndef ZD_SERVER_HANDLERS_DEVICE_H
#define ZD_SERVER_HANDLERS_DEVICE_H

#include <uv.h>

#include "session.h"

/* Registers a device: $1 fingerprint (64 lowercase hex), $2 institution code (school, township or
 * county: the level follows from which table holds the code), $3 label, $4 issue instant (ms since the
 * epoch). One row (its id) when registered; no row when no institution has that code; CONFLICT when the
 * fingerprint is already registered. Shared with `zerodropd enroll`. */
#define SRV_DEVICE_ADD_SQL                                                                                    \
    "INSERT INTO zd.device (fingerprint, level, school_id, township_id, county_id, note, issued_at) "        \
    "SELECT $1, i.level, i.school_id, i.township_id, i.county_id, $3, to_timestamp($4::bigint / 1000.0) "     \
    "FROM (SELECT 'school'::zd.level AS level, id AS school_id, NULL::integer AS township_id, "               \
    "             NULL::smallint AS county_id FROM zd.school WHERE code = $2 "                               \
    "      UNION ALL SELECT 'township', NULL, id, NULL FROM zd.township WHERE code = $2 "                     \
    "      UNION ALL SELECT 'county', NULL, NULL, id FROM zd.county WHERE code = $2) i "                      \
    "RETURNING id"

/* The Hello check (called by srv_session_hello when the server has a database): answers req with Welcome
 * (srv_session_welcome) or with a refusal that closes the session. */
void srv_device_hello(srv_request *req);

/* How often the server looks for devices revoked in the database (by an admin of another server process,
 * or by hand) that still have open sessions here: "within a few seconds". */
#define SRV_DEVICE_SWEEP_MS 2000

/* The sweep timer's callback (server.c starts it when there is a database; t->data is the srv_server):
 * one job at a time asks which of the open sessions' fingerprints are revoked and drops those sessions. */
void srv_device_sweep(uv_timer_t *t);

/* Admin family (dispatch table): DeviceAdd, DeviceRevoke (also drops the device's open sessions), and
 * DeviceListRequest. */
void srv_device_add(srv_request *req);
void srv_device_revoke(srv_request *req);
void srv_device_list(srv_request *req);

/* Normalises a fingerprint as people paste it ("AB:CD:…", upper or lower case, with or without colons)
 * into 64 lowercase hex digits in out (65 bytes). Returns 0, or -1 when it is not a SHA-256 fingerprint. */
int srv_device_fingerprint_parse(const char *in, char out[65]);

#endif
