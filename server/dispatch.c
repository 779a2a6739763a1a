/* The one table from Envelope body case to handler; see dispatch.h. */
#include "dispatch.h"

#include <stddef.h>

#include "handlers_admin.h"
#include "handlers_calendar.h"
#include "handlers_device.h"
#include "handlers_import.h"
#include "login_handler.h"

static const srv_route routes[] = {
    /* session family */
    {ZERODROP__V1__ENVELOPE__BODY_HELLO, srv_session_hello},
    {ZERODROP__V1__ENVELOPE__BODY_PING, srv_session_ping},
    {ZERODROP__V1__ENVELOPE__BODY_LOGIN, srv_login_handle},
    {ZERODROP__V1__ENVELOPE__BODY_LOGOUT, srv_logout_handle},
    /* admin family: users and stats (handlers_admin.c), devices (handlers_device.c) */
    {ZERODROP__V1__ENVELOPE__BODY_USER_ADD, srv_admin_user_add},
    {ZERODROP__V1__ENVELOPE__BODY_USER_DISABLE, srv_admin_user_disable},
    {ZERODROP__V1__ENVELOPE__BODY_USER_PASSWD, srv_admin_user_passwd},
    {ZERODROP__V1__ENVELOPE__BODY_STATS_REQUEST, srv_admin_stats},
    {ZERODROP__V1__ENVELOPE__BODY_DEVICE_ADD, srv_device_add},
    {ZERODROP__V1__ENVELOPE__BODY_DEVICE_REVOKE, srv_device_revoke},
    {ZERODROP__V1__ENVELOPE__BODY_DEVICE_LIST_REQUEST, srv_device_list},
    /* Families add their lines here, one per request body, e.g.
     *     {ZERODROP__V1__ENVELOPE__BODY_LOGIN, srv_login_handle},
     *     {ZERODROP__V1__ENVELOPE__BODY_ROSTER_PULL, srv_roster_pull_handle}, */
    /* admin family: imports, calendar, settings (handlers_import.c, handlers_calendar.c) */
    {ZERODROP__V1__ENVELOPE__BODY_IMPORT_BEGIN, srv_import_begin_handle},
    {ZERODROP__V1__ENVELOPE__BODY_IMPORT_CHUNK, srv_import_chunk_handle},
    {ZERODROP__V1__ENVELOPE__BODY_IMPORT_END, srv_import_end_handle},
    {ZERODROP__V1__ENVELOPE__BODY_CALENDAR_SET, srv_calendar_set_handle},
    {ZERODROP__V1__ENVELOPE__BODY_CALENDAR_SHOW_REQUEST, srv_calendar_show_handle},
    {ZERODROP__V1__ENVELOPE__BODY_SETTINGS_SET, srv_settings_set_handle},
    {ZERODROP__V1__ENVELOPE__BODY_SETTINGS_GET_REQUEST, srv_settings_get_handle},
};

const srv_route *srv_dispatch_find(Zerodrop__V1__Envelope__BodyCase body, const srv_route *overrides)
{
    if (body == ZERODROP__V1__ENVELOPE__BODY__NOT_SET)
        return NULL;
    for (const srv_route *r = overrides; r != NULL && r->handle != NULL; r++)
        if (r->body == body)
            return r;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].body == body)
            return &routes[i];
    return NULL;
}

const char *srv_dispatch_name(Zerodrop__V1__Envelope__BodyCase body)
{
    if (body == ZERODROP__V1__ENVELOPE__BODY__NOT_SET)
        return "none";
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&zerodrop__v1__envelope__descriptor, (unsigned)body);
    return f ? f->name : "unknown";
}
