package config

import "slices"

// NettyFactoryClass is the serverCnxnFactory ZooKeeper needs for TLS on
// the client port; with its default NIO factory, a secureClientPort stops
// ZooKeeper 3.8 at start-up ("SSL isn't supported in NIOServerCnxn").
const NettyFactoryClass = "org.apache.zookeeper.server.NettyServerCnxnFactory"

// X509ProviderClass is ZooKeeper's x509 authentication provider.
const X509ProviderClass = "org.apache.zookeeper.server.auth.X509AuthenticationProvider"

// NettyFactory reports whether serverCnxnFactory (zoo.cfg, or
// -Dzookeeper.serverCnxnFactory) names ZooKeeper's Netty factory.
func (c *Config) NettyFactory() bool {
	v, _ := c.prop("serverCnxnFactory")
	return v == NettyFactoryClass
}

// ClientPortUnification reports zookeeper.client.portUnification (zoo.cfg
// client.portUnification): with the Netty factory, the plaintext client
// port also accepts TLS clients.
func (c *Config) ClientPortUnification() bool {
	return c.boolProp("client.portUnification", false)
}

// OutstandingHandshakeLimit returns
// zookeeper.netty.server.outstandingHandshake.limit: new TLS connections
// are closed while this many handshakes are in progress; -1 (the default)
// or any value below 1 means no limit.
func (c *Config) OutstandingHandshakeLimit() int {
	return int(c.intProp("netty.server.outstandingHandshake.limit", -1))
}

// X509ProviderEnabled reports whether the x509 scheme has a provider. As in
// ZooKeeper, configuring a secure client port (or port unification on the
// Netty factory) registers it, and so does an authProvider.N naming
// X509AuthenticationProvider.
func (c *Config) X509ProviderEnabled() bool {
	return c.SecureClientPort > 0 || c.NettyFactory() && c.ClientPortUnification() ||
		slices.Contains(c.AuthProviders(), X509ProviderClass)
}

// X509SuperUser returns zookeeper.X509AuthenticationProvider.superUser: a
// client whose certificate subject is this name also gets the super
// identity. "" means unset.
func (c *Config) X509SuperUser() string {
	v, _ := c.prop("X509AuthenticationProvider.superUser")
	return v
}

// SSLAuthProvider returns zookeeper.ssl.authProvider, the scheme that
// authenticates TLS clients (default "x509"), and the class configured
// for it by authProvider.<scheme>, or "".
func (c *Config) SSLAuthProvider() (scheme, class string) {
	scheme, ok := c.prop("ssl.authProvider")
	if !ok {
		scheme = "x509"
	}
	class, _ = c.prop("authProvider." + scheme)
	return scheme, class
}
