"""The admin console at `/admin`: starlette-admin's pages over the app's rows, whose every
change goes through the services (the same rules, audit events and revocations as the API)."""
