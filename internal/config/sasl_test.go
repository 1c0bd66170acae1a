package config

import (
	"slices"
	"strings"
	"testing"
)

func withProps(t *testing.T, props Properties) *Config {
	t.Helper()
	c := Default()
	if err := c.Apply(props); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSASLSettingsAreReadFromSystemProperties(t *testing.T) {
	c := withProps(t, Properties{
		JAASConfigKey:                      "/etc/zk/jaas.conf",
		"zookeeper.authProvider.1":         SASLProviderClass,
		"zookeeper.superUser":              "admin",
		"zookeeper.superUser.2":            "root",
		"zookeeper.superUserX":             "not-a-super-user",
		"zookeeper.sasl.serverconfig":      "ZkServer",
		"zookeeper.letAnySaslUserDoX":      "anyone",
		"zookeeper.allowSaslFailedClients": "true",
	})
	if c.JAASConfigFile() != "/etc/zk/jaas.conf" || !c.SASLProviderEnabled() || !c.AllowSaslFailedClients() || c.LetAnySaslUserDoX() != "anyone" {
		t.Errorf("jaas %q provider %v allow %v letAny %q", c.JAASConfigFile(), c.SASLProviderEnabled(), c.AllowSaslFailedClients(), c.LetAnySaslUserDoX())
	}
	if s, set := c.SASLServerSection(); s != "ZkServer" || !set {
		t.Errorf("section %q %v", s, set)
	}
	if got := c.SASLSuperUsers(); !slices.Equal(got, []string{"admin", "root"}) {
		t.Errorf("super users %v", got)
	}
	if s, set := Default().SASLServerSection(); s != "Server" || set {
		t.Errorf("default section %q %v", s, set)
	}
}

// ZooKeeper 3.8's AuthenticationHelper (javap; and a server started with
// sessionRequireClientSASLAuth=true but no SASL provider exits with
// "Authentication scheme sasl is not available.").
func TestEnforcedAuthFollowsZooKeepersAuthenticationHelper(t *testing.T) {
	cases := []struct {
		name    string
		props   Properties
		want    EnforcedAuth
		wantErr string
	}{
		{"off by default", Properties{}, EnforcedAuth{}, ""},
		{"sessionRequireClientSASLAuth means sasl", Properties{"zookeeper.sessionRequireClientSASLAuth": "true", "zookeeper.authProvider.1": SASLProviderClass,
			"zookeeper.enforce.auth.schemes": "digest"}, EnforcedAuth{Enabled: true, Schemes: []string{"sasl"}, SASLRequired: true}, ""},
		{"schemes are trimmed", Properties{"zookeeper.enforce.auth.enabled": "true", "zookeeper.enforce.auth.schemes": " digest , ip,"},
			EnforcedAuth{Enabled: true, Schemes: []string{"digest", "ip"}}, ""},
		{"sasl without its provider stops the server", Properties{"zookeeper.sessionRequireClientSASLAuth": "true"}, EnforcedAuth{}, `scheme "sasl" has no authentication provider`},
		{"enabled without schemes", Properties{"zookeeper.enforce.auth.enabled": "true"}, EnforcedAuth{}, "schemes is not set"},
		{"digest disabled", Properties{"zookeeper.enforce.auth.enabled": "true", "zookeeper.enforce.auth.schemes": "digest",
			"zookeeper.DigestAuthenticationProvider.enabled": "false"}, EnforcedAuth{}, `scheme "digest"`},
		{"schemes alone do nothing", Properties{"zookeeper.enforce.auth.schemes": "sasl"}, EnforcedAuth{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := withProps(t, c.props).EnforcedAuth()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got.Enabled != c.want.Enabled || got.SASLRequired != c.want.SASLRequired || !slices.Equal(got.Schemes, c.want.Schemes) {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}
