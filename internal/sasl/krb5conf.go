package sasl

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jcmturner/gokrb5/v8/config"
)

// Krb5ConfPath is where a Kerberos configuration is looked for: KRB5_CONFIG
// if set (its first entry), else /etc/krb5.conf, as MIT's library does.
func Krb5ConfPath() string {
	if p := os.Getenv("KRB5_CONFIG"); p != "" {
		return strings.Split(p, ":")[0]
	}
	return "/etc/krb5.conf"
}

// LoadKrb5Conf reads the Kerberos configuration at path. Directives gokrb5
// does not support (Kerberos 4 settings) are skipped.
func LoadKrb5Conf(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	var unsupported config.UnsupportedDirective
	if err != nil && !(errors.As(err, &unsupported) && cfg != nil) {
		return nil, fmt.Errorf("krb5.conf %s: %w", path, err)
	}
	return cfg, nil
}
