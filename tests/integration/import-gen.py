#!/usr/bin/env python3
"""import-gen.py: writes register and household CSV files for the import tests, deterministic.

  import-gen.py register N OUT.csv     N register rows over the fixture's schools (tests/sql/fixture.sql),
                                       ages right for each grade in the current school year
  import-gen.py household N OUT.csv    N household rows with valid GB 11643 check characters
"""
import datetime
import sys

SCHOOLS = ["S43010101", "S43010102", "S43010201"]
TOWNSHIPS = ["T430101", "T430102"]
FLAGS = ["left_behind", "single_parent", "poor", "learning_difficulty", "disability", "home_taught", "migrant"]
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋"


def school_year(today):
    return today.year if today.month >= 9 else today.year - 1


def check_char(id17):
    weights = [(2 ** (17 - i)) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * w for c, w in zip(id17, weights)) % 11]


def register(n, out):
    sy = school_year(datetime.date.today())
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write("student_id,name,birth_date,sex,school_code,grade,class_name,household_id,flags\n")
        for i in range(n):
            grade = i % 9 + 1
            born = datetime.date(sy - grade - 6, 3, 1) + datetime.timedelta(days=i % 180)
            name = SURNAMES[i % 10] + GIVEN[(i // 10) % 10] + GIVEN[(i // 100) % 10]
            flags = FLAGS[i % 7] if i % 3 == 0 else ""
            f.write("G43%016d,%s,%s,%s,%s,%d,%d-%d,43%016d,%s\n" % (
                i + 1, name, born.isoformat(), "FM"[i % 2], SCHOOLS[i % 3], grade, grade, i % 4 + 1, i + 1, flags))


def household(n, out):
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write("person_id,name,birth_date,sex,township_code\n")
        for i in range(n):
            born = datetime.date(2012, 1, 1) + datetime.timedelta(days=i)
            id17 = "430101" + born.strftime("%Y%m%d") + "%03d" % (i % 1000)
            f.write("%s,%s,%s,%s,%s\n" % (id17 + check_char(id17), SURNAMES[i % 10] + GIVEN[i % 10],
                                          born.isoformat(), "FM"[i % 2], TOWNSHIPS[i % 2]))


if __name__ == "__main__":
    {"register": register, "household": household}[sys.argv[1]](int(sys.argv[2]), sys.argv[3])
