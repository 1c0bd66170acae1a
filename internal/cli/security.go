package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/tlsconf"
)

// The client properties zkd cli acts on: ZooKeeper's names
// (ZKClientConfig, ClientX509Util), read from -client-configuration, from
// -D arguments, and from -D flags in JVMFLAGS and CLIENT_JVMFLAGS.
const (
	propSecure         = "zookeeper.client.secure"
	propCnxnSocket     = "zookeeper.clientCnxnSocket"
	propSSLPrefix      = "zookeeper.ssl."
	propSASLEnabled    = "zookeeper.sasl.client"
	propSASLSection    = "zookeeper.sasl.clientconfig"
	propJAAS           = "java.security.auth.login.config"
	propKrb5Conf       = "java.security.krb5.conf"
	propPrincipal      = "zookeeper.server.principal"
	propRealm          = "zookeeper.server.realm"
	propServiceName    = "zookeeper.sasl.client.username"
	propCanonicalize   = "zookeeper.sasl.client.canonicalize.hostname"
	propMaxBuffer      = "jute.maxbuffer"
	defaultSASLSection = "Client"
)

// clientKeys are the non-TLS properties zkd cli knows; zookeeper.ssl.*
// go to internal/tlsconf, which knows its own.
var clientKeys = []string{propSecure, propCnxnSocket, propSASLEnabled, propSASLSection, propJAAS, propKrb5Conf,
	propPrincipal, propRealm, propServiceName, propCanonicalize, propMaxBuffer}

// unsupportedKeys are client properties of ZooKeeper that zkd cli does not
// implement; setting one is an error rather than silently different
// behaviour.
var unsupportedKeys = map[string]string{
	"zookeeper.request.timeout":       "zkd cli has no per-request timeout",
	"zookeeper.disableAutoWatchReset": "zkd's client always re-registers watches",
	"zookeeper.kinit":                 "zkd cli does not renew Kerberos tickets with kinit",
	"sun.security.jgss.native":        "zkd cli has no native GSS library",
	"zookeeper.ssl.authProvider":      "a client-side authentication provider has no meaning",
}

// clientProps are the client properties in force, each with where it
// came from, for messages.
type clientProps struct {
	values map[string]string
	source map[string]string // "file:line", "-D argument", "CLIENT_JVMFLAGS", ...
	env    func(string) string
}

// getenv reads the environment zkd cli was given.
func (p *clientProps) getenv(name string) string {
	if p.env == nil {
		return ""
	}
	return p.env(name)
}

func (p *clientProps) get(key string) (string, bool) {
	v, ok := p.values[key]
	return v, ok
}

// where names the origin of key's setting for an error message.
func (p *clientProps) where(key string) string { return p.source[key] }

func (p *clientProps) set(key, value, source string) {
	p.values[key] = value
	p.source[key] = source
}

// gatherClientProps collects the client properties in ZooKeeper's order
// of precedence: -D flags of CLIENT_JVMFLAGS, then of JVMFLAGS (zkCli.sh
// passes both to java, JVMFLAGS last), then zkd cli's own -D arguments;
// the -client-configuration file wins over all of them, as ZKClientConfig
// loads the file over the system properties. Properties from the
// environment that zkd cli does not know are ignored (a JVM has many);
// unknown ones in the file or the -D arguments are errors naming them.
func gatherClientProps(getenv func(string) string, defines map[string]string, file string) (*clientProps, error) {
	p := &clientProps{values: map[string]string{}, source: map[string]string{}, env: getenv}
	if getenv != nil {
		for _, name := range []string{"CLIENT_JVMFLAGS", "JVMFLAGS"} {
			props, _ := config.ParseJVMFlags(getenv(name))
			for _, k := range slices.Sorted(maps.Keys(props)) {
				if isClientKey(k) {
					p.set(k, props[k], "-D"+k+" in "+name)
				}
			}
		}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(defines)) {
		if err := checkClientKey(k); err != nil {
			errs = append(errs, fmt.Errorf("-D%s: %w", k, err))
			continue
		}
		p.set(k, defines[k], "-D"+k)
	}
	if file != "" {
		entries, err := config.ReadPropertiesFile(file)
		if err != nil {
			return nil, fmt.Errorf("-client-configuration: %w", err)
		}
		for _, e := range entries {
			where := file + ":" + strconv.Itoa(e.Line)
			if err := checkClientKey(e.Key); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", where, e.Key, err))
				continue
			}
			p.set(e.Key, e.Value, where)
		}
	}
	return p, errors.Join(errs...)
}

// isClientKey reports whether zkd cli acts on key.
func isClientKey(key string) bool {
	return slices.Contains(clientKeys, key) || tlsconf.Known(tlsconf.ClientPrefix, key) && unsupportedKeys[key] == ""
}

// checkClientKey says why key is not a client property zkd cli takes.
func checkClientKey(key string) error {
	if why, ok := unsupportedKeys[key]; ok {
		return fmt.Errorf("not supported: %s", why)
	}
	if isClientKey(key) {
		return nil
	}
	return fmt.Errorf("unknown client property (zkd cli knows %s and ZooKeeper's %s* TLS properties)", strings.Join(clientKeys, ", "), propSSLPrefix)
}

// boolProp reads a true/false property (in any case, as Java's
// Boolean.parseBoolean); anything else is an error, where Java would take
// it as false.
func (p *clientProps) boolProp(key string, def bool) (bool, error) {
	v, ok := p.get(key)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s: %s=%q: want true or false", p.where(key), key, v)
}

// clientOptions turns the properties into the client options of a secured
// connection: TLS when zookeeper.client.secure is true, SASL when a JAAS
// configuration is given and zookeeper.sasl.client is not false, and the
// frame size limit of jute.maxbuffer.
func (p *clientProps) clientOptions(log *slog.Logger) ([]client.Option, error) {
	var opts []client.Option
	if v, ok := p.get(propMaxBuffer); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: %s=%q: want a positive number of bytes", p.where(propMaxBuffer), propMaxBuffer, v)
		}
		opts = append(opts, client.WithMaxFrameSize(n))
	}
	secure, err := p.boolProp(propSecure, false)
	if err != nil {
		return nil, err
	}
	if secure {
		tlsOpt, err := p.tlsOption(log)
		if err != nil {
			return nil, err
		}
		opts = append(opts, tlsOpt)
	}
	saslOpt, err := p.saslOption()
	if err != nil {
		return nil, err
	}
	if saslOpt != nil {
		opts = append(opts, saslOpt)
	}
	return opts, nil
}

// splitDefines takes the -Dkey=value arguments out of the flags before
// the command (the first argument that is neither a flag nor a flag's
// value), so that a command's own words are never taken for properties.
// A -D without '=' sets the key to "", as java does.
func splitDefines(fs *flag.FlagSet, args []string) (map[string]string, []string) {
	defines := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			return defines, append(rest, args[i:]...)
		}
		if body, ok := strings.CutPrefix(a, "-D"); ok && body != "" {
			k, v, _ := strings.Cut(body, "=")
			defines[k] = v
			continue
		}
		rest = append(rest, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
			i++
			rest = append(rest, args[i])
		}
	}
	return defines, rest
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
