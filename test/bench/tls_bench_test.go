package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/loadgen"
	"github.com/zkd/zkd/internal/testcluster"
)

// envTLS turns BenchmarkTLS on.
const envTLS = "ZKD_BENCH_TLS"

// tlsEndpoint is one way to reach one server: its plaintext or its TLS
// client port.
type tlsEndpoint struct {
	server   string // "zkd" or "ZooKeeper"
	tls      bool
	addr     string
	dial     zk.Dialer
	sessions []loadgen.Session
	results  map[loadgen.Workload]*loadgen.Result
	setups   time.Duration // time taken by the measured session set-ups
	setupN   int
}

// BenchmarkTLS measures what TLS costs on the client port, zkd beside
// Apache ZooKeeper 3.8 (with the Netty connection factory, which its TLS
// needs, on both of its ports): getData and setData with 32 sessions over
// the plaintext port and over the TLS port of each server, in interleaved
// rounds, and the rate of new sessions set up over each (TCP connect, TLS
// handshake with client certificates, session creation, close), one at a
// time. It skips unless ZKD_BENCH_TLS=1:
//
//	ZKD_BENCH_TLS=1 go test ./test/bench -run '^$' -bench '^BenchmarkTLS$' -benchtime 1x -timeout 20m
func BenchmarkTLS(b *testing.B) {
	if os.Getenv(envTLS) != "1" {
		b.Skipf("set %s=1 to compare TLS on zkd and ZooKeeper", envTLS)
	}
	cfg := readSettings(b)
	ctx := b.Context()
	a := testcluster.NewApacheTLS(b)
	client := a.CA.Issue(b, testcluster.CertOptions{})
	pool := x509.NewCertPool()
	pool.AddCert(a.CA.Cert)
	tlsCfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{client.Cert.Raw}, PrivateKey: client.Key}}}
	tlsDial := func(network, address string, timeout time.Duration) (net.Conn, error) {
		return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, network, address, tlsCfg)
	}
	plainDial := func(network, address string, timeout time.Duration) (net.Conn, error) {
		return net.DialTimeout(network, address, timeout)
	}

	zkdSecure := testcluster.FreePort(b)
	secureKeys := func(port int) []string {
		return []string{
			"serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
			"secureClientPort=" + strconv.Itoa(port), "secureClientPortAddress=127.0.0.1",
			"ssl.keyStore.location=" + a.KeyStore, "ssl.trustStore.location=" + a.TrustStore,
		}
	}
	zkServer := testcluster.StartApacheZK(b, testcluster.ApacheOptions{ExtraConfig: secureKeys(a.SecurePort)})
	zkdServer := testcluster.StartZkd(b, testcluster.ZkdOptions{ExtraConfig: secureKeys(zkdSecure)})
	endpoints := []*tlsEndpoint{
		{server: "zkd", addr: zkdServer.Addr, dial: plainDial},
		{server: "zkd", tls: true, addr: "127.0.0.1:" + strconv.Itoa(zkdSecure), dial: tlsDial},
		{server: "ZooKeeper", addr: zkServer.Addr, dial: plainDial},
		{server: "ZooKeeper", tls: true, addr: a.SecureAddr, dial: tlsDial},
	}
	workloads := []loadgen.Workload{loadgen.GetData, loadgen.SetData}
	for _, e := range endpoints {
		e.results = map[loadgen.Workload]*loadgen.Result{}
		for i := range cfg.sessions {
			c, events, err := zk.Connect([]string{e.addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}), zk.WithDialer(e.dial))
			if err != nil {
				b.Fatalf("%s session %d: %v", e.name(), i, err)
			}
			b.Cleanup(c.Close)
			if err := waitForSession(ctx, events); err != nil {
				b.Fatalf("%s session %d: %v", e.name(), i, err)
			}
			e.sessions = append(e.sessions, zkSession{c})
		}
		if err := loadgen.Setup(ctx, e.sessions, loadgen.Config{}); err != nil {
			b.Fatalf("%s: %v", e.name(), err)
		}
	}
	run := func(e *tlsEndpoint, w loadgen.Workload, d time.Duration) *loadgen.Result {
		ctx, cancel := context.WithTimeout(ctx, d+2*time.Minute)
		defer cancel()
		res, err := loadgen.Run(ctx, e.sessions, loadgen.Config{Workload: w, Duration: d})
		if err != nil {
			b.Fatalf("%s, %v: %v", e.name(), w, err)
		}
		return res
	}
	// setUp opens and closes n sessions one after the other.
	setUp := func(e *tlsEndpoint, n int, measure bool) {
		start := time.Now()
		for range n {
			c, events, err := zk.Connect([]string{e.addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}), zk.WithDialer(e.dial))
			if err != nil {
				b.Fatalf("%s: %v", e.name(), err)
			}
			if err := waitForSession(ctx, events); err != nil {
				b.Fatalf("%s: %v", e.name(), err)
			}
			c.Close()
		}
		if measure {
			e.setups += time.Since(start)
			e.setupN += n
		}
	}
	const setupsPerRound = 100
	if cfg.warmup > 0 {
		for _, e := range endpoints {
			for _, w := range workloads {
				run(e, w, cfg.warmup)
			}
			setUp(e, setupsPerRound/4, false)
		}
	}
	perRound := cfg.duration / time.Duration(cfg.rounds)
	for r := range cfg.rounds {
		for i, w := range workloads {
			for k := range endpoints {
				e := endpoints[(k+r+i)%len(endpoints)]
				if e.results[w] == nil {
					e.results[w] = new(loadgen.Result)
				}
				e.results[w].Merge(run(e, w, perRound))
			}
		}
		for k := range endpoints {
			setUp(endpoints[(k+r)%len(endpoints)], setupsPerRound, true)
		}
	}

	w := os.Stdout
	fmt.Fprintf(w, "\n%d sessions per endpoint, go-zookeeper client, loopback, client certificates (ECDSA P-256, TLS 1.2 as both servers default to); %v measured per workload per endpoint in %d interleaved rounds after a %v warm-up; %d CPUs, %s.\n\n",
		cfg.sessions, cfg.duration, cfg.rounds, cfg.warmup, runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(w, "| workload | server | plain ops/s | TLS ops/s | TLS ÷ plain | plain p99 | TLS p99 | TLS ÷ plain |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	byName := map[string]*tlsEndpoint{}
	for _, e := range endpoints {
		byName[e.name()] = e
	}
	for _, wl := range workloads {
		for _, srv := range []string{"zkd", "ZooKeeper"} {
			p, t := byName[srv+" plain"].results[wl], byName[srv+" TLS"].results[wl]
			fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.2f | %s | %s | %.2f |\n", wl, srv,
				p.Throughput(), t.Throughput(), t.Throughput()/p.Throughput(),
				fmtDuration(p.Latency.Quantile(0.99)), fmtDuration(t.Latency.Quantile(0.99)),
				float64(t.Latency.Quantile(0.99))/float64(p.Latency.Quantile(0.99)))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| over TLS | zkd | ZooKeeper | zkd ÷ ZK |")
	fmt.Fprintln(w, "|---|--:|--:|--:|")
	for _, wl := range workloads {
		z, k := byName["zkd TLS"].results[wl], byName["ZooKeeper TLS"].results[wl]
		fmt.Fprintf(w, "| %s ops/s | %.0f | %.0f | **%.2f** |\n", wl, z.Throughput(), k.Throughput(), z.Throughput()/k.Throughput())
		fmt.Fprintf(w, "| %s p99 | %s | %s | **%.2f** |\n", wl, fmtDuration(z.Latency.Quantile(0.99)), fmtDuration(k.Latency.Quantile(0.99)),
			float64(z.Latency.Quantile(0.99))/float64(k.Latency.Quantile(0.99)))
	}
	rate := func(e *tlsEndpoint) float64 { return float64(e.setupN) / e.setups.Seconds() }
	for _, kind := range []string{"plain", "TLS"} {
		z, k := rate(byName["zkd "+kind]), rate(byName["ZooKeeper "+kind])
		fmt.Fprintf(w, "| sessions set up per second, %s, one at a time | %.0f | %.0f | **%.2f** |\n", kind, z, k, z/k)
	}
	for _, wl := range workloads {
		b.ReportMetric(byName["zkd TLS"].results[wl].Throughput()/byName["ZooKeeper TLS"].results[wl].Throughput(), wl.String()+"-tls-ops-zkd/zk")
	}
	b.ReportMetric(rate(byName["zkd TLS"])/rate(byName["ZooKeeper TLS"]), "tls-setups-zkd/zk")
	b.ReportMetric(0, "ns/op")
}

func (e *tlsEndpoint) name() string {
	if e.tls {
		return e.server + " TLS"
	}
	return e.server + " plain"
}
