-- 008_stage_copy.sql — let the server COPY into the staging tables.
--
-- PostgreSQL refuses COPY FROM into a table with row-level security for a role subject to it, and COPY is how
-- the server fills the staging tables (DESIGN: bulk loads use COPY). So the staging tables leave RLS, and the
-- application role keeps INSERT only: it can stage rows but never read staged rows back, whoever staged them.
-- Staged rows live inside the importing transaction (the import function deletes its batch), so no other
-- session sees them; the import itself still requires county scope (zd.import__authorize).
DROP POLICY register_stage_scope ON zd.register_stage;
DROP POLICY household_stage_scope ON zd.household_stage;
ALTER TABLE zd.register_stage NO FORCE ROW LEVEL SECURITY;
ALTER TABLE zd.register_stage DISABLE ROW LEVEL SECURITY;
ALTER TABLE zd.household_stage NO FORCE ROW LEVEL SECURITY;
ALTER TABLE zd.household_stage DISABLE ROW LEVEL SECURITY;
REVOKE SELECT ON zd.register_stage, zd.household_stage FROM zerodrop_app;
