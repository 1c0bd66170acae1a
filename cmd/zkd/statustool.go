package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// fourLetter sends a four-letter word to a server and returns its answer.
func fourLetter(addr, word string, timeout time.Duration) (string, error) {
	if !strings.Contains(addr, ":") {
		addr += ":2181"
	}
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(nc, word); err != nil {
		return "", err
	}
	out, err := io.ReadAll(nc)
	return string(out), err
}

// runFourLetter implements `zkd 4lw host:port word`.
func runFourLetter(args []string, stdout io.Writer) error {
	if len(args) != 2 || len(args[1]) != 4 {
		return errors.New("usage: zkd 4lw host:port word (e.g. zkd 4lw 127.0.0.1:2181 mntr)")
	}
	out, err := fourLetter(args[0], args[1], 10*time.Second)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	fmt.Fprint(stdout, out)
	if out != "" && !strings.HasSuffix(out, "\n") {
		fmt.Fprintln(stdout)
	}
	return nil
}

// runStatus implements `zkd status host:port`: the server's mode and
// vital numbers from srvr, like zkServer.sh status.
func runStatus(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: zkd status host:port")
	}
	out, err := fourLetter(args[0], "srvr", 10*time.Second)
	if err != nil {
		return fmt.Errorf("%s is not answering: %w", args[0], err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			fields[k] = v
		}
	}
	mode, ok := fields["Mode"]
	if !ok {
		return fmt.Errorf("%s did not answer srvr like a ZooKeeper server: %q", args[0], strings.TrimSpace(out))
	}
	fmt.Fprintf(stdout, "Server: %s\nMode: %s\n", args[0], mode)
	for _, k := range []string{"Zxid", "Connections", "Outstanding", "Node count", "Latency min/avg/max", "Zookeeper version"} {
		if v, ok := fields[k]; ok {
			fmt.Fprintf(stdout, "%s: %s\n", k, v)
		}
	}
	return nil
}
