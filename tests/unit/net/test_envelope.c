/* Every body case of the Envelope survives frame encode → decode → unpack with every field set.
 *
 * A filler walks the protobuf-c descriptors and gives every field (scalars, strings, bytes, enums,
 * repeated fields, nested messages) a non-default value, so a field the schema forgot to carry or a
 * type that does not round-trip shows up as a byte difference after re-packing. */
#include <stdlib.h>

#include "check.h"
#include "err.h"
#include "frame.h"

static unsigned counter;

static void fill(ProtobufCMessage *m, const ProtobufCMessageDescriptor *desc, int depth, const ProtobufCFieldDescriptor *only);

static void *fill_one(const ProtobufCFieldDescriptor *f, void *slot, int depth)
{
    unsigned v = ++counter;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *)slot = -(int32_t)v;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *)slot = 20260300u + v;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *)slot = 1780000000000LL + v;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *)slot = 0x100000000ULL + v;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)slot = 0.5f + (float)v;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)slot = 0.25 + v;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)slot = 1;
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        *(int *)slot = ed->values[ed->n_values - 1].value;
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        char *s = malloc(32);
        CHECK(s != NULL);
        snprintf(s, 32, "%s-%u-学", f->name, v);
        *(char **)slot = s;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = slot;
        b->len = 16;
        b->data = malloc(16);
        CHECK(b->data != NULL);
        for (size_t i = 0; i < 16; i++)
            b->data[i] = (uint8_t)(v + i);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *md = f->descriptor;
        ProtobufCMessage *sub = calloc(1, md->sizeof_message);
        CHECK(sub != NULL);
        md->message_init(sub);
        if (depth < 4)
            fill(sub, md, depth + 1, NULL);
        *(ProtobufCMessage **)slot = sub;
        break;
    }
    }
    return slot;
}

static size_t type_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
        return 4;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/* Fills every field of m; of a oneof, only `only` (or, when NULL, its first member). */
static void fill(ProtobufCMessage *m, const ProtobufCMessageDescriptor *desc, int depth, const ProtobufCFieldDescriptor *only)
{
    char *base = (char *)m;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t *qcase = (uint32_t *)(base + f->quantifier_offset);
            if (only ? f != only : *qcase != 0)
                continue;
            *qcase = f->id;
            fill_one(f, base + f->offset, depth);
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = 2, sz = type_size(f);
            char *arr = calloc(n, sz);
            CHECK(arr != NULL);
            for (size_t k = 0; k < n; k++)
                fill_one(f, arr + k * sz, depth);
            *(size_t *)(base + f->quantifier_offset) = n;
            *(void **)(base + f->offset) = arr;
            continue;
        }
        fill_one(f, base + f->offset, depth);
    }
}

static void test_every_body_case(void)
{
    const ProtobufCMessageDescriptor *ed = &zerodrop__v1__envelope__descriptor;
    unsigned cases = 0;
    for (unsigned i = 0; i < ed->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &ed->fields[i];
        if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
        fill(&env.base, ed, 0, f);
        env.request_id = 1000 + i;
        CHECK_INT_EQ(env.body_case, f->id);

        net_buf out;
        net_buf_init(&out, NET_FRAME_DEFAULT_MAX + 4);
        CHECK_INT_EQ(net_envelope_append(&out, &env, NET_FRAME_DEFAULT_MAX), 0);
        size_t plen = net_buf_len(&out) - NET_FRAME_HEADER;
        const uint8_t *payload = net_buf_bytes(&out) + NET_FRAME_HEADER;

        Zerodrop__V1__Envelope *back = net_envelope_unpack(payload, plen);
        if (back == NULL) {
            fprintf(stderr, "body %s did not unpack\n", f->name);
            abort();
        }
        CHECK_INT_EQ(back->request_id, 1000 + i);
        CHECK_INT_EQ(back->body_case, f->id);
        size_t again = zerodrop__v1__envelope__get_packed_size(back);
        CHECK_INT_EQ(again, plen);
        uint8_t *re = malloc(again);
        CHECK(re != NULL);
        zerodrop__v1__envelope__pack(back, re);
        if (memcmp(re, payload, plen) != 0) {
            fprintf(stderr, "body %s changed in the round trip\n", f->name);
            abort();
        }
        free(re);
        zerodrop__v1__envelope__free_unpacked(back, NULL);
        /* the filler allocated with malloc, so the library's free walks it too */
        Zerodrop__V1__Envelope *heap = malloc(sizeof(*heap));
        CHECK(heap != NULL);
        *heap = env;
        zerodrop__v1__envelope__free_unpacked(heap, NULL);
        net_buf_finish(&out);
        cases++;
    }
    /* every family of DESIGN §3 is present: session, roster, records, attendance, report, case, query, admin, notice */
    CHECK(cases >= 45);
    printf("net-envelope: %u body cases round-tripped\n", cases);
}

static void test_known_values(void)
{
    Zerodrop__V1__Error err = ZERODROP__V1__ERROR__INIT;
    err.code = ZERODROP__V1__ERROR_CODE__INVALID_ARGUMENT;
    err.field = "records[0].absences[2].student_id";
    err.message = "student 4419 is not in class 7-2 on 2026-03-04";
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    env.request_id = 7;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_ERROR;
    env.error = &err;
    net_buf out;
    net_buf_init(&out, 4096);
    CHECK_INT_EQ(net_envelope_append(&out, &env, 4096), 0);
    /* the header is big-endian and names the payload length */
    const uint8_t *p = net_buf_bytes(&out);
    size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    CHECK_INT_EQ(n, net_buf_len(&out) - 4);
    Zerodrop__V1__Envelope *back = net_envelope_unpack(p + 4, n);
    CHECK(back != NULL);
    CHECK_INT_EQ(back->body_case, ZERODROP__V1__ENVELOPE__BODY_ERROR);
    CHECK_INT_EQ(back->error->code, ZD_EINVALID_ARGUMENT);
    CHECK_STR_EQ(back->error->field, err.field);
    CHECK_STR_EQ(back->error->message, err.message);
    zerodrop__v1__envelope__free_unpacked(back, NULL);

    /* garbage is not an envelope */
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK(net_envelope_unpack(junk, sizeof(junk)) == NULL);

    /* an envelope too big for the cap is refused by the encoder */
    CHECK_INT_EQ(net_envelope_append(&out, &env, 8), ZD_EBAD_FRAME);
    /* the wire codes equal our vocabulary */
    CHECK_INT_EQ(ZERODROP__V1__ERROR_CODE__UNAVAILABLE, ZD_EUNAVAILABLE);
    CHECK_INT_EQ(ZERODROP__V1__ERROR_CODE__BAD_FRAME, ZD_EBAD_FRAME);
    CHECK_INT_EQ(ZERODROP__V1__ERROR_CODE__OVERLOADED, ZD_EOVERLOADED);
    net_buf_finish(&out);
}

int main(void)
{
    test_every_body_case();
    test_known_values();
    puts("net-envelope: ok");
    return 0;
}
