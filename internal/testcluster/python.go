package testcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Python runs the Python script file at path script with Debian's
// /usr/bin/python3, which can import kazoo, and returns its stdout. If the
// script exits non-zero or ctx ends first, the error carries the exit status
// and the script's stderr. Check RequireInterop(t, NeedKazoo) first.
func Python(ctx context.Context, script string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, Python3, append([]string{script}, args...)...)
	cmd.Env = pythonEnv()
	stdout, stderr, err := runOneShot(ctx, cmd)
	if err != nil {
		return stdout, fmt.Errorf("python3 %s %s: %w\nstderr:\n%s", script, strings.Join(args, " "), err, stderr)
	}
	return stdout, nil
}

// pythonEnv is the environment for Python3: the test's own, minus variables
// that would point it at another interpreter's libraries (a pyenv on PATH
// sets some), with output unbuffered and no bytecode written next to the
// scripts in testdata.
func pythonEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "PYTHONNOUSERSITE=1")
}
