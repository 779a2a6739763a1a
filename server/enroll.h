/* `zerodropd enroll`: the county's bootstrap, run on the server machine as the owner role.
 *
 *   zerodropd enroll --config FILE --device CERT.pem [--label TEXT]
 *       registers the certificate's SHA-256 fingerprint to the institution its subject names (OU level,
 *       CN code); registering the same certificate again is a no-op;
 *   zerodropd enroll --config FILE --user NAME --role ROLE --institution CODE --password-file F
 *       creates a user (the first county admin) with the password on F's first line, hashed with argon2id.
 *
 * Both talk to PostgreSQL through [database] owner_conninfo, with blocking libpq: this is a command, not
 * the server's loop. */
#ifndef ZD_SERVER_ENROLL_H
#define ZD_SERVER_ENROLL_H

/* The subcommand: argv[0] is "enroll". Returns the exit status: 0 done, 1 failed (one line on stderr), 2
 * usage. */
int srv_enroll_main(int argc, char **argv);

#endif
