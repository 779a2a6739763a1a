#!/usr/bin/env python3
"""Check a generated county against its own rules, from the CSV files alone.

This is a second, independent implementation of the truth: it reads only what gen-county wrote (never its
arrays), recomputes every figure in truth.csv the way tests/gen/README.md defines it, and fails on the first
disagreement with the exact rows. It also checks the contracts other rooms rely on: register and household
rows valid per HACKING.md, responsibility shares summing to 100, every planted streak present, sizes.

usage: check-county.py --gen PATH/gen-county (--small | --full) [--seed N] [--quick] [--determinism]
       check-county.py --dir DIR (--small | --full) [--quick]     # check an existing output
"""
import argparse
import bisect
import collections
import csv
import datetime
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

FLAGS = {"left_behind", "single_parent", "poor", "learning_difficulty", "disability", "home_taught", "migrant"}
ERRORS = []


def fail(msg):
    ERRORS.append(msg)
    if len(ERRORS) >= 25:
        report()


def report():
    for e in ERRORS:
        print("FAIL:", e, file=sys.stderr)
    sys.exit(1 if ERRORS else 0)


def expect(cond, msg):
    """msg is a string or, where building it costs (rows in loops), a function that returns one."""
    if not cond:
        fail(msg() if callable(msg) else msg)


def read(d, name):
    with open(os.path.join(d, name), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]], rows


def iso(s):
    return datetime.date.fromisoformat(s)


def id_check_ok(pid):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(pid[i]) * w[i] for i in range(17)) % 11] == pid[17]


def check(d, small, quick=False):
    _, calendar, _ = read(d, "calendar.csv")
    _, schools, _ = read(d, "schools.csv")
    _, townships, _ = read(d, "townships.csv")
    _, classes, _ = read(d, "classes.csv")
    _, register, _ = read(d, "register.csv")
    _, household, _ = read(d, "household.csv")
    _, staff, _ = read(d, "staff.csv")
    _, resp, _ = read(d, "responsibility.csv")
    _, closures, _ = read(d, "closures.csv")
    hdr, truth_rows, _ = read(d, "truth.csv")
    expect(hdr == ["metric", "key", "value"], "truth.csv header")
    truth = collections.defaultdict(dict)
    for r in truth_rows:
        expect(r["key"] not in truth[r["metric"]], lambda: f"truth key twice: {r}")
        truth[r["metric"]][r["key"]] = r["value"]
    params = truth["param"]
    tiers = [int(x) for x in params["streak_tiers"].split("/")]
    no_show_days = int(params["no_show_days"])
    limbo_days = int(params["limbo_days"])
    deadline = params["deadline"]

    # ---- calendar
    sdays = [r["date"] for r in calendar if r["school_day"] == "1"]
    cal = {r["date"]: r for r in calendar}
    expect(calendar[0]["date"] == "2026-09-01", "term starts 2026-09-01")
    expect(85 <= len(sdays) <= 95, lambda: f"about 90 school days, got {len(sdays)}")
    expect(truth["school_days"]["C4301"] == str(len(sdays)), "truth school_days")
    for day in range(1, 8):
        expect(cal[f"2026-10-0{day}"]["kind"] == "holiday", lambda: f"2026-10-0{day} is a holiday")
    makeups = [r for r in calendar if r["kind"] == "makeup"]
    expect(len(makeups) == 1 and iso(makeups[0]["date"]).weekday() == 5 and makeups[0]["school_day"] == "1",
           "one make-up Saturday school day")
    for r in calendar:
        wd = iso(r["date"]).weekday()
        if r["kind"] == "weekend":
            expect(wd >= 5 and r["school_day"] == "0", lambda: f"weekend row {r}")
        if r["kind"] == "term":
            expect(wd < 5 and r["school_day"] == "1", lambda: f"term row {r}")
    sidx = {day: i for i, day in enumerate(sdays)}

    # ---- schools and their open days
    school = {r["school_code"]: r for r in schools}
    closed_days = collections.defaultdict(set)
    for r in closures:
        expect(r["school_code"] in school and r["date"] in sidx, lambda: f"closure on a school day: {r}")
        closed_days[r["school_code"]].add(r["date"])
    open_days = {}
    for code, s in school.items():
        open_days[code] = [day for day in sdays if s["opened"] <= day and (not s["closed"] or day < s["closed"])
                           and day not in closed_days[code]]
    term_start, term_end = calendar[0]["date"], calendar[-1]["date"]
    if not small:
        expect(any(s["closed"] and term_start < s["closed"] <= term_end and not s["merged_into"]
                   for s in schools), "a school closed mid-term")
        expect(any(s["merged_into"] in school for s in schools), "a merged school")
        expect(len(townships) == 20 and len(schools) == 300, lambda: f"20 townships, 300 schools: {len(townships)}, {len(schools)}")
    else:
        expect([t["township_code"] for t in townships] == ["T430101"], "small: township T430101")
        expect([s["school_code"] for s in schools] == ["S43010101", "S43010102", "S43010103"], "small: school codes")
    for s in schools:
        expect(re.fullmatch(r"S\d{8}", s["school_code"]) and s["school_code"][1:7] == s["township_code"][1:],
               f"school code follows township: {s['school_code']}")
        expect(s["kind"] in ("primary", "junior", "nine_year", "village_primary"), lambda: f"school kind {s}")
        lo, hi = {"primary": (1, 6), "junior": (7, 9), "nine_year": (1, 9), "village_primary": (1, 6)}[s["kind"]]
        expect((int(s["grade_min"]), int(s["grade_max"])) == (lo, hi), lambda: f"grades of {s}")

    # ---- classes
    klass = {(r["school_code"], r["class_name"]): r for r in classes}
    for r in classes:
        s = school[r["school_code"]]
        size = int(r["size_at_term_start"])
        if s["kind"] == "village_primary":
            expect(1 <= size < 30, lambda: f"village class size {r}")
        else:
            expect(30 <= size <= 55, lambda: f"class size {r}")
        expect(int(s["grade_min"]) <= int(r["grade"]) <= int(s["grade_max"]), lambda: f"class grade {r}")

    # ---- register (HACKING.md) and household
    hh = {}
    for r in household:
        pid = r["person_id"]
        expect(re.fullmatch(r"\d{17}[\dX]", pid) and id_check_ok(pid), lambda: f"person_id {pid}")
        expect(pid not in hh, lambda: f"person_id twice {pid}")
        expect(pid[6:14] == r["birth_date"].replace("-", ""), lambda: f"person_id carries the birth date {pid}")
        expect(r["sex"] in ("F", "M") and (int(pid[16]) % 2 == 1) == (r["sex"] == "M"), lambda: f"sex in id {r}")
        hh[pid] = r
    town_codes = {t["township_code"] for t in townships}
    expect(all(r["township_code"] in town_codes for r in household), "household township codes")
    students = {}
    per_class = collections.Counter()
    per_school = collections.Counter()
    flag_counts = collections.Counter()
    for r in register:
        sid = r["student_id"]
        expect(re.fullmatch(r"G\d{18}", sid), lambda: f"student_id {sid}")
        expect(sid not in students, lambda: f"student twice {sid}")
        students[sid] = r
        expect(r["name"] != "", lambda: f"name {sid}")
        try:
            born = iso(r["birth_date"])
        except ValueError:
            fail(f"birth_date {r}")
            continue
        expect(r["sex"] in ("F", "M"), lambda: f"sex {r}")
        g = int(r["grade"])
        expect(1 <= g <= 9, lambda: f"grade {r}")
        expect((r["school_code"], r["class_name"]) in klass, lambda: f"class exists {r}")
        expect(re.fullmatch(r"[1-9]-\d+", r["class_name"]) and r["class_name"].split("-")[0] == r["grade"],
               f"class_name {r}")
        # grade 1 in 2026-27: born 2019-09-01..2020-08-31; a year older allowed (late start, repeated year)
        nominal_from = datetime.date(2019 - (g - 1), 9, 1)
        expect(nominal_from - datetime.timedelta(days=366) <= born <= datetime.date(2020 - (g - 1), 8, 31),
               f"birth date fits grade {r}")
        expect(r["household_id"] in hh and hh[r["household_id"]]["birth_date"] == r["birth_date"],
               f"household_id {r}")
        fl = set(r["flags"].split(";")) if r["flags"] else set()
        expect(fl <= FLAGS, lambda: f"flags {r}")
        expect("home_taught" not in fl or "disability" in fl, lambda: f"home_taught needs disability {r}")
        flag_counts.update(fl)
        per_class[(r["school_code"], r["class_name"])] += 1
        per_school[r["school_code"]] += 1
    n = len(register)
    if small:
        expect(500 <= n <= 700, lambda: f"small county ~600 students, got {n}")
    else:
        expect(140000 <= n <= 160000, lambda: f"full county ~150,000 students, got {n}")
        for f, lo, hi in [("left_behind", .17, .23), ("single_parent", .065, .095), ("poor", .085, .115),
                          ("learning_difficulty", .04, .06), ("disability", .007, .013), ("migrant", .04, .06)]:
            expect(lo <= flag_counts[f] / n <= hi, lambda: f"rate of {f}: {flag_counts[f] / n:.4f}")
        expect(0 < flag_counts["home_taught"] < flag_counts["disability"], "some disabled children taught at home")
    for k, r in klass.items():
        expect(per_class[k] == int(r["size_at_term_start"]), lambda: f"class size matches register {k}")
        expect(truth["students_class"].get(f"{k[0]}/{k[1]}") == str(per_class[k]), lambda: f"truth students_class {k}")
    for code in school:
        expect(truth["students_school"].get(code) == str(per_school[code]), lambda: f"truth students_school {code}")
    expect(truth["enrolled"]["C4301"] == str(n), "truth enrolled")
    enrolled_ids = {r["household_id"] for r in register}
    nowhere = sorted(set(hh) - enrolled_ids)
    expect(sorted(truth["enrolled_nowhere"]) == nowhere, "truth enrolled_nowhere")
    expect(truth["enrolled_nowhere_count"]["C4301"] == str(len(nowhere)), "truth enrolled_nowhere_count")
    expect(0.004 * n <= len(nowhere) <= 0.006 * n or (small and len(nowhere) >= 3),
           f"~0.5 % enrolled nowhere: {len(nowhere)}")
    for pid in nowhere:
        age = 2026 - int(hh[pid]["birth_date"][:4])
        expect(6 <= age <= 17, lambda: f"enrolled-nowhere child is school age {pid}")

    # ---- staff and responsibility: head teacher 60 + two teachers 20 = 100 for every student
    st = {r["staff_id"]: r for r in staff}
    for r in classes:
        h = st.get(r["head_teacher_id"])
        expect(h and h["role"] == "head_teacher" and h["school_code"] == r["school_code"]
               and h["class_name"] == r["class_name"], lambda: f"head teacher of {r}")
    shares = collections.defaultdict(list)
    for r in resp:
        shares[r["student_id"]].append(r)
    expect(set(shares) == set(students), "every student has responsibility rows")
    for sid, rows in shares.items():
        total = sum(int(r["share"]) for r in rows)
        expect(total == 100, lambda: f"shares of {sid} sum to {total}")
        kinds = sorted((r["kind"], r["share"]) for r in rows)
        expect(kinds == [("head_teacher", "60"), ("teacher", "20"), ("teacher", "20")], lambda: f"share split {sid}")
        s = students.get(sid)
        head = [r for r in rows if r["kind"] == "head_teacher"][0]
        expect(s and head["staff_id"] == klass[(s["school_code"], s["class_name"])]["head_teacher_id"],
               f"head teacher share {sid}")
        teachers = [r["staff_id"] for r in rows if r["kind"] == "teacher"]
        expect(len(set(teachers)) == 2 and all(st[t]["role"] == "teacher" and st[t]["school_code"] ==
                                               s["school_code"] for t in teachers), lambda: f"two teachers {sid}")
    roles_of = collections.defaultdict(collections.Counter)
    for r in staff:
        roles_of[r["school_code"]][r["role"]] += 1
    for code in school:
        roles = roles_of[code]
        if school[code]["merged_into"]:
            continue
        expect(roles["principal"] == 1 and roles["leader"] >= 1 and roles["teacher"] >= 2, lambda: f"staff of {code}")

    if quick:
        return
    _, absences, _ = read(d, "absences.csv")
    _, roll_calls, _ = read(d, "roll_calls.csv")
    _, reports, _ = read(d, "reports.csv")
    _, events, _ = read(d, "events.csv")
    _, planted, _ = read(d, "planted.csv")

    # ---- events: on-roll spans
    out_ev, in_ev = {}, {}
    per_report_events = collections.Counter()
    for e in events:
        per_report_events[(e["date"], e["school_code"])] += 1
        if e["kind"] == "transfer_out":
            expect(e["student_id"] not in out_ev, lambda: f"one transfer out per student {e}")
            out_ev[e["student_id"]] = e
        elif e["kind"] == "transfer_in":
            in_ev[e["student_id"]] = e
        expect(e["kind"] in ("transfer_out", "transfer_in", "suspected_dropout", "dropout", "return"), lambda: f"event kind {e}")
    spans = collections.defaultdict(list)  # student -> [(school, class, first, last)]
    for sid, s in students.items():
        o = out_ev.get(sid)
        spans[sid].append((s["school_code"], s["class_name"], term_start, o["date"] if o else term_end))
        i = in_ev.get(sid)
        if i:
            expect(o and i["date"] > o["date"] and i["other_school"] == s["school_code"], lambda: f"transfer in {i}")
            spans[sid].append((i["school_code"], i["class_name"], i["date"], term_end))

    # ---- attendance
    open_set = {c: set(v) for c, v in open_days.items()}
    absent = {}
    by_student = collections.defaultdict(list)
    for a in absences:
        absent[(a["student_id"], a["date"])] = a
        by_student[a["student_id"]].append(a)
        expect(a["kind"] in ("excused", "unexcused"), lambda: f"absence kind {a}")
        sp = [x for x in spans.get(a["student_id"], []) if x[0] == a["school_code"] and x[1] == a["class_name"]
              and x[2] <= a["date"] <= x[3]]
        expect(sp and a["date"] in open_set[a["school_code"]], lambda: f"absence where on roll on an open day {a}")
    # students on each class's roll per school day: +1 on the first day of a span, -1 after the last
    delta = collections.defaultdict(lambda: [0] * (len(sdays) + 1))
    for sid, sp in spans.items():
        for (code, cname, first, last) in sp:
            lo = bisect.bisect_left(sdays, first)
            hi = bisect.bisect_right(sdays, last)
            delta[(code, cname)][lo] += 1
            delta[(code, cname)][hi] -= 1
    on_roll = collections.Counter()
    for (code, cname), dl in delta.items():
        run = 0
        for i, day in enumerate(sdays):
            run += dl[i]
            if day in open_set[code] and run:
                on_roll[(day, code, cname)] = run
    rc_keys = set()
    abs_per = collections.Counter((a["date"], a["school_code"], a["class_name"]) for a in absences)
    for r in roll_calls:
        k = (r["date"], r["school_code"], r["class_name"])
        rc_keys.add(k)
        expect(int(r["on_roll"]) == on_roll[k] and int(r["absent"]) == abs_per[k] and
               int(r["present"]) + int(r["absent"]) == int(r["on_roll"]), lambda: f"roll call {r} (on roll {on_roll[k]})")
    expect(rc_keys == set(on_roll), "a roll call for every open class day")

    # ---- streaks: consecutive unexcused school days of the student's school while on its roll
    opened = collections.Counter()
    cases = set()
    hist = collections.Counter()
    runs = set()
    # Every open on-roll day that is not an unexcused absence breaks a run, so a run is a set of unexcused
    # days whose positions in the school's own school-day sequence are consecutive.
    pos = {c: {day: i for i, day in enumerate(v)} for c, v in open_days.items()}
    for sid, abs_rows in by_student.items():
        for (code, cname, first, last) in spans[sid]:
            days = sorted(a["date"] for a in abs_rows if a["kind"] == "unexcused" and a["school_code"] == code
                          and a["class_name"] == cname and first <= a["date"] <= last)
            i = 0
            while i < len(days):
                j = i
                while j + 1 < len(days) and pos[code][days[j + 1]] == pos[code][days[j]] + 1:
                    j += 1
                length = j - i + 1
                hist[length] += 1
                runs.add((sid, days[i], days[j], length))
                for t in tiers:
                    if length >= t:
                        opened[f"{days[i + t - 1]}/{t}"] += 1
                        cases.add((f"{sid}/{t}/{days[i + t - 1]}", days[i]))
                i = j + 1
    expect(set(truth["streak_case"].items()) == cases,
           f"truth streak_case: {len(truth['streak_case'])} vs {len(cases)}; e.g. "
           f"{sorted(set(truth['streak_case'].items()) ^ cases)[:3]}")
    expect(truth["streak_cases_opened"] == {k: str(v) for k, v in opened.items()}, "truth streak_cases_opened")
    for t in tiers:
        expect(truth["streak_cases_total"][str(t)] == str(sum(v for k, v in opened.items() if k.endswith(f"/{t}"))),
               f"truth streak_cases_total {t}")
    expect(truth["streak_length_count"] == {str(k): str(v) for k, v in hist.items()}, "truth streak_length_count")
    lengths = set()
    for p in planted:
        if p["kind"] != "streak":
            continue
        lengths.add(int(p["length"]))
        expect((p["student_id"], p["first_date"], p["last_date"], int(p["length"])) in runs, lambda: f"planted streak {p}")
    for want in (1, 2, 3, 4, 6, 25):
        expect(want in lengths, lambda: f"planted streak of length {want}")
    kinds = {p["note"] for p in planted}
    for note in ("three days across a weekend", "four days across the National Day holiday",
                 "broken by an excused day", "three days across the school's closure day"):
        expect(note in kinds, lambda: f"planted: {note}")
    for p in planted:
        if "across" in p["note"] and p["kind"] == "streak":
            span_days = (iso(p["last_date"]) - iso(p["first_date"])).days + 1
            expect(span_days > int(p["length"]), lambda: f"planted streak really crosses a gap {p}")

    # ---- no-shows: absent (any kind) on each of the school's first N school days
    ns = {}
    for sid, s in students.items():
        code, cname, first, last = spans[sid][0]
        days = open_days[code][:no_show_days]
        if len(days) == no_show_days and all(day <= last and (sid, day) in absent for day in days):
            ns[sid] = days[-1]
    expect(truth["no_show"] == ns, lambda: f"truth no_show: {sorted(set(truth['no_show'].items()) ^ set(ns.items()))[:3]}")
    expect(truth["no_show_count"]["C4301"] == str(len(ns)), "truth no_show_count")
    for p in planted:
        if p["kind"] == "no_show":
            expect((p["student_id"] in ns) == ("not a no-show" not in p["note"]), lambda: f"planted no-show {p}")

    # ---- transfers in limbo: unconfirmed by the N-th county school day after the transfer out
    limbo = {}
    for sid, o in out_ev.items():
        due = sidx[o["date"]] + limbo_days
        if due >= len(sdays):
            continue
        i = in_ev.get(sid)
        if not i or i["date"] > sdays[due]:
            limbo[sid] = sdays[due]
    expect(truth["transfer_limbo"] == limbo, "truth transfer_limbo")
    expect(truth["transfer_limbo_count"]["C4301"] == str(len(limbo)), "truth transfer_limbo_count")
    ptransfer = [p for p in planted if p["kind"] == "transfer"]
    expect(len(ptransfer) == 4, "four planted transfers")
    for p in ptransfer:
        expect((p["student_id"] in limbo) == (p["length"] != "1"), lambda: f"planted transfer limbo {p}")

    # ---- reports against the expected grid
    rep = {(r["date"], r["school_code"]): r for r in reports}
    for (day, code), r in rep.items():
        expect(day in open_days[code], lambda: f"report on an expected day {r}")
        expect(re.fullmatch(r"\d\d:\d\d", r["submitted_at"]) and r["late"] == ("1" if r["submitted_at"] > deadline else "0"),
               f"late flag {r}")
        ev = per_report_events[(day, code)]
        expect(int(r["events"]) == ev and r["kind"] == ("events" if ev else "zero"), lambda: f"report kind {r}")
    expect(all(k in rep for k in per_report_events), "every event rides on a report")
    for day in sdays:
        exp = [c for c in school if day in open_set[c]]
        got = [rep[(day, c)] for c in exp if (day, c) in rep]
        figures = {"expected_schools": len(exp), "silent_schools": len(exp) - len(got),
                   "late_reports": sum(r["late"] == "1" for r in got),
                   "zero_reports": sum(r["kind"] == "zero" for r in got),
                   "events_reports": sum(r["kind"] == "events" for r in got)}
        for m, v in figures.items():
            expect(truth[m].get(day) == str(v), lambda: f"truth {m} {day}: {truth[m].get(day)} != {v}")
        for t in town_codes:
            texp = [c for c in exp if school[c]["township_code"] == t]
            tgot = [rep[(day, c)] for c in texp if (day, c) in rep]
            for m, v in (("expected_schools_township", len(texp)), ("silent_schools_township", len(texp) - len(tgot)),
                         ("late_reports_township", sum(r["late"] == "1" for r in tgot))):
                expect(truth[m].get(f"{day}/{t}") == str(v), lambda: f"truth {m} {day}/{t} != {v}")
    for c in school:
        got = [day for day in open_days[c] if (day, c) in rep]
        for m, v in (("expected_days_school", len(open_days[c])), ("silent_days_school", len(open_days[c]) - len(got)),
                     ("late_reports_school", sum(rep[(day, c)]["late"] == "1" for day in got))):
            expect(truth[m].get(c) == str(v), lambda: f"truth {m} {c} != {v}")
    if not small:
        never = [c for c in school if open_days[c] and not any((day, c) in rep for day in open_days[c])]
        expect(len(never) >= 1, "a school that never reports")

    # ---- dropout rate per class
    last_kind = {}
    for e in events:  # events.csv is in date order
        if e["kind"] in ("dropout", "return"):
            last_kind.setdefault(e["student_id"], []).append(e)
    drops = collections.Counter()
    for sid, evs in last_kind.items():
        ds = [e for e in evs if e["kind"] == "dropout"]
        if ds and not any(e["kind"] == "return" and e["date"] > ds[0]["date"] for e in evs):
            drops[(ds[0]["school_code"], ds[0]["class_name"])] += 1
    outs = collections.Counter((o["school_code"], o["class_name"]) for o in out_ev.values())
    ins = collections.Counter((i["school_code"], i["class_name"]) for i in in_ev.values())
    for k, r in klass.items():
        key = f"{k[0]}/{k[1]}"
        base = int(r["size_at_term_start"]) - outs[k] + ins[k]
        expect(truth["dropouts_class"][key] == str(drops[k]), lambda: f"truth dropouts_class {key}")
        expect(truth["dropout_base_class"][key] == str(base), lambda: f"truth dropout_base_class {key}")
        expect(truth["transfers_out_class"][key] == str(outs[k]), lambda: f"truth transfers_out_class {key}")
        expect(truth["transfers_in_class"][key] == str(ins[k]), lambda: f"truth transfers_in_class {key}")
        if base > 0:
            expect(abs(float(truth["dropout_rate_class"][key]) - drops[k] / base) < 5e-7, lambda: f"dropout_rate_class {key}")
    expect(truth["dropouts"]["C4301"] == str(sum(drops.values())), "truth dropouts")
    expect(sum(drops.values()) >= 1, "at least one dropout")


def digests(d):
    out = {}
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gen")
    ap.add_argument("--dir")
    ap.add_argument("--seed", default="7")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--small", action="store_true")
    g.add_argument("--full", action="store_true")
    ap.add_argument("--determinism", action="store_true", help="also generate twice and compare sha256")
    ap.add_argument("--quick", action="store_true", help="structure, register and shares only, not the scenario")
    args = ap.parse_args()
    if args.dir:
        check(args.dir, args.small, args.quick)
        report()
    tmp = tempfile.mkdtemp(prefix="zd-gen-")
    try:
        size = ["--small"] if args.small else []
        a = os.path.join(tmp, "a")
        subprocess.run([args.gen, "--seed", args.seed, "--out", a] + size, check=True)
        check(a, args.small, args.quick)
        if args.determinism:
            b = os.path.join(tmp, "b")
            subprocess.run([args.gen, "--seed", args.seed, "--out", b] + size, check=True)
            expect(digests(a) == digests(b), "same seed, same bytes")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report()


if __name__ == "__main__":
    main()
