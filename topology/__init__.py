"""Several hosts on one machine: the pieces of a multi-host deployment (load balancer, app hosts,
a transaction pooler, a primary and its standby, a cache), each a real server started from
Debian's packages, on loopback or in network namespaces of its own.

Used by `tests/topology` and by a person trying the deployment out (`python -m topology`).
"""
