package tlsconf

import (
	"slices"
	"strings"
)

// Known reports whether name is one of the TLS properties FromProperties
// reads under prefix (ClientPrefix or QuorumPrefix), such as
// "zookeeper.ssl.keyStore.location", so that a caller reading a file of
// client properties can refuse a misspelt one instead of ignoring it.
func Known(prefix, name string) bool {
	k, ok := strings.CutPrefix(name, prefix)
	return ok && slices.Contains(known, k)
}
