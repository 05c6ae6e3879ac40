"""Tests of a deployment across hosts: the pooler, replicas, the load balancer, failure drills."""
