-- truth.sql — the generator's truth figures, recomputed from the loaded database with SQL that shares nothing
-- with the generator: counts of the institutions and the register, the expected-report grid and what came in
-- per school day, absence streak lengths (zd.v_absence_streak, in school days), household children enrolled
-- nowhere. Output: metric,key,value lines in the order of sort(1), to be compared with the same metrics of
-- truth.csv. Run as the owner.
\pset format unaligned
\pset tuples_only on
\pset fieldsep ','
WITH county AS (SELECT id, code FROM zd.county),
rep AS (
    SELECT r.school_id, r.day, r.kind,
           (r.received_at AT TIME ZONE cs.timezone)::time > cs.report_deadline AS late
    FROM zd.daily_report r JOIN zd.school s ON s.id = r.school_id JOIN zd.township t ON t.id = s.township_id
    JOIN zd.county_setting cs ON cs.county_id = t.county_id
),
grid AS (
    SELECT e.day, count(*) AS expected, count(rep.school_id) AS reported,
           count(*) FILTER (WHERE rep.late) AS late,
           count(*) FILTER (WHERE rep.kind = 'zero') AS zero,
           count(*) FILTER (WHERE rep.kind = 'events') AS events
    FROM zd.v_expected_report e LEFT JOIN rep ON rep.school_id = e.school_id AND rep.day = e.day
    GROUP BY e.day
)
SELECT metric, key, value FROM (
    SELECT 'school_days' AS metric, c.code AS key,
           (SELECT count(*) FROM zd.calendar_day d WHERE d.county_id = c.id AND d.school_day)::text AS value
    FROM county c
    UNION ALL SELECT 'townships', c.code, (SELECT count(*) FROM zd.township)::text FROM county c
    UNION ALL SELECT 'schools', c.code, (SELECT count(*) FROM zd.school)::text FROM county c
    UNION ALL SELECT 'classes', c.code, (SELECT count(*) FROM zd.class)::text FROM county c
    UNION ALL SELECT 'staff', c.code, (SELECT count(*) FROM zd.staff)::text FROM county c
    UNION ALL SELECT 'enrolled', c.code, (SELECT count(*) FROM zd.enrollment WHERE to_date IS NULL)::text FROM county c
    UNION ALL
    SELECT 'students_school', s.code, count(e.id)::text
    FROM zd.school s LEFT JOIN zd.enrollment e ON e.school_id = s.id AND e.to_date IS NULL GROUP BY s.code
    UNION ALL
    SELECT 'enrolled_township', t.code, count(e.id)::text
    FROM zd.township t JOIN zd.school s ON s.township_id = t.id
    LEFT JOIN zd.enrollment e ON e.school_id = s.id AND e.to_date IS NULL GROUP BY t.code
    UNION ALL
    SELECT 'students_class', s.code || '/' || c.name, count(e.id)::text
    FROM zd.class c JOIN zd.school s ON s.id = c.school_id
    LEFT JOIN zd.enrollment e ON e.class_id = c.id AND e.to_date IS NULL GROUP BY s.code, c.name
    UNION ALL SELECT 'expected_schools', g.day::text, g.expected::text FROM grid g
    UNION ALL SELECT 'silent_schools', g.day::text, (g.expected - g.reported)::text FROM grid g
    UNION ALL SELECT 'late_reports', g.day::text, g.late::text FROM grid g
    UNION ALL SELECT 'zero_reports', g.day::text, g.zero::text FROM grid g
    UNION ALL SELECT 'events_reports', g.day::text, g.events::text FROM grid g
    UNION ALL
    SELECT 'streak_length_count', days::text, count(*)::text FROM zd.v_absence_streak GROUP BY days
    UNION ALL SELECT 'household_children', c.code, (SELECT count(*) FROM zd.household_person)::text FROM county c
    UNION ALL
    SELECT 'enrolled_nowhere', hp.person_id, '1' FROM zd.household_person hp
    WHERE NOT EXISTS (SELECT 1 FROM zd.student st JOIN zd.enrollment e ON e.student_id = st.id AND e.to_date IS NULL
                      WHERE st.household_id = hp.person_id)
) x
ORDER BY 1, 2, 3;
