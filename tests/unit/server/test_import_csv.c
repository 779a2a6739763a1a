/* The import's CSV shape check (server/handlers_import.c): what COPY is fed, and the problems a clerk sees.
 *
 * Each case gives the bytes of a file and asserts the canonical copy (every field quoted, "\n" line ends, no
 * header) or the exact problems with their rows and columns. No database: the shape check runs before it. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "handlers_import.h"

#define REG ZERODROP__V1__IMPORT_KIND__IMPORT_REGISTER
#define HH ZERODROP__V1__IMPORT_KIND__IMPORT_HOUSEHOLD
#define HH_HEADER "person_id,name,birth_date,sex,township_code"

static srv_import_csv csv;

static int check(Zerodrop__V1__ImportKind kind, const char *text, size_t len)
{
    return srv_import_csv_check(&csv, kind, (const uint8_t *)text, len);
}

static void canon_is(const char *want)
{
    CHECK_INT_EQ(net_buf_len(&csv.canon), strlen(want));
    CHECK_MEM_EQ(net_buf_bytes(&csv.canon), want, strlen(want));
}

static void problem_is(size_t i, unsigned row, const char *column, const char *reason)
{
    CHECK(i < csv.nproblems);
    CHECK_INT_EQ(csv.problems[i].row, row);
    CHECK_STR_EQ(csv.problems[i].column, column);
    CHECK_STR_EQ(csv.problems[i].reason, reason);
}

int main(void)
{
    /* Plain rows, CRLF, a BOM, quoted commas, quotes and a newline inside a field, trailing blank lines. */
    static const char good[] = "\xEF\xBB\xBF" HH_HEADER "\r\n"
                               "1,a,2012-01-01,F,T1\r\n"
                               "2,\"b, \"\"c\"\"\nd\",,M,T2\n"
                               "\\.,e,x,F,T3\n\n\r\n";
    CHECK_INT_EQ(check(HH, good, sizeof(good) - 1), 0);
    CHECK_INT_EQ(csv.rows, 3);
    CHECK_INT_EQ(csv.problems_total, 0);
    canon_is("\"1\",\"a\",\"2012-01-01\",\"F\",\"T1\"\n"
             "\"2\",\"b, \"\"c\"\"\nd\",\"\",\"M\",\"T2\"\n"
             "\"\\.\",\"e\",\"x\",\"F\",\"T3\"\n");
    srv_import_csv_finish(&csv);

    /* The last row without a line end still counts. */
    static const char no_end[] = HH_HEADER "\n1,a,b,F,T1";
    CHECK_INT_EQ(check(HH, no_end, sizeof(no_end) - 1), 0);
    CHECK_INT_EQ(csv.rows, 1);
    srv_import_csv_finish(&csv);

    /* Header problems stop the check: the rows' columns would mean nothing. */
    static const char hdr[] = "person_id,nom,birth_date,sex,township\n1,2,3,4\n";
    CHECK_INT_EQ(check(HH, hdr, sizeof(hdr) - 1), 1);
    CHECK_INT_EQ(csv.problems_total, 2);
    problem_is(0, 1, "name", "the header says \"nom\" here, expected \"name\"");
    problem_is(1, 1, "township_code", "the header says \"township\" here, expected \"township_code\"");
    srv_import_csv_finish(&csv);
    static const char short_hdr[] = "person_id,name\n";
    CHECK_INT_EQ(check(HH, short_hdr, sizeof(short_hdr) - 1), 1);
    problem_is(0, 1, "", "the header has 2 columns, expected 5: " HH_HEADER);
    srv_import_csv_finish(&csv);

    /* Empty file, header only, an empty row in the middle, too many columns, NUL, text after a quote. */
    CHECK_INT_EQ(check(HH, "\r\n", 2), 1);
    problem_is(0, 1, "", "the file is empty; its first row must be the header " HH_HEADER);
    srv_import_csv_finish(&csv);
    CHECK_INT_EQ(check(HH, HH_HEADER "\n", sizeof(HH_HEADER)), 1);
    problem_is(0, 2, "", "the file has a header but no rows");
    srv_import_csv_finish(&csv);
    static const char rows[] = HH_HEADER "\n1,a,b,F,T1\n\n1,a,b,F,T1,extra\n1,a\0z,b,F,T1\n1,\"a\"z,b,F,T1\n";
    CHECK_INT_EQ(check(HH, rows, sizeof(rows) - 1), 1);
    CHECK_INT_EQ(csv.problems_total, 4);
    CHECK_INT_EQ(csv.rows, 5);
    problem_is(0, 3, "", "the row is empty (expected 5 columns)");
    problem_is(1, 4, "(extra)", "the row has 6 columns, expected 5");
    problem_is(2, 5, "name", "contains a NUL byte (bad encoding)");
    problem_is(3, 6, "name", "has text after its closing quote");
    srv_import_csv_finish(&csv);

    /* An open quote swallows the rest of the file: one problem where it started. */
    static const char open_q[] = HH_HEADER "\n1,\"a,b,F,T1\n2,a,b,F,T1\n";
    CHECK_INT_EQ(check(HH, open_q, sizeof(open_q) - 1), 1);
    problem_is(0, 2, "name", "a quoted field is not closed (a \" is missing)");
    problem_is(1, 2, "birth_date", "the row has 2 columns, expected 5");
    srv_import_csv_finish(&csv);

    /* The register's header, and the kind decides which one is expected. */
    static const char reg[] = "student_id,name,birth_date,sex,school_code,grade,class_name,household_id,flags\n"
                              "G1,n,d,F,S,7,7-1,,\n";
    CHECK_INT_EQ(check(REG, reg, sizeof(reg) - 1), 0);
    canon_is("\"G1\",\"n\",\"d\",\"F\",\"S\",\"7\",\"7-1\",\"\",\"\"\n");
    srv_import_csv_finish(&csv);
    CHECK_INT_EQ(check(HH, reg, sizeof(reg) - 1), 1);
    problem_is(0, 1, "", "the header has 9 columns, expected 5: " HH_HEADER);
    srv_import_csv_finish(&csv);
    CHECK_INT_EQ(check(ZERODROP__V1__IMPORT_KIND__IMPORT_UNSPECIFIED, reg, sizeof(reg) - 1), 1);
    srv_import_csv_finish(&csv);
    puts("ok");
    return 0;
}
