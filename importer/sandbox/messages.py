"""Every text the sandbox says, in one place.

The API error messages are the ones the real Copernica API sends (clients
recognise some of them by their exact text, e.g. "Invalid access token"), so
change them only to follow Copernica.
"""
from __future__ import annotations


class Msg:
    """The sandbox's texts."""

    # --- API error messages (JSON body {"error": {"message": ...}}) ---------------
    INVALID_TOKEN = "Invalid access token"
    NO_DATABASE = "No database with supplied ID"
    NO_PROFILE = "No profile with supplied ID"
    PROFILE_ALREADY_REMOVED = "Profile has already been removed"
    INVALID_DATA = "Invalid data provided"
    INVALID_METHOD = "Invalid method"
    # collections and subprofiles: the first is Copernica's documented answer to an
    # unknown collection on create; the others follow the profile texts (sandbox choice)
    SUBPROFILE_NOT_CREATED = "Subprofile could not be created"
    NO_COLLECTION = "No collection with supplied ID"
    NO_SUBPROFILE = "No subprofile with supplied ID"
    SUBPROFILE_ALREADY_REMOVED = "Subprofile has already been removed"
    # Sandbox choice: Copernica's answer to a filter on a field the database does
    # not have is not documented; failing loudly beats matching every profile.
    UNKNOWN_FILTER_FIELD = "Invalid fields parameter: no field named {name!r}"
    INVALID_FILTER = "Invalid fields parameter: {condition!r} is not name==value (or !=, <, >, <=, >=, =~, !~)"

    # --- Load balancer answers (HTML, like the live service's) -------------------
    LOADBALANCER_HTML = (
        "<html><head><title>Loadbalancer Error</title></head>"
        "<body><h1>Loadbalancer Error</h1><p>{detail}</p></body></html>"
    )
    TOO_MANY_REQUESTS_REASON = "too many requests to handle"
    SERVICE_UNAVAILABLE_DETAIL = "The service is temporarily unavailable, please try again later."
    RATE_LIMITED_DETAIL = "Too many requests, please slow down."

    # --- Inspection endpoints (/_sandbox/...) -------------------------------------
    INSPECTION_LOOPBACK_ONLY = "the /_sandbox/ endpoints answer only on the loopback interface"
    INSPECTION_UNKNOWN_FAULT = "unknown fault setting {name!r}; known: {known}"
    INSPECTION_BAD_FAULT_VALUE = "bad value for fault setting {name!r}: {problem}"
    INSPECTION_BAD_JSON = "the body must be a JSON object of fault settings"
    INSPECTION_NOT_FOUND = "no such inspection endpoint; known: /_sandbox/profiles?database=ID, /_sandbox/subprofiles?collection=ID&profile=ID, /_sandbox/stats, /_sandbox/faults, /_sandbox/reset-stats, /_sandbox/expire-jwts"

    # --- Command line -------------------------------------------------------------
    CLI_LISTENING_WITH_DEFAULT_TOKEN = "Sandbox listening on {api_url} (token: {token}, the default; pass --token-file to choose one)"
    CLI_LISTENING_WITH_USER_TOKEN = "Sandbox listening on {api_url} (token: the one you gave)"
    CLI_DETAILS = (
        "  API v4: {base_url}/v4 with a bearer token from POST {auth_url}\n"
        "  Stored profiles: {db}\n"
        "  Inspect: {base_url}/_sandbox/profiles?database=ID, {base_url}/_sandbox/subprofiles?collection=ID   "
        "Stop: Ctrl-C"
    )
    CLI_TEMPORARY_DB = "a temporary database, deleted when the sandbox stops (use --db FILE to keep them)"
    CLI_STOPPED = "Sandbox stopped."
    CLI_DUMP_NEEDS_DB = "--dump needs --db FILE.sqlite: the stored profiles of which sandbox database?"
    CLI_DB_MISSING = "the sandbox database file {path} does not exist"
    CLI_TOKEN_FILE_UNREADABLE = "cannot read the token file {path}: {reason}"
    CLI_TOKEN_FILE_EMPTY = "the token file {path} is empty"
    CLI_PORT_IN_USE = "cannot listen on {host}:{port}: {reason}"
