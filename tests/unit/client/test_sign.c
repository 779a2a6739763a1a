/* client/record and net/sign: records are sealed with a UUIDv4, a capture time and the device's ECDSA
 * P-256 signature over exactly their bytes; any flipped bit, or another device's key, fails verification.
 * Keys and certificates are made here by the `openssl` command, as deploy/pki makes them, and one
 * signature is checked by `openssl dgst` too, so our bytes are the standard scheme and not a private one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "record.h"
#include "sign.h"

static char dir[256];

static void path_of(char *out, size_t n, const char *name)
{
    int w = snprintf(out, n, "%s/%s", dir, name);
    CHECK(w > 0 && (size_t)w < n);
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    path_of(path, sizeof(path), name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK_INT_EQ(fwrite(p, 1, n, f), n);
    CHECK_INT_EQ(fclose(f), 0);
}

static void test_uuid(void)
{
    uint8_t a[CLI_UUID_BYTES], b[CLI_UUID_BYTES], c[CLI_UUID_BYTES];
    CHECK_INT_EQ(cli_uuid_generate(a), ZD_OK);
    CHECK_INT_EQ(cli_uuid_generate(b), ZD_OK);
    CHECK(memcmp(a, b, CLI_UUID_BYTES) != 0);
    CHECK_INT_EQ(a[6] >> 4, 4);      /* version 4 */
    CHECK_INT_EQ(a[8] & 0xc0, 0x80); /* RFC 4122 variant */

    char text[CLI_UUID_TEXT];
    cli_uuid_format(a, text);
    CHECK_INT_EQ(strlen(text), 36);
    CHECK(text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-');
    CHECK(text[14] == '4');
    CHECK_INT_EQ(cli_uuid_parse(text, c), ZD_OK);
    CHECK_MEM_EQ(a, c, CLI_UUID_BYTES);

    static const uint8_t known[CLI_UUID_BYTES] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x42, 0xd3,
                                                  0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
    cli_uuid_format(known, text);
    CHECK_STR_EQ(text, "123e4567-e89b-42d3-a456-426614174000");
    CHECK_INT_EQ(cli_uuid_parse("123E4567-E89B-42D3-A456-426614174000", c), ZD_OK);
    CHECK_MEM_EQ(known, c, CLI_UUID_BYTES);
    CHECK_INT_EQ(cli_uuid_parse("123e4567e89b-42d3-a456-4266141740000", c), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(cli_uuid_parse("123e4567-e89b-42d3-a456-42661417400g", c), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(cli_uuid_parse("123e4567-e89b-42d3-a456-42661417400", c), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(cli_uuid_parse(NULL, c), ZD_EINVALID_ARGUMENT);
    CHECK_MEM_EQ(known, c, CLI_UUID_BYTES); /* untouched by the failures */
}

static void roll_call_fixture(Zerodrop__V1__RollCall *rc, Zerodrop__V1__Absence *ab,
                              Zerodrop__V1__Absence **abp)
{
    zerodrop__v1__roll_call__init(rc);
    zerodrop__v1__absence__init(ab);
    ab->student_id = "G430101201301010011";
    ab->reason = "sick";
    ab->excused = 1;
    abp[0] = ab;
    rc->class_code = "S43010101-7-2";
    rc->date = 20260304;
    rc->absences = abp;
    rc->n_absences = 1;
    rc->taken_by = "clerk1";
}

static void test_round_trip(cli_signer *signer, X509 *cert_a, X509 *cert_b)
{
    Zerodrop__V1__RollCall rc;
    Zerodrop__V1__Absence ab, *abp[1];
    roll_call_fixture(&rc, &ab, abp);

    cli_record r;
    CHECK_INT_EQ(cli_record_build(signer, &rc.base, 1772600000123LL, &r), ZD_OK);
    CHECK_INT_EQ(r.kind, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL);
    CHECK_INT_EQ(r.capture_ms, 1772600000123LL);
    CHECK_STR_EQ(r.subject, "S43010101-7-2");
    CHECK_INT_EQ(r.date, 20260304);
    CHECK(!r.has_corrects);
    CHECK_INT_EQ(r.uuid[6] >> 4, 4);
    CHECK(r.signature_len >= 8 && r.signature_len <= 72);
    CHECK_INT_EQ(r.signature[0], 0x30); /* a DER SEQUENCE */
    /* The caller's message is given back as it was. */
    CHECK_INT_EQ(rc.uuid.len, 0);
    CHECK(rc.uuid.data == NULL);
    CHECK_INT_EQ(rc.capture_ms, 0);

    /* The body is the RollCall with our uuid and time in it. */
    Zerodrop__V1__RollCall *back = zerodrop__v1__roll_call__unpack(NULL, r.body_len, r.body);
    CHECK(back != NULL);
    CHECK_INT_EQ(back->uuid.len, CLI_UUID_BYTES);
    CHECK_MEM_EQ(back->uuid.data, r.uuid, CLI_UUID_BYTES);
    CHECK_INT_EQ(back->capture_ms, 1772600000123LL);
    CHECK_STR_EQ(back->class_code, "S43010101-7-2");
    CHECK_INT_EQ(back->n_absences, 1);
    CHECK_STR_EQ(back->absences[0]->student_id, "G430101201301010011");
    zerodrop__v1__roll_call__free_unpacked(back, NULL);

    CHECK_INT_EQ(net_sign_verify(cert_a, r.body, r.body_len, r.signature, r.signature_len), ZD_OK);
    CHECK_INT_EQ(
        net_sign_verify_key(cli_signer_key(signer), r.body, r.body_len, r.signature, r.signature_len), ZD_OK);
    /* Another device's certificate: not its signature. */
    CHECK_INT_EQ(net_sign_verify(cert_b, r.body, r.body_len, r.signature, r.signature_len),
                 ZD_EUNAUTHENTICATED);

    /* Every single flipped bit of the body fails; so does every flipped bit of the signature. */
    for (size_t i = 0; i < r.body_len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            r.body[i] ^= (uint8_t)(1u << bit);
            CHECK_INT_EQ(net_sign_verify(cert_a, r.body, r.body_len, r.signature, r.signature_len),
                         ZD_EUNAUTHENTICATED);
            r.body[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (size_t i = 0; i < r.signature_len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            r.signature[i] ^= (uint8_t)(1u << bit);
            CHECK_INT_EQ(net_sign_verify(cert_a, r.body, r.body_len, r.signature, r.signature_len),
                         ZD_EUNAUTHENTICATED);
            r.signature[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Truncated, empty and oversized signatures. */
    CHECK_INT_EQ(net_sign_verify(cert_a, r.body, r.body_len, r.signature, r.signature_len - 1),
                 ZD_EUNAUTHENTICATED);
    CHECK_INT_EQ(net_sign_verify(cert_a, r.body, r.body_len, r.signature, 0), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(net_sign_verify(cert_a, r.body, r.body_len, r.signature, NET_SIGN_MAX_BYTES + 1),
                 ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(net_sign_verify(NULL, r.body, r.body_len, r.signature, r.signature_len),
                 ZD_EINVALID_ARGUMENT);
    /* Still intact after all that. */
    CHECK_INT_EQ(net_sign_verify(cert_a, r.body, r.body_len, r.signature, r.signature_len), ZD_OK);

    /* The standard tool agrees: SHA-256, DER ECDSA, over exactly the body. */
    write_file("body.bin", r.body, r.body_len);
    write_file("body.sig", r.signature, r.signature_len);
    helper_sh("openssl x509 -in '%s/a.pem' -pubkey -noout > '%s/a.pub'", dir, dir);
    helper_sh("cd '%s' && openssl dgst -sha256 -verify a.pub -signature body.sig body.bin >/dev/null", dir);

    /* The wire view borrows the record's bytes. */
    Zerodrop__V1__SignedRecord wire;
    cli_record_wire(&r, &wire);
    CHECK_INT_EQ(wire.kind, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL);
    CHECK(wire.body.data == r.body && wire.body.len == r.body_len);
    CHECK(wire.signature.data == r.signature && wire.signature.len == r.signature_len);

    /* A given uuid and time are kept: the same input gives the same canonical bytes. ECDSA signatures
     * are randomized, yet both verify. */
    uint8_t uuid[CLI_UUID_BYTES];
    memcpy(uuid, r.uuid, CLI_UUID_BYTES);
    rc.uuid = (ProtobufCBinaryData){CLI_UUID_BYTES, uuid};
    rc.capture_ms = 1772600000123LL;
    cli_record again;
    CHECK_INT_EQ(cli_record_build(signer, &rc.base, 1, &again), ZD_OK);
    CHECK_MEM_EQ(again.uuid, uuid, CLI_UUID_BYTES);
    CHECK_INT_EQ(again.capture_ms, 1772600000123LL);
    CHECK_INT_EQ(again.body_len, r.body_len);
    CHECK_MEM_EQ(again.body, r.body, r.body_len);
    CHECK_INT_EQ(net_sign_verify(cert_a, again.body, again.body_len, again.signature, again.signature_len),
                 ZD_OK);
    cli_record_finish(&again);

    /* A correction names the record it corrects. */
    rc.uuid = (ProtobufCBinaryData){0, NULL};
    rc.corrects = (ProtobufCBinaryData){CLI_UUID_BYTES, uuid};
    CHECK_INT_EQ(cli_record_build(signer, &rc.base, 5, &again), ZD_OK);
    CHECK(again.has_corrects);
    CHECK_MEM_EQ(again.corrects, uuid, CLI_UUID_BYTES);
    CHECK(memcmp(again.uuid, uuid, CLI_UUID_BYTES) != 0);
    CHECK_INT_EQ(again.capture_ms, 1772600000123LL);
    cli_record_finish(&again);
    cli_record_finish(&r);
    cli_record_finish(&r); /* finishing twice is harmless */
}

static void test_other_kinds(cli_signer *signer, X509 *cert_a)
{
    Zerodrop__V1__DailyReport dr = ZERODROP__V1__DAILY_REPORT__INIT;
    dr.school_code = "S43010101";
    dr.date = 20260305;
    dr.kind = ZERODROP__V1__REPORT_KIND__REPORT_ZERO;
    dr.signed_by = "principal";
    cli_record r;
    CHECK_INT_EQ(cli_record_build(signer, &dr.base, 42, &r), ZD_OK);
    CHECK_INT_EQ(r.kind, ZERODROP__V1__RECORD_KIND__RECORD_DAILY_REPORT);
    CHECK_STR_EQ(r.subject, "S43010101");
    CHECK_INT_EQ(r.date, 20260305);
    CHECK_INT_EQ(r.capture_ms, 42);
    CHECK_INT_EQ(net_sign_verify(cert_a, r.body, r.body_len, r.signature, r.signature_len), ZD_OK);
    cli_record_finish(&r);

    Zerodrop__V1__CaseOpen co = ZERODROP__V1__CASE_OPEN__INIT;
    co.student_id = "G430101201301010011";
    co.cause = ZERODROP__V1__CASE_CAUSE__CAUSE_MANUAL;
    CHECK_INT_EQ(cli_record_build(signer, &co.base, 43, &r), ZD_OK);
    CHECK_INT_EQ(r.kind, ZERODROP__V1__RECORD_KIND__RECORD_CASE_OPEN);
    CHECK_STR_EQ(r.subject, "G430101201301010011");
    CHECK_INT_EQ(r.date, 0);
    cli_record_finish(&r);

    Zerodrop__V1__CaseAction ca = ZERODROP__V1__CASE_ACTION__INIT;
    ca.case_id = 18446744073709551615ULL;
    ca.type = ZERODROP__V1__ACTION_TYPE__ACTION_HOME_VISIT;
    CHECK_INT_EQ(cli_record_build(signer, &ca.base, 44, &r), ZD_OK);
    CHECK_INT_EQ(r.kind, ZERODROP__V1__RECORD_KIND__RECORD_CASE_ACTION);
    CHECK_STR_EQ(r.subject, "18446744073709551615");
    cli_record_finish(&r);

    /* What cannot be a record is refused, and nothing is filled. */
    Zerodrop__V1__Ping ping = ZERODROP__V1__PING__INIT;
    memset(&r, 0, sizeof(r));
    CHECK_INT_EQ(cli_record_build(signer, &ping.base, 1, &r), ZD_EINVALID_ARGUMENT);
    CHECK(r.body == NULL);
    uint8_t bad[5] = {1, 2, 3, 4, 5};
    dr.uuid = (ProtobufCBinaryData){sizeof(bad), bad};
    CHECK_INT_EQ(cli_record_build(signer, &dr.base, 1, &r), ZD_EINVALID_ARGUMENT);
    dr.uuid = (ProtobufCBinaryData){0, NULL};
    dr.corrects = (ProtobufCBinaryData){sizeof(bad), bad};
    CHECK_INT_EQ(cli_record_build(signer, &dr.base, 1, &r), ZD_EINVALID_ARGUMENT);
    dr.corrects = (ProtobufCBinaryData){0, NULL};
    char long_code[CLI_SUBJECT_MAX + 1];
    memset(long_code, 'x', sizeof(long_code) - 1);
    long_code[sizeof(long_code) - 1] = '\0';
    dr.school_code = long_code;
    CHECK_INT_EQ(cli_record_build(signer, &dr.base, 1, &r), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(cli_record_build(NULL, &co.base, 1, &r), ZD_EINVALID_ARGUMENT);
}

static void test_loading(void)
{
    char path[512];
    cli_signer *s = NULL;
    path_of(path, sizeof(path), "missing.pem");
    CHECK_INT_EQ(cli_signer_create(path, &s), ZD_ENOT_FOUND);
    CHECK(s == NULL);
    path_of(path, sizeof(path), "body.bin"); /* not PEM */
    CHECK_INT_EQ(cli_signer_create(path, &s), ZD_EINVALID_ARGUMENT);
    X509 *cert = NULL;
    CHECK_INT_EQ(net_sign_cert_load(path, &cert), ZD_EINVALID_ARGUMENT);
    CHECK(cert == NULL);
    /* The home layout: key.pem. */
    helper_sh("cp '%s/a.key' '%s/key.pem'", dir, dir);
    CHECK_INT_EQ(cli_signer_create_in_home(dir, &s), ZD_OK);
    CHECK(s != NULL);
    cli_signer_destroy(s);
    cli_signer_destroy(NULL);
}

int main(void)
{
    helper_tmpdir(dir, sizeof(dir));
    helper_device(dir, "a");
    helper_device(dir, "b");

    char path[512];
    cli_signer *signer = NULL;
    path_of(path, sizeof(path), "a.key");
    CHECK_INT_EQ(cli_signer_create(path, &signer), ZD_OK);
    X509 *cert_a = NULL, *cert_b = NULL;
    path_of(path, sizeof(path), "a.pem");
    CHECK_INT_EQ(net_sign_cert_load(path, &cert_a), ZD_OK);
    path_of(path, sizeof(path), "b.pem");
    CHECK_INT_EQ(net_sign_cert_load(path, &cert_b), ZD_OK);

    test_uuid();
    test_round_trip(signer, cert_a, cert_b);
    test_other_kinds(signer, cert_a);
    test_loading();

    X509_free(cert_a);
    X509_free(cert_b);
    cli_signer_destroy(signer);
    helper_rmdir(dir);
    puts("client-sign: ok");
    return 0;
}
