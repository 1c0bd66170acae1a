package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/loadgen"
	"github.com/zkd/zkd/internal/testcluster"
)

// BenchmarkTLSCost measures what TLS on the client port costs: getData and
// setData with 32 sessions (ZKD_BENCH_SESSIONS) against zkd and Apache
// ZooKeeper 3.8, each once over its plaintext clientPort and once over its
// secureClientPort (TLS 1.2, ZooKeeper's default protocol and cipher list,
// client certificates required), in one run. All four use the Netty
// connection factory (TLS needs it in ZooKeeper) and forceSync=no, so that
// fsync does not hide the cost. Rounds are interleaved as in
// BenchmarkSideBySide. Run it with
//
//	go test ./test/bench -run '^$' -bench TLSCost -benchtime 1x -timeout 20m
func BenchmarkTLSCost(b *testing.B) {
	cfg := readSettings(b)
	ctx := b.Context()
	testcluster.RequireInterop(b, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	dir := b.TempDir()
	ca := testcluster.NewCA(b, "bench CA")
	serverPEM := ca.Issue(b, testcluster.CertOptions{Subject: pkix.Name{CommonName: "server"}}).WritePEM(b, filepath.Join(dir, "server.pem"))
	caPEM := ca.WritePEM(b, filepath.Join(dir, "ca.pem"))
	clientConf := testcluster.TLSConfig(ca, ca.Issue(b, testcluster.CertOptions{Subject: pkix.Name{CommonName: "bench"}}))
	clientConf.ServerName = "127.0.0.1"
	tlsDialer := func(network, addr string, timeout time.Duration) (net.Conn, error) {
		return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, network, addr, clientConf)
	}
	securePorts := []int{testcluster.FreePort(b), testcluster.FreePort(b)}
	conf := func(securePort int) []string {
		return []string{
			"serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
			"forceSync=no",
			"secureClientPort=" + strconv.Itoa(securePort),
			"secureClientPortAddress=127.0.0.1",
			"ssl.keyStore.location=" + serverPEM,
			"ssl.trustStore.location=" + caPEM,
		}
	}
	z := testcluster.StartZkd(b, testcluster.ZkdOptions{ExtraConfig: conf(securePorts[0])})
	a := testcluster.StartApacheZK(b, testcluster.ApacheOptions{ExtraConfig: conf(securePorts[1])})
	zPlain := newServer(b, "zkd", z.Addr, z.Port)
	aPlain := newServer(b, "ZooKeeper", a.Addr, a.Port)
	zTLS, aTLS := *zPlain, *aPlain
	zTLS.name, zTLS.addr = "zkd TLS", net.JoinHostPort("127.0.0.1", strconv.Itoa(securePorts[0]))
	aTLS.name, aTLS.addr = "ZooKeeper TLS", net.JoinHostPort("127.0.0.1", strconv.Itoa(securePorts[1]))
	servers := []*server{zPlain, &zTLS, aPlain, &aTLS}
	// A server's plaintext and TLS sessions share its tree: each set works
	// under its own root.
	roots := map[*server]string{zPlain: "/loadgen", &zTLS: "/loadgen-tls", aPlain: "/loadgen", &aTLS: "/loadgen-tls"}
	for _, s := range servers {
		s.results = map[loadgen.Workload]*loadgen.Result{}
		s.cpu = map[loadgen.Workload]time.Duration{}
		s.client = map[loadgen.Workload]time.Duration{}
		var dialer zk.Dialer
		if s == &zTLS || s == &aTLS {
			dialer = tlsDialer
		}
		conns, err := dialSessionsVia(ctx, s.addr, cfg.sessions, dialer)
		if err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		b.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		s.sessions = make([]loadgen.Session, len(conns))
		for i, c := range conns {
			s.sessions[i] = zkSession{c}
		}
		if err := loadgen.Setup(ctx, s.sessions, loadgen.Config{Root: roots[s]}); err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
	}
	workloads := []loadgen.Workload{loadgen.GetData, loadgen.SetData}
	run := func(s *server, w loadgen.Workload, d time.Duration) *loadgen.Result {
		ctx, cancel := context.WithTimeout(ctx, d+2*time.Minute)
		defer cancel()
		srv0, cli0 := cpuTimes(b, s)
		res, err := loadgen.Run(ctx, s.sessions, loadgen.Config{Workload: w, Duration: d, Root: roots[s]})
		if err != nil {
			b.Fatalf("%s, %v: %v", s.name, w, err)
		}
		srv1, cli1 := cpuTimes(b, s)
		s.cpu[w] += srv1 - srv0
		s.client[w] += cli1 - cli0
		return res
	}
	for _, w := range workloads {
		for _, s := range servers {
			run(s, w, cfg.warmup)
		}
	}
	for _, s := range servers {
		clear(s.cpu)
		clear(s.client)
	}
	perRound := cfg.duration / time.Duration(cfg.rounds)
	for r := range cfg.rounds {
		for i, w := range workloads {
			for k := range servers {
				s := servers[(k+r+i)%len(servers)]
				if s.results[w] == nil {
					s.results[w] = new(loadgen.Result)
				}
				s.results[w].Merge(run(s, w, perRound))
			}
		}
	}
	printTLSReport(os.Stdout, cfg, workloads, servers)
	for _, w := range workloads {
		b.ReportMetric(zTLS.results[w].Throughput()/zPlain.results[w].Throughput(), w.String()+"-zkd-tls/plain")
		b.ReportMetric(aTLS.results[w].Throughput()/aPlain.results[w].Throughput(), w.String()+"-zk-tls/plain")
	}
	b.ReportMetric(0, "ns/op")
}

// printTLSReport writes each server's figures and, per server, TLS as a
// ratio of plaintext.
func printTLSReport(w io.Writer, cfg settings, workloads []loadgen.Workload, servers []*server) {
	fmt.Fprintf(w, "\n%d sessions per server, go-zookeeper client, loopback, forceSync=no, Netty factory; %v measured per workload per server in %d interleaved rounds after a %v warm-up; %d CPUs, %s.\n\n",
		cfg.sessions, cfg.duration, cfg.rounds, cfg.warmup, runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(w, "| workload | server | ops/s | p50 | p99 | p99.9 | server CPU/op | client CPU/op |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	for _, wl := range workloads {
		for _, s := range servers {
			r := s.results[wl]
			h := r.Latency
			fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s |\n", wl, s.name, r.Throughput(),
				fmtDuration(h.Quantile(0.5)), fmtDuration(h.Quantile(0.99)), fmtDuration(h.Quantile(0.999)),
				fmtDuration(perOp(s.cpu[wl], r)), fmtDuration(perOp(s.client[wl], r)))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | server | TLS ÷ plaintext ops/s | TLS ÷ plaintext p99 | TLS ÷ plaintext server CPU/op |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|")
	for _, wl := range workloads {
		for i := 0; i+1 < len(servers); i += 2 {
			p, t := servers[i].results[wl], servers[i+1].results[wl]
			fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %.2f |\n", wl, servers[i].name, t.Throughput()/p.Throughput(),
				float64(t.Latency.Quantile(0.99))/float64(p.Latency.Quantile(0.99)),
				float64(perOp(servers[i+1].cpu[wl], t))/float64(perOp(servers[i].cpu[wl], p)))
		}
	}
	fmt.Fprintln(w)
}
