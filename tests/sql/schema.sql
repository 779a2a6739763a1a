-- schema.sql — pgTAP, run as a superuser after migrate and the fixture: the schema's shape, the roles, where
-- RLS is forced, what the app role may do, constraints (the deferred 100 % trigger among them), the audit
-- chain's links and the school-day views. Everything is rolled back.
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(44);

SELECT has_schema('zd');
SELECT tables_are('zd', ARRAY['county', 'township', 'school', 'class', 'student', 'enrollment', 'staff',
    'responsibility', 'term', 'calendar_day', 'school_closure', 'device', 'app_user', 'county_setting',
    'household_person', 'roll_call', 'absence', 'daily_report', 'report_event', 'case_file', 'case_action',
    'silent_record', 'audit_entry', 'audit_head', 'scope_key', 'import_batch', 'register_stage',
    'household_stage', 'app_session'], 'zd holds exactly the tables of the design');
SELECT views_are('zd', ARRAY['v_class_enrollment', 'v_school_day', 'v_expected_report', 'v_roll_call_effective',
    'v_absence_streak']);

-- Roles.
SELECT is((SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'zerodrop_app'),
          false, 'zerodrop_app: not superuser, no BYPASSRLS, no CREATEROLE or CREATEDB');
SELECT is((SELECT count(*) FROM pg_class WHERE relowner = 'zerodrop_app'::regrole)
          + (SELECT count(*) FROM pg_proc WHERE proowner = 'zerodrop_app'::regrole)
          + (SELECT count(*) FROM pg_namespace WHERE nspowner = 'zerodrop_app'::regrole)
          + (SELECT count(*) FROM pg_type WHERE typowner = 'zerodrop_app'::regrole), 0::bigint,
          'zerodrop_app owns nothing');
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = 'zd'::regnamespace
           AND relowner <> 'zerodrop_owner'::regrole), 0::bigint, 'the owner owns every relation in zd');
SELECT is(has_database_privilege('zerodrop_app', current_database(), 'TEMP'), false,
          'zerodrop_app cannot create temporary tables (before the test grants it for pgTAP)');
SELECT is(has_database_privilege('zerodrop_app', current_database(), 'CREATE'), false,
          'zerodrop_app cannot create schemas');
SELECT is(has_schema_privilege('zerodrop_app', 'public', 'CREATE'), false, 'zerodrop_app cannot create in public');
SELECT is(pg_has_role('zerodrop_app', 'zerodrop_owner', 'MEMBER'), false, 'zerodrop_app is not a member of the owner');

-- Row-level security.
SELECT set_eq($$SELECT relname::text FROM pg_class WHERE relnamespace = 'zd'::regnamespace AND relkind = 'r'
                AND relrowsecurity AND relforcerowsecurity$$,
              ARRAY['student', 'enrollment', 'staff', 'responsibility', 'household_person', 'app_user', 'roll_call',
                    'absence', 'daily_report', 'report_event', 'case_file', 'case_action', 'silent_record',
                    'audit_entry', 'scope_key', 'app_session'],
              'FORCE ROW LEVEL SECURITY on every table with personal data (and the key)');
SELECT table_privs_are('zd', t, 'zerodrop_app', ARRAY['INSERT'], 'staging for COPY, never read back: ' || t)
FROM unnest(ARRAY['register_stage', 'household_stage']) t;
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = 'zd'::regnamespace AND relkind = 'v'
           AND NOT coalesce('security_invoker=true' = ANY (reloptions), false)), 0::bigint,
          'every view is security_invoker');
SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'zd'::regnamespace AND prosecdef
           AND NOT EXISTS (SELECT 1 FROM unnest(proconfig) c WHERE c LIKE 'search\_path=%')), 0::bigint,
          'every SECURITY DEFINER function pins its search_path');
SELECT set_eq($$SELECT proname::text FROM pg_proc WHERE pronamespace = 'zd'::regnamespace
                AND has_function_privilege('zerodrop_app', oid, 'EXECUTE')$$,
              ARRAY['scope_current', 'scope_level', 'scope_school_ids', 'scope_township_ids', 'scope_county_ids',
                    'import_batch_begin', 'register_import', 'household_import',
                    'calendar_day_set', 'calendar_show', 'county_settings_get', 'county_settings_set',
                    'school_year_of', 'submit_roll_call', 'submit_daily_report', 'submit__existing',
                    'submit__reject', 'submit__school'],
              'zerodrop_app may execute exactly the functions granted by name');

-- Privileges on append-only tables: INSERT and SELECT, nothing else.
SELECT table_privs_are('zd', t, 'zerodrop_app', ARRAY['INSERT', 'SELECT'], 'append-only: ' || t)
FROM unnest(ARRAY['roll_call', 'absence', 'daily_report', 'report_event', 'case_action', 'audit_entry',
                  'silent_record']) t;
SELECT table_privs_are('zd', 'student', 'zerodrop_app', ARRAY['SELECT'], 'student: read only for the app');
SELECT table_privs_are('zd', 'scope_key', 'zerodrop_app', ARRAY[]::text[], 'scope_key: nothing for the app');

-- Constraints.
SELECT throws_ok($$INSERT INTO zd.class (school_id, school_year, grade, name, code)
                   SELECT id, 2026, 10, '10-1', '' FROM zd.school LIMIT 1$$, '23514', NULL, 'grade 10 refused');
SELECT throws_ok($$INSERT INTO zd.class (school_id, school_year, grade, name, code)
                   SELECT id, 2026, 6, '7-3', '' FROM zd.school LIMIT 1$$, '23514', NULL,
                 'class 7-3 in grade 6 refused');
SELECT throws_ok($$UPDATE zd.student SET student_id = 'G12345' WHERE id = (SELECT min(id) FROM zd.student)$$,
                 '23514', NULL, 'malformed national student id refused');
SELECT throws_ok($$INSERT INTO zd.enrollment (student_id, school_id, class_id, from_date, from_reason)
                   SELECT id, school_id, class_id, DATE '2026-10-01', 'enrolled' FROM zd.student LIMIT 1$$,
                 '23505', NULL, 'a second open enrollment refused');
SELECT throws_ok($$INSERT INTO zd.enrollment (student_id, school_id, from_date, from_reason)
                   SELECT id, school_id, DATE '2026-10-01', 'graduated' FROM zd.student LIMIT 1$$,
                 '23514', NULL, 'a period cannot begin with "graduated"');
SELECT throws_ok($$INSERT INTO zd.app_user (username, password_hash, role, level, school_id)
                   SELECT 'x', 'plain', 'clerk', 'school', id FROM zd.school LIMIT 1$$, '23514', NULL,
                 'a password that is not an argon2id hash refused');
SELECT throws_ok($$INSERT INTO zd.app_user (username, password_hash, role, level, school_id)
                   SELECT 'y', '$argon2id$x', 'county_admin', 'school', id FROM zd.school LIMIT 1$$, '23514', NULL,
                 'a county role at a school refused');
SELECT throws_ok($$INSERT INTO zd.device (fingerprint, level, school_id, township_id)
                   SELECT repeat('a', 64), 'school', s.id, s.township_id FROM zd.school s LIMIT 1$$, '23514', NULL,
                 'a device belongs to exactly one institution');

-- Responsibility: deferred to commit, so a split can be rewritten in steps; immediate checking shows the rule.
SELECT lives_ok($$UPDATE zd.responsibility SET share = 50 WHERE kind = 'head_teacher'$$,
                'deferred: a half-done rewrite is allowed inside the transaction');
SELECT lives_ok($$UPDATE zd.responsibility SET share = 25 WHERE kind = 'teacher'$$,
                'deferred: the rewrite completes at 50/25/25');
SET CONSTRAINTS zd.responsibility_sum_100 IMMEDIATE;
SELECT throws_ok($$UPDATE zd.responsibility SET share = 30 WHERE kind = 'head_teacher'$$, '23514',
                 'responsibility shares of student G430101010000000001 sum to 80, not 100',
                 'shares summing to 80 refused, naming the student and the sum');
SELECT throws_ok($$DELETE FROM zd.responsibility WHERE id = (SELECT min(id) FROM zd.responsibility)$$, '23514', NULL,
                 'removing one share of a split refused');
SELECT lives_ok($$DELETE FROM zd.responsibility WHERE student_id = (SELECT min(id) FROM zd.student)$$,
                'removing a student''s whole split is allowed');
SET CONSTRAINTS zd.responsibility_sum_100 DEFERRED;

-- The audit chain the fixture wrote links up.
SELECT is((SELECT count(*) FROM zd.audit_entry a LEFT JOIN zd.audit_entry p ON p.seq = a.seq - 1
           WHERE a.prev_hash IS DISTINCT FROM coalesce(p.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
              OR a.hash <> sha256(a.prev_hash || int8send(a.seq) || int4send(length(a.canonical)) || a.canonical
                                  || int4send(length(a.signature)) || a.signature)), 0::bigint,
          'every audit entry links to its predecessor and its hash verifies');
SELECT results_eq($$SELECT seq FROM zd.audit_head$$, $$SELECT max(seq) FROM zd.audit_entry$$,
                  'the head is the last entry');

-- Views: school days skip weekends and closures; a streak counts school days across a weekend.
INSERT INTO zd.school_closure (school_id, from_date, to_date, reason)
SELECT id, '2026-09-09', '2026-09-09', 'typhoon' FROM zd.school WHERE code = 'S43010101';
SELECT results_eq($$SELECT day, n FROM zd.v_school_day sd JOIN zd.school s ON s.id = sd.school_id
                    WHERE s.code = 'S43010101' AND day BETWEEN '2026-09-04' AND '2026-09-10' ORDER BY day$$,
                  $$VALUES (DATE '2026-09-04', 4), (DATE '2026-09-07', 5), (DATE '2026-09-08', 6),
                           (DATE '2026-09-10', 7)$$,
                  'school days: weekend and the typhoon day are not school days');
SELECT is((SELECT count(*) FROM zd.v_expected_report WHERE day = '2026-09-09'), 2::bigint,
          'expected reports on the typhoon day: the two open schools');
-- Student G…0001 of S43010101: unexcused on Fri 4, Mon 7, Tue 8 (weekend between), excused on Thu 10.
INSERT INTO zd.roll_call (uuid, school_id, class_id, day)
SELECT md5('v' || d)::uuid, s.id, c.id, d::date FROM zd.school s JOIN zd.class c ON c.school_id = s.id,
       unnest(ARRAY['2026-09-04', '2026-09-07', '2026-09-08', '2026-09-10']) d WHERE s.code = 'S43010101';
INSERT INTO zd.absence (roll_call_id, student_id, school_id, excused)
SELECT rc.id, st.id, rc.school_id, rc.day = '2026-09-10' FROM zd.roll_call rc
JOIN zd.student st ON st.student_id = 'G430101010000000001' WHERE rc.uuid IN (SELECT md5('v' || d)::uuid
    FROM unnest(ARRAY['2026-09-04', '2026-09-07', '2026-09-08', '2026-09-10']) d);
SELECT results_eq($$SELECT first_day, last_day, days FROM zd.v_absence_streak v
                    JOIN zd.student st ON st.id = v.student_id
                    WHERE st.student_id = 'G430101010000000001' ORDER BY first_day$$,
                  $$VALUES (DATE '2026-09-01', DATE '2026-09-01', 1), (DATE '2026-09-04', DATE '2026-09-08', 3)$$,
                  'streaks: 1 day on the 1st, then 3 school days over a weekend; the excused day does not count');
-- A correction replaces a roll call: the corrected one no longer counts.
INSERT INTO zd.roll_call (uuid, school_id, class_id, day, corrects)
SELECT md5('fix')::uuid, school_id, class_id, day, uuid FROM zd.roll_call WHERE uuid = md5('v2026-09-07')::uuid;
SELECT results_eq($$SELECT first_day, last_day, days FROM zd.v_absence_streak v
                    JOIN zd.student st ON st.id = v.student_id
                    WHERE st.student_id = 'G430101010000000001' AND first_day > '2026-09-01' ORDER BY first_day$$,
                  $$VALUES (DATE '2026-09-04', DATE '2026-09-04', 1), (DATE '2026-09-08', DATE '2026-09-08', 1)$$,
                  'streaks: the corrected roll call (present on the 7th) breaks the run');

SELECT * FROM finish();
ROLLBACK;
