-- 011_submit.sql — storing what a school submits (server/handlers_submit.c): one function per record kind that
-- checks the record against the county's data, stores it once by its UUID, appends it to the audit chain and
-- returns what happened as a row instead of raising. A Submit runs all its records in one transaction, so a
-- rejected record must not abort the others: each function answers 'rejected' with a reason in plain words,
-- and the data errors it could still meet are caught in the function's own subtransaction (which undoes that
-- record's rows only). Lock and connection errors are not caught: the whole Submit fails and the client's
-- resend (deduplicated by UUID) makes it safe.
--
-- The functions are SECURITY INVOKER: the application role's row-level security still applies, so a school
-- scope can only ever insert its own rows, whatever these functions are asked.
--
-- Result row of both: status ('accepted' | 'duplicate' | 'conflict' | 'rejected'), code (an ErrorCode word for
-- a rejection: 'FORBIDDEN', 'INVALID_ARGUMENT', 'NOT_FOUND'), field, message, and the receipt (chain_seq,
-- chain_hash, received_ms) for accepted and duplicate records.

CREATE TYPE zd.submit_result AS (
    status text,
    code text,
    field text,
    message text,
    chain_seq bigint,
    chain_hash bytea,
    received_ms bigint
);

-- The answer for a UUID already stored in tbl (roll_call or daily_report): duplicate with the receipt when the
-- bytes are the same, conflict otherwise. NULL when the UUID is not stored (or not visible in this scope).
CREATE FUNCTION zd.submit__existing(p_kind text, p_uuid uuid, p_body bytea) RETURNS zd.submit_result
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r zd.submit_result;
    v_body bytea;
    v_received timestamptz;
BEGIN
    IF p_kind = 'roll_call' THEN
        SELECT body, received_at INTO v_body, v_received FROM zd.roll_call WHERE uuid = p_uuid;
    ELSE
        SELECT body, received_at INTO v_body, v_received FROM zd.daily_report WHERE uuid = p_uuid;
    END IF;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_body IS DISTINCT FROM p_body THEN
        r.status := 'conflict';
        r.code := 'CONFLICT';
        r.field := 'uuid';
        r.message := 'a different record with this id is already stored; this one was not kept';
        RETURN r;
    END IF;
    r.status := 'duplicate';
    r.received_ms := (extract(epoch FROM v_received) * 1000)::bigint;
    SELECT seq, hash INTO r.chain_seq, r.chain_hash FROM zd.audit_entry
    WHERE record_uuid = p_uuid AND kind = p_kind ORDER BY seq LIMIT 1;
    RETURN r;
END $$;

CREATE FUNCTION zd.submit__reject(p_code text, p_field text, p_message text) RETURNS zd.submit_result
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    SELECT ROW('rejected', p_code, p_field, p_message, NULL, NULL, NULL)::zd.submit_result
$$;

-- The school of an active device and whether day is inside one of its county's terms; NULL school when the
-- device is unknown, revoked or not a school's.
CREATE FUNCTION zd.submit__school(p_fingerprint text, p_day date, OUT school_id integer, OUT school_code text,
                                  OUT in_term boolean)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.id, s.code::text,
           EXISTS (SELECT 1 FROM zd.term t WHERE t.county_id = tw.county_id AND p_day BETWEEN t.starts_on AND t.ends_on)
    FROM zd.device d JOIN zd.school s ON s.id = d.school_id JOIN zd.township tw ON tw.id = s.township_id
    WHERE d.fingerprint = p_fingerprint AND d.revoked_at IS NULL
$$;

-- One roll call. p_absences: [{"student_id": "G…", "reason": "sick", "excused": false}, …] as decoded by the
-- server from the signed body, which is stored unchanged.
CREATE FUNCTION zd.submit_roll_call(p_uuid uuid, p_fingerprint text, p_class_code text, p_day date,
                                    p_corrects uuid, p_taken_by text, p_absences jsonb, p_captured_ms bigint,
                                    p_now_ms bigint, p_body bytea, p_signature bytea)
RETURNS zd.submit_result
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r zd.submit_result;
    v_school record;
    v_class zd.class;
    v_device integer;
    v_ids bigint[] := '{}';
    v_reasons text[] := '{}';
    v_excused boolean[] := '{}';
    v_sid bigint;
    v_rc bigint;
    a jsonb;
    i integer := 0;
    v_received timestamptz := to_timestamp(p_now_ms / 1000.0);
BEGIN
    r := zd.submit__existing('roll_call', p_uuid, p_body);
    IF r IS NOT NULL THEN
        RETURN r;
    END IF;
    SELECT * INTO v_school FROM zd.submit__school(p_fingerprint, p_day);
    IF v_school.school_id IS NULL THEN
        RETURN zd.submit__reject('FORBIDDEN', '', 'this device is not registered to a school');
    END IF;
    IF NOT v_school.in_term THEN
        RETURN zd.submit__reject('INVALID_ARGUMENT', 'date', format('%s is not inside a school term', p_day));
    END IF;
    SELECT * INTO v_class FROM zd.class c WHERE c.code = p_class_code AND c.school_year = zd.school_year_of(p_day);
    IF NOT FOUND THEN
        RETURN zd.submit__reject('NOT_FOUND', 'class_code',
                                 format('there is no class %s in the school year of %s', p_class_code, p_day));
    END IF;
    IF v_class.school_id <> v_school.school_id THEN
        RETURN zd.submit__reject('FORBIDDEN', 'class_code',
                                 format('class %s belongs to another school, not to %s', p_class_code,
                                        v_school.school_code));
    END IF;
    IF p_corrects IS NOT NULL AND NOT EXISTS (SELECT 1 FROM zd.roll_call WHERE uuid = p_corrects
                                              AND class_id = v_class.id AND day = p_day) THEN
        RETURN zd.submit__reject('NOT_FOUND', 'corrects',
                                 format('the roll call this one corrects (class %s on %s) is not on the server',
                                        v_class.name, p_day));
    END IF;
    FOR a IN SELECT value FROM jsonb_array_elements(coalesce(p_absences, '[]')) LOOP
        SELECT s.id INTO v_sid FROM zd.student s JOIN zd.enrollment e ON e.student_id = s.id
        WHERE s.student_id = a->>'student_id' AND e.class_id = v_class.id AND e.from_date <= p_day
          AND (e.to_date IS NULL OR e.to_date > p_day)
        LIMIT 1;
        IF NOT FOUND THEN
            RETURN zd.submit__reject('INVALID_ARGUMENT', format('absences[%s].student_id', i),
                                     format('student %s is not in class %s on %s', a->>'student_id', v_class.name,
                                            p_day));
        END IF;
        IF v_sid = ANY (v_ids) THEN
            RETURN zd.submit__reject('INVALID_ARGUMENT', format('absences[%s].student_id', i),
                                     format('student %s is listed twice', a->>'student_id'));
        END IF;
        v_ids := v_ids || v_sid;
        v_reasons := v_reasons || coalesce(nullif(btrim(a->>'reason'), ''), 'unknown');
        v_excused := v_excused || coalesce((a->>'excused')::boolean, false);
        i := i + 1;
    END LOOP;
    SELECT id INTO v_device FROM zd.device WHERE fingerprint = p_fingerprint;
    BEGIN
        INSERT INTO zd.roll_call (uuid, school_id, class_id, day, corrects, taken_by, device_id, captured_at,
                                  received_at, body, signature)
        VALUES (p_uuid, v_school.school_id, v_class.id, p_day, p_corrects, coalesce(p_taken_by, ''), v_device,
                to_timestamp(p_captured_ms / 1000.0), v_received, p_body, p_signature)
        ON CONFLICT (uuid) DO NOTHING
        RETURNING id INTO v_rc;
        IF v_rc IS NULL THEN
            -- Another transaction stored this UUID first (a concurrent resend): answer as it stands now.
            r := zd.submit__existing('roll_call', p_uuid, p_body);
            RETURN coalesce(r, zd.submit__reject('CONFLICT', 'uuid', 'this record id is already used elsewhere'));
        END IF;
        INSERT INTO zd.absence (roll_call_id, student_id, school_id, reason, excused)
        SELECT v_rc, u.id, v_school.school_id, u.reason, u.excused
        FROM unnest(v_ids, v_reasons, v_excused) AS u(id, reason, excused);
        INSERT INTO zd.audit_entry (kind, record_uuid, school_id, device_id, canonical, signature)
        VALUES ('roll_call', p_uuid, v_school.school_id, v_device, p_body, p_signature)
        RETURNING seq, hash INTO r.chain_seq, r.chain_hash;
    EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
        RETURN zd.submit__reject('INVALID_ARGUMENT', '', 'the roll call could not be stored: ' || SQLERRM);
    END;
    r.status := 'accepted';
    r.received_ms := p_now_ms;
    RETURN r;
END $$;

-- One daily report. p_events: [{"type": "transfer_out", "student_id": "G…", "other_school": "…", "note": "…"}].
-- A transfer in may name a child the county does not know yet: it is stored with the id in its note.
CREATE FUNCTION zd.submit_daily_report(p_uuid uuid, p_fingerprint text, p_school_code text, p_day date,
                                       p_kind text, p_corrects uuid, p_signed_by text, p_events jsonb,
                                       p_captured_ms bigint, p_now_ms bigint, p_body bytea, p_signature bytea)
RETURNS zd.submit_result
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r zd.submit_result;
    v_school record;
    v_device integer;
    v_report bigint;
    v_types zd.report_event_type[] := '{}';
    v_students bigint[] := '{}';
    v_others text[] := '{}';
    v_notes text[] := '{}';
    v_sid bigint;
    v_type zd.report_event_type;
    a jsonb;
    i integer := 0;
    v_received timestamptz := to_timestamp(p_now_ms / 1000.0);
BEGIN
    r := zd.submit__existing('daily_report', p_uuid, p_body);
    IF r IS NOT NULL THEN
        RETURN r;
    END IF;
    SELECT * INTO v_school FROM zd.submit__school(p_fingerprint, p_day);
    IF v_school.school_id IS NULL THEN
        RETURN zd.submit__reject('FORBIDDEN', '', 'this device is not registered to a school');
    END IF;
    IF p_school_code IS DISTINCT FROM v_school.school_code THEN
        RETURN zd.submit__reject('FORBIDDEN', 'school_code',
                                 format('the report names school %s, but this device belongs to %s',
                                        p_school_code, v_school.school_code));
    END IF;
    IF NOT v_school.in_term THEN
        RETURN zd.submit__reject('INVALID_ARGUMENT', 'date', format('%s is not inside a school term', p_day));
    END IF;
    IF p_kind NOT IN ('zero', 'events') THEN
        RETURN zd.submit__reject('INVALID_ARGUMENT', 'kind', 'a daily report is either a zero-report or events');
    END IF;
    IF p_corrects IS NOT NULL AND NOT EXISTS (SELECT 1 FROM zd.daily_report WHERE uuid = p_corrects
                                              AND school_id = v_school.school_id AND day = p_day) THEN
        RETURN zd.submit__reject('NOT_FOUND', 'corrects',
                                 format('the report this one corrects (%s) is not on the server', p_day));
    END IF;
    FOR a IN SELECT value FROM jsonb_array_elements(coalesce(p_events, '[]')) LOOP
        v_type := (a->>'type')::zd.report_event_type;
        SELECT s.id INTO v_sid FROM zd.student s JOIN zd.enrollment e ON e.student_id = s.id
        WHERE s.student_id = a->>'student_id' AND e.school_id = v_school.school_id AND e.from_date <= p_day
          AND (e.to_date IS NULL OR e.to_date > p_day)
        LIMIT 1;
        IF NOT FOUND THEN
            IF v_type <> 'transfer_in' THEN
                RETURN zd.submit__reject('INVALID_ARGUMENT', format('events[%s].student_id', i),
                                         format('student %s is not in school %s on %s', a->>'student_id',
                                                v_school.school_code, p_day));
            END IF;
            v_sid := NULL;
        END IF;
        v_types := v_types || v_type;
        v_students := v_students || v_sid;
        v_others := v_others || coalesce(a->>'other_school', '');
        v_notes := v_notes || CASE WHEN v_sid IS NULL THEN btrim(coalesce(a->>'note', '') || ' ' || (a->>'student_id'))
                                   ELSE coalesce(a->>'note', '') END;
        i := i + 1;
    END LOOP;
    SELECT id INTO v_device FROM zd.device WHERE fingerprint = p_fingerprint;
    BEGIN
        INSERT INTO zd.daily_report (uuid, school_id, day, kind, corrects, signed_by, device_id, captured_at,
                                     received_at, body, signature)
        VALUES (p_uuid, v_school.school_id, p_day, p_kind::zd.report_kind, p_corrects, coalesce(p_signed_by, ''),
                v_device, to_timestamp(p_captured_ms / 1000.0), v_received, p_body, p_signature)
        ON CONFLICT (uuid) DO NOTHING
        RETURNING id INTO v_report;
        IF v_report IS NULL THEN
            r := zd.submit__existing('daily_report', p_uuid, p_body);
            RETURN coalesce(r, zd.submit__reject('CONFLICT', 'uuid', 'this record id is already used elsewhere'));
        END IF;
        INSERT INTO zd.report_event (report_id, school_id, type, student_id, other_school, note)
        SELECT v_report, v_school.school_id, u.t, u.s, u.o, u.n
        FROM unnest(v_types, v_students, v_others, v_notes) AS u(t, s, o, n);
        INSERT INTO zd.audit_entry (kind, record_uuid, school_id, device_id, canonical, signature)
        VALUES ('daily_report', p_uuid, v_school.school_id, v_device, p_body, p_signature)
        RETURNING seq, hash INTO r.chain_seq, r.chain_hash;
    EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
        RETURN zd.submit__reject('INVALID_ARGUMENT', '', 'the report could not be stored: ' || SQLERRM);
    END;
    r.status := 'accepted';
    r.received_ms := p_now_ms;
    RETURN r;
END $$;

GRANT EXECUTE ON FUNCTION zd.submit__existing(text, uuid, bytea), zd.submit__reject(text, text, text),
    zd.submit__school(text, date),
    zd.submit_roll_call(uuid, text, text, date, uuid, text, jsonb, bigint, bigint, bytea, bytea),
    zd.submit_daily_report(uuid, text, text, date, text, uuid, text, jsonb, bigint, bigint, bytea, bytea)
    TO zerodrop_app;
-- The submit functions run as the application role and read the school year of a date.
GRANT EXECUTE ON FUNCTION zd.school_year_of(date) TO zerodrop_app;
