/* net/buf: the cap holds before allocation, failures reset, consume/take hand bytes out correctly. */
#include <stdlib.h>

#include "buf.h"
#include "check.h"
#include "err.h"

static void test_cap(void)
{
    net_buf b;
    net_buf_init(&b, 10);
    CHECK_INT_EQ(net_buf_append(&b, "0123456789", 10), 0);
    CHECK_INT_EQ(net_buf_len(&b), 10);
    CHECK_INT_EQ(net_buf_append(&b, "x", 1), -1);   /* over the cap: refused and reset */
    CHECK_INT_EQ(net_buf_len(&b), 0);
    CHECK(b.data == NULL);
    CHECK(net_buf_reserve(&b, 11) == NULL);        /* never allocates past the cap */
    CHECK(b.data == NULL);
    CHECK(net_buf_reserve(&b, SIZE_MAX) == NULL);  /* no overflow in the check */
    net_buf_finish(&b);
}

static void test_consume_take(void)
{
    net_buf b;
    net_buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        CHECK_INT_EQ(net_buf_append(&b, "abcd", 4), 0);
    CHECK_INT_EQ(net_buf_len(&b), 4000);
    net_buf_consume(&b, 3998);
    CHECK_INT_EQ(net_buf_len(&b), 2);
    CHECK_MEM_EQ(net_buf_bytes(&b), "cd", 2);
    CHECK_INT_EQ(net_buf_append(&b, "ef", 2), 0);
    size_t n = 0;
    uint8_t *p = net_buf_take(&b, &n);
    CHECK_INT_EQ(n, 4);
    CHECK_MEM_EQ(p, "cdef", 4);
    free(p);
    CHECK_INT_EQ(net_buf_len(&b), 0);
    CHECK(net_buf_take(&b, &n) == NULL);
    CHECK_INT_EQ(n, 0);
    net_buf_consume(&b, 5); /* more than held: empties, no harm */
    CHECK_INT_EQ(net_buf_len(&b), 0);
    net_buf_finish(&b);
    net_buf_finish(&b); /* twice is harmless */
}

static void test_err_names(void)
{
    CHECK_STR_EQ(zd_err_name(ZD_EBAD_FRAME), "BAD_FRAME");
    CHECK_STR_EQ(zd_err_name(ZD_EUNAVAILABLE), "UNAVAILABLE");
    CHECK_STR_EQ(zd_err_name(99), "UNKNOWN");
    CHECK_STR_EQ(zd_err_name(-1), "UNKNOWN");
    for (int i = 0; i < ZD_ERR_COUNT; i++) {
        CHECK(zd_err_name(i) != NULL);
        CHECK(zd_err_text(i) != NULL);
    }
}

int main(void)
{
    test_cap();
    test_consume_take();
    test_err_names();
    puts("net-buf: ok");
    return 0;
}
