/* Signed records: what a school captures, sealed for the outbox.
 *
 * A record is a RollCall, DailyReport, CaseOpen or CaseAction, serialized once into its canonical bytes
 * (the body), given a client-generated UUIDv4 and a capture time inside those bytes, and signed by the
 * device key (`key.pem` in the client home) through net/sign. The body is never re-serialized after
 * signing: the outbox stores it, the server stores it, dedup compares it and the audit chain hashes it.
 *
 * Besides the wire fields a cli_record carries what the store indexes it by (subject, date, corrects),
 * taken from the message when it is built, so the store never has to unpack bodies to answer "which roll
 * call of class 7-2 on 2026-03-04 is the latest". */
#ifndef ZD_CLIENT_RECORD_H
#define ZD_CLIENT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "attendance.pb-c.h"
#include "case.pb-c.h"
#include "err.h"
#include "record.pb-c.h"
#include "report.pb-c.h"

#define CLI_UUID_BYTES 16
#define CLI_UUID_TEXT 37 /* 36 characters and the terminating NUL */
#define CLI_SUBJECT_MAX 64

typedef struct cli_record {
    uint8_t uuid[CLI_UUID_BYTES];
    Zerodrop__V1__RecordKind kind;
    int64_t capture_ms;            /* as written into the body */
    char subject[CLI_SUBJECT_MAX]; /* roll call: class code; report: school code; case open: student id;
                                      case action: the case id in decimal */
    uint32_t date;                 /* YYYYMMDD for roll calls and reports, 0 otherwise */
    bool has_corrects;
    uint8_t corrects[CLI_UUID_BYTES];
    uint8_t *body; /* owned: the canonical bytes */
    size_t body_len;
    uint8_t *signature; /* owned: DER signature over body */
    size_t signature_len;
} cli_record;

/* Fills out with a random version-4 UUID (RFC 4122) from OpenSSL's RAND_bytes. Returns ZD_OK, or
 * ZD_EINTERNAL when the generator is not seeded (then out is untouched). */
zd_err cli_uuid_generate(uint8_t out[CLI_UUID_BYTES]);

/* Writes the canonical lower-case text form (8-4-4-4-12) with its NUL into out. */
void cli_uuid_format(const uint8_t uuid[CLI_UUID_BYTES], char out[CLI_UUID_TEXT]);

/* Parses the text form (either case, hyphens where format puts them) into out. Returns ZD_OK or
 * ZD_EINVALID_ARGUMENT (out untouched). */
zd_err cli_uuid_parse(const char *text, uint8_t out[CLI_UUID_BYTES]);

/* The device key: a heap object wrapping the EVP_PKEY used to sign. */
typedef struct cli_signer cli_signer;

/* Loads the private key at path (PEM) into a new signer stored in *out. Returns ZD_OK, ZD_ENOT_FOUND
 * when the file is missing, ZD_EINVALID_ARGUMENT when it holds no key, ZD_EOVERLOADED when memory ran
 * out. The caller destroys the signer. */
zd_err cli_signer_create(const char *key_path, cli_signer **out);

/* As cli_signer_create with `key.pem` in the client home dir. */
zd_err cli_signer_create_in_home(const char *home, cli_signer **out);

/* Frees the signer; NULL is a no-op. */
void cli_signer_destroy(cli_signer *s);

/* Borrowed view of the signer's key (for tests and for checking it against cert.pem). */
EVP_PKEY *cli_signer_key(cli_signer *s);

/* Seals msg into out: msg must be a Zerodrop__V1__RollCall, __DailyReport, __CaseOpen or __CaseAction
 * (its descriptor decides the kind). If msg's uuid is empty a fresh UUIDv4 is used, if it holds 16 bytes
 * they are kept (an import that is run twice yields the same records); any other length is
 * ZD_EINVALID_ARGUMENT. If msg's capture_ms is 0, now_ms is used. msg is serialized with those values
 * and signed; msg itself is left exactly as it was given. out is caller-owned memory, filled only on
 * ZD_OK; release it with cli_record_finish. Other errors: ZD_EINVALID_ARGUMENT for an unknown message,
 * a subject over CLI_SUBJECT_MAX-1 bytes or a corrects field that is neither empty nor 16 bytes;
 * ZD_EOVERLOADED when memory ran out; ZD_EINTERNAL when signing failed. */
zd_err cli_record_build(cli_signer *s, ProtobufCMessage *msg, int64_t now_ms, cli_record *out);

/* Frees what out owns and zeroes it; a zeroed or already finished record is fine. */
void cli_record_finish(cli_record *r);

/* Points wire at r's kind, body and signature, without copying: wire borrows from r and must not
 * outlive it nor be freed with __free_unpacked. */
void cli_record_wire(const cli_record *r, Zerodrop__V1__SignedRecord *wire);

/* The current wall-clock time in milliseconds since the Unix epoch. */
int64_t cli_now_ms(void);

#endif
