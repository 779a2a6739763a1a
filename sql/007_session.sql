-- 007_session.sql — login sessions (server/login.c): what a `Login` with a password hands out, and what a
-- `Login` with a session token resumes.
--
-- The client keeps the 32-byte token (client home, file `session`, mode 0600); the database keeps only its
-- SHA-256, so nothing read from this table works as a token. A session belongs to one user and, when the
-- certificate was known, to one device; it ends at expires_at or when ended_at is set (logout). Rows are never
-- deleted: they are the record of who logged in from where.
CREATE TABLE zd.app_session (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    user_id integer NOT NULL REFERENCES zd.app_user,
    device_fingerprint text CHECK (device_fingerprint ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX ON zd.app_session (user_id);

-- The server opens sessions and ends them; it never rewrites who or when.
GRANT SELECT, INSERT ON zd.app_session TO zerodrop_app;
GRANT UPDATE (ended_at) ON zd.app_session TO zerodrop_app;

-- A session is seen where its user is seen (app_user's own policy applies inside the subquery): a school its
-- own users' sessions, a township its own and its schools', the county all.
ALTER TABLE zd.app_session ENABLE ROW LEVEL SECURITY;
ALTER TABLE zd.app_session FORCE ROW LEVEL SECURITY;
CREATE POLICY app_session_scope ON zd.app_session TO zerodrop_app
    USING (user_id IN (SELECT u.id FROM zd.app_user u))
    WITH CHECK (user_id IN (SELECT u.id FROM zd.app_user u));
