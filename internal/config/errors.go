package config

import (
	"strconv"
	"strings"
)

// Error is a configuration error. It names the file, the line and the key it
// is about, so that an operator can find and fix it. Line is 0 when the error
// is not tied to one line (for example a required key that is missing), and
// File is "" for properties that came from the command line.
type Error struct {
	File   string // file the setting was read from, "" if none
	Line   int    // 1-based line of the setting, 0 if none
	Key    string // the key or property name, "" if the line has none
	Reason string // what is wrong, with the offending value quoted
	Err    error  // underlying cause (for example from the file system), or nil
}

// Error formats the error as "file:line: key: reason", leaving out the parts
// that are empty.
func (e *Error) Error() string {
	return location(e.File, e.Line, e.Key) + e.Reason
}

// Unwrap returns the underlying cause, so that errors.Is(err, fs.ErrNotExist)
// works on a missing file.
func (e *Error) Unwrap() error { return e.Err }

// Warning is a problem in the configuration that does not stop the server,
// such as a key that neither zkd nor ZooKeeper knows (probably a typo).
// Callers log warnings; the package never does.
type Warning struct {
	File    string // file the setting was read from, "" if none
	Line    int    // 1-based line of the setting, 0 if none
	Key     string // the key or property name
	Message string // what looks wrong
}

// String formats the warning like [Error.Error]: "file:line: key: message".
func (w Warning) String() string {
	return location(w.File, w.Line, w.Key) + w.Message
}

// location renders the "file:line: key: " prefix shared by errors and
// warnings.
func location(file string, line int, key string) string {
	var b strings.Builder
	if file != "" {
		b.WriteString(file)
		if line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(line))
		}
		b.WriteString(": ")
	}
	if key != "" {
		b.WriteString(key)
		b.WriteString(": ")
	}
	return b.String()
}
