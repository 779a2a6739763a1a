-- 004_access.sql — what the application role may do, and row-level security on every table with personal data.
--
-- zerodrop_app owns nothing and has no default rights: it may use schema zd, read the reference tables, and on
-- the append-only tables only INSERT and SELECT (no UPDATE, DELETE or TRUNCATE: a correction is a new row).
-- Every table holding personal data has FORCE ROW LEVEL SECURITY with policies on the verified scope (003):
-- a school sees its own rows, a township its schools', the county everything; no scope, nothing.

GRANT USAGE ON SCHEMA zd TO zerodrop_app;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA zd FROM PUBLIC;
-- Policies run with the privileges of the querying role, so it must be able to call the scope functions; they
-- reveal only the scope the caller already holds.
GRANT EXECUTE ON FUNCTION zd.scope_current(), zd.scope_level(), zd.scope_school_ids(), zd.scope_township_ids(),
    zd.scope_county_ids() TO zerodrop_app;

-- Reference data: read only.
GRANT SELECT ON zd.county, zd.township, zd.school, zd.class, zd.term, zd.calendar_day, zd.school_closure,
    zd.county_setting TO zerodrop_app;

-- Registers: read only (the register import function writes them, 005).
GRANT SELECT ON zd.student, zd.enrollment, zd.staff, zd.responsibility, zd.household_person TO zerodrop_app;

-- Devices and users: the admin family adds them and revokes or disables them; nothing is deleted.
GRANT SELECT, INSERT ON zd.device, zd.app_user TO zerodrop_app;
GRANT UPDATE (revoked_at, last_contact_at, note) ON zd.device TO zerodrop_app;
GRANT UPDATE (password_hash, disabled, display_name) ON zd.app_user TO zerodrop_app;

-- Append-only records.
GRANT SELECT, INSERT ON zd.roll_call, zd.absence, zd.daily_report, zd.report_event, zd.case_action,
    zd.audit_entry, zd.silent_record TO zerodrop_app;

-- A case's standing moves on; its history (case_action) does not.
GRANT SELECT, INSERT ON zd.case_file TO zerodrop_app;
GRANT UPDATE (stage, level, stage_due_at, return_notice_number, close_reason, closed_at) ON zd.case_file
    TO zerodrop_app;

-- The audit head is read by verification; it is written only by the chain trigger.
GRANT SELECT ON zd.audit_head TO zerodrop_app;

-- Row-level security. Each policy reads the scope once per statement: (SELECT f()) is an InitPlan.
ALTER TABLE zd.student ENABLE ROW LEVEL SECURITY;
ALTER TABLE zd.student FORCE ROW LEVEL SECURITY;
-- A school sees its current students and those it once enrolled (a transfer it must follow up).
CREATE POLICY student_scope ON zd.student TO zerodrop_app
    USING (school_id = ANY ((SELECT zd.scope_school_ids())::integer[])
           OR (SELECT zd.scope_county_ids()) <> '{}'
           OR id IN (SELECT e.student_id FROM zd.enrollment e WHERE e.school_id = ANY ((SELECT zd.scope_school_ids())::integer[])));

DO $$
DECLARE
    t text;
BEGIN
    -- Tables whose rows belong to one school.
    FOREACH t IN ARRAY ARRAY['enrollment', 'staff', 'roll_call', 'absence', 'daily_report', 'report_event',
                             'case_file', 'case_action', 'silent_record'] LOOP
        EXECUTE format('ALTER TABLE zd.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE zd.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON zd.%I TO zerodrop_app '
                       'USING (school_id = ANY ((SELECT zd.scope_school_ids())::integer[])) '
                       'WITH CHECK (school_id = ANY ((SELECT zd.scope_school_ids())::integer[]))', t || '_scope', t);
    END LOOP;
    -- Tables whose rows belong to a school, a township, or (neither) the county.
    FOREACH t IN ARRAY ARRAY['app_user', 'audit_entry'] LOOP
        EXECUTE format('ALTER TABLE zd.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE zd.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON zd.%I TO zerodrop_app '
                       'USING (school_id = ANY ((SELECT zd.scope_school_ids())::integer[]) '
                       '    OR township_id = ANY ((SELECT zd.scope_township_ids())::integer[]) '
                       '    OR (SELECT zd.scope_county_ids()) <> ''{}'') '
                       'WITH CHECK (school_id = ANY ((SELECT zd.scope_school_ids())::integer[]) '
                       '    OR township_id = ANY ((SELECT zd.scope_township_ids())::integer[]) '
                       '    OR (SELECT zd.scope_county_ids()) <> ''{}'')', t || '_scope', t);
    END LOOP;
END $$;

ALTER TABLE zd.responsibility ENABLE ROW LEVEL SECURITY;
ALTER TABLE zd.responsibility FORCE ROW LEVEL SECURITY;
CREATE POLICY responsibility_scope ON zd.responsibility TO zerodrop_app
    USING (staff_id IN (SELECT st.id FROM zd.staff st WHERE st.school_id = ANY ((SELECT zd.scope_school_ids())::integer[])));

ALTER TABLE zd.household_person ENABLE ROW LEVEL SECURITY;
ALTER TABLE zd.household_person FORCE ROW LEVEL SECURITY;
CREATE POLICY household_person_scope ON zd.household_person TO zerodrop_app
    USING (township_id = ANY ((SELECT zd.scope_township_ids())::integer[]));

-- The key that makes scopes unforgeable: nobody but the owner reads it; FORCE RLS with no policy at all means
-- even a grant given by mistake would read nothing.
REVOKE ALL ON zd.scope_key FROM PUBLIC;
ALTER TABLE zd.scope_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE zd.scope_key FORCE ROW LEVEL SECURITY;
