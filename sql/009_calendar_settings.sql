-- 009_calendar_settings.sql — the county admin keeps the calendar and the settings over the wire.
--
-- The application role only reads zd.calendar_day, zd.term, zd.school_closure and zd.county_setting (004);
-- these SECURITY DEFINER functions are the one way it changes them, and only in county scope (the server
-- sends them for a county admin; the scope token proves the county). Each function checks its input and
-- raises with a plain message (and the column named in the error's COLUMN field) so that the server turns
-- a refusal into Error{INVALID_ARGUMENT, field, message}.

-- The county of this transaction's scope, or an error: only the county keeps the calendar and the settings.
CREATE FUNCTION zd.admin__county_id() RETURNS smallint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids smallint[] := zd.scope_county_ids();
BEGIN
    IF cardinality(ids) <> 1 THEN
        RAISE EXCEPTION 'only the county keeps the calendar and the settings' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN ids[1];
END $$;

-- Terms end the day before the next one starts; the last one ends on the county's last calendar day after it
-- (or on its own first day when nothing follows yet).
CREATE FUNCTION zd.term__recompute(p_county smallint) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    UPDATE zd.term t SET ends_on = greatest(t.starts_on, coalesce(
        (SELECT min(n.starts_on) - 1 FROM zd.term n WHERE n.county_id = t.county_id AND n.starts_on > t.starts_on),
        (SELECT max(d.day) FROM zd.calendar_day d WHERE d.county_id = t.county_id AND d.day >= t.starts_on),
        t.starts_on))
    WHERE t.county_id = p_county
$$;

-- Sets one day of the county calendar. p_kind: 'school_day' or 'holiday' (a day without school: weekend,
-- holiday), 'term_start' (a term begins: a school day, p_note names the term), 'closure' (school p_school is
-- closed that day; p_note is the reason). Setting a day again replaces what it said (a closure of the same
-- school and day is kept once). Returns the kind as stored.
CREATE FUNCTION zd.calendar_day_set(p_day date, p_kind text, p_school text, p_note text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cid smallint := zd.admin__county_id();
    sid integer;
    note text := btrim(coalesce(p_note, ''));
BEGIN
    IF p_day IS NULL OR p_day < DATE '2000-01-01' OR p_day > DATE '2100-12-31' THEN
        RAISE EXCEPTION 'the date must be between 2000-01-01 and 2100-12-31' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'date';
    END IF;
    IF p_kind = 'closure' THEN
        SELECT s.id INTO sid FROM zd.school s JOIN zd.township t ON t.id = s.township_id
        WHERE s.code = p_school AND t.county_id = cid;
        IF sid IS NULL THEN
            RAISE EXCEPTION 'there is no school with code "%"', coalesce(p_school, '')
                USING ERRCODE = 'invalid_parameter_value', COLUMN = 'school_code';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM zd.school_closure c WHERE c.school_id = sid
                       AND p_day BETWEEN c.from_date AND c.to_date) THEN
            INSERT INTO zd.school_closure (school_id, from_date, to_date, reason)
            VALUES (sid, p_day, p_day, CASE WHEN note = '' THEN 'closure' ELSE note END);
        END IF;
        RETURN p_kind;
    END IF;
    IF coalesce(p_school, '') <> '' THEN
        RAISE EXCEPTION 'only a closure names a school' USING ERRCODE = 'invalid_parameter_value',
            COLUMN = 'school_code';
    END IF;
    IF p_kind NOT IN ('school_day', 'holiday', 'term_start') THEN
        RAISE EXCEPTION '"%" is not a kind of day (school_day, holiday, term_start, closure)', coalesce(p_kind, '')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'kind';
    END IF;
    INSERT INTO zd.calendar_day AS d (county_id, day, school_day, note)
    VALUES (cid, p_day, p_kind <> 'holiday', note)
    ON CONFLICT (county_id, day) DO UPDATE SET school_day = EXCLUDED.school_day, note = EXCLUDED.note
    WHERE (d.school_day, d.note) IS DISTINCT FROM (EXCLUDED.school_day, EXCLUDED.note);
    IF p_kind = 'term_start' THEN
        INSERT INTO zd.term AS t (county_id, name, starts_on, ends_on)
        VALUES (cid, CASE WHEN note = '' THEN 'term ' || p_day ELSE note END, p_day, p_day)
        ON CONFLICT (county_id, starts_on) DO UPDATE SET name = EXCLUDED.name WHERE t.name <> EXCLUDED.name;
    ELSE
        -- The day is no longer a term start when it is set to something else.
        DELETE FROM zd.term t WHERE t.county_id = cid AND t.starts_on = p_day;
    END IF;
    PERFORM zd.term__recompute(cid);
    RETURN p_kind;
END $$;

-- The calendar from p_from to p_to (inclusive), one row per fact: every calendar day (school_day or holiday),
-- every term start, every closure day of a school. Ordered by day, then kind, then school.
CREATE FUNCTION zd.calendar_show(p_from date, p_to date)
RETURNS TABLE (day date, kind text, school_code text, note text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT x.day, x.kind, x.school_code, x.note FROM (
        SELECT d.day, CASE WHEN d.school_day THEN 'school_day' ELSE 'holiday' END AS kind, '' AS school_code, d.note
        FROM zd.calendar_day d WHERE d.day BETWEEN p_from AND p_to
        UNION ALL
        SELECT t.starts_on, 'term_start', '', t.name FROM zd.term t WHERE t.starts_on BETWEEN p_from AND p_to
        UNION ALL
        SELECT g.day::date, 'closure', s.code, c.reason
        FROM zd.school_closure c JOIN zd.school s ON s.id = c.school_id
        CROSS JOIN LATERAL generate_series(greatest(c.from_date, p_from), least(c.to_date, p_to), interval '1 day') g(day)
    ) x ORDER BY x.day, x.kind, x.school_code
$$;

-- The settings a county admin may change, as (key, value) text; the county's row is made with the defaults
-- the first time it is read or set.
CREATE FUNCTION zd.county_settings_get() RETURNS TABLE (key text, value text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cid smallint := zd.admin__county_id();
BEGIN
    INSERT INTO zd.county_setting (county_id) VALUES (cid) ON CONFLICT (county_id) DO NOTHING;
    RETURN QUERY SELECT j.key, j.value FROM zd.county_setting s, jsonb_each_text(to_jsonb(s) - 'county_id') j
        WHERE s.county_id = cid ORDER BY j.key;
END $$;

-- Sets several settings at once from a JSON object of key → text value, all or nothing: an unknown key, a value
-- of the wrong type or out of range, or tiers out of order (contact ≤ suspected ≤ dropout) is an error naming
-- the key (COLUMN). Returns the number of keys set.
CREATE FUNCTION zd.county_settings_set(p_settings jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cid smallint := zd.admin__county_id();
    r zd.county_setting;
    k text;
    v text;
    known text[];
BEGIN
    IF jsonb_typeof(p_settings) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'the settings must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT array_agg(a.attname::text) INTO known FROM pg_attribute a
    WHERE a.attrelid = 'zd.county_setting'::regclass AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attname <> 'county_id';
    INSERT INTO zd.county_setting (county_id) VALUES (cid) ON CONFLICT (county_id) DO NOTHING;
    SELECT * INTO r FROM zd.county_setting s WHERE s.county_id = cid FOR UPDATE;
    FOR k, v IN SELECT j.key, j.value FROM jsonb_each_text(p_settings) j LOOP
        IF NOT (k = ANY (known)) THEN
            RAISE EXCEPTION 'there is no setting "%"', k USING ERRCODE = 'invalid_parameter_value', COLUMN = k;
        END IF;
        BEGIN
            r := jsonb_populate_record(r, jsonb_build_object(k, v));
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION '"%" is not a valid value for %', v, k USING ERRCODE = 'invalid_parameter_value',
                COLUMN = k;
        END;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = r.timezone) THEN
        RAISE EXCEPTION '"%" is not a time zone (such as Asia/Shanghai)', r.timezone
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'timezone';
    END IF;
    IF NOT (r.streak_contact_days <= r.streak_suspected_days AND r.streak_suspected_days <= r.streak_dropout_days) THEN
        RAISE EXCEPTION 'the streak tiers must grow: contact % ≤ suspected % ≤ dropout % days',
            r.streak_contact_days, r.streak_suspected_days, r.streak_dropout_days
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'streak_suspected_days';
    END IF;
    -- Replace the row with the record as a whole, so every column (also one a later migration adds) and every
    -- CHECK of the table applies; nothing refers to this table.
    DELETE FROM zd.county_setting s WHERE s.county_id = cid;
    INSERT INTO zd.county_setting SELECT (r).*;
    RETURN (SELECT count(*) FROM jsonb_object_keys(p_settings));
END $$;

GRANT EXECUTE ON FUNCTION zd.calendar_day_set(date, text, text, text), zd.calendar_show(date, date),
    zd.county_settings_get(), zd.county_settings_set(jsonb) TO zerodrop_app;
