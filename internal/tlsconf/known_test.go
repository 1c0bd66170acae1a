package tlsconf

import "testing"

func TestKnownNamesTheTLSPropertiesOfAPrefix(t *testing.T) {
	for _, tt := range []struct {
		prefix, name string
		want         bool
	}{
		{ClientPrefix, "zookeeper.ssl.keyStore.location", true},
		{ClientPrefix, "zookeeper.ssl.hostnameVerification", true},
		{ClientPrefix, "zookeeper.ssl.keyStore.locaton", false},
		{ClientPrefix, "zookeeper.ssl.quorum.keyStore.location", false},
		{QuorumPrefix, "zookeeper.ssl.quorum.keyStore.location", true},
		{QuorumPrefix, "zookeeper.ssl.keyStore.location", false},
	} {
		if got := Known(tt.prefix, tt.name); got != tt.want {
			t.Errorf("Known(%q, %q) = %v, want %v", tt.prefix, tt.name, got, tt.want)
		}
	}
}
