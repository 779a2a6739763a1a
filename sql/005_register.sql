-- 005_register.sql — importing the student register (学籍) and the household extract (户籍).
--
-- The caller (the server for a county admin, or tests/load-county as the owner) does, in one transaction:
--     SELECT zd.import_batch_begin('register');          -- sets zd.import_batch for this transaction
--     COPY zd.register_stage (student_id, name, birth_date, sex, school_code, grade, class_name, household_id,
--          flags) FROM STDIN WITH (FORMAT csv, HEADER match, ENCODING 'LATIN1');
--     SELECT * FROM zd.register_import(<batch>, <date>);  -- every problem, or nothing and the data applied
-- ENCODING 'LATIN1' is deliberate: it lets any byte sequence into the staging table unchanged (one byte, one
-- character), so a bad byte becomes a reported problem on its row and column instead of a COPY error for the
-- whole file. The functions below decode each field as UTF-8 themselves. A file staged with any other encoding
-- reports every non-ASCII field as bad encoding, so the mistake cannot pass silently.
-- Row numbers are those a spreadsheet shows: the header is row 1, the first record row 2.

CREATE TABLE zd.import_batch (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('register', 'household')),
    started_at timestamptz NOT NULL DEFAULT now(),
    started_by text NOT NULL DEFAULT session_user,
    finished_at timestamptz,
    applied boolean,
    rows_staged integer,
    problems integer,
    inserted integer,          -- students (persons) new to the county
    updated integer,           -- students whose register details changed
    moved integer,             -- students with a new enrollment row (class or school changed)
    removed integer            -- household only: persons no longer in the extract
);

CREATE TABLE zd.register_stage (
    batch_id bigint NOT NULL DEFAULT current_setting('zd.import_batch')::bigint REFERENCES zd.import_batch,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    student_id text, name text, birth_date text, sex text, school_code text, grade text, class_name text,
    household_id text, flags text
);
CREATE INDEX ON zd.register_stage (batch_id, seq);

CREATE TABLE zd.household_stage (
    batch_id bigint NOT NULL DEFAULT current_setting('zd.import_batch')::bigint REFERENCES zd.import_batch,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    person_id text, name text, birth_date text, sex text, township_code text
);
CREATE INDEX ON zd.household_stage (batch_id, seq);

-- Decode a field staged as Latin-1 back into its bytes and read them as UTF-8; NULL when they are not valid
-- UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) or were not staged as Latin-1.
CREATE FUNCTION zd.utf8_from_latin1(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
    SELECT CASE
        WHEN t ~ '^[\x01-\x7f]*$' THEN t
        WHEN t ~ ('^([\x01-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}'
                  '|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}'
                  '|\xf4[\x80-\x8f][\x80-\xbf]{2})*$')
            THEN convert_from(convert_to(t, 'LATIN1'), 'UTF8')
        ELSE NULL
    END
$$;

-- A strict ISO date (YYYY-MM-DD, a day that exists, years 1900–2100), or NULL. Checked arithmetically so that a
-- bad date costs no exception handler per row.
CREATE FUNCTION zd.strict_date(t text) RETURNS date
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    p text[] := regexp_match(t, '^([0-9]{4})-([0-9]{2})-([0-9]{2})$');
    y integer;
    m integer;
    d integer;
BEGIN
    IF p IS NULL THEN
        RETURN NULL;
    END IF;
    y := p[1]::integer;
    m := p[2]::integer;
    d := p[3]::integer;
    IF y < 1900 OR y > 2100 OR m < 1 OR m > 12 OR d < 1
       OR d > extract(day FROM make_date(y, m, 1) + interval '1 month' - interval '1 day') THEN
        RETURN NULL;
    END IF;
    RETURN make_date(y, m, d);
END $$;

-- GB 11643 check character of an 18-character resident id (ISO 7064 MOD 11-2).
CREATE FUNCTION zd.resident_id_valid(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
    SELECT t ~ '^[0-9]{17}[0-9X]$' AND substr('10X98765432', (
        SELECT sum(substr(t, i, 1)::integer * ((2 ^ (18 - i))::integer % 11)) % 11 FROM generate_series(1, 17) i
    )::integer + 1, 1) = substr(t, 18, 1)
$$;

-- The school year a date falls in: 2026 for 1 September 2026 … 31 August 2027.
CREATE FUNCTION zd.school_year_of(d date) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
    SELECT (extract(year FROM d) - CASE WHEN extract(month FROM d) < 9 THEN 1 ELSE 0 END)::smallint
$$;

-- Who may import: a transaction in county scope (the server for a county admin), or the owner (the loader).
CREATE FUNCTION zd.import__authorize() RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF zd.scope_level() IS DISTINCT FROM 'county'
       AND NOT pg_has_role(session_user, 'zerodrop_owner', 'USAGE')
       AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
        RAISE EXCEPTION 'only the county imports registers' USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

-- Open an import batch of kind 'register' or 'household' and make it this transaction's default for staging.
-- Returns its id.
CREATE FUNCTION zd.import_batch_begin(p_kind text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bid bigint;
BEGIN
    PERFORM zd.import__authorize();
    INSERT INTO zd.import_batch (kind, started_by) VALUES (p_kind, session_user) RETURNING id INTO bid;
    PERFORM set_config('zd.import_batch', bid::text, true);
    RETURN bid;
END $$;

CREATE TYPE zd.import_problem AS (row_no integer, column_name text, reason text);

-- Validate every staged row of register batch p_batch. If there is any problem, apply nothing and return all
-- of them (row, column, reason in plain words), ordered by row. Otherwise apply the batch as of p_on (the day
-- enrollments change) and return no rows; zd.import_batch holds the counts. Staged rows are removed either way.
-- Re-importing an unchanged register changes nothing; a student whose class (or school) changed gets their
-- open enrollment closed on p_on and a new one from p_on.
CREATE FUNCTION zd.register_import(p_batch bigint, p_on date DEFAULT current_date)
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

    DROP TABLE IF EXISTS pg_temp.reg;
    DROP TABLE IF EXISTS pg_temp.problem;
    CREATE TEMP TABLE reg ON COMMIT DROP AS
    SELECT (row_number() OVER (ORDER BY s.seq) + 1)::integer AS row_no,
           s.student_id AS raw_student_id, s.name AS raw_name, s.birth_date AS raw_birth_date, s.sex AS raw_sex,
           s.school_code AS raw_school_code, s.grade AS raw_grade, s.class_name AS raw_class_name,
           s.household_id AS raw_household_id, s.flags AS raw_flags,
           zd.utf8_from_latin1(coalesce(s.student_id, '')) AS student_id,
           zd.utf8_from_latin1(coalesce(s.name, '')) AS name,
           zd.utf8_from_latin1(coalesce(s.birth_date, '')) AS birth_date,
           zd.utf8_from_latin1(coalesce(s.sex, '')) AS sex,
           zd.utf8_from_latin1(coalesce(s.school_code, '')) AS school_code,
           zd.utf8_from_latin1(coalesce(s.grade, '')) AS grade,
           zd.utf8_from_latin1(coalesce(s.class_name, '')) AS class_name,
           zd.utf8_from_latin1(coalesce(s.household_id, '')) AS household_id,
           zd.utf8_from_latin1(coalesce(s.flags, '')) AS flags
    FROM zd.register_stage s WHERE s.batch_id = p_batch;
    GET DIAGNOSTICS n_staged = ROW_COUNT;

    ALTER TABLE reg ADD COLUMN school_id integer, ADD COLUMN grade_n smallint, ADD COLUMN born date,
        ADD COLUMN flag_list text[];
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

-- Validate and apply household batch p_batch the same way. The extract is a snapshot: applied, it replaces the
-- previous one (persons no longer in it are removed), so the cross-checks never work on stale children.
CREATE FUNCTION zd.household_import(p_batch bigint, p_on date DEFAULT current_date)
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

    DROP TABLE IF EXISTS pg_temp.hh;
    DROP TABLE IF EXISTS pg_temp.problem;
    CREATE TEMP TABLE hh ON COMMIT DROP AS
    SELECT (row_number() OVER (ORDER BY s.seq) + 1)::integer AS row_no,
           zd.utf8_from_latin1(coalesce(s.person_id, '')) AS person_id,
           zd.utf8_from_latin1(coalesce(s.name, '')) AS name,
           zd.utf8_from_latin1(coalesce(s.birth_date, '')) AS birth_date,
           zd.utf8_from_latin1(coalesce(s.sex, '')) AS sex,
           zd.utf8_from_latin1(coalesce(s.township_code, '')) AS township_code
    FROM zd.household_stage s WHERE s.batch_id = p_batch;
    GET DIAGNOSTICS n_staged = ROW_COUNT;
    ALTER TABLE hh ADD COLUMN township_id integer, ADD COLUMN born date;
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

-- The server (county scope) stages and imports; the staging tables hold personal data, so only the county sees
-- them, and only until the import function empties the batch.
GRANT SELECT, INSERT ON zd.register_stage, zd.household_stage TO zerodrop_app;
GRANT SELECT ON zd.import_batch TO zerodrop_app;
GRANT EXECUTE ON FUNCTION zd.import_batch_begin(text), zd.register_import(bigint, date),
    zd.household_import(bigint, date) TO zerodrop_app;
ALTER TABLE zd.register_stage ENABLE ROW LEVEL SECURITY;
ALTER TABLE zd.register_stage FORCE ROW LEVEL SECURITY;
CREATE POLICY register_stage_scope ON zd.register_stage TO zerodrop_app
    USING ((SELECT zd.scope_county_ids()) <> '{}') WITH CHECK ((SELECT zd.scope_county_ids()) <> '{}');
ALTER TABLE zd.household_stage ENABLE ROW LEVEL SECURITY;
ALTER TABLE zd.household_stage FORCE ROW LEVEL SECURITY;
CREATE POLICY household_stage_scope ON zd.household_stage TO zerodrop_app
    USING ((SELECT zd.scope_county_ids()) <> '{}') WITH CHECK ((SELECT zd.scope_county_ids()) <> '{}');
