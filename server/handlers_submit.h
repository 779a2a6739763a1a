/* The Submit handler: signed records from a school (roll calls and daily reports), checked, stored once by
 * their UUID, chained into the audit log, and answered record by record (server/handlers_submit.c).
 *
 * Per record, in the order they came: the signature is checked against the session's peer certificate
 * (net_sign_verify: a record another device signed, or altered bytes, is rejected UNAUTHENTICATED); the body
 * is decoded; then one SQL function per record (sql/011_submit.sql) checks it against the county's data
 * (the device's school, class of that school in that school year, students enrolled in the class that day,
 * a date inside a term), stores it with its bytes unchanged and appends it to the audit chain. The whole
 * Submit is one transaction, answered only after COMMIT; a rejected record does not undo the others.
 * Each RecordResult carries the record's UUID, its status (ACCEPTED, DUPLICATE — same UUID, same bytes —
 * or REJECTED with Error{code, field, message}; same UUID with other bytes is REJECTED with CONFLICT) and,
 * when stored, the receipt: chain seq, chain hash and the server's receipt time. */
#ifndef ZD_SERVER_HANDLERS_SUBMIT_H
#define ZD_SERVER_HANDLERS_SUBMIT_H

#include "session.h"

/* Records in one Submit past this are refused INVALID_ARGUMENT (field "records"): the client batches. */
#define SRV_SUBMIT_MAX_RECORDS 500

/* Handles Envelope.submit; answers SubmitResult, or Error for a Submit that is wrong as a whole (no
 * records, too many, database unavailable). */
void srv_submit_handle(srv_request *req);

#endif
