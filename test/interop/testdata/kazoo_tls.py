# Connects to a ZooKeeper server over TLS with kazoo (use_ssl, a PEM
# client certificate and key, the CA file) and prints what it sees:
# its own node's data and ACL, and whether it may read a node that only
# one certificate may read.
# Usage: kazoo_tls.py host:port certfile keyfile cafile protected-path
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError, NoNodeError

hosts, certfile, keyfile, ca, protected = sys.argv[1:6]
zk = KazooClient(hosts=hosts, use_ssl=True, certfile=certfile, keyfile=keyfile, ca=ca,
                 verify_certs=True, timeout=10)
zk.start(timeout=20)
path = "/kazoo-tls-" + certfile.rsplit("/", 1)[-1].split(".")[0]
zk.create(path, b"hello over tls", acl=None)
data, stat = zk.get(path)
print("own node:", data.decode(), "version", stat.version)
acl, _ = zk.get_acls(path)
print("own acl:", [(a.id.scheme, a.id.id, a.perms) for a in acl])
try:
    data, _ = zk.get(protected)
    print("protected:", data.decode())
except NoAuthError:
    print("protected: NoAuthError")
except NoNodeError:
    print("protected: NoNodeError")
zk.delete(path)
zk.stop()
zk.close()
