/* Migrations: `zerodropd migrate --config FILE` brings the county database to the schema in sql/.
 *
 * The numbered files NNN_name.sql in `[database] migrations_dir` are applied in order, each in its own
 * transaction, as the owner role (`[database] owner_conninfo`); each applied file is recorded with its
 * SHA-256 in zd_meta.migration. Running again applies nothing. If a file that was applied has changed or
 * gone, the run stops before applying anything and says which file: a shipped migration is never edited,
 * a change is a new file. Afterwards the scope key (`[database] scope_key_file`, created when missing) is
 * installed into the database so that the server's scope tokens verify (sql/README.md).
 * Synchronous libpq: this runs before, and instead of, the event loop. */
#ifndef ZD_SERVER_MIGRATE_H
#define ZD_SERVER_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

/* What one run did. */
typedef struct srv_migrate_result {
    int applied;        /* files applied by this run */
    int up_to_date;     /* files found already applied (checksums equal) */
    int key_installed;  /* 1 when the scope key in the database was set or changed */
} srv_migrate_result;

/* Applies the migrations in dir over conninfo, then installs the key from scope_key_file (skipped when
 * NULL or ""). Progress lines ("applied 001_schema.sql") go to progress when not NULL. Returns 0 with *res
 * filled, or -1 with one line in errbuf (errlen bytes); on -1 nothing of the failing file is kept and no
 * later file was tried. */
int srv_migrate_apply(const char *conninfo, const char *dir, const char *scope_key_file, FILE *progress,
                      srv_migrate_result *res, char *errbuf, size_t errlen);

/* The subcommand: argv is {"migrate", "--config", FILE} (or --help). Returns the exit status: 0 done,
 * 1 failed (reason on stderr), 2 usage. */
int srv_migrate_main(int argc, char **argv);

#endif
