/* Building signed records: UUIDs, capture time, canonical bytes and the device signature.
 *
 * The four record messages share two fields (uuid, capture_ms) but protobuf-c gives each its own struct,
 * so a small table of accessors by descriptor finds them; everything after that is common. */
#include "record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "sign.h"

struct cli_signer {
    EVP_PKEY *key;
};

/* Where one kind of record keeps the fields the builder fills and the store indexes. */
typedef struct fields {
    Zerodrop__V1__RecordKind kind;
    ProtobufCBinaryData *uuid;
    int64_t *capture_ms;
    ProtobufCBinaryData *corrects; /* NULL for kinds without corrections */
    uint32_t date;
    char subject[CLI_SUBJECT_MAX + 24];
} fields;

static int fields_of(ProtobufCMessage *msg, fields *f)
{
    memset(f, 0, sizeof(*f));
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *subject = NULL;
    if (d == &zerodrop__v1__roll_call__descriptor) {
        Zerodrop__V1__RollCall *m = (Zerodrop__V1__RollCall *)msg;
        *f = (fields){
            ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL, &m->uuid, &m->capture_ms, &m->corrects, m->date, ""};
        subject = m->class_code;
    } else if (d == &zerodrop__v1__daily_report__descriptor) {
        Zerodrop__V1__DailyReport *m = (Zerodrop__V1__DailyReport *)msg;
        *f = (fields){ZERODROP__V1__RECORD_KIND__RECORD_DAILY_REPORT,
                      &m->uuid,
                      &m->capture_ms,
                      &m->corrects,
                      m->date,
                      ""};
        subject = m->school_code;
    } else if (d == &zerodrop__v1__case_open__descriptor) {
        Zerodrop__V1__CaseOpen *m = (Zerodrop__V1__CaseOpen *)msg;
        *f = (fields){ZERODROP__V1__RECORD_KIND__RECORD_CASE_OPEN, &m->uuid, &m->capture_ms, NULL, 0, ""};
        subject = m->student_id;
    } else if (d == &zerodrop__v1__case_action__descriptor) {
        Zerodrop__V1__CaseAction *m = (Zerodrop__V1__CaseAction *)msg;
        *f = (fields){ZERODROP__V1__RECORD_KIND__RECORD_CASE_ACTION, &m->uuid, &m->capture_ms, NULL, 0, ""};
        snprintf(f->subject, sizeof(f->subject), "%" PRIu64, m->case_id);
        return 0;
    } else {
        return -1;
    }
    if (subject == NULL)
        subject = "";
    if (strlen(subject) >= CLI_SUBJECT_MAX)
        return -1;
    snprintf(f->subject, sizeof(f->subject), "%s", subject);
    return 0;
}

zd_err cli_uuid_generate(uint8_t out[CLI_UUID_BYTES])
{
    uint8_t b[CLI_UUID_BYTES];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return ZD_EINTERNAL;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4: random */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10: RFC 4122 */
    memcpy(out, b, sizeof(b));
    return ZD_OK;
}

void cli_uuid_format(const uint8_t uuid[CLI_UUID_BYTES], char out[CLI_UUID_TEXT])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < CLI_UUID_BYTES; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[uuid[i] >> 4];
        out[o++] = hex[uuid[i] & 0x0f];
    }
    out[o] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

zd_err cli_uuid_parse(const char *text, uint8_t out[CLI_UUID_BYTES])
{
    if (text == NULL || strlen(text) != CLI_UUID_TEXT - 1)
        return ZD_EINVALID_ARGUMENT;
    uint8_t b[CLI_UUID_BYTES];
    size_t t = 0;
    for (size_t i = 0; i < CLI_UUID_BYTES; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (text[t++] != '-')
                return ZD_EINVALID_ARGUMENT;
        }
        int hi = hexval(text[t]), lo = hexval(text[t + 1]);
        if (hi < 0 || lo < 0)
            return ZD_EINVALID_ARGUMENT;
        b[i] = (uint8_t)(hi << 4 | lo);
        t += 2;
    }
    memcpy(out, b, sizeof(b));
    return ZD_OK;
}

zd_err cli_signer_create(const char *key_path, cli_signer **out)
{
    EVP_PKEY *key = NULL;
    zd_err rc = net_sign_key_load(key_path, &key);
    if (rc != ZD_OK)
        return rc;
    cli_signer *s = malloc(sizeof(*s));
    if (s == NULL) {
        EVP_PKEY_free(key);
        return ZD_EOVERLOADED;
    }
    s->key = key;
    *out = s;
    return ZD_OK;
}

zd_err cli_signer_create_in_home(const char *home, cli_signer **out)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/key.pem", home ? home : "");
    if (home == NULL || n < 0 || (size_t)n >= sizeof(path))
        return ZD_EINVALID_ARGUMENT;
    return cli_signer_create(path, out);
}

void cli_signer_destroy(cli_signer *s)
{
    if (s == NULL)
        return;
    EVP_PKEY_free(s->key);
    free(s);
}

EVP_PKEY *cli_signer_key(cli_signer *s)
{
    return s ? s->key : NULL;
}

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

zd_err cli_record_build(cli_signer *s, ProtobufCMessage *msg, int64_t now_ms, cli_record *out)
{
    if (s == NULL || msg == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    fields f;
    if (fields_of(msg, &f) != 0)
        return ZD_EINVALID_ARGUMENT;
    if (f.uuid->len != 0 && f.uuid->len != CLI_UUID_BYTES)
        return ZD_EINVALID_ARGUMENT;
    if (f.corrects != NULL && f.corrects->len != 0 && f.corrects->len != CLI_UUID_BYTES)
        return ZD_EINVALID_ARGUMENT;

    cli_record r;
    memset(&r, 0, sizeof(r));
    r.kind = f.kind;
    r.date = f.date;
    memcpy(r.subject, f.subject, sizeof(r.subject));
    if (f.uuid->len == CLI_UUID_BYTES) {
        memcpy(r.uuid, f.uuid->data, CLI_UUID_BYTES);
    } else if (cli_uuid_generate(r.uuid) != ZD_OK) {
        return ZD_EINTERNAL;
    }
    r.capture_ms = *f.capture_ms != 0 ? *f.capture_ms : now_ms;
    if (f.corrects != NULL && f.corrects->len == CLI_UUID_BYTES) {
        r.has_corrects = true;
        memcpy(r.corrects, f.corrects->data, CLI_UUID_BYTES);
    }

    /* Serialize with our uuid and time, then give the caller its message back untouched. */
    ProtobufCBinaryData saved_uuid = *f.uuid;
    int64_t saved_capture = *f.capture_ms;
    *f.uuid = (ProtobufCBinaryData){CLI_UUID_BYTES, r.uuid};
    *f.capture_ms = r.capture_ms;
    zd_err rc = ZD_EOVERLOADED;
    r.body_len = protobuf_c_message_get_packed_size(msg);
    r.body = malloc(r.body_len ? r.body_len : 1);
    if (r.body != NULL)
        protobuf_c_message_pack(msg, r.body);
    *f.uuid = saved_uuid;
    *f.capture_ms = saved_capture;
    if (r.body == NULL)
        goto fail;

    rc = net_sign_body(s->key, r.body, r.body_len, &r.signature, &r.signature_len);
    if (rc != ZD_OK)
        goto fail;
    *out = r;
    return ZD_OK;
fail:
    cli_record_finish(&r);
    return rc;
}

void cli_record_finish(cli_record *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r->signature);
    memset(r, 0, sizeof(*r));
}

void cli_record_wire(const cli_record *r, Zerodrop__V1__SignedRecord *wire)
{
    zerodrop__v1__signed_record__init(wire);
    wire->kind = r->kind;
    wire->body = (ProtobufCBinaryData){r->body_len, r->body};
    wire->signature = (ProtobufCBinaryData){r->signature_len, r->signature};
}
