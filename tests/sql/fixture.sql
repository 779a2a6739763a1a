-- fixture.sql — a tiny county for the scope and escape tests, loaded as the owner.
-- County C4301; township T430101 with schools S43010101, S43010102; township T430102 with school S43010201.
-- Two students per school (grade 7, class 7-1), three staff each with the 60/20/20 split, one roll call with one
-- absence per school, one daily report, one case and one action, one silent record, one user per institution,
-- two household children per township. Every figure the tests assert follows from this file.
\set ON_ERROR_STOP 1
BEGIN;
INSERT INTO zd.county (code, name) VALUES ('C4301', '测试县');
INSERT INTO zd.county_setting (county_id) SELECT id FROM zd.county;
INSERT INTO zd.township (county_id, code, name)
SELECT c.id, v.code, v.name FROM zd.county c, (VALUES ('T430101', '东镇'), ('T430102', '西镇')) v(code, name);
INSERT INTO zd.school (township_id, code, name, kind)
SELECT t.id, v.code, v.name, 'junior' FROM zd.township t
JOIN (VALUES ('T430101', 'S43010101', '东镇一中'), ('T430101', 'S43010102', '东镇二中'),
             ('T430102', 'S43010201', '西镇中学')) v(tcode, code, name) ON v.tcode = t.code;
INSERT INTO zd.class (school_id, school_year, grade, name, code) SELECT id, 2026, 7, '7-1', '' FROM zd.school;

INSERT INTO zd.student (student_id, name, birth_date, sex, household_id, school_id, class_id, poor)
SELECT v.sid, v.name, DATE '2014-03-01', v.sex::zd.sex, v.hid, s.id, c.id, v.poor
FROM (VALUES
    ('S43010101', 'G430101010000000001', '张一', 'M', '430101201403010011', false),
    ('S43010101', 'G430101010000000002', '李二', 'F', '430101201403010027', true),
    ('S43010102', 'G430101020000000001', '王三', 'M', '430101201403010035', false),
    ('S43010102', 'G430101020000000002', '赵四', 'F', NULL, false),
    ('S43010201', 'G430102010000000001', '刘五', 'M', '430102201403010019', false),
    ('S43010201', 'G430102010000000002', '陈六', 'F', NULL, true)) v(school, sid, name, sex, hid, poor)
JOIN zd.school s ON s.code = v.school JOIN zd.class c ON c.school_id = s.id;
INSERT INTO zd.enrollment (student_id, school_id, class_id, from_date, from_reason)
SELECT id, school_id, class_id, DATE '2026-09-01', 'enrolled' FROM zd.student;

INSERT INTO zd.staff (school_id, staff_no, name)
SELECT s.id, v.no, s.code || '-' || v.no FROM zd.school s, (VALUES ('t1'), ('t2'), ('t3')) v(no);
INSERT INTO zd.responsibility (student_id, staff_id, kind, share)
SELECT st.id, sf.id, CASE sf.staff_no WHEN 't1' THEN 'head_teacher' ELSE 'teacher' END::zd.responsibility_kind,
       CASE sf.staff_no WHEN 't1' THEN 60 ELSE 20 END
FROM zd.student st JOIN zd.staff sf ON sf.school_id = st.school_id;

INSERT INTO zd.term (county_id, name, starts_on, ends_on) SELECT id, '2026 autumn', '2026-09-01', '2027-01-20'
FROM zd.county;
INSERT INTO zd.calendar_day (county_id, day, school_day, note)
SELECT c.id, d::date, extract(isodow FROM d) < 6, CASE WHEN extract(isodow FROM d) < 6 THEN '' ELSE 'weekend' END
FROM zd.county c, generate_series(DATE '2026-09-01', DATE '2026-09-30', interval '1 day') d;

INSERT INTO zd.roll_call (uuid, school_id, class_id, day)
SELECT md5('rc' || s.code)::uuid, s.id, c.id, DATE '2026-09-01' FROM zd.school s JOIN zd.class c ON c.school_id = s.id;
INSERT INTO zd.absence (roll_call_id, student_id, school_id, reason)
SELECT rc.id, st.id, rc.school_id, 'unknown' FROM zd.roll_call rc
JOIN zd.student st ON st.school_id = rc.school_id AND st.student_id LIKE '%1';
INSERT INTO zd.daily_report (uuid, school_id, day, kind)
SELECT md5('dr' || code)::uuid, id, DATE '2026-09-01', 'zero' FROM zd.school;
INSERT INTO zd.case_file (uuid, student_id, school_id, cause, opened_on)
SELECT md5('case' || st.student_id)::uuid, st.id, st.school_id, 'absence_streak', DATE '2026-09-04'
FROM zd.student st WHERE st.student_id LIKE '%1';
INSERT INTO zd.case_action (uuid, case_id, school_id, type, note)
SELECT md5('act' || cf.id)::uuid, cf.id, cf.school_id, 'call', 'called the family' FROM zd.case_file cf;
INSERT INTO zd.silent_record (school_id, day, deadline_at)
SELECT id, DATE '2026-09-02', TIMESTAMPTZ '2026-09-02 16:00+08' FROM zd.school;
INSERT INTO zd.audit_entry (kind, school_id, canonical, signature)
SELECT 'daily_report', id, convert_to('report of ' || code, 'UTF8'), '\x01' FROM zd.school ORDER BY id;

-- argon2id hashes are not checked here; the text only has to look like one.
INSERT INTO zd.app_user (username, password_hash, role, level, school_id)
SELECT 'clerk_' || code, '$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA', 'clerk', 'school', id FROM zd.school;
INSERT INTO zd.app_user (username, password_hash, role, level, township_id)
SELECT 'officer_' || code, '$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA', 'township_officer', 'township', id
FROM zd.township;
INSERT INTO zd.app_user (username, password_hash, role, level, county_id)
SELECT 'admin', '$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA', 'county_admin', 'county', id FROM zd.county;

INSERT INTO zd.household_person (person_id, name, birth_date, sex, township_id)
SELECT v.pid, v.name, DATE '2014-03-01', v.sex::zd.sex, t.id
FROM (VALUES ('T430101', '430101201403010011', '张一', 'M'), ('T430101', '430101201403010043', '孙七', 'F'),
             ('T430102', '430102201403010019', '刘五', 'M'), ('T430102', '430102201403010027', '周八', 'F'))
     v(tcode, pid, name, sex)
JOIN zd.township t ON t.code = v.tcode;
COMMIT;
