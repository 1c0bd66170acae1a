package admin

import (
	"maps"
	"strings"

	"github.com/zkd/zkd/internal/config"
)

// redacted stands for the value of a property that holds a secret.
const redacted = "<redacted>"

// secretProperty reports whether the system property k holds a secret:
// the super user's digest (zookeeper.DigestAuthenticationProvider.superDigest)
// or a password (ssl.*.password, ...). ZooKeeper 3.8 and 3.9 list their
// values to anyone; zkd does not.
func secretProperty(k string) bool {
	l := strings.ToLower(k)
	return strings.HasSuffix(l, "superdigest") || strings.Contains(l, "password") || strings.Contains(l, "passwd")
}

// shownProperties returns the system properties as envi and
// system_properties show them: secrets redacted.
func shownProperties(props config.Properties) map[string]string {
	out := maps.Clone(map[string]string(props))
	for k := range out {
		if secretProperty(k) {
			out[k] = redacted
		}
	}
	return out
}

// redactConfigText returns a zoo.cfg's text with the value of every
// key=value line whose key holds a secret replaced, for
// initial_configuration (which in ZooKeeper shows the file as it is).
func redactConfigText(text string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		key, _, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(strings.TrimSpace(key), "#") || !secretProperty(strings.TrimSpace(key)) {
			continue
		}
		end := l[len(strings.TrimRight(l, "\r\n")):]
		lines[i] = key + "=" + redacted + end
	}
	return strings.Join(lines, "")
}
