-- 001_schema.sql — the county's institutions, classes, students and their history, staff and responsibility,
-- the calendar, devices, users and settings (DESIGN §4). Records that schools submit come in 002.
-- Everything lives in schema zd, owned by the owner role that runs the migrations.

CREATE SCHEMA zd;
REVOKE ALL ON SCHEMA zd FROM PUBLIC;
-- PostgreSQL lets PUBLIC execute every new function; here nobody executes a function unless 004 or a later
-- migration grants it by name.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

CREATE TYPE zd.level AS ENUM ('school', 'township', 'county');
CREATE TYPE zd.school_kind AS ENUM ('primary', 'junior', 'nine_year', 'village', 'centre');
CREATE TYPE zd.sex AS ENUM ('F', 'M');
-- Why a period of enrollment began or ended. class_change closes one class's period and opens the next.
CREATE TYPE zd.enrollment_reason AS ENUM ('enrolled', 'transfer_in', 'transfer_out', 'graduated', 'dropped_out',
                                          'returned', 'died', 'home_taught', 'class_change');
CREATE TYPE zd.responsibility_kind AS ENUM ('leader', 'head_teacher', 'teacher');
CREATE TYPE zd.user_role AS ENUM ('clerk', 'head_teacher', 'principal', 'township_officer', 'county_auditor',
                                  'county_admin');

-- Institution codes follow HACKING.md: [A-Za-z0-9_-]{1,32}.
CREATE DOMAIN zd.institution_code AS text CHECK (VALUE ~ '^[A-Za-z0-9_-]{1,32}$');

CREATE TABLE zd.county (
    id smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code zd.institution_code NOT NULL UNIQUE,
    name text NOT NULL CHECK (name <> '')
);

CREATE TABLE zd.township (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    county_id smallint NOT NULL REFERENCES zd.county,
    code zd.institution_code NOT NULL UNIQUE,
    name text NOT NULL CHECK (name <> '')
);
CREATE INDEX ON zd.township (county_id);

-- A school's dated history: it is expected to report from opened_on until closed_on (exclusive); a school merged
-- into another is closed on the day of the merger and names its successor.
CREATE TABLE zd.school (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    township_id integer NOT NULL REFERENCES zd.township,
    code zd.institution_code NOT NULL UNIQUE,
    name text NOT NULL CHECK (name <> ''),
    kind zd.school_kind NOT NULL DEFAULT 'primary',
    opened_on date NOT NULL DEFAULT DATE '2000-01-01',
    closed_on date,
    merged_into integer REFERENCES zd.school,
    CHECK (closed_on IS NULL OR closed_on > opened_on),
    CHECK (merged_into IS NULL OR closed_on IS NOT NULL),
    CHECK (merged_into IS DISTINCT FROM id)
);
CREATE INDEX ON zd.school (township_id);

-- A class of one school year (school_year 2026 = the year starting September 2026). Its code, unique within a
-- school year, is "<school code>-<class name>", e.g. S43010101-7-2; that is what roll calls name.
CREATE TABLE zd.class (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id integer NOT NULL REFERENCES zd.school,
    school_year smallint NOT NULL CHECK (school_year BETWEEN 2000 AND 2100),
    grade smallint NOT NULL CHECK (grade BETWEEN 1 AND 9),
    name text NOT NULL CHECK (name ~ '^[1-9]-[0-9]{1,2}$'),
    code text NOT NULL,
    CHECK (split_part(name, '-', 1)::smallint = grade),
    UNIQUE (school_id, school_year, name),
    UNIQUE (code, school_year)
);

CREATE FUNCTION zd.class__code() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The code is derived, never chosen, so two spellings of one class cannot exist.
    NEW.code := (SELECT s.code FROM zd.school s WHERE s.id = NEW.school_id) || '-' || NEW.name;
    RETURN NEW;
END $$;
CREATE TRIGGER class_code BEFORE INSERT OR UPDATE ON zd.class FOR EACH ROW EXECUTE FUNCTION zd.class__code();

-- A student as the register (学籍) knows them. school_id/class_id name the current enrollment (NULL when enrolled
-- nowhere); they are kept by the register import and by enrollment changes, and row-level security reads them.
CREATE TABLE zd.student (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_id text NOT NULL UNIQUE CHECK (student_id ~ '^G[0-9]{18}$'),
    name text NOT NULL CHECK (name <> ''),
    birth_date date NOT NULL,
    sex zd.sex NOT NULL,
    household_id text CHECK (household_id ~ '^[0-9]{17}[0-9X]$'),
    left_behind boolean NOT NULL DEFAULT false,
    single_parent boolean NOT NULL DEFAULT false,
    poor boolean NOT NULL DEFAULT false,
    learning_difficulty boolean NOT NULL DEFAULT false,
    disability boolean NOT NULL DEFAULT false,
    home_taught boolean NOT NULL DEFAULT false,
    migrant boolean NOT NULL DEFAULT false,
    school_id integer REFERENCES zd.school,
    class_id integer REFERENCES zd.class
);
CREATE INDEX ON zd.student (school_id);
CREATE INDEX ON zd.student (class_id);
CREATE INDEX ON zd.student (household_id);

-- Enrollment history: one row per period in one class. to_date is exclusive and NULL while it lasts.
CREATE TABLE zd.enrollment (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_id bigint NOT NULL REFERENCES zd.student,
    school_id integer NOT NULL REFERENCES zd.school,
    class_id integer REFERENCES zd.class,
    from_date date NOT NULL,
    from_reason zd.enrollment_reason NOT NULL,
    to_date date,
    to_reason zd.enrollment_reason,
    CHECK ((to_date IS NULL) = (to_reason IS NULL)),
    CHECK (to_date IS NULL OR to_date >= from_date),
    CHECK (from_reason IN ('enrolled', 'transfer_in', 'returned', 'home_taught', 'class_change')),
    CHECK (to_reason IS NULL OR to_reason IN ('transfer_out', 'graduated', 'dropped_out', 'died', 'home_taught',
                                              'class_change'))
);
CREATE INDEX ON zd.enrollment (student_id);
CREATE INDEX ON zd.enrollment (school_id);
CREATE INDEX ON zd.enrollment (class_id) WHERE to_date IS NULL;
-- At most one open period per student.
CREATE UNIQUE INDEX enrollment_one_open ON zd.enrollment (student_id) WHERE to_date IS NULL;

CREATE TABLE zd.staff (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id integer NOT NULL REFERENCES zd.school,
    staff_no text NOT NULL CHECK (staff_no <> ''),
    name text NOT NULL CHECK (name <> ''),
    UNIQUE (school_id, staff_no)
);

-- 包保: who answers for a student, and for how much. The shares of one student sum to exactly 100 (checked at
-- commit by the constraint trigger below, so a split can be rewritten inside one transaction).
CREATE TABLE zd.responsibility (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_id bigint NOT NULL REFERENCES zd.student,
    staff_id integer NOT NULL REFERENCES zd.staff,
    kind zd.responsibility_kind NOT NULL,
    share smallint NOT NULL CHECK (share BETWEEN 1 AND 100),
    UNIQUE (student_id, staff_id)
);
CREATE INDEX ON zd.responsibility (staff_id);

CREATE FUNCTION zd.responsibility__check_sum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sid bigint;
    total integer;
    n integer;
BEGIN
    sid := CASE WHEN TG_OP = 'DELETE' THEN OLD.student_id ELSE NEW.student_id END;
    SELECT coalesce(sum(share), 0), count(*) INTO total, n FROM zd.responsibility WHERE student_id = sid;
    -- A student with no responsible staff is allowed here (a later check reports it); a partial split is not.
    IF n > 0 AND total <> 100 THEN
        RAISE EXCEPTION 'responsibility shares of student % sum to %, not 100',
            (SELECT student_id FROM zd.student WHERE id = sid), total
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.student_id <> NEW.student_id THEN
        SELECT coalesce(sum(share), 0), count(*) INTO total, n FROM zd.responsibility
        WHERE student_id = OLD.student_id;
        IF n > 0 AND total <> 100 THEN
            RAISE EXCEPTION 'responsibility shares of student % sum to %, not 100',
                (SELECT student_id FROM zd.student WHERE id = OLD.student_id), total
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER responsibility_sum_100 AFTER INSERT OR UPDATE OR DELETE ON zd.responsibility
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION zd.responsibility__check_sum();

-- The county calendar: every day of a term has a row saying whether it is a school day; term rows mark starts.
CREATE TABLE zd.term (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    county_id smallint NOT NULL REFERENCES zd.county,
    name text NOT NULL,
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    CHECK (ends_on >= starts_on),
    UNIQUE (county_id, starts_on)
);

CREATE TABLE zd.calendar_day (
    county_id smallint NOT NULL REFERENCES zd.county,
    day date NOT NULL,
    school_day boolean NOT NULL,
    note text NOT NULL DEFAULT '',        -- e.g. "National Day", "weekend"
    PRIMARY KEY (county_id, day)
);

-- A school closed for some days (weather, an outbreak): it is not expected to report, and absences do not count.
CREATE TABLE zd.school_closure (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id integer NOT NULL REFERENCES zd.school,
    from_date date NOT NULL,
    to_date date NOT NULL,                -- inclusive
    reason text NOT NULL CHECK (reason <> ''),
    CHECK (to_date >= from_date)
);
CREATE INDEX ON zd.school_closure (school_id);

-- Exactly one of the three institution columns names where a device or a user belongs.
CREATE TABLE zd.device (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint text NOT NULL UNIQUE CHECK (fingerprint ~ '^[0-9a-f]{64}$'),   -- SHA-256 of the DER certificate
    level zd.level NOT NULL,
    school_id integer REFERENCES zd.school,
    township_id integer REFERENCES zd.township,
    county_id smallint REFERENCES zd.county,
    issued_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_contact_at timestamptz,
    note text NOT NULL DEFAULT '',
    CHECK (num_nonnulls(school_id, township_id, county_id) = 1),
    CHECK ((level = 'school') = (school_id IS NOT NULL) AND (level = 'township') = (township_id IS NOT NULL))
);

CREATE TABLE zd.app_user (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.-]{1,64}$'),
    display_name text NOT NULL DEFAULT '',
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role zd.user_role NOT NULL,
    level zd.level NOT NULL,
    school_id integer REFERENCES zd.school,
    township_id integer REFERENCES zd.township,
    county_id smallint REFERENCES zd.county,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(school_id, township_id, county_id) = 1),
    CHECK ((level = 'school') = (school_id IS NOT NULL) AND (level = 'township') = (township_id IS NOT NULL)),
    CHECK (CASE role WHEN 'township_officer' THEN level = 'township'
                     WHEN 'county_auditor' THEN level = 'county'
                     WHEN 'county_admin' THEN level = 'county'
                     ELSE level = 'school' END)
);

-- County settings: one row per county, every threshold DESIGN names.
CREATE TABLE zd.county_setting (
    county_id smallint PRIMARY KEY REFERENCES zd.county,
    timezone text NOT NULL DEFAULT 'Asia/Shanghai',
    report_deadline time NOT NULL DEFAULT '10:00',
    streak_contact_days smallint NOT NULL DEFAULT 3 CHECK (streak_contact_days > 0),        -- contact the family
    streak_suspected_days smallint NOT NULL DEFAULT 5 CHECK (streak_suspected_days > 0),    -- > 1 week
    streak_dropout_days smallint NOT NULL DEFAULT 20 CHECK (streak_dropout_days > 0),       -- > 1 month
    transfer_limbo_days smallint NOT NULL DEFAULT 10 CHECK (transfer_limbo_days > 0),
    commendation_rate numeric(5,4) NOT NULL DEFAULT 0.02,
    veto_class_rate numeric(5,4) NOT NULL DEFAULT 0.05,      -- grade 7–9 class dropout rate
    veto_grade6_loss numeric(5,4) NOT NULL DEFAULT 0.10,     -- primary school losing grade 6
    stage_days_contact smallint NOT NULL DEFAULT 3,
    stage_days_notice smallint NOT NULL DEFAULT 5,
    stage_days_visits smallint NOT NULL DEFAULT 10,
    stage_days_report smallint NOT NULL DEFAULT 5,
    stage_days_township smallint NOT NULL DEFAULT 10,
    stage_days_county smallint NOT NULL DEFAULT 15,
    CHECK (streak_contact_days <= streak_suspected_days AND streak_suspected_days <= streak_dropout_days)
);

-- The household register extract (户籍): school-age children by residence, for the cross-checks.
CREATE TABLE zd.household_person (
    person_id text PRIMARY KEY CHECK (person_id ~ '^[0-9]{17}[0-9X]$'),
    name text NOT NULL CHECK (name <> ''),
    birth_date date NOT NULL,
    sex zd.sex NOT NULL,
    township_id integer NOT NULL REFERENCES zd.township
);
CREATE INDEX ON zd.household_person (township_id);
