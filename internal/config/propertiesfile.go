package config

import (
	"os"
)

// Property is one setting read from a properties file, with the line it
// starts on, so that a caller can name file and line in its own errors.
type Property struct {
	Key, Value string
	Line       int
}

// ReadPropertiesFile reads a file in java.util.Properties syntax, such as
// the client configuration file zkCli.sh takes with -client-configuration,
// and returns its settings in file order. A key set twice keeps its last
// value (at that setting's place), as java.util.Properties does. Keys and
// values are trimmed as ZooKeeper trims them. A malformed \uXXXX escape, or
// an unreadable file, is an *Error naming the file (and line).
func ReadPropertiesFile(path string) ([]Property, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Reason: "cannot read the file", Err: err}
	}
	var bad *Error
	entries := readPropertiesText(string(data), func(line int, reason string) {
		if bad == nil {
			bad = &Error{File: path, Line: line, Reason: reason}
		}
	})
	if bad != nil {
		return nil, bad
	}
	last := make(map[string]int, len(entries))
	for i, e := range entries {
		last[e.key] = i
	}
	var out []Property
	for i, e := range entries {
		if last[e.key] == i {
			out = append(out, Property{Key: e.key, Value: e.value, Line: e.line})
		}
	}
	return out, nil
}
