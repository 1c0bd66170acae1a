package admin

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// The AdminServer answers with JSON laid out the way ZooKeeper's JSON
// library (Jackson, with its default pretty printer) lays it out, so that
// the bytes match a real server's and scripts that grep them keep working:
//
//	{
//	  "key" : "value",
//	  "list" : [ 1, 2 ],
//	  "objects" : [ {
//	    "a" : 1
//	  }, {
//	    "a" : 2
//	  } ],
//	  "empty" : { },
//	  "none" : [ ]
//	}
//
// Objects indent their fields by two spaces per level of object nesting;
// arrays stay on one line and add no level. There is no final newline.

// jsonField is one member of a jsonObject.
type jsonField struct {
	key   string
	value any
}

// jsonObject is a JSON object whose members keep the order they were
// added in, as ZooKeeper's answers do. A value is nil (null), a bool, an
// int, int32 or int64 (a JSON integer), a float64 (printed as Java prints
// a double: 0.0, 1.9231), a string, a jsonObject, or a []any, []string or
// []int64 (a JSON array).
type jsonObject []jsonField

// add appends a member.
func (o *jsonObject) add(key string, value any) { *o = append(*o, jsonField{key, value}) }

// marshalJackson returns v laid out as ZooKeeper's AdminServer lays out
// JSON.
func marshalJackson(v any) []byte {
	var b bytes.Buffer
	writeJackson(&b, v, 0)
	return b.Bytes()
}

// writeJackson writes v, an object at object-nesting level depth.
func writeJackson(b *bytes.Buffer, v any, depth int) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int32:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			// Jackson quotes the values JSON has no number for.
			writeJacksonString(b, javaDouble(v))
			return
		}
		b.WriteString(javaDouble(v))
	case string:
		writeJacksonString(b, v)
	case jsonObject:
		if len(v) == 0 {
			b.WriteString("{ }")
			return
		}
		b.WriteString("{")
		for i, f := range v {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n")
			writeIndent(b, depth+1)
			writeJacksonString(b, f.key)
			b.WriteString(" : ")
			writeJackson(b, f.value, depth+1)
		}
		b.WriteString("\n")
		writeIndent(b, depth)
		b.WriteString("}")
	case []any:
		writeJacksonArray(b, len(v), func(i int) { writeJackson(b, v[i], depth) })
	case []string:
		writeJacksonArray(b, len(v), func(i int) { writeJacksonString(b, v[i]) })
	case []int64:
		writeJacksonArray(b, len(v), func(i int) { b.WriteString(strconv.FormatInt(v[i], 10)) })
	default:
		// Only this package builds the values; a new type is a bug here,
		// not bad input.
		panic(fmt.Sprintf("admin: no JSON form for %T", v))
	}
}

// writeJacksonArray writes an array of n elements on one line.
func writeJacksonArray(b *bytes.Buffer, n int, elem func(int)) {
	if n == 0 {
		b.WriteString("[ ]")
		return
	}
	b.WriteString("[ ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		elem(i)
	}
	b.WriteString(" ]")
}

// writeIndent writes two spaces per level.
func writeIndent(b *bytes.Buffer, depth int) {
	for range depth {
		b.WriteString("  ")
	}
}

// jacksonHex are the digits of Jackson's \u escapes (upper case).
const jacksonHex = "0123456789ABCDEF"

// writeJacksonString writes s as a JSON string the way Jackson escapes it:
// the quote, the backslash and control characters only (\b \t \n \f \r,
// others as \u00XX); "/", non-ASCII and U+2028/U+2029 go out as they are.
// Bytes that are not UTF-8 become U+FFFD, since Java strings cannot hold
// them.
func writeJacksonString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(jacksonHex[c>>4])
				b.WriteByte(jacksonHex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	b.WriteByte('"')
}
