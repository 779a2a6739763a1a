-- scope.sql — pgTAP, run as a real zerodrop_app login: each scope sees exactly what it should, and the app can
-- do the writes it needs. psql variables: tool, key (as in escape.sql).
\set ON_ERROR_STOP 1
SELECT pg_backend_pid() AS pid \gset
\set s1 `:tool :key school S43010101 :pid`
\set t1 `:tool :key township T430101 :pid`
\set c `:tool :key county C4301 :pid`
BEGIN;
SELECT plan(27);

-- Reference data needs no scope.
SELECT is((SELECT count(*) FROM zd.school), 3::bigint, 'schools are reference data, visible without scope');
SELECT is((SELECT count(*) FROM zd.calendar_day), 30::bigint, 'the calendar is visible without scope');

SELECT set_config('zd.scope', :'s1', true) IS NOT NULL AS scoped \gset
SELECT results_eq($$SELECT level::text, code FROM zd.scope_current()$$, $$VALUES ('school', 'S43010101')$$,
                  'the verified scope is the school');
SELECT results_eq($$SELECT student_id, name FROM zd.student ORDER BY student_id$$,
                  $$VALUES ('G430101010000000001', '张一'), ('G430101010000000002', '李二')$$,
                  'school sees exactly its two students');
SELECT is((SELECT count(*) FROM zd.enrollment), 2::bigint, 'school: its two enrollments');
SELECT is((SELECT count(*) FROM zd.staff), 3::bigint, 'school: its three staff');
SELECT is((SELECT sum(share) FROM zd.responsibility), 200::bigint, 'school: shares of its students, 2 x 100');
SELECT is((SELECT count(*) FROM zd.roll_call) * 100 + (SELECT count(*) FROM zd.absence) * 10
          + (SELECT count(*) FROM zd.case_file), 111::bigint, 'school: one roll call, one absence, one case');
SELECT results_eq($$SELECT username FROM zd.app_user ORDER BY 1$$, $$VALUES ('clerk_S43010101')$$,
                  'school: only its own user');
SELECT results_eq($$SELECT class_code, enrolled FROM zd.v_class_enrollment WHERE enrolled > 0$$,
                  $$VALUES ('S43010101-7-1', 2)$$, 'school: enrollment view shows its class with 2');
SELECT lives_ok($$INSERT INTO zd.roll_call (uuid, school_id, class_id, day)
                  SELECT '11111111-1111-1111-1111-111111111111', s.id, c.id, DATE '2026-09-02'
                  FROM zd.school s JOIN zd.class c ON c.school_id = s.id WHERE s.code = 'S43010101'$$,
                'school: files a roll call for its class');
SELECT lives_ok($$INSERT INTO zd.absence (roll_call_id, student_id, school_id, reason, excused)
                  SELECT rc.id, st.id, rc.school_id, 'sick', true FROM zd.roll_call rc
                  JOIN zd.student st ON st.school_id = rc.school_id
                  WHERE rc.uuid = '11111111-1111-1111-1111-111111111111' AND st.student_id = 'G430101010000000002'$$,
                'school: records an absence of its student');

-- The audit chain: the database chooses seq, prev_hash and hash, whatever the inserter says.
SELECT seq AS head_seq, encode(hash, 'hex') AS head_hash FROM zd.audit_head \gset
INSERT INTO zd.audit_entry (seq, prev_hash, hash, kind, school_id, canonical, signature)
SELECT 1, '\x0000000000000000000000000000000000000000000000000000000000000000',
       '\x1111111111111111111111111111111111111111111111111111111111111111', 'roll_call', id, '\x0102', '\x03'
FROM zd.school WHERE code = 'S43010101'
RETURNING seq AS new_seq, encode(prev_hash, 'hex') AS new_prev, encode(hash, 'hex') AS new_hash \gset
SELECT is(:new_seq::bigint, :head_seq::bigint + 1, 'audit: seq follows the head, not the inserter');
SELECT is(:'new_prev'::text, :'head_hash'::text, 'audit: prev_hash is the head''s hash');
SELECT is(:'new_hash'::text, encode(sha256(decode(:'head_hash', 'hex') || int8send(:new_seq::bigint) || int4send(2)
                                     || '\x0102'::bytea || int4send(1) || '\x03'::bytea), 'hex'),
          'audit: hash is SHA-256 over prev_hash, seq, canonical and signature');

SELECT set_config('zd.scope', :'t1', true) IS NOT NULL AS scoped \gset
SELECT results_eq($$SELECT student_id FROM zd.student ORDER BY 1$$,
                  $$VALUES ('G430101010000000001'), ('G430101010000000002'), ('G430101020000000001'),
                           ('G430101020000000002')$$, 'township sees exactly the students of its two schools');
SELECT results_eq($$SELECT person_id FROM zd.household_person ORDER BY 1$$,
                  $$VALUES ('430101201403010011'), ('430101201403010043')$$,
                  'township sees exactly its household children');
SELECT results_eq($$SELECT username FROM zd.app_user ORDER BY 1$$,
                  $$VALUES ('clerk_S43010101'), ('clerk_S43010102'), ('officer_T430101')$$,
                  'township sees its own and its schools'' users');
SELECT is((SELECT count(*) FROM zd.case_file), 2::bigint, 'township: the cases of its two schools');
SELECT is((SELECT count(*) FROM zd.silent_record), 2::bigint, 'township: silence of its two schools');

SELECT set_config('zd.scope', :'c', true) IS NOT NULL AS scoped \gset
SELECT is((SELECT count(*) FROM zd.student), 6::bigint, 'county sees all six students');
SELECT is((SELECT count(*) FROM zd.household_person), 4::bigint, 'county sees all household children');
SELECT is((SELECT count(*) FROM zd.app_user), 6::bigint, 'county sees every user');
SELECT is((SELECT count(*) FROM zd.audit_entry), 4::bigint, 'county sees the whole chain');
SELECT lives_ok($$SELECT zd.import_batch_begin('household')$$, 'county may start an import');

SELECT set_config('zd.scope', '', true) IS NOT NULL AS scoped \gset
SELECT is((SELECT count(*) FROM zd.student), 0::bigint, 'scope cleared: nothing again');
SELECT is((SELECT count(*) FROM zd.scope_current()), 0::bigint, 'scope cleared: no current scope');

SELECT * FROM finish();
ROLLBACK;
