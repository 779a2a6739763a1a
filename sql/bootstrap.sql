-- bootstrap.sql — what only a superuser can do, once per cluster, before the first `zerodropd migrate`.
--
-- Creates the two roles and the database; everything else lives in the numbered migrations, which run as the
-- owner. Run it with psql as a superuser; it is safe to run again:
--   psql -v ON_ERROR_STOP=1 -v db=zerodrop -f sql/bootstrap.sql
-- The owner role gets BYPASSRLS because it loads and migrates data in tables whose row-level security is
-- FORCEd (FORCE exists so that nothing running as the owner by accident skips the policies; bulk loading is
-- the one deliberate exception). The application role gets nothing but LOGIN: the migrations grant it the
-- few privileges it needs. Passwords are set by whoever deploys (ALTER ROLE … PASSWORD); tests use trust.
\set ON_ERROR_STOP 1
SELECT 'CREATE ROLE zerodrop_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zerodrop_owner') \gexec
SELECT 'CREATE ROLE zerodrop_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zerodrop_app') \gexec
SELECT format('CREATE DATABASE %I OWNER zerodrop_owner ENCODING ''UTF8'' LOCALE ''C.UTF-8'' TEMPLATE template0', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
\c :db
-- Nobody but the two roles connects; nobody but the owner creates anything, temporary tables included.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO zerodrop_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
