-- 006_views.sql — what later issues compute, in one place: current enrollment per class, the school days each
-- school is expected to report, the roll call that counts per class and day, and unexcused absence streaks in
-- school days. Every view is security_invoker, so the querying role's row-level security applies through it
-- (a plain view would read as its owner and leak everything).

-- Students currently enrolled per class.
CREATE VIEW zd.v_class_enrollment WITH (security_invoker = true) AS
SELECT c.id AS class_id, c.code AS class_code, c.school_id, c.school_year, c.grade, c.name AS class_name,
       count(e.id)::integer AS enrolled
FROM zd.class c
LEFT JOIN zd.enrollment e ON e.class_id = c.id AND e.to_date IS NULL
GROUP BY c.id;

-- The school days of each school: county school days while the school was open (opened_on ≤ day < closed_on)
-- and not closed by a closure. n numbers them per school, so streaks can count school days, not calendar days.
CREATE VIEW zd.v_school_day WITH (security_invoker = true) AS
SELECT s.id AS school_id, d.day, row_number() OVER (PARTITION BY s.id ORDER BY d.day)::integer AS n
FROM zd.school s
JOIN zd.township t ON t.id = s.township_id
JOIN zd.calendar_day d ON d.county_id = t.county_id AND d.school_day
WHERE d.day >= s.opened_on AND (s.closed_on IS NULL OR d.day < s.closed_on)
  AND NOT EXISTS (SELECT 1 FROM zd.school_closure sc
                  WHERE sc.school_id = s.id AND d.day BETWEEN sc.from_date AND sc.to_date);

-- Expected reports: one per school per school day (the grid completeness and timeliness are measured on).
CREATE VIEW zd.v_expected_report WITH (security_invoker = true) AS
SELECT school_id, day FROM zd.v_school_day;

-- The roll call that counts for a class and day: the latest one that no other roll call corrects.
CREATE VIEW zd.v_roll_call_effective WITH (security_invoker = true) AS
SELECT DISTINCT ON (rc.class_id, rc.day) rc.*
FROM zd.roll_call rc
WHERE NOT EXISTS (SELECT 1 FROM zd.roll_call c WHERE c.corrects = rc.uuid)
ORDER BY rc.class_id, rc.day, rc.received_at DESC, rc.id DESC;

-- Runs of consecutive school days on which a student was absent without excuse (on the effective roll call).
-- A school day without such an absence — present, excused, or no roll call taken — ends a run. days counts
-- school days; last_day is the run's latest day, so the run still open today ends on today.
CREATE VIEW zd.v_absence_streak WITH (security_invoker = true) AS
WITH a AS (
    SELECT ab.student_id, rc.school_id, rc.day, sd.n
    FROM zd.v_roll_call_effective rc
    JOIN zd.absence ab ON ab.roll_call_id = rc.id AND NOT ab.excused
    JOIN zd.v_school_day sd ON sd.school_id = rc.school_id AND sd.day = rc.day
), g AS (
    SELECT a.*, a.n - row_number() OVER (PARTITION BY a.student_id, a.school_id ORDER BY a.n) AS grp FROM a
)
SELECT student_id, school_id, min(day) AS first_day, max(day) AS last_day, count(*)::integer AS days
FROM g GROUP BY student_id, school_id, grp;

GRANT SELECT ON zd.v_class_enrollment, zd.v_school_day, zd.v_expected_report, zd.v_roll_call_effective,
    zd.v_absence_streak TO zerodrop_app;
