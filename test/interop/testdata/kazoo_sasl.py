"""Kazoo (with pure-sasl) logs in with DIGEST-MD5, as a Python
application would, and prints what happened, one line per step.

usage: kazoo_sasl.py host:port username password
"""
import sys

from kazoo.client import KazooClient
from kazoo.security import make_acl

addr, user, password = sys.argv[1:4]
zk = KazooClient(hosts=addr, timeout=10, connection_retry={"max_tries": 0},
                 sasl_options={"mechanism": "DIGEST-MD5", "username": user, "password": password})
try:
    zk.start(timeout=15)
except Exception as e:  # a failed login surfaces here
    print("start:", type(e).__name__)
    sys.exit(0)
print("start: ok", zk.state)
path = "/kazoo-" + user
try:
    zk.create(path, b"v", acl=[make_acl("sasl", user, all=True)])
    print("create with sasl ACL: ok")
    data, _ = zk.get(path)
    print("get:", data.decode())
except Exception as e:
    print("error:", type(e).__name__)
zk.stop()
zk.close()
