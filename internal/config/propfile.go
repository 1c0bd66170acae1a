package config

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// entry is one key/value pair read from a properties file, with the line
// its logical line starts on.
type entry struct {
	key, value string
	line       int
}

// logicalLine is a line of properties text after comments, blank lines and
// continuations have been dealt with, still escaped.
type logicalLine struct {
	line int
	text string
}

// readPropertiesText reads text in java.util.Properties syntax (spec §8.1)
// and returns its entries in file order, duplicates included. Keys and
// values are unescaped and then trimmed of leading and trailing characters
// up to U+0020, as ZooKeeper does after loading. Bytes outside ASCII are
// kept as they are (Java would read the file as ISO-8859-1).
//
// The only error java.util.Properties knows is a malformed \uXXXX escape;
// such a line is reported through bad and left out.
func readPropertiesText(text string, bad func(line int, reason string)) []entry {
	var out []entry
	for _, l := range splitLogicalLines(text) {
		rawKey, rawValue := splitKeyValue(l.text)
		key, kerr := unescape(rawKey)
		value, verr := unescape(rawValue)
		if kerr != "" || verr != "" {
			bad(l.line, kerr+verr)
			continue
		}
		out = append(out, entry{key: javaTrim(key), value: javaTrim(value), line: l.line})
	}
	return out
}

// isPropSpace reports whether c is whitespace to java.util.Properties.
func isPropSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// trimPropSpace drops leading properties whitespace.
func trimPropSpace(s string) string {
	i := 0
	for i < len(s) && isPropSpace(s[i]) {
		i++
	}
	return s[i:]
}

// javaTrim removes leading and trailing characters <= U+0020, like Java's
// String.trim.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// splitLogicalLines joins continued lines and drops blank and comment
// lines. Natural lines end at "\n", "\r" or "\r\n". A line whose first
// non-blank character is '#' or '!' is a comment and never continues. A line
// ending in an odd number of backslashes continues on the next line, whose
// leading whitespace is skipped; a blank continuation line ends it.
func splitLogicalLines(text string) []logicalLine {
	var out []logicalLine
	pos, lineNo := 0, 1
	next := func() (s string, n int, ok bool) {
		if pos >= len(text) {
			return "", 0, false
		}
		end := pos
		for end < len(text) && text[end] != '\n' && text[end] != '\r' {
			end++
		}
		s, n = text[pos:end], lineNo
		if end < len(text) {
			if text[end] == '\r' && end+1 < len(text) && text[end+1] == '\n' {
				end++
			}
			end++
			lineNo++
		}
		pos = end
		return s, n, true
	}
	for {
		natural, start, ok := next()
		if !ok {
			return out
		}
		s := trimPropSpace(natural)
		if s == "" || s[0] == '#' || s[0] == '!' {
			continue
		}
		var b strings.Builder
		for {
			more := endsInOddBackslashes(s)
			if more {
				s = s[:len(s)-1]
			}
			b.WriteString(s)
			if !more {
				break
			}
			natural, _, ok = next()
			if !ok {
				break
			}
			s = trimPropSpace(natural)
			if s == "" {
				break
			}
		}
		if b.Len() > 0 {
			out = append(out, logicalLine{line: start, text: b.String()})
		}
	}
}

// endsInOddBackslashes reports whether s ends in an unescaped backslash.
func endsInOddBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitKeyValue splits an escaped logical line into its escaped key and
// value. The key ends at the first unescaped '=', ':' or whitespace; then
// whitespace and at most one '=' or ':' are skipped.
func splitKeyValue(s string) (key, value string) {
	keyEnd, valueStart := len(s), len(s)
	hasSep, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !escaped && (c == '=' || c == ':') {
			keyEnd, valueStart, hasSep = i, i+1, true
			break
		}
		if !escaped && isPropSpace(c) {
			keyEnd, valueStart = i, i+1
			break
		}
		escaped = c == '\\' && !escaped
	}
	for valueStart < len(s) {
		c := s[valueStart]
		if !isPropSpace(c) {
			if hasSep || (c != '=' && c != ':') {
				break
			}
			hasSep = true
		}
		valueStart++
	}
	return s[:keyEnd], s[valueStart:]
}

// unescape interprets the backslash escapes of java.util.Properties: \t, \n,
// \r, \f, \uXXXX (UTF-16 code units; surrogate pairs are joined) and \c for
// any other c. It returns a reason when a \u escape is malformed.
func unescape(s string) (string, string) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, ""
	}
	var b strings.Builder
	var units []uint16 // pending \u code units, flushed on any other byte
	flush := func() {
		if len(units) > 0 {
			for _, r := range utf16.Decode(units) {
				b.WriteRune(r)
			}
			units = units[:0]
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flush()
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break // a lone trailing backslash is dropped
		}
		switch c = s[i]; c {
		case 'u':
			if i+5 > len(s) {
				return "", `malformed \uXXXX escape`
			}
			var u uint16
			for _, h := range []byte(s[i+1 : i+5]) {
				d, ok := hexDigit(h)
				if !ok {
					return "", `malformed \uXXXX escape`
				}
				u = u<<4 | uint16(d)
			}
			units = append(units, u)
			i += 4
			continue
		case 't':
			c = '\t'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 'f':
			c = '\f'
		}
		flush()
		b.WriteByte(c)
	}
	flush()
	return b.String(), ""
}

// hexDigit returns the value of one hexadecimal digit.
func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escapeKey escapes s so that splitKeyValue and unescape read it back as the
// same key.
func escapeKey(s string) string { return escapeProp(s, true) }

// escapeValue escapes s so that it reads back as the same value after '='.
func escapeValue(s string) string { return escapeProp(s, false) }

func escapeProp(s string, key bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			b.WriteByte(s[i]) // keep bytes that are not UTF-8 as they are
			i++
			continue
		}
		i += size
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < ' ' || r == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&0xf])
		case key && (r == ' ' || r == '=' || r == ':' || r == '#' || r == '!'):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
