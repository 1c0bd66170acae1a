package testcluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kinitPassword runs kinit for principal with password on stdin and returns
// its output and error.
func kinitPassword(t *testing.T, k *KDC, principal, password, ccache string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Kinit, "-c", "FILE:"+ccache, principal)
	cmd.Env = append(os.Environ(), k.Env()...)
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestKDCIssuesTicketsToKeytabAndPasswordPrincipals(t *testing.T) {
	k := StartKDC(t, "KDC.TEST")
	keytab := filepath.Join(t.TempDir(), "svc.keytab")
	k.AddPrincipalKeytab(t, "svc/localhost", keytab)
	ccache := filepath.Join(t.TempDir(), "cc")
	k.Kinit(t, "svc/localhost@KDC.TEST", keytab, ccache)
	if fi, err := os.Stat(ccache); err != nil || fi.Size() == 0 {
		t.Fatalf("kinit from the keytab left no credential cache: %v", err)
	}

	k.AddPrincipalPassword(t, "alice", "correct horse")
	if out, err := kinitPassword(t, k, "alice", "correct horse", ccache); err != nil {
		t.Fatalf("kinit alice with her password: %v\n%s", err, out)
	}
	if out, err := kinitPassword(t, k, "alice", "wrong", ccache); err == nil {
		t.Fatalf("kinit alice with a wrong password succeeded:\n%s", out)
	}

	k.DeletePrincipal(t, "svc/localhost")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Kinit, "-k", "-t", keytab, "-c", "FILE:"+ccache, "svc/localhost@KDC.TEST")
	cmd.Env = append(os.Environ(), k.Env()...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "not found in Kerberos database") {
		t.Fatalf("kinit for a deleted principal: err=%v, output %q; want failure naming the database", err, out)
	}
}
