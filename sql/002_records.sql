-- 002_records.sql — what schools submit and what the server notes: roll calls and absences, daily reports and
-- their events, cases and their actions, silent records, and the audit chain. These tables are append-only for
-- the application role (INSERT and SELECT only, 004): a correction is a new row that names the one it corrects.
-- Each row carries the school it belongs to, so row-level security needs no join.

CREATE TYPE zd.report_kind AS ENUM ('zero', 'events');
CREATE TYPE zd.report_event_type AS ENUM ('transfer_in', 'transfer_out', 'suspected_dropout', 'return', 'no_show');
CREATE TYPE zd.case_cause AS ENUM ('absence_streak', 'no_show', 'transfer_limbo', 'not_enrolled',
                                   'reported_suspected', 'manual');
CREATE TYPE zd.case_stage AS ENUM ('contact_family', 'return_notice', 'home_visits', 'written_report', 'township',
                                   'county', 'awaiting_signoff', 'closed');
CREATE TYPE zd.case_action_type AS ENUM ('call', 'notice_issued', 'home_visit', 'written_report', 'note',
                                         'close_request', 'signoff', 'take_over');
CREATE TYPE zd.close_reason AS ENUM ('returned', 'transfer_confirmed', 'home_taught', 'died',
                                     'moved_out_of_county');

-- One class's roll call for one school day. Everyone enrolled and not listed in zd.absence was present.
-- body/signature: the canonical bytes as the device sent them and its signature over them.
CREATE TABLE zd.roll_call (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    school_id integer NOT NULL REFERENCES zd.school,
    class_id integer NOT NULL REFERENCES zd.class,
    day date NOT NULL,
    corrects uuid REFERENCES zd.roll_call (uuid),
    taken_by text NOT NULL DEFAULT '',
    device_id integer REFERENCES zd.device,
    captured_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    body bytea,
    signature bytea
);
CREATE INDEX ON zd.roll_call (class_id, day);
CREATE INDEX ON zd.roll_call (school_id, day);

CREATE TABLE zd.absence (
    roll_call_id bigint NOT NULL REFERENCES zd.roll_call,
    student_id bigint NOT NULL REFERENCES zd.student,
    school_id integer NOT NULL REFERENCES zd.school,
    reason text NOT NULL DEFAULT 'unknown',
    excused boolean NOT NULL DEFAULT false,
    PRIMARY KEY (roll_call_id, student_id)
);
CREATE INDEX ON zd.absence (student_id);

CREATE TABLE zd.daily_report (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    school_id integer NOT NULL REFERENCES zd.school,
    day date NOT NULL,
    kind zd.report_kind NOT NULL,
    corrects uuid REFERENCES zd.daily_report (uuid),
    signed_by text NOT NULL DEFAULT '',
    device_id integer REFERENCES zd.device,
    captured_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    flags text[] NOT NULL DEFAULT '{}',      -- e.g. late, capture_time_inconsistent, contradicts_attendance
    body bytea,
    signature bytea
);
CREATE INDEX ON zd.daily_report (school_id, day);

CREATE TABLE zd.report_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id bigint NOT NULL REFERENCES zd.daily_report,
    school_id integer NOT NULL REFERENCES zd.school,
    type zd.report_event_type NOT NULL,
    student_id bigint REFERENCES zd.student,
    other_school text NOT NULL DEFAULT '',
    note text NOT NULL DEFAULT ''
);
CREATE INDEX ON zd.report_event (report_id);

-- A case: a child at risk, worked until back. The case row holds where the case stands (stage, level, clock);
-- what happened is in zd.case_action, which is append-only.
CREATE TABLE zd.case_file (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    student_id bigint NOT NULL REFERENCES zd.student,
    school_id integer NOT NULL REFERENCES zd.school,
    cause zd.case_cause NOT NULL,
    reason text NOT NULL DEFAULT '',
    opened_on date NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT now(),
    opened_by text NOT NULL DEFAULT '',
    stage zd.case_stage NOT NULL DEFAULT 'contact_family',
    level zd.level NOT NULL DEFAULT 'school',
    stage_due_at timestamptz,
    return_notice_number text UNIQUE,
    close_reason zd.close_reason,
    closed_at timestamptz,
    CHECK ((stage = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX ON zd.case_file (school_id);
CREATE INDEX ON zd.case_file (student_id);

CREATE TABLE zd.case_action (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    case_id bigint NOT NULL REFERENCES zd.case_file,
    school_id integer NOT NULL REFERENCES zd.school,
    type zd.case_action_type NOT NULL,
    note text NOT NULL DEFAULT '',
    finding text NOT NULL DEFAULT '',
    actor text NOT NULL DEFAULT '',
    close_reason zd.close_reason,
    evidence_sha256 bytea CHECK (evidence_sha256 IS NULL OR length(evidence_sha256) = 32),
    evidence_name text NOT NULL DEFAULT '',
    device_id integer REFERENCES zd.device,
    captured_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    body bytea,
    signature bytea
);
CREATE INDEX ON zd.case_action (case_id);

-- The deadline passed and the school had not reported: silence, recorded as such and never read as zero.
CREATE TABLE zd.silent_record (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id integer NOT NULL REFERENCES zd.school,
    day date NOT NULL,
    deadline_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, day)
);

-- The audit chain. Entry n's hash is SHA-256 over
--     prev_hash (32 bytes; 32 zero bytes for entry 1) || seq (8 bytes, big-endian) ||
--     length(canonical) (4 bytes, big-endian) || canonical || length(signature) (4 bytes, big-endian) || signature
-- The database computes seq, prev_hash and hash itself (trigger below, serialized on zd.audit_head), so whoever
-- inserts cannot choose them; the server signs heads and hands them out (DESIGN §2).
CREATE TABLE zd.audit_entry (
    seq bigint PRIMARY KEY,
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    kind text NOT NULL CHECK (kind ~ '^[a-z_]{1,32}$'),   -- roll_call, daily_report, case_open, case_action, …
    record_uuid uuid,
    school_id integer REFERENCES zd.school,
    township_id integer REFERENCES zd.township,
    device_id integer REFERENCES zd.device,
    canonical bytea NOT NULL,
    signature bytea NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON zd.audit_entry (school_id);

CREATE TABLE zd.audit_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO zd.audit_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION zd.audit_entry__chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash bytea;
BEGIN
    -- The row lock on the head serializes appends: one chain, no forks, even under concurrent inserts.
    SELECT seq, hash INTO head_seq, head_hash FROM zd.audit_head FOR UPDATE;
    NEW.seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    NEW.hash := sha256(head_hash || int8send(NEW.seq) || int4send(length(NEW.canonical)) || NEW.canonical
                       || int4send(length(NEW.signature)) || NEW.signature);
    NEW.recorded_at := now();
    UPDATE zd.audit_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_entry_chain BEFORE INSERT ON zd.audit_entry
    FOR EACH ROW EXECUTE FUNCTION zd.audit_entry__chain();
