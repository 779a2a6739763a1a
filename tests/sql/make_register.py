#!/usr/bin/env python3
"""make_register.py N OUT [--rename] — a clean, deterministic register.csv of N students for the import tests.

Schools S1 and S2 (institutions the test creates), grades 1-9, two classes per grade, ages right for the grade
on 1 September 2026, valid household ids, a few risk flags. --rename changes every name (to prove that a
refused file applied nothing). The figures the tests assert follow from N and this file alone."""
import sys

FLAGS = ["", "left_behind", "poor", "single_parent;poor", "", "migrant", "", "disability;home_taught"]
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞"


def check_char(first17):
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights)) % 11]


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    rename = "--rename" in sys.argv
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write("student_id,name,birth_date,sex,school_code,grade,class_name,household_id,flags\r\n")
        for i in range(n):
            grade = i % 9 + 1
            year = 2026 - 6 - (grade - 1)   # six on 1 September of grade 1
            month = i % 12 + 1
            day = i % 28 + 1
            if month >= 9:
                year -= 1                   # born after 1 September: still six a year later
            name = SURNAMES[i % 10] + GIVEN[(i // 10) % 20] + ("" if i % 3 else GIVEN[(i // 200) % 20])
            if rename:
                name = "新" + name
            first17 = "430101%04d%02d%02d%03d" % (year, month, day, i % 1000)
            hid = first17 + check_char(first17)
            school = "S1" if i % 2 == 0 else "S2"
            f.write("G%018d,%s,%04d-%02d-%02d,%s,%s,%d,%d-%d,%s,%s\r\n" % (
                i + 1, name, year, month, day, "FM"[i % 2], school, grade, grade, i // 18 % 2 + 1, hid,
                FLAGS[i % len(FLAGS)]))


main()
