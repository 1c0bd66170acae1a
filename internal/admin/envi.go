package admin

import (
	"math"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// property is one key=value line of envi.
type property struct {
	key, value string
}

// notAvailable is what ZooKeeper prints for a property that has no value.
const notAvailable = "<NA>"

// runtimeEnvironment returns envi's lines after zookeeper.version, in
// ZooKeeper's key order. The java.* keys describe the Go runtime and the
// zkd executable instead of a JVM; os.memory.* describe the Go heap in MB
// (free and total as the heap's unused part and size, max as the memory
// limit, which like Java's unlimited maximum prints Long.MAX_VALUE/1MiB
// when none is set).
func runtimeEnvironment() []property {
	exe, err := os.Executable()
	if err != nil {
		exe = notAvailable
	}
	home := notAvailable
	if exe != notAvailable {
		home = filepath.Dir(exe)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return []property{
		{"host.name", orNA(os.Hostname())},
		{"java.version", runtime.Version()},
		{"java.vendor", "zkd"},
		{"java.home", home},
		{"java.class.path", exe},
		{"java.library.path", orNA(os.Getenv("LD_LIBRARY_PATH"), nil)},
		{"java.io.tmpdir", os.TempDir()},
		{"java.compiler", runtime.Compiler},
		{"os.name", osName(runtime.GOOS)},
		{"os.arch", osArch(runtime.GOARCH)},
		{"os.version", osVersion()},
		{"user.name", userName()},
		{"user.home", orNA(os.UserHomeDir())},
		{"user.dir", orNA(os.Getwd())},
		{"os.memory.free", megabytes(ms.HeapSys - ms.HeapAlloc)},
		{"os.memory.max", megabytes(uint64(debug.SetMemoryLimit(-1)))},
		{"os.memory.total", megabytes(ms.HeapSys)},
	}
}

// orNA returns v, or "<NA>" when it is empty or err is set.
func orNA(v string, err error) string {
	if err != nil || v == "" {
		return notAvailable
	}
	return v
}

// megabytes formats a byte count as Java's envi does: whole MiB and "MB".
func megabytes(n uint64) string {
	if n > math.MaxInt64 {
		n = math.MaxInt64
	}
	return strconv.FormatUint(n/(1<<20), 10) + "MB"
}

// osName returns the os.name a JVM reports on the same system.
func osName(goos string) string {
	switch goos {
	case "linux":
		return "Linux"
	case "darwin":
		return "Mac OS X"
	case "windows":
		return "Windows"
	case "freebsd":
		return "FreeBSD"
	case "openbsd":
		return "OpenBSD"
	case "netbsd":
		return "NetBSD"
	case "solaris", "illumos":
		return "SunOS"
	case "aix":
		return "AIX"
	}
	return goos
}

// osArch returns the os.arch a JVM reports on the same system.
func osArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm64":
		return "aarch64"
	}
	return goarch
}

// osVersion returns the kernel release where the system tells it without
// a system call (Linux), else "<NA>".
func osVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	return orNA(strings.TrimSpace(string(b)), err)
}

// userName returns the name of the user the process runs as.
func userName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return orNA(os.Getenv("USER"), nil)
}
