package sasl

import (
	"errors"
	"fmt"
	"strings"
)

// Token kinds of a JAAS file besides the punctuation characters { } ; =,
// which are their own kind.
const (
	tokEOF    rune = -1
	tokWord   rune = -2
	tokString rune = -3
)

// jaasToken is one token and the line it starts on.
type jaasToken struct {
	kind rune
	text string
	line int
}

func (t jaasToken) String() string {
	switch t.kind {
	case tokEOF:
		return "the end of the file"
	case tokWord:
		return fmt.Sprintf("%q", t.text)
	case tokString:
		// Quoted strings are values, often passwords: never shown.
		return "a quoted string"
	}
	return fmt.Sprintf("%q", string(t.kind))
}

// jaasLexer splits a JAAS file into tokens, skipping blanks and comments.
type jaasLexer struct {
	src  string
	pos  int
	line int
}

// wordByte reports whether c may appear in an unquoted word: class names,
// flags, option names and plain values (paths, principals, numbers).
func wordByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("._$-*@:/\\+%~", c) >= 0 || c >= 0x80
}

func (l *jaasLexer) next() (jaasToken, error) {
	if err := l.skip(); err != nil {
		return jaasToken{line: l.line}, err
	}
	if l.pos >= len(l.src) {
		return jaasToken{kind: tokEOF, line: l.line}, nil
	}
	c := l.src[l.pos]
	start := l.line
	switch {
	case c == '{' || c == '}' || c == ';' || c == '=':
		l.pos++
		return jaasToken{kind: rune(c), line: start}, nil
	case c == '"':
		s, err := l.quoted()
		return jaasToken{kind: tokString, text: s, line: start}, err
	case wordByte(c):
		i := l.pos
		for l.pos < len(l.src) && wordByte(l.src[l.pos]) {
			if l.src[l.pos] == '/' && l.pos+1 < len(l.src) && (l.src[l.pos+1] == '/' || l.src[l.pos+1] == '*') {
				break // a comment starts
			}
			l.pos++
		}
		return jaasToken{kind: tokWord, text: l.src[i:l.pos], line: start}, nil
	}
	return jaasToken{line: start}, fmt.Errorf("unexpected character %q", c)
}

// skip moves past blanks and comments.
func (l *jaasLexer) skip() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			l.pos++
		case strings.HasPrefix(l.src[l.pos:], "//"):
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			start := l.line
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				l.line = start
				return errors.New("comment /* is never closed")
			}
			l.line += strings.Count(l.src[l.pos:l.pos+2+end], "\n")
			l.pos += 2 + end + 2
		default:
			return nil
		}
	}
	return nil
}

// quoted reads a double-quoted string starting at l.pos.
func (l *jaasLexer) quoted() (string, error) {
	var b strings.Builder
	l.pos++ // opening quote
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '"':
			l.pos++
			return b.String(), nil
		case '\n':
			return "", errors.New("quoted string is not closed on its line")
		case '\\':
			if l.pos+1 >= len(l.src) {
				return "", errors.New("quoted string ends in a backslash")
			}
			l.pos++
			switch e := l.src[l.pos]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
		l.pos++
	}
	return "", errors.New("quoted string is not closed")
}
