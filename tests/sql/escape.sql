-- escape.sql — pgTAP, run as a real zerodrop_app login: every way out of the scope we could think of, each
-- proven to fail. psql variables: tool (the scope-token program), key (the scope key file).
-- Tokens are made for this connection's backend pid exactly as the server makes them (server/scope.c).
\set ON_ERROR_STOP 1
SELECT pg_backend_pid() AS pid, pg_backend_pid() + 1 AS otherpid \gset
\set s1 `:tool :key school S43010101 :pid`
\set t1 `:tool :key township T430101 :pid`
\set c `:tool :key county C4301 :pid`
\set expired `:tool :key county C4301 :pid -10`
\set foreign `:tool :key county C4301 :otherpid`
BEGIN;
SELECT plan(68);

-- ---- A. append-only tables: no UPDATE, DELETE or TRUNCATE, even inside the scope -------------------------
SELECT set_config('zd.scope', :'s1', true) IS NOT NULL AS scoped \gset
SELECT throws_ok($$UPDATE zd.roll_call SET day = day$$, '42501', NULL, 'roll_call: UPDATE refused');
SELECT throws_ok($$DELETE FROM zd.roll_call$$, '42501', NULL, 'roll_call: DELETE refused');
SELECT throws_ok($$TRUNCATE zd.roll_call CASCADE$$, '42501', NULL, 'roll_call: TRUNCATE refused');
SELECT throws_ok($$UPDATE zd.absence SET excused = true$$, '42501', NULL, 'absence: UPDATE (excusing) refused');
SELECT throws_ok($$DELETE FROM zd.absence$$, '42501', NULL, 'absence: DELETE refused');
SELECT throws_ok($$UPDATE zd.daily_report SET kind = 'events'$$, '42501', NULL, 'daily_report: UPDATE refused');
SELECT throws_ok($$DELETE FROM zd.daily_report$$, '42501', NULL, 'daily_report: DELETE refused');
SELECT throws_ok($$TRUNCATE zd.daily_report CASCADE$$, '42501', NULL, 'daily_report: TRUNCATE refused');
SELECT throws_ok($$UPDATE zd.report_event SET note = ''$$, '42501', NULL, 'report_event: UPDATE refused');
SELECT throws_ok($$UPDATE zd.case_action SET note = 'rewritten'$$, '42501', NULL, 'case_action: UPDATE refused');
SELECT throws_ok($$DELETE FROM zd.case_action$$, '42501', NULL, 'case_action: DELETE refused');
SELECT throws_ok($$UPDATE zd.audit_entry SET canonical = '\x00'$$, '42501', NULL, 'audit_entry: UPDATE refused');
SELECT throws_ok($$DELETE FROM zd.audit_entry$$, '42501', NULL, 'audit_entry: DELETE refused');
SELECT throws_ok($$TRUNCATE zd.audit_entry$$, '42501', NULL, 'audit_entry: TRUNCATE refused');
SELECT throws_ok($$UPDATE zd.audit_head SET seq = 0$$, '42501', NULL, 'audit_head: rewinding the chain refused');
SELECT throws_ok($$UPDATE zd.silent_record SET day = day + 1$$, '42501', NULL, 'silent_record: UPDATE refused');
SELECT throws_ok($$DELETE FROM zd.silent_record$$, '42501', NULL, 'silent_record: DELETE (hiding silence) refused');

-- ---- B. rows outside the scope are invisible ---------------------------------------------------------------
SELECT set_config('zd.scope', '', true) IS NOT NULL AS scoped \gset
SELECT is((SELECT count(*) FROM zd.student), 0::bigint, 'no scope: no students');
SELECT is((SELECT count(*) FROM zd.household_person), 0::bigint, 'no scope: no household children');
SELECT is((SELECT count(*) FROM zd.absence) + (SELECT count(*) FROM zd.roll_call) + (SELECT count(*) FROM zd.case_file)
          + (SELECT count(*) FROM zd.app_user) + (SELECT count(*) FROM zd.audit_entry), 0::bigint,
          'no scope: no absences, roll calls, cases, users or audit entries');
SELECT set_config('zd.scope', :'s1', true) IS NOT NULL AS scoped \gset
SELECT is((SELECT count(*) FROM zd.student WHERE student_id = 'G430102010000000001'), 0::bigint,
          'school: another township''s student by id is not found');
SELECT is((SELECT count(*) FROM zd.student s JOIN zd.school sc ON sc.id = s.school_id WHERE sc.code <> 'S43010101'),
          0::bigint, 'school: no student of another school, same township included');
SELECT is((SELECT count(*) FROM zd.absence a JOIN zd.school sc ON sc.id = a.school_id WHERE sc.code <> 'S43010101'),
          0::bigint, 'school: no absence of another school');
SELECT is((SELECT count(*) FROM zd.case_file c JOIN zd.school sc ON sc.id = c.school_id WHERE sc.code <> 'S43010101'),
          0::bigint, 'school: no case of another school');
SELECT is((SELECT count(*) FROM zd.audit_entry a JOIN zd.school sc ON sc.id = a.school_id WHERE sc.code <> 'S43010101'),
          0::bigint, 'school: no audit entry of another school');
SELECT is((SELECT count(*) FROM zd.household_person), 0::bigint, 'school: household extract not visible');
SELECT is((SELECT count(*) FROM zd.v_absence_streak v JOIN zd.school sc ON sc.id = v.school_id WHERE sc.code <> 'S43010101'),
          0::bigint, 'school: the streak view does not leak other schools (security_invoker)');
SELECT set_config('zd.scope', :'t1', true) IS NOT NULL AS scoped \gset
SELECT is((SELECT count(*) FROM zd.student WHERE student_id LIKE 'G430102%'), 0::bigint,
          'township: no student of another township');
SELECT is((SELECT count(*) FROM zd.household_person hp JOIN zd.township t ON t.id = hp.township_id
           WHERE t.code <> 'T430101'), 0::bigint, 'township: no household child of another township');

-- ---- C. the scope cannot be forged or widened --------------------------------------------------------------
SELECT set_config('zd.scope', regexp_replace(:'s1', ':[0-9a-f]{64}$', ':' || repeat('ab', 32)), true) IS NOT NULL
    AS scoped \gset
SELECT throws_ok($$SELECT count(*) FROM zd.student$$, '42501', 'scope token rejected: bad signature',
                 'forged signature refused');
SELECT set_config('zd.scope', replace(:'s1', 'school:S43010101', 'county:C4301'), true) IS NOT NULL AS scoped \gset
SELECT throws_ok($$SELECT count(*) FROM zd.student$$, '42501', 'scope token rejected: bad signature',
                 'school token widened to the county refused');
SELECT set_config('zd.scope', replace(:'s1', 'S43010101', 'S43010201'), true) IS NOT NULL AS scoped \gset
SELECT throws_ok($$SELECT count(*) FROM zd.student$$, '42501', 'scope token rejected: bad signature',
                 'school token moved to another school refused');
SELECT set_config('zd.scope', replace(:'t1', 'township:', 'county:'), true) IS NOT NULL AS scoped \gset
SELECT throws_ok($$SELECT count(*) FROM zd.household_person$$, '42501', 'scope token rejected: bad signature',
                 'township token relabelled county refused');
SELECT set_config('zd.scope', :'expired', true) IS NOT NULL AS scoped \gset
SELECT throws_ok($$SELECT count(*) FROM zd.student$$, '42501', 'scope token rejected: expired',
                 'expired county token refused');
SELECT set_config('zd.scope', :'foreign', true) IS NOT NULL AS scoped \gset
SELECT throws_ok($$SELECT count(*) FROM zd.student$$, '42501', 'scope token rejected: made for another connection',
                 'county token of another connection refused');
SELECT set_config('zd.scope', 'county:C4301', true) IS NOT NULL AS scoped \gset
SELECT throws_ok($$SELECT count(*) FROM zd.student$$, '42501', 'scope token rejected: malformed',
                 'a bare scope name refused');
SELECT set_config('zd.scope', :'s1', true) IS NOT NULL AS scoped \gset
SELECT throws_ok($$SELECT key FROM zd.scope_key$$, '42501', NULL, 'the scope key cannot be read');
SELECT throws_ok($$SELECT zd.hmac_sha256('\x00', '\x00')$$, '42501', NULL, 'the HMAC function cannot be called');
SELECT throws_ok($$SELECT * FROM zd.import_batch_begin('register')$$, '42501', 'only the county imports registers',
                 'a school cannot start a register import');
SELECT throws_ok($$SELECT * FROM zd.register_stage$$, '42501', NULL, 'staged register rows cannot be read back');

-- ---- D. privileges, DDL and the server's files ------------------------------------------------------------
SELECT throws_ok($$ALTER TABLE zd.student DISABLE ROW LEVEL SECURITY$$, '42501', NULL, 'cannot disable RLS');
SELECT throws_ok($$ALTER TABLE zd.student NO FORCE ROW LEVEL SECURITY$$, '42501', NULL, 'cannot unforce RLS');
SELECT throws_ok($$DROP POLICY student_scope ON zd.student$$, '42501', NULL, 'cannot drop a policy');
SELECT throws_ok($$CREATE POLICY open ON zd.student FOR SELECT USING (true)$$, '42501', NULL, 'cannot add a policy');
SELECT throws_ok($$SET ROLE zerodrop_owner$$, '42501', NULL, 'cannot SET ROLE to the owner');
SELECT throws_ok($$SET SESSION AUTHORIZATION zerodrop_owner$$, '42501', NULL, 'cannot SET SESSION AUTHORIZATION');
SELECT throws_ok($$CREATE TABLE zd.mine (x integer)$$, '42501', NULL, 'cannot create a table in zd');
SELECT throws_ok($$CREATE TABLE public.mine (x integer)$$, '42501', NULL, 'cannot create a table in public');
SELECT throws_ok($$CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'$$, '42501', NULL,
                 'cannot create a function');
SELECT throws_ok($$CREATE OR REPLACE FUNCTION zd.scope_school_ids() RETURNS integer[] LANGUAGE sql
                   AS 'SELECT array_agg(id) FROM zd.school'$$, '42501', NULL, 'cannot replace a scope function');
SELECT throws_ok($$CREATE SCHEMA mine$$, '42501', NULL, 'cannot create a schema');
SELECT throws_ok($$COPY zd.student TO PROGRAM 'id'$$, '42501', NULL, 'COPY TO PROGRAM refused');
SELECT throws_ok($$COPY zd.roll_call FROM '/etc/passwd'$$, '42501', NULL, 'COPY FROM a server file refused');
SELECT throws_ok($$SELECT pg_read_file('/etc/passwd')$$, '42501', NULL, 'pg_read_file refused');
SELECT throws_ok($$SELECT pg_ls_dir('.')$$, '42501', NULL, 'pg_ls_dir refused');
SELECT throws_ok($$SELECT lo_import('/etc/passwd')$$, '42501', NULL, 'server-side lo_import refused');
SELECT throws_ok($$ALTER ROLE zerodrop_app BYPASSRLS$$, '42501', NULL, 'cannot give itself BYPASSRLS');
SELECT throws_ok($$ALTER ROLE zerodrop_app SUPERUSER$$, '42501', NULL, 'cannot make itself superuser');
SELECT throws_ok($$GRANT zerodrop_owner TO zerodrop_app$$, '42501', NULL, 'cannot join the owner role');
SELECT throws_ok($$CREATE EXTENSION dblink$$, '42501', NULL, 'cannot create an extension');
SELECT throws_ok($$LOAD '/tmp/zerodrop-evil.so'$$, '42501', NULL, 'cannot load a shared library');
SELECT throws_ok($$SELECT count(*) FROM pg_authid$$, '42501', NULL, 'cannot read password hashes of roles');
SELECT throws_ok($$DELETE FROM zd_meta.migration$$, '42501', NULL, 'cannot touch the migration records');

-- ---- E. writing outside the scope, or what is not the app's to write --------------------------------------
SELECT throws_ok($$INSERT INTO zd.student (student_id, name, birth_date, sex)
                   VALUES ('G999999999999999999', '假人', '2014-01-01', 'M')$$, '42501', NULL,
                 'cannot add a student behind the register');
SELECT throws_ok($$UPDATE zd.student SET name = name$$, '42501', NULL, 'cannot edit a student');
SELECT throws_ok($$INSERT INTO zd.roll_call (uuid, school_id, class_id, day)
                   SELECT gen_random_uuid(), s.id, c.id, DATE '2026-09-02' FROM zd.school s
                   JOIN zd.class c ON c.school_id = s.id WHERE s.code = 'S43010201'$$, '42501',
                 'new row violates row-level security policy for table "roll_call"',
                 'cannot file a roll call for another school');
SELECT throws_ok($$UPDATE zd.case_file SET school_id = school_id$$, '42501', NULL,
                 'cannot move a case to another school');
SELECT throws_ok($$UPDATE zd.app_user SET role = 'county_admin'$$, '42501', NULL, 'cannot promote a user');

SELECT * FROM finish();
ROLLBACK;
