-- 003_scope.sql — the scope a transaction runs in, and why the application role cannot widen it.
--
-- The server starts every transaction with
--     SELECT set_config('zd.scope', '<token>', true)
-- where token = 'v1:<level>:<code>:<backend pid>:<expires, Unix seconds>:<hex HMAC-SHA256>' and the HMAC is
-- keyed with the secret in zd.scope_key over everything before the last colon. Row-level policies call the
-- functions below, which verify the token with that secret (SECURITY DEFINER: the application role cannot read
-- the key) and yield the schools and townships it names. The application role can set zd.scope to anything,
-- but without the key it can only produce tokens that are refused; a token seen elsewhere (pg_stat_activity of
-- another connection) names another backend pid and is refused here; an old one has expired. No scope set:
-- the scope is empty and every policy-protected table reads as empty. See sql/README.md.

CREATE TABLE zd.scope_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key bytea NOT NULL CHECK (length(key) >= 32),
    installed_at timestamptz NOT NULL DEFAULT now()
);

-- HMAC-SHA256 (RFC 2104) over the built-in sha256(), so no extension is needed.
CREATE FUNCTION zd.hmac_sha256(key bytea, msg bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    k bytea;
    ipad bytea;
    opad bytea;
    i integer;
BEGIN
    IF length(key) > 64 THEN
        key := sha256(key);
    END IF;
    k := key || decode(repeat('00', 64 - length(key)), 'hex');
    ipad := k;
    opad := k;
    FOR i IN 0..63 LOOP
        ipad := set_byte(ipad, i, get_byte(k, i) # 54);   -- 0x36
        opad := set_byte(opad, i, get_byte(k, i) # 92);   -- 0x5c
    END LOOP;
    RETURN sha256(opad || sha256(ipad || msg));
END $$;

-- The verified scope of this transaction: (level, code), or no row when none is set. A token that is set but
-- malformed, forged, expired or made for another connection is an error, so a mistake is loud, not empty.
CREATE FUNCTION zd.scope_current(OUT level zd.level, OUT code text) RETURNS SETOF record
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    token text := current_setting('zd.scope', true);
    part text[];
    k bytea;
BEGIN
    IF token IS NULL OR token = '' THEN
        RETURN;
    END IF;
    part := regexp_match(token,
        '^(v1:(school|township|county):([A-Za-z0-9_-]{1,32}):([0-9]{1,10}):([0-9]{1,12})):([0-9a-f]{64})$');
    IF part IS NULL THEN
        RAISE EXCEPTION 'scope token rejected: malformed' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT sk.key INTO k FROM zd.scope_key sk;
    IF k IS NULL THEN
        RAISE EXCEPTION 'scope token rejected: no scope key installed' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF encode(zd.hmac_sha256(k, convert_to(part[1], 'UTF8')), 'hex') <> part[6] THEN
        RAISE EXCEPTION 'scope token rejected: bad signature' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF part[4]::bigint <> pg_backend_pid() THEN
        RAISE EXCEPTION 'scope token rejected: made for another connection' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF part[5]::bigint < extract(epoch FROM now()) THEN
        RAISE EXCEPTION 'scope token rejected: expired' USING ERRCODE = 'insufficient_privilege';
    END IF;
    level := part[2]::zd.level;
    code := part[3];
    RETURN NEXT;
END $$;

CREATE FUNCTION zd.scope_level() RETURNS zd.level
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT level FROM zd.scope_current()
$$;

-- Schools whose students the scope sees: a school itself, a township its schools, the county all of its own.
CREATE FUNCTION zd.scope_school_ids() RETURNS integer[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(s.id ORDER BY s.id), '{}')
    FROM zd.scope_current() sc
    JOIN zd.school s ON true
    JOIN zd.township t ON t.id = s.township_id
    JOIN zd.county c ON c.id = t.county_id
    WHERE (sc.level = 'school' AND s.code = sc.code)
       OR (sc.level = 'township' AND t.code = sc.code)
       OR (sc.level = 'county' AND c.code = sc.code)
$$;

-- Townships the scope sees as a whole (household children, township-level audit entries): a township itself,
-- the county all of its own, a school none.
CREATE FUNCTION zd.scope_township_ids() RETURNS integer[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(t.id ORDER BY t.id), '{}')
    FROM zd.scope_current() sc
    JOIN zd.township t ON true
    JOIN zd.county c ON c.id = t.county_id
    WHERE (sc.level = 'township' AND t.code = sc.code)
       OR (sc.level = 'county' AND c.code = sc.code)
$$;

CREATE FUNCTION zd.scope_county_ids() RETURNS smallint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(c.id), '{}')
    FROM zd.scope_current() sc JOIN zd.county c ON sc.level = 'county' AND c.code = sc.code
$$;
