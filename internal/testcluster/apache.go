package testcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ApacheOptions adjusts the Apache ZooKeeper server StartApacheZK runs.
type ApacheOptions struct {
	// ExtraConfig lines are appended to the generated zoo.cfg, for example
	// "maxSessionTimeout=60000".
	ExtraConfig []string
	// JVMFlags are passed to java before the main class, for example
	// "-Dzookeeper.extendedTypesEnabled=true".
	JVMFlags []string
	// DataDir, when set, is used as the data directory (which must exist)
	// instead of a fresh one, e.g. one that zkd wrote.
	DataDir string
	// Env entries ("KEY=value") are added to the server's environment,
	// for example KRB5_CONFIG for a test's own Kerberos realm.
	Env []string
	// CPUs, when set, runs the JVM under "taskset -c CPUs" (a CPU list
	// such as "1" or "0-1"), so that it sizes its thread pools for those
	// CPUs and runs only on them.
	CPUs string
}

// ApacheZK is a standalone Apache ZooKeeper 3.8 server running as a child
// process of the test. It is stopped when the test ends.
type ApacheZK struct {
	Addr    string // "127.0.0.1:port", for clients
	Port    int    // the client port
	DataDir string // snapshots and transaction logs, inside the test's temp dir
	LogPath string // the server's stdout and stderr

	srv *server
}

// StartApacheZK starts a standalone Apache ZooKeeper server on a free
// loopback port with a fresh data directory, and returns once it answers
// "ruok" with "imok" and "srvr" with its version and mode. It skips the test
// (or fails it, see RequireInterop) when Java or the ZooKeeper jars are
// missing, and fails it when the server does not come up within 30 seconds.
//
// The generated zoo.cfg sets tickTime=2000, the client port and address,
// dataDir, admin.enableServer=false and 4lw.commands.whitelist=*, then
// opts.ExtraConfig.
func StartApacheZK(t testing.TB, opts ApacheOptions) *ApacheZK {
	t.Helper()
	RequireInterop(t, NeedJava, NeedApacheZooKeeper)
	dir := t.TempDir()
	log4jProps := filepath.Join(dir, "log4j.properties")
	if err := os.WriteFile(log4jProps, []byte(log4jConfig), 0o644); err != nil {
		t.Fatalf("StartApacheZK: %v", err)
	}
	zk := &ApacheZK{DataDir: opts.DataDir, LogPath: filepath.Join(dir, "zookeeper.log")}
	if zk.DataDir == "" {
		zk.DataDir = filepath.Join(dir, "data")
	}
	if err := os.MkdirAll(zk.DataDir, 0o755); err != nil {
		t.Fatalf("StartApacheZK: %v", err)
	}
	command := func(cfg string) *exec.Cmd {
		args := []string{
			"-Xmx256m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Djava.awt.headless=true",
			"-Dlog4j.configuration=file:" + log4jProps,
		}
		args = append(args, opts.JVMFlags...)
		args = append(args, "-cp", apacheClasspath(), "org.apache.zookeeper.server.ZooKeeperServerMain", cfg)
		cmd := pinned(opts.CPUs, "java", args...)
		if len(opts.Env) > 0 {
			cmd.Env = append(os.Environ(), opts.Env...)
		}
		return cmd
	}
	zk.srv, zk.Port, zk.Addr = launch(t, "Apache ZooKeeper", dir, zk.DataDir, zk.LogPath, opts.ExtraConfig, command, apacheReady)
	return zk
}

// apacheClasspath is the server's classpath: the ZooKeeper jar (which pulls
// in its dependencies through its manifest), Netty's codec jar, which that
// manifest (Debian's) leaves out although NettyServerCnxnFactory, the
// factory TLS needs, loads it, and, when installed, the log4j binding for
// slf4j so that the server's log is not silently dropped.
func apacheClasspath() string {
	cp := []string{ZooKeeperJar}
	for _, jar := range []string{nettyCodecJar, servletAPIJar} {
		if fileExists(jar) == nil {
			cp = append(cp, jar)
		}
	}
	if fileExists(slf4jLog4jJar) == nil && fileExists(log4jJar) == nil {
		cp = append(cp, slf4jLog4jJar, log4jJar)
	}
	return strings.Join(cp, string(os.PathListSeparator))
}

// log4jConfig sends the server's log lines to stdout, which StartApacheZK
// redirects to the log file.
const log4jConfig = `log4j.rootLogger=INFO, OUT
log4j.appender.OUT=org.apache.log4j.ConsoleAppender
log4j.appender.OUT.layout=org.apache.log4j.PatternLayout
log4j.appender.OUT.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] %m%n
`

// apacheReady reports whether the server answers "ruok" and serves "srvr"
// (which a server still loading its database refuses).
func apacheReady(addr string) error {
	if err := answersRuok(addr); err != nil {
		return err
	}
	got, err := fourLetter(addr, "srvr", probeTimeout)
	if err != nil {
		return err
	}
	if !strings.Contains(got, "Mode: ") {
		return fmt.Errorf("srvr answered %q", got)
	}
	return nil
}

// Stop ends the server with SIGTERM, then SIGKILL if it has not exited
// within ten seconds, and returns once it is gone. Calling it again, or after
// Kill, does nothing.
func (zk *ApacheZK) Stop() { zk.srv.stop() }

// Kill ends the server with SIGKILL, as a crash would, and returns once it
// is gone.
func (zk *ApacheZK) Kill() { zk.srv.kill() }

// LogTail returns the last lines of the server's log, labelled with its path.
func (zk *ApacheZK) LogTail() string { return zk.srv.logTail() }

// ZkCli runs Apache ZooKeeper's command-line client once against the server
// at addr: "zkCli.sh -server addr args...", which connects (as a new
// session), runs the one command and exits without closing the session, so
// ephemeral nodes it creates live on until the session times out.
//
// It returns the client's stdout and stderr with the client's own chatter
// removed, leaving what the command printed: the "Connecting to" banner, the
// "WATCHER::" notice of the connection event, and slf4j's complaints about
// having no logger binding. A command that fails exits with status 1; use
// ExitCode on err to tell. Times in Stat output are printed in UTC. A run
// takes about half a second (JVM start-up); ctx bounds it.
func ZkCli(ctx context.Context, addr string, args ...string) (stdout, stderr string, err error) {
	return ZkCliWith(ctx, ZkCliOptions{}, addr, args...)
}

// ZkCliOptions adjust one ZkCliWith run.
type ZkCliOptions struct {
	// JVMFlags are added to the client's JVM flags, for example
	// "-Djava.security.auth.login.config=/path/jaas.conf" or
	// "-Dzookeeper.client.secure=true".
	JVMFlags []string
	// Env entries ("KEY=value") are added to the client's environment,
	// for example KRB5_CONFIG for a test's own Kerberos realm.
	Env []string
	// Args go before "-server", for example "-client-configuration", path.
	Args []string
	// KeepNotices keeps stdout as the client printed it, with the
	// connection-state notices ("WatchedEvent state:SaslAuthenticated
	// type:None path:null", AuthFailed, ...) that CleanZkCliStdout removes.
	KeepNotices bool
}

// ZkCliWith is ZkCli with extra JVM flags, environment and arguments.
func ZkCliWith(ctx context.Context, opts ZkCliOptions, addr string, args ...string) (stdout, stderr string, err error) {
	// -waitforconnection makes the client wait for the session before it
	// runs the command, so the connection notice is printed first.
	argv := append(append(append([]string(nil), opts.Args...), "-waitforconnection", "-server", addr), args...)
	cmd := exec.CommandContext(ctx, ZkCliScript, argv...)
	// zkCli.sh passes CLIENT_JVMFLAGS to java. These flags trim JVM
	// start-up work a one-shot client does not need. TZ=UTC makes the
	// times in Stat output independent of the machine's zone.
	flags := strings.Join(append([]string{zkCliJVMFlags}, opts.JVMFlags...), " ")
	cmd.Env = append(append(os.Environ(),
		"CLIENT_JVMFLAGS="+flags,
		"TZ=UTC"), opts.Env...)
	stdout, stderr, err = runOneShot(ctx, cmd)
	if err != nil && ExitCode(err) == -1 {
		err = fmt.Errorf("zkCli %s: %w\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout, stderr)
	}
	if !opts.KeepNotices {
		stdout = CleanZkCliStdout(stdout)
	}
	return stdout, CleanZkCliStderr(stderr), err
}

// ZkCliNettyClasspath is a JVM flag for ZkCliOptions.JVMFlags that gives
// zkCli.sh the Netty jars its TLS client socket
// (zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty)
// loads and Debian's zkCli.sh classpath lacks (codec, resolver); java
// takes the last -cp it is given.
const ZkCliNettyClasspath = "-cp /etc/zookeeper/conf:" + ZooKeeperJar + ":" + nettyCodecJar + ":/usr/share/java/netty-resolver.jar"

// zkCliJVMFlags trim JVM start-up work a one-shot client does not need;
// -XX:-UsePerfData also stops the JVM from warning, on stdout, when the
// hsperfdata file of a reused PID is locked by another JVM.
const zkCliJVMFlags = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -XX:-UsePerfData"

// jvmLogLine matches a line of the JVM's own unified logging, such as
// "[0.001s][warning][perf,memops] Cannot use file ...", which is not the
// client's output.
var jvmLogLine = regexp.MustCompile(`^\[\d+\.\d+s\]\[\w+\]\[`)

// CleanZkCliStdout removes from zkCli's stdout the lines the client prints
// on its own: the "Connecting to host:port" line it starts with, the
// "WATCHER::" header it prints before every watch notification, and the
// notifications of connection-state changes ("WatchedEvent state:...
// type:None path:null"). The header and each notification are printed as a
// blank line then the text, from another thread than the command's output,
// so each pair is removed together wherever it lands. Notifications of node
// events (type other than None) are kept.
func CleanZkCliStdout(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\n")
		if i == 0 && strings.HasPrefix(l, "Connecting to ") {
			continue
		}
		if jvmLogLine.MatchString(l) {
			continue
		}
		if l == "" && i+1 < len(lines) && isConnectionNotice(strings.TrimRight(lines[i+1], "\n")) {
			i++
			continue
		}
		b.WriteString(lines[i])
	}
	return b.String()
}

func isConnectionNotice(l string) bool {
	return l == "WATCHER::" ||
		strings.HasPrefix(l, "WatchedEvent state:") && strings.HasSuffix(l, " type:None path:null")
}

// CleanZkCliStderr removes slf4j's start-up warnings (Debian's zkCli.sh has
// no logger binding on its classpath) from zkCli's stderr.
func CleanZkCliStderr(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(l, "SLF4J: ") || jvmLogLine.MatchString(l) {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

// CClient runs one command of ZooKeeper's C client shell against the
// server at addr ("cli_mt -h addr -c command", its batch mode) and returns
// what it printed, stdout and stderr together (the shell mixes them). The
// shell connects, runs the command, waits for its answer and exits; it
// does not close its session.
func CClient(ctx context.Context, addr, command string) (string, error) {
	cmd := exec.CommandContext(ctx, CClientShell, "-h", addr, "-c", command)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	stdout, stderr, err := runOneShot(ctx, cmd)
	if err != nil && ExitCode(err) == -1 {
		return stdout + stderr, fmt.Errorf("cli_mt -c %q: %w\n%s%s", command, err, stdout, stderr)
	}
	return stdout + stderr, nil
}
