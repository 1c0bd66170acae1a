package admin

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestJacksonLayoutRewritesEveryCaptureByteForByte parses every JSON answer
// captured from ZooKeeper and expects marshalJackson to write it back
// unchanged: nesting, arrays of objects, empty containers, escapes and
// number forms are laid out as ZooKeeper's Jackson lays them out.
func TestJacksonLayoutRewritesEveryCaptureByteForByte(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(httpCaptureDir, "*", "*.json"))
	if err != nil || len(files) < 50 {
		t.Fatalf("found %d captures: %v", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			want, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got := marshalJackson(parseOrdered(t, want)); !bytes.Equal(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestJacksonLayout(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"an empty object is one line", jsonObject{}, "{ }"},
		{"an empty array is one line", []any{}, "[ ]"},
		{"a nil string list is an empty array", []string(nil), "[ ]"},
		{"members are indented and spaced around the colon", jsonObject{{"a", 1}, {"b", nil}},
			"{\n  \"a\" : 1,\n  \"b\" : null\n}"},
		{"scalar arrays stay on one line", jsonObject{{"ids", []int64{1, -2}}, {"p", []string{"/a", "/b"}}},
			"{\n  \"ids\" : [ 1, -2 ],\n  \"p\" : [ \"/a\", \"/b\" ]\n}"},
		{"objects in an array indent one level below the array's owner",
			jsonObject{{"c", []any{jsonObject{{"x", true}}, jsonObject{{"y", jsonObject{{"z", false}}}}}}},
			"{\n  \"c\" : [ {\n    \"x\" : true\n  }, {\n    \"y\" : {\n      \"z\" : false\n    }\n  } ]\n}"},
		{"doubles print as Java prints them", []any{0.0, 1.9231, 1e7, int64(7), int32(-1)}, "[ 0.0, 1.9231, 1.0E7, 7, -1 ]"},
		{"non-finite doubles are quoted", []any{math.NaN(), math.Inf(-1)}, `[ "NaN", "-Infinity" ]`},
		{"quotes, backslashes and control characters are escaped", "a\"b\\c\n\t\r\b\f\x01\x1f\x7f",
			`"a\"b\\c\n\t\r\b\f\u0001\u001F` + "\x7f\""},
		{"slashes, non-ASCII and line separators are not", "/é\u2028", "\"/é\u2028\""},
		{"bytes that are not UTF-8 become U+FFFD", "a\xffb", "\"a\uFFFDb\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := marshalJackson(tt.in)
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("%q is not valid JSON", got)
			}
		})
	}
}
