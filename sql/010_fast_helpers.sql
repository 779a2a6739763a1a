-- 010_fast_helpers.sql — faster imports: inlinable helpers, one UTF-8 check per row, statistics on the
-- import's temporary tables, and no NOTICE on the first import of a session.
--
-- A function with a SET clause is never inlined and pays a configuration switch on every call; the register
-- import calls utf8_from_latin1 nine times per row, so for a county's 150,000 students that cost dominated.
-- These helpers are not SECURITY DEFINER and only the import functions (which pin search_path themselves) and
-- the owner call them, so the pinned search_path on them bought nothing. SECURITY DEFINER functions keep theirs.
ALTER FUNCTION zd.utf8_from_latin1(text) RESET ALL;
ALTER FUNCTION zd.strict_date(text) RESET ALL;
ALTER FUNCTION zd.resident_id_valid(text) RESET ALL;
ALTER FUNCTION zd.school_year_of(date) RESET ALL;

-- A strict ISO date as plain SQL (the plpgsql version cost an interpreter call per row). Same contract as 005:
-- YYYY-MM-DD, a day that exists, years 1900–2099; NULL otherwise. The CASE guards make_date from bad input.
CREATE OR REPLACE FUNCTION zd.strict_date(t text) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'
                 AND extract(month FROM make_date(substr(t, 1, 4)::integer, substr(t, 6, 2)::integer, 1)
                                      + (substr(t, 9, 2)::integer - 1)) = substr(t, 6, 2)::integer
                THEN make_date(substr(t, 1, 4)::integer, substr(t, 6, 2)::integer, substr(t, 9, 2)::integer)
           END
$$;

-- GB 11643 check character, as one expression (005 summed over generate_series, a subquery per row).
CREATE OR REPLACE FUNCTION zd.resident_id_valid(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT t ~ '^[0-9]{17}[0-9X]$' AND substr('10X98765432', ((
        substr(t, 1, 1)::integer * 7 + substr(t, 2, 1)::integer * 9 + substr(t, 3, 1)::integer * 10
        + substr(t, 4, 1)::integer * 5 + substr(t, 5, 1)::integer * 8 + substr(t, 6, 1)::integer * 4
        + substr(t, 7, 1)::integer * 2 + substr(t, 8, 1)::integer * 1 + substr(t, 9, 1)::integer * 6
        + substr(t, 10, 1)::integer * 3 + substr(t, 11, 1)::integer * 7 + substr(t, 12, 1)::integer * 9
        + substr(t, 13, 1)::integer * 10 + substr(t, 14, 1)::integer * 5 + substr(t, 15, 1)::integer * 8
        + substr(t, 16, 1)::integer * 4 + substr(t, 17, 1)::integer * 2) % 11) + 1, 1) = substr(t, 18, 1)
$$;

-- The import functions of 005 with the same contract; what changed is how rows are decoded (once per row, a
-- field at a time only for rows that are not valid UTF-8) and that the temporary tables get statistics.
CREATE OR REPLACE FUNCTION zd.register_import(p_batch bigint, p_on date DEFAULT current_date)
RETURNS SETOF zd.import_problem
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sy smallint := zd.school_year_of(p_on);
    n_staged integer;
    n_problems integer;
    n_inserted integer;
    n_updated integer;
    n_moved integer;
    known_flags constant text[] := ARRAY['left_behind', 'single_parent', 'poor', 'learning_difficulty',
                                         'disability', 'home_taught', 'migrant'];
BEGIN
    PERFORM zd.import__authorize();
    IF NOT EXISTS (SELECT 1 FROM zd.import_batch WHERE id = p_batch AND kind = 'register' AND finished_at IS NULL)
    THEN
        RAISE EXCEPTION 'no open register import batch %', p_batch USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF to_regclass('pg_temp.reg') IS NOT NULL THEN
        DROP TABLE pg_temp.reg;
    END IF;
    IF to_regclass('pg_temp.problem') IS NOT NULL THEN
        DROP TABLE pg_temp.problem;
    END IF;
    -- Decode each row once: its nine fields joined by U+0001, checked as UTF-8 and converted in one go, then
    -- split. Rows that fail, or that hold a U+0001 of their own, are decoded field by field as in 005, which
    -- also says which field is bad.
    CREATE TEMP TABLE reg ON COMMIT DROP AS
    SELECT d.row_no,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 1) ELSE zd.utf8_from_latin1(d.f[1]) END AS student_id,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 2) ELSE zd.utf8_from_latin1(d.f[2]) END AS name,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 3) ELSE zd.utf8_from_latin1(d.f[3]) END AS birth_date,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 4) ELSE zd.utf8_from_latin1(d.f[4]) END AS sex,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 5) ELSE zd.utf8_from_latin1(d.f[5]) END AS school_code,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 6) ELSE zd.utf8_from_latin1(d.f[6]) END AS grade,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 7) ELSE zd.utf8_from_latin1(d.f[7]) END AS class_name,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 8) ELSE zd.utf8_from_latin1(d.f[8]) END AS household_id,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 9) ELSE zd.utf8_from_latin1(d.f[9]) END AS flags
    FROM (SELECT j.row_no, j.f, u.u, u.u IS NOT NULL AND length(j.joined) - length(replace(j.joined, E'\x01', '')) = j.seps AS ok
          FROM (SELECT (row_number() OVER (ORDER BY s.seq) + 1)::integer AS row_no,
                       ARRAY[coalesce(s.student_id, ''), coalesce(s.name, ''), coalesce(s.birth_date, ''),
                             coalesce(s.sex, ''), coalesce(s.school_code, ''), coalesce(s.grade, ''),
                             coalesce(s.class_name, ''), coalesce(s.household_id, ''), coalesce(s.flags, '')] AS f,
                       concat_ws(E'\x01', coalesce(s.student_id, ''), coalesce(s.name, ''),
                                 coalesce(s.birth_date, ''), coalesce(s.sex, ''), coalesce(s.school_code, ''),
                                 coalesce(s.grade, ''), coalesce(s.class_name, ''), coalesce(s.household_id, ''),
                                 coalesce(s.flags, '')) AS joined,
                       8 AS seps
                FROM zd.register_stage s WHERE s.batch_id = p_batch) j
          CROSS JOIN LATERAL (SELECT zd.utf8_from_latin1(j.joined) AS u) u) d;
    GET DIAGNOSTICS n_staged = ROW_COUNT;

    ALTER TABLE reg ADD COLUMN school_id integer, ADD COLUMN grade_n smallint, ADD COLUMN born date,
        ADD COLUMN flag_list text[];
    ANALYZE reg;
    UPDATE reg r SET
        school_id = (SELECT s.id FROM zd.school s WHERE s.code = r.school_code),
        grade_n = CASE WHEN r.grade ~ '^[0-9]{1,4}$' THEN r.grade::smallint END,
        born = zd.strict_date(r.birth_date),
        flag_list = CASE WHEN btrim(r.flags) = '' THEN '{}'::text[]
                         ELSE (SELECT array_agg(btrim(f)) FROM unnest(string_to_array(r.flags, ';')) f) END;

    CREATE TEMP TABLE problem (row_no integer, col smallint, column_name text, reason text) ON COMMIT DROP;

    -- Bad encoding, per field; a field that is not text is not checked further.
    INSERT INTO problem
    SELECT r.row_no, c.col, c.name, 'is not valid UTF-8 text (bad encoding)'
    FROM reg r CROSS JOIN LATERAL (VALUES
        (1, 'student_id', r.student_id), (2, 'name', r.name), (3, 'birth_date', r.birth_date), (4, 'sex', r.sex),
        (5, 'school_code', r.school_code), (6, 'grade', r.grade), (7, 'class_name', r.class_name),
        (8, 'household_id', r.household_id), (9, 'flags', r.flags)) AS c(col, name, v)
    WHERE c.v IS NULL;

    INSERT INTO problem
    SELECT row_no, 1, 'student_id', format('"%s" is not a national student id (G and 18 digits)', student_id)
    FROM reg WHERE student_id IS NOT NULL AND student_id !~ '^G[0-9]{18}$';

    INSERT INTO problem
    SELECT d.row_no, 1, 'student_id', format('%s appears again (first on row %s)', d.student_id, d.first_row)
    FROM (SELECT row_no, student_id, min(row_no) OVER (PARTITION BY student_id) AS first_row
          FROM reg WHERE student_id ~ '^G[0-9]{18}$') d
    WHERE d.row_no > d.first_row;

    INSERT INTO problem
    SELECT row_no, 2, 'name', 'the name is empty' FROM reg WHERE name IS NOT NULL AND btrim(name) = '';

    INSERT INTO problem
    SELECT row_no, 3, 'birth_date', format('"%s" is not a date (YYYY-MM-DD)', birth_date)
    FROM reg WHERE birth_date IS NOT NULL AND born IS NULL;

    INSERT INTO problem
    SELECT row_no, 4, 'sex', format('sex must be F or M, not "%s"', sex)
    FROM reg WHERE sex IS NOT NULL AND sex NOT IN ('F', 'M');

    INSERT INTO problem
    SELECT row_no, 5, 'school_code', format('there is no school with code "%s"', school_code)
    FROM reg WHERE school_code IS NOT NULL AND school_id IS NULL;

    INSERT INTO problem
    SELECT r.row_no, 5, 'school_code', format('school %s closed on %s', r.school_code, s.closed_on)
    FROM reg r JOIN zd.school s ON s.id = r.school_id WHERE s.closed_on <= p_on;

    INSERT INTO problem
    SELECT row_no, 6, 'grade', format('%s is not a grade (1–9)', CASE WHEN grade = '' THEN '(empty)' ELSE grade END)
    FROM reg WHERE grade IS NOT NULL AND (grade_n IS NULL OR grade_n NOT BETWEEN 1 AND 9);

    INSERT INTO problem
    SELECT row_no, 7, 'class_name', format('"%s" is not a class name like 7-2', class_name)
    FROM reg WHERE class_name IS NOT NULL AND class_name !~ '^[1-9]-[0-9]{1,2}$';

    INSERT INTO problem
    SELECT row_no, 7, 'class_name', format('class %s is not in grade %s', class_name, grade_n)
    FROM reg WHERE class_name ~ '^[1-9]-[0-9]{1,2}$' AND grade_n BETWEEN 1 AND 9
      AND split_part(class_name, '-', 1)::smallint <> grade_n;

    -- A child starts grade 1 at six; allow four years either way for early starts, repeats and late entry.
    INSERT INTO problem
    SELECT a.row_no, 3, 'birth_date',
           format('born %s, %s years old on 1 September %s: too %s for grade %s', a.born, a.age, sy,
                  CASE WHEN a.age < a.grade_n + 4 THEN 'young' ELSE 'old' END, a.grade_n)
    FROM (SELECT row_no, born, grade_n,
                 extract(year FROM age(make_date(sy, 9, 1), born))::integer AS age
          FROM reg WHERE born IS NOT NULL AND grade_n BETWEEN 1 AND 9) a
    WHERE a.age < a.grade_n + 4 OR a.age > a.grade_n + 10;

    INSERT INTO problem
    SELECT row_no, 8, 'household_id',
           format('"%s" is not a household-register id (17 digits and a digit or X)', household_id)
    FROM reg WHERE household_id IS NOT NULL AND household_id <> '' AND household_id !~ '^[0-9]{17}[0-9X]$';

    INSERT INTO problem
    SELECT d.row_no, 8, 'household_id', format('household id %s appears again (first on row %s)', d.household_id,
                                               d.first_row)
    FROM (SELECT row_no, household_id, min(row_no) OVER (PARTITION BY household_id) AS first_row
          FROM reg WHERE household_id ~ '^[0-9]{17}[0-9X]$') d
    WHERE d.row_no > d.first_row;

    INSERT INTO problem
    SELECT r.row_no, 9, 'flags',
           format('"%s" is not a risk flag (use %s)', f, array_to_string(known_flags, ', '))
    FROM reg r CROSS JOIN LATERAL unnest(r.flag_list) f
    WHERE r.flags IS NOT NULL AND f <> ALL (known_flags);

    SELECT count(*) INTO n_problems FROM problem;
    DELETE FROM zd.register_stage WHERE batch_id = p_batch;

    IF n_problems > 0 THEN
        UPDATE zd.import_batch SET finished_at = clock_timestamp(), applied = false, rows_staged = n_staged,
            problems = n_problems WHERE id = p_batch;
        RETURN QUERY SELECT p.row_no, p.column_name, p.reason FROM problem p ORDER BY p.row_no, p.col, p.reason;
        RETURN;
    END IF;

    -- Apply. Classes first, then students, then enrollment history.
    INSERT INTO zd.class (school_id, school_year, grade, name, code)
    SELECT DISTINCT r.school_id, sy, r.grade_n, r.class_name, '' FROM reg r
    ON CONFLICT (school_id, school_year, name) DO NOTHING;

    ALTER TABLE reg ADD COLUMN class_id integer;
    UPDATE reg r SET class_id = c.id FROM zd.class c
    WHERE c.school_id = r.school_id AND c.school_year = sy AND c.name = r.class_name;

    WITH src AS (
        SELECT r.student_id, btrim(r.name) AS name, r.born, r.sex::zd.sex AS sex, nullif(r.household_id, '') AS hid,
               'left_behind' = ANY (r.flag_list) AS left_behind, 'single_parent' = ANY (r.flag_list) AS single_parent,
               'poor' = ANY (r.flag_list) AS poor, 'learning_difficulty' = ANY (r.flag_list) AS learning_difficulty,
               'disability' = ANY (r.flag_list) AS disability, 'home_taught' = ANY (r.flag_list) AS home_taught,
               'migrant' = ANY (r.flag_list) AS migrant, r.school_id, r.class_id
        FROM reg r
    ), ins AS (
        INSERT INTO zd.student AS st (student_id, name, birth_date, sex, household_id, left_behind, single_parent,
                                      poor, learning_difficulty, disability, home_taught, migrant, school_id,
                                      class_id)
        SELECT * FROM src
        ON CONFLICT (student_id) DO UPDATE SET
            name = EXCLUDED.name, birth_date = EXCLUDED.birth_date, sex = EXCLUDED.sex,
            household_id = EXCLUDED.household_id, left_behind = EXCLUDED.left_behind,
            single_parent = EXCLUDED.single_parent, poor = EXCLUDED.poor,
            learning_difficulty = EXCLUDED.learning_difficulty, disability = EXCLUDED.disability,
            home_taught = EXCLUDED.home_taught, migrant = EXCLUDED.migrant, school_id = EXCLUDED.school_id,
            class_id = EXCLUDED.class_id
        WHERE (st.name, st.birth_date, st.sex, st.household_id, st.left_behind, st.single_parent, st.poor,
               st.learning_difficulty, st.disability, st.home_taught, st.migrant, st.school_id, st.class_id)
              IS DISTINCT FROM
              (EXCLUDED.name, EXCLUDED.birth_date, EXCLUDED.sex, EXCLUDED.household_id, EXCLUDED.left_behind,
               EXCLUDED.single_parent, EXCLUDED.poor, EXCLUDED.learning_difficulty, EXCLUDED.disability,
               EXCLUDED.home_taught, EXCLUDED.migrant, EXCLUDED.school_id, EXCLUDED.class_id)
        RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO n_inserted, n_updated
    FROM ins;

    ALTER TABLE reg ADD COLUMN sid bigint, ADD COLUMN open_id bigint, ADD COLUMN open_school integer,
        ADD COLUMN open_class integer;
    UPDATE reg r SET sid = st.id FROM zd.student st WHERE st.student_id = r.student_id;
    UPDATE reg r SET open_id = e.id, open_school = e.school_id, open_class = e.class_id
    FROM zd.enrollment e WHERE e.student_id = r.sid AND e.to_date IS NULL;

    UPDATE zd.enrollment e SET to_date = p_on,
        to_reason = CASE WHEN r.open_school <> r.school_id THEN 'transfer_out' ELSE 'class_change' END::zd.enrollment_reason
    FROM reg r WHERE e.id = r.open_id AND r.open_class IS DISTINCT FROM r.class_id;

    INSERT INTO zd.enrollment (student_id, school_id, class_id, from_date, from_reason)
    SELECT r.sid, r.school_id, r.class_id, p_on,
           CASE WHEN r.open_id IS NULL THEN 'enrolled'
                WHEN r.open_school <> r.school_id THEN 'transfer_in'
                ELSE 'class_change' END::zd.enrollment_reason
    FROM reg r WHERE r.open_id IS NULL OR r.open_class IS DISTINCT FROM r.class_id;
    GET DIAGNOSTICS n_moved = ROW_COUNT;

    UPDATE zd.import_batch SET finished_at = clock_timestamp(), applied = true, rows_staged = n_staged,
        problems = 0, inserted = n_inserted, updated = n_updated, moved = n_moved WHERE id = p_batch;
    RETURN;
END $$;

CREATE OR REPLACE FUNCTION zd.household_import(p_batch bigint, p_on date DEFAULT current_date)
RETURNS SETOF zd.import_problem
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n_staged integer;
    n_problems integer;
    n_inserted integer;
    n_updated integer;
    n_removed integer;
BEGIN
    PERFORM zd.import__authorize();
    IF NOT EXISTS (SELECT 1 FROM zd.import_batch WHERE id = p_batch AND kind = 'household' AND finished_at IS NULL)
    THEN
        RAISE EXCEPTION 'no open household import batch %', p_batch USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF to_regclass('pg_temp.hh') IS NOT NULL THEN
        DROP TABLE pg_temp.hh;
    END IF;
    IF to_regclass('pg_temp.problem') IS NOT NULL THEN
        DROP TABLE pg_temp.problem;
    END IF;
    CREATE TEMP TABLE hh ON COMMIT DROP AS
    SELECT d.row_no,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 1) ELSE zd.utf8_from_latin1(d.f[1]) END AS person_id,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 2) ELSE zd.utf8_from_latin1(d.f[2]) END AS name,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 3) ELSE zd.utf8_from_latin1(d.f[3]) END AS birth_date,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 4) ELSE zd.utf8_from_latin1(d.f[4]) END AS sex,
           CASE WHEN d.ok THEN split_part(d.u, E'\x01', 5) ELSE zd.utf8_from_latin1(d.f[5]) END AS township_code
    FROM (SELECT j.row_no, j.f, u.u, u.u IS NOT NULL AND length(j.joined) - length(replace(j.joined, E'\x01', '')) = j.seps AS ok
          FROM (SELECT (row_number() OVER (ORDER BY s.seq) + 1)::integer AS row_no,
                       ARRAY[coalesce(s.person_id, ''), coalesce(s.name, ''), coalesce(s.birth_date, ''),
                             coalesce(s.sex, ''), coalesce(s.township_code, '')] AS f,
                       concat_ws(E'\x01', coalesce(s.person_id, ''), coalesce(s.name, ''),
                                 coalesce(s.birth_date, ''), coalesce(s.sex, ''),
                                 coalesce(s.township_code, '')) AS joined,
                       4 AS seps
                FROM zd.household_stage s WHERE s.batch_id = p_batch) j
          CROSS JOIN LATERAL (SELECT zd.utf8_from_latin1(j.joined) AS u) u) d;
    GET DIAGNOSTICS n_staged = ROW_COUNT;
    ALTER TABLE hh ADD COLUMN township_id integer, ADD COLUMN born date;
    ANALYZE hh;
    UPDATE hh h SET township_id = (SELECT t.id FROM zd.township t WHERE t.code = h.township_code),
                    born = zd.strict_date(h.birth_date);

    CREATE TEMP TABLE problem (row_no integer, col smallint, column_name text, reason text) ON COMMIT DROP;
    INSERT INTO problem
    SELECT h.row_no, c.col, c.name, 'is not valid UTF-8 text (bad encoding)'
    FROM hh h CROSS JOIN LATERAL (VALUES (1, 'person_id', h.person_id), (2, 'name', h.name),
        (3, 'birth_date', h.birth_date), (4, 'sex', h.sex), (5, 'township_code', h.township_code)) AS c(col, name, v)
    WHERE c.v IS NULL;
    INSERT INTO problem
    SELECT row_no, 1, 'person_id', format('"%s" is not a household-register id (17 digits and a check digit)',
                                          person_id)
    FROM hh WHERE person_id IS NOT NULL AND NOT zd.resident_id_valid(person_id);
    INSERT INTO problem
    SELECT d.row_no, 1, 'person_id', format('%s appears again (first on row %s)', d.person_id, d.first_row)
    FROM (SELECT row_no, person_id, min(row_no) OVER (PARTITION BY person_id) AS first_row
          FROM hh WHERE person_id IS NOT NULL AND person_id <> '') d
    WHERE d.row_no > d.first_row;
    INSERT INTO problem
    SELECT row_no, 2, 'name', 'the name is empty' FROM hh WHERE name IS NOT NULL AND btrim(name) = '';
    INSERT INTO problem
    SELECT row_no, 3, 'birth_date', format('"%s" is not a date (YYYY-MM-DD)', birth_date)
    FROM hh WHERE birth_date IS NOT NULL AND born IS NULL;
    INSERT INTO problem
    SELECT row_no, 3, 'birth_date', format('born %s, after the extract date %s', born, p_on)
    FROM hh WHERE born > p_on;
    INSERT INTO problem
    SELECT row_no, 4, 'sex', format('sex must be F or M, not "%s"', sex)
    FROM hh WHERE sex IS NOT NULL AND sex NOT IN ('F', 'M');
    INSERT INTO problem
    SELECT row_no, 5, 'township_code', format('there is no township with code "%s"', township_code)
    FROM hh WHERE township_code IS NOT NULL AND township_id IS NULL;

    SELECT count(*) INTO n_problems FROM problem;
    DELETE FROM zd.household_stage WHERE batch_id = p_batch;
    IF n_problems > 0 THEN
        UPDATE zd.import_batch SET finished_at = clock_timestamp(), applied = false, rows_staged = n_staged,
            problems = n_problems WHERE id = p_batch;
        RETURN QUERY SELECT p.row_no, p.column_name, p.reason FROM problem p ORDER BY p.row_no, p.col, p.reason;
        RETURN;
    END IF;

    DELETE FROM zd.household_person hp WHERE NOT EXISTS (SELECT 1 FROM hh WHERE hh.person_id = hp.person_id);
    GET DIAGNOSTICS n_removed = ROW_COUNT;
    WITH ins AS (
        INSERT INTO zd.household_person AS p (person_id, name, birth_date, sex, township_id)
        SELECT h.person_id, btrim(h.name), h.born, h.sex::zd.sex, h.township_id FROM hh h
        ON CONFLICT (person_id) DO UPDATE SET name = EXCLUDED.name, birth_date = EXCLUDED.birth_date,
            sex = EXCLUDED.sex, township_id = EXCLUDED.township_id
        WHERE (p.name, p.birth_date, p.sex, p.township_id)
              IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.birth_date, EXCLUDED.sex, EXCLUDED.township_id)
        RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) INTO n_inserted, n_updated
    FROM ins;

    UPDATE zd.import_batch SET finished_at = clock_timestamp(), applied = true, rows_staged = n_staged,
        problems = 0, inserted = n_inserted, updated = n_updated, removed = n_removed WHERE id = p_batch;
    RETURN;
END $$;
