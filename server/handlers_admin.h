/* The admin family's user and statistics requests (server/handlers_admin.c): UserAdd, UserDisable,
 * UserPasswd and StatsRequest, for the county admin (the authorization matrix decides who).
 *
 * Passwords are hashed with argon2id off the loop; a user belongs to exactly one institution, named by
 * its code (the level follows from which table holds the code, and the users table checks that the role
 * fits the level). */
#ifndef ZD_SERVER_HANDLERS_ADMIN_H
#define ZD_SERVER_HANDLERS_ADMIN_H

#include "session.h"

/* Adds a user: $1 user name, $2 argon2id hash, $3 role word (clerk … county_admin), $4 institution code,
 * $5 display name. One row (the id) when added; no row when no institution has the code; CONFLICT when
 * the name is taken; INVALID_ARGUMENT when the role does not fit the institution's level. Shared with
 * `zerodropd enroll`. */
#define SRV_USER_ADD_SQL                                                                                      \
    "INSERT INTO zd.app_user (username, display_name, password_hash, role, level, school_id, township_id, "   \
    "                         county_id) "                                                                    \
    "SELECT $1, $5, $2, $3::zd.user_role, i.level, i.school_id, i.township_id, i.county_id "                 \
    "FROM (SELECT 'school'::zd.level AS level, id AS school_id, NULL::integer AS township_id, "               \
    "             NULL::smallint AS county_id FROM zd.school WHERE code = $4 "                               \
    "      UNION ALL SELECT 'township', NULL, id, NULL FROM zd.township WHERE code = $4 "                     \
    "      UNION ALL SELECT 'county', NULL, NULL, id FROM zd.county WHERE code = $4) i "                      \
    "RETURNING id"

/* The role's word in zd.user_role ("county_admin"), or NULL for ROLE_UNSPECIFIED and unknown values. */
const char *srv_admin_role_word(int role);

void srv_admin_user_add(srv_request *req);
void srv_admin_user_disable(srv_request *req);
void srv_admin_user_passwd(srv_request *req);
void srv_admin_stats(srv_request *req);

#endif
