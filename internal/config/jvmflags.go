package config

import "strings"

// ParseJVMFlags extracts the -Dkey=value system properties from a
// SERVER_JVMFLAGS or JVMFLAGS string, so that settings an operator passes
// to Java ZooKeeper reach zkd too. Tokens are separated by whitespace;
// single and double quotes group text and are removed (no backslash
// escapes; an unclosed quote runs to the end). "-Dkey" without '=' sets key
// to "", as the JVM does, and the last setting of a key wins.
//
// It also returns the tokens it ignored (-Xmx1g, -XX:+UseG1GC, a bare -D
// and so on), in order, so that the caller can say in one line that they
// have no effect.
func ParseJVMFlags(s string) (Properties, []string) {
	props := make(Properties)
	var ignored []string
	for _, tok := range splitFlags(s) {
		body, isDefine := strings.CutPrefix(tok, "-D")
		key, value, _ := strings.Cut(body, "=")
		if !isDefine || key == "" {
			ignored = append(ignored, tok)
			continue
		}
		props[key] = value
	}
	return props, ignored
}

// splitFlags splits s into words the way a shell would for simple quoting.
func splitFlags(s string) []string {
	var words []string
	var b strings.Builder
	inWord := false
	var quote byte // the open quote character, or 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteByte(c)
			inWord = true
		}
	}
	if inWord && b.Len() > 0 {
		words = append(words, b.String())
	}
	return words
}

// ParseDefineArgs splits command-line arguments into -Dkey=value
// properties and the remaining arguments, which keep their order. An
// argument "--" ends the search: it and everything after it are returned
// unchanged. A -D argument without a key or without '=' is an error naming
// it; all such errors are joined.
func ParseDefineArgs(args []string) (Properties, []string, error) {
	props := make(Properties)
	var rest []string
	var errs []error
	for i, a := range args {
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		body, isDefine := strings.CutPrefix(a, "-D")
		if !isDefine {
			rest = append(rest, a)
			continue
		}
		key, value, ok := strings.Cut(body, "=")
		if !ok || key == "" {
			errs = append(errs, &Error{Key: a, Reason: "malformed, want -Dkey=value"})
			continue
		}
		props[key] = value
	}
	if len(errs) > 0 {
		return nil, nil, joinErrors(errs)
	}
	return props, rest, nil
}
