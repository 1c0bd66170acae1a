package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// JAASConfigKey is the JVM system property naming the JAAS login
// configuration file (set with -D in SERVER_JVMFLAGS, JVMFLAGS or on the
// command line; a zoo.cfg key would become zookeeper.<key>, which neither
// ZooKeeper nor zkd reads).
const JAASConfigKey = "java.security.auth.login.config"

// SASLProviderClass is the authProvider.N value that registers the sasl
// ACL scheme.
const SASLProviderClass = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"

// providerSchemes maps the authentication provider classes of ZooKeeper
// 3.8 to the schemes they register.
var providerSchemes = map[string]string{
	SASLProviderClass: "sasl",
	"org.apache.zookeeper.server.auth.X509AuthenticationProvider":   "x509",
	"org.apache.zookeeper.server.auth.DigestAuthenticationProvider": "digest",
	"org.apache.zookeeper.server.auth.IPAuthenticationProvider":     "ip",
}

// JAASConfigFile returns the JAAS file named by -Djava.security.auth.login.config,
// or "".
func (c *Config) JAASConfigFile() string { return c.Props[JAASConfigKey] }

// SASLServerSection returns the JAAS section the client-port SASL server
// logs in with (zookeeper.sasl.serverconfig, default "Server") and
// whether the property was set explicitly.
func (c *Config) SASLServerSection() (string, bool) {
	v, ok := c.prop("sasl.serverconfig")
	if !ok {
		return "Server", false
	}
	return v, true
}

// AuthProviders returns the values of the zookeeper.authProvider.*
// properties (zoo.cfg authProvider.N), ordered by key.
func (c *Config) AuthProviders() []string {
	var keys []string
	for k := range c.Props {
		if strings.HasPrefix(k, zkPrefix+"authProvider.") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.TrimSpace(c.Props[k])
	}
	return out
}

// SASLProviderEnabled reports whether an authProvider.N names ZooKeeper's
// SASLAuthenticationProvider, which registers the sasl ACL scheme.
func (c *Config) SASLProviderEnabled() bool {
	return slices.Contains(c.AuthProviders(), SASLProviderClass)
}

// AuthSchemes returns the schemes that have a provider, as ZooKeeper's
// ProviderRegistry registers them: ip, digest (unless
// zookeeper.DigestAuthenticationProvider.enabled=false), and the scheme of
// each authProvider.N class it knows.
func (c *Config) AuthSchemes() []string {
	schemes := []string{"ip"}
	if c.boolProp("DigestAuthenticationProvider.enabled", true) {
		schemes = append(schemes, "digest")
	}
	for _, class := range c.AuthProviders() {
		if s, ok := providerSchemes[class]; ok && !slices.Contains(schemes, s) {
			schemes = append(schemes, s)
		}
	}
	if c.X509ProviderEnabled() && !slices.Contains(schemes, "x509") {
		schemes = append(schemes, "x509") // a secure client port registers it
	}
	return schemes
}

// SASLSuperUsers returns the values of zookeeper.superUser and every
// zookeeper.superUser.<suffix> property: a SASL identity equal to one of
// them also gets the super identity.
func (c *Config) SASLSuperUsers() []string {
	var out []string
	for k, v := range c.Props {
		rest, ok := strings.CutPrefix(k, zkPrefix+"superUser")
		if ok && (rest == "" || rest[0] == '.') {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// SASLSuperPassword returns zookeeper.SASLAuthenticationProvider.superPassword,
// the DIGEST-MD5 password of user "super", and whether it is set.
func (c *Config) SASLSuperPassword() (string, bool) {
	return c.prop("SASLAuthenticationProvider.superPassword")
}

// AllowSaslFailedClients reports zookeeper.allowSaslFailedClients: a client
// whose SASL exchange fails keeps its connection (unless SASL is
// required).
func (c *Config) AllowSaslFailedClients() bool { return c.boolProp("allowSaslFailedClients", false) }

// LetAnySaslUserDoX returns zookeeper.letAnySaslUserDoX, the sasl ACL id
// that every sasl identity matches, or "".
func (c *Config) LetAnySaslUserDoX() string {
	v, _ := c.prop("letAnySaslUserDoX")
	return v
}

// EnforcedAuth is the mandatory-authentication setting of the client port
// (client-protocol.md §10.9).
type EnforcedAuth struct {
	Enabled bool
	// Schemes lists the schemes a connection must hold an identity of.
	Schemes []string
	// SASLRequired is set when sasl is among Schemes: a failed SASL
	// exchange is then answered SESSIONCLOSEDREQUIRESASLAUTH and always
	// closes the connection.
	SASLRequired bool
}

// EnforcedAuth returns the mandatory-authentication setting as ZooKeeper
// 3.8's AuthenticationHelper reads it: zookeeper.sessionRequireClientSASLAuth=true
// means schemes [sasl]; otherwise zookeeper.enforce.auth.enabled with the
// comma-separated zookeeper.enforce.auth.schemes (blanks trimmed). When
// enabled, an empty list or a scheme without a provider (see AuthSchemes)
// is an error, as it stops ZooKeeper from starting.
func (c *Config) EnforcedAuth() (EnforcedAuth, error) {
	var e EnforcedAuth
	if c.boolProp("sessionRequireClientSASLAuth", false) {
		e.Enabled, e.Schemes = true, []string{"sasl"}
	} else {
		e.Enabled = c.boolProp("enforce.auth.enabled", false)
		if v, ok := c.prop("enforce.auth.schemes"); ok {
			parts := strings.Split(v, ",")
			for len(parts) > 0 && parts[len(parts)-1] == "" {
				parts = parts[:len(parts)-1] // as Java's String.split drops them
			}
			for _, s := range parts {
				e.Schemes = append(e.Schemes, strings.TrimSpace(s))
			}
		}
	}
	if !e.Enabled {
		return EnforcedAuth{}, nil
	}
	if len(e.Schemes) == 0 {
		return e, fmt.Errorf("zookeeper.enforce.auth.enabled is true but zookeeper.enforce.auth.schemes is not set")
	}
	have := c.AuthSchemes()
	for _, s := range e.Schemes {
		if !slices.Contains(have, s) {
			hint := ""
			if s == "sasl" {
				hint = " (add authProvider.1=" + SASLProviderClass + ")"
			}
			return e, fmt.Errorf("enforced authentication: scheme %q has no authentication provider%s; registered: %s",
				s, hint, strings.Join(have, ", "))
		}
	}
	e.SASLRequired = slices.Contains(e.Schemes, "sasl")
	return e, nil
}
