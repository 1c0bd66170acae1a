package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadPropertiesFileKeepsTheLastSettingOfAKeyWithItsLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.properties")
	text := "# comment\nzookeeper.client.secure = true\nzookeeper.ssl.keyStore.location:/a\\\n  /b.pem\nzookeeper.client.secure=false\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPropertiesFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Property{
		{Key: "zookeeper.ssl.keyStore.location", Value: "/a/b.pem", Line: 3},
		{Key: "zookeeper.client.secure", Value: "false", Line: 5},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestReadPropertiesFileErrorsNameTheFileAndLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.properties")
	os.WriteFile(path, []byte("a=1\nb=\\u12x4\n"), 0o600)
	if _, err := ReadPropertiesFile(path); err == nil || !strings.HasPrefix(err.Error(), path+":2: ") {
		t.Fatalf("err = %v, want one naming %s line 2", err, path)
	}
	if _, err := ReadPropertiesFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing file: %v", err)
	}
}
