/* The dispatch table: which handler answers which Envelope body.
 *
 * One table in dispatch.c maps a body case to its handler; a family adds its lines there (and declares
 * its handlers in its own header). A body with no line gets Error{INVALID_ARGUMENT}. */
#ifndef ZD_SERVER_DISPATCH_H
#define ZD_SERVER_DISPATCH_H

#include "envelope.pb-c.h"
#include "session.h"

typedef struct srv_route {
    Zerodrop__V1__Envelope__BodyCase body;
    srv_handler_fn handle;
} srv_route;

/* The route for body, or NULL. overrides (may be NULL; ends with a {0, NULL} entry) are looked at
 * first: tests plug their own handlers in this way. */
const srv_route *srv_dispatch_find(Zerodrop__V1__Envelope__BodyCase body, const srv_route *overrides);

/* The body's field name for logs ("ping", "roster_pull"); "none" for an unset body, "unknown" else. */
const char *srv_dispatch_name(Zerodrop__V1__Envelope__BodyCase body);

#endif
