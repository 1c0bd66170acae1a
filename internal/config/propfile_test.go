package config

import (
	"reflect"
	"testing"
)

func TestReadPropertiesText(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []entry
		bad  []int // lines reported as malformed
	}{
		{
			name: "key and value are split at the first equals sign",
			text: "a=b=c\n",
			want: []entry{{"a", "b=c", 1}},
		},
		{
			name: "a colon separates like an equals sign",
			text: "a:b\n",
			want: []entry{{"a", "b", 1}},
		},
		{
			name: "whitespace alone separates and one following separator is skipped",
			text: "a   b\nc = d\ne\t:\tf\n",
			want: []entry{{"a", "b", 1}, {"c", "d", 2}, {"e", "f", 3}},
		},
		{
			name: "only one separator is skipped so a second one starts the value",
			text: "a==b\n",
			want: []entry{{"a", "=b", 1}},
		},
		{
			name: "hash and bang lines are comments even when indented",
			text: "# one\n! two\n   # three\nk=v\n",
			want: []entry{{"k", "v", 4}},
		},
		{
			name: "a hash after the key is part of the value",
			text: "k=v # not a comment\n",
			want: []entry{{"k", "v # not a comment", 1}},
		},
		{
			name: "blank lines are skipped and line numbers still count them",
			text: "\n\n  \t\nk=v\n",
			want: []entry{{"k", "v", 4}},
		},
		{
			name: "a trailing backslash continues the line and the next line's indent is dropped",
			text: "k=one \\\n     two\nx=y\n",
			want: []entry{{"k", "one two", 1}, {"x", "y", 3}},
		},
		{
			name: "a doubled trailing backslash is a literal backslash",
			text: "k=C:\\\\\nx=y\n",
			want: []entry{{"k", "C:\\", 1}, {"x", "y", 2}},
		},
		{
			name: "a comment line does not continue",
			text: "# a \\\nk=v\n",
			want: []entry{{"k", "v", 2}},
		},
		{
			name: "a continuation line starting with a hash is not a comment",
			text: "k=a\\\n#b\n",
			want: []entry{{"k", "a#b", 1}},
		},
		{
			name: "a blank line ends a continuation",
			text: "k=a\\\n\nx=y\n",
			want: []entry{{"k", "a", 1}, {"x", "y", 3}},
		},
		{
			name: "a backslash at the end of the file is dropped",
			text: "k=a\\",
			want: []entry{{"k", "a", 1}},
		},
		{
			name: "escapes are interpreted in keys and values",
			text: "a\\=b\\:c\\ d=<\\t\\n\\r\\f\\\\\\q>\n",
			want: []entry{{"a=b:c d", "<\t\n\r\f\\q>", 1}},
		},
		{
			name: "escaped blanks at the ends of a value are trimmed too",
			text: `k=\t\ v\ \n` + "\n",
			want: []entry{{"k", "v", 1}},
		},
		{
			name: "unicode escapes decode UTF-16 including surrogate pairs",
			text: "k=\\u00e9\\uD83D\\uDE00\\u0041\n",
			want: []entry{{"k", "é😀A", 1}},
		},
		{
			name: "a malformed unicode escape is reported and the line dropped",
			text: "k=\\u12\nx=\\uzzzz\ny=z\n",
			want: []entry{{"y", "z", 3}},
			bad:  []int{1, 2},
		},
		{
			name: "keys and values are trimmed like Java's String.trim",
			text: "k = value \t\n",
			want: []entry{{"k", "value", 1}},
		},
		{
			name: "CR, LF and CRLF all end lines",
			text: "a=1\rb=2\r\nc=3\nd=4",
			want: []entry{{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}, {"d", "4", 4}},
		},
		{
			name: "a line with only a key has an empty value",
			text: "lonely\n",
			want: []entry{{"lonely", "", 1}},
		},
		{
			name: "bytes outside ASCII pass through unchanged",
			text: "dataDir=/var/lib/zöö\n",
			want: []entry{{"dataDir", "/var/lib/zöö", 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bad []int
			got := readPropertiesText(tt.text, func(line int, reason string) { bad = append(bad, line) })
			if !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("entries = %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(bad, tt.bad) {
				t.Errorf("malformed lines = %v, want %v", bad, tt.bad)
			}
		})
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{
		"plain", "with space", "a=b:c", "#hash", "!bang", `back\slash`, "tab\tnl\nret\rff\f",
		"ctl\x01\x7f", "é😀", "bad\xffutf8", "",
	} {
		t.Run("the key and value "+s+" survive escaping", func(t *testing.T) {
			line := escapeKey(s) + "=" + escapeValue(s) + "\n"
			got := readPropertiesText(line, func(int, string) { t.Fatal("malformed") })
			want := javaTrim(s)
			if len(got) != 1 || got[0].key != want || got[0].value != want {
				t.Errorf("read back %q as %+v, want key and value %q", line, got, want)
			}
		})
	}
}
