// Package tlsconf turns ZooKeeper's TLS settings (the ssl.* and
// ssl.quorum.* properties: key and trust stores in JKS, PKCS12 or PEM,
// protocols, cipher suites, client authentication, hostname verification)
// into crypto/tls configurations, and reloads certificates that change on
// disk.
package tlsconf
