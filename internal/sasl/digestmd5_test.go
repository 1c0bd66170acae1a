package sasl

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// RFC 2831 §4, example 1 (IMAP): the response and rspauth for user chris,
// password secret.
func TestDigestResponseMatchesRFC2831Example(t *testing.T) {
	const (
		user, realm, pass = "chris", "elwood.innosoft.com", "secret"
		nonce, cnonce     = "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk"
		uri               = "imap/elwood.innosoft.com"
	)
	if got := digestResponse("AUTHENTICATE", user, realm, pass, nonce, cnonce, "00000001", "", uri); got != "d388dad90d4bbd760a152321f2143af7" {
		t.Errorf("response = %s", got)
	}
	if got := digestResponse("", user, realm, pass, nonce, cnonce, "00000001", "", uri); got != "ea40f60335c427b5527b84dbabcdfffd" {
		t.Errorf("rspauth = %s", got)
	}
}

// exchange runs a client against a server until both are done or one fails.
func exchange(t *testing.T, c Client, s Server) (serverErr, clientErr error) {
	t.Helper()
	tok, err := c.Start()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		reply, done, err := s.Next(tok)
		if err != nil {
			return err, nil
		}
		resp, cdone, err := c.Next(reply)
		if err != nil {
			return nil, err
		}
		if done {
			if !cdone || resp != nil {
				t.Fatalf("server done, client done=%v response=%q", cdone, resp)
			}
			return nil, nil
		}
		tok = resp
	}
	t.Fatal("exchange did not finish")
	return nil, nil
}

func TestDigestMD5ClientAndServerAgree(t *testing.T) {
	users := map[string]string{"bob": "bobsecret", "zoë": "pässwörd€"}
	for user, pass := range users {
		s := NewDigestMD5Server(DigestMD5ServerConfig{Users: users})
		c := NewDigestMD5Client(DigestMD5ClientConfig{Username: user, Password: pass})
		if se, ce := exchange(t, c, s); se != nil || ce != nil {
			t.Fatalf("%s: server %v client %v", user, se, ce)
		}
		if s.AuthorizationID() != user {
			t.Errorf("authorization id %q, want %q", s.AuthorizationID(), user)
		}
	}
}

func TestDigestMD5ServerRefusesWrongPasswordAndUnknownUser(t *testing.T) {
	users := map[string]string{"bob": "bobsecret"}
	for _, c := range []DigestMD5ClientConfig{
		{Username: "bob", Password: "wrong"},
		{Username: "eve", Password: "bobsecret"},
	} {
		s := NewDigestMD5Server(DigestMD5ServerConfig{Users: users})
		se, _ := exchange(t, NewDigestMD5Client(c), s)
		if !errors.Is(se, ErrBadCredentials) {
			t.Errorf("%s/%s: server error %v", c.Username, c.Password, se)
		}
		if strings.Contains(se.Error(), c.Password) {
			t.Errorf("error %q shows the password", se)
		}
		if s.AuthorizationID() != "" {
			t.Errorf("authorization id %q after failure", s.AuthorizationID())
		}
	}
}

func TestDigestMD5SuperPasswordTakesPrecedence(t *testing.T) {
	s := NewDigestMD5Server(DigestMD5ServerConfig{Users: map[string]string{"super": "old"}, SuperPassword: "new"})
	if se, _ := exchange(t, NewDigestMD5Client(DigestMD5ClientConfig{Username: "super", Password: "new"}), s); se != nil {
		t.Fatal(se)
	}
	s = NewDigestMD5Server(DigestMD5ServerConfig{Users: map[string]string{"super": "old"}, SuperPassword: "new"})
	if se, _ := exchange(t, NewDigestMD5Client(DigestMD5ClientConfig{Username: "super", Password: "old"}), s); se == nil {
		t.Fatal("user_super password accepted over superPassword")
	}
}

// Java 17's DIGEST-MD5 server, created as ZooKeeper creates it, sent
// realm="zk-sasl-md5",nonce="<40 chars>",charset=utf-8,algorithm=md5-sess
// (and accepted a non-empty first token).
func TestDigestMD5ServerChallengeIsZooKeepers(t *testing.T) {
	s := NewDigestMD5Server(DigestMD5ServerConfig{Rand: bytes.NewReader(make([]byte, 30))})
	ch, done, err := s.Next([]byte("ignored"))
	if err != nil || done {
		t.Fatal(err, done)
	}
	want := `realm="zk-sasl-md5",nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",charset=utf-8,algorithm=md5-sess`
	if string(ch) != want {
		t.Errorf("challenge\n%s\nwant\n%s", ch, want)
	}
}

func TestDigestMD5ServerRejectsBadResponses(t *testing.T) {
	users := map[string]string{"bob": "pw"}
	good := func(s Server) string {
		c := NewDigestMD5Client(DigestMD5ClientConfig{Username: "bob", Password: "pw"})
		ch, _, _ := s.Next(nil)
		r, _, err := c.Next(ch)
		if err != nil {
			t.Fatal(err)
		}
		return string(r)
	}
	cases := []struct {
		name string
		edit func(string) string
		want string
	}{
		{"wrong digest-uri", func(r string) string { return strings.Replace(r, "zookeeper/zk-sasl-md5", "imap/zk-sasl-md5", 1) }, "digest-uri"},
		{"wrong nonce", func(r string) string { return strings.Replace(r, `nonce="`, `nonce="x`, 1) }, "nonce does not match"},
		{"second nonce count", func(r string) string { return strings.Replace(r, "nc=00000001", "nc=00000002", 1) }, "nonce-count"},
		{"qop auth-conf", func(r string) string { return strings.Replace(r, "qop=auth", "qop=auth-conf", 1) }, "qop"},
		{"duplicate directive", func(r string) string { return r + `,username="bob"` }, "given twice"},
		{"no response", func(r string) string { return r[:strings.Index(r, ",response=")] }, "no response"},
		{"garbage", func(string) string { return `username="bob` }, "not closed"},
		{"too long", func(r string) string { return r + strings.Repeat(" ", 4096) }, "at most 4095"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewDigestMD5Server(DigestMD5ServerConfig{Users: users})
			_, done, err := s.Next([]byte(c.edit(good(s))))
			if err == nil || done || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v done %v, want %q", err, done, c.want)
			}
		})
	}
}

func TestDigestMD5ClientRejectsAForgedRspauth(t *testing.T) {
	s := NewDigestMD5Server(DigestMD5ServerConfig{Users: map[string]string{"bob": "pw"}})
	c := NewDigestMD5Client(DigestMD5ClientConfig{Username: "bob", Password: "pw"})
	ch, _, _ := s.Next(nil)
	r, _, _ := c.Next(ch)
	if _, _, err := s.Next(r); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Next([]byte("rspauth=00000000000000000000000000000000")); err == nil {
		t.Fatal("forged rspauth accepted")
	}
}

func FuzzDigestMD5ServerResponse(f *testing.F) {
	f.Add([]byte(`username="bob",nonce="x",nc=00000001,cnonce="y",digest-uri="zookeeper/zk-sasl-md5",response=0,qop=auth`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewDigestMD5Server(DigestMD5ServerConfig{Users: map[string]string{"bob": "pw"}})
		_, _, _ = s.Next(nil)
		_, done, err := s.Next(b)
		if done && err == nil {
			t.Fatalf("random response authenticated: %q", b)
		}
	})
}

// An exchange captured from Java 17's DIGEST-MD5 client and server, created
// as ZooKeeper creates them (protocol zookeeper, server name zk-sasl-md5),
// user bob, password pw: this server accepts the Java client's response and
// answers with the rspauth Java's server sent.
func TestDigestMD5ServerAcceptsJavasCapturedResponse(t *testing.T) {
	const (
		challengeNonce = "1DyYYcO9Sk909q+AqTdqO3v22iTWnWMP6TQQBo2r"
		response       = `charset=utf-8,username="bob",realm="zk-sasl-md5",nonce="1DyYYcO9Sk909q+AqTdqO3v22iTWnWMP6TQQBo2r",nc=00000001,cnonce="ajryU8ZKXiWJYmI5JASiwpudl+fVdSSJdCAmd5iu",digest-uri="zookeeper/zk-sasl-md5",maxbuf=65536,response=fd05cc40c354312d4bc994cf1fb0a206,qop=auth`
		rspauth        = "rspauth=b939955c59d2175cc952a3702c547cb8"
	)
	nonceBytes, _ := base64.StdEncoding.DecodeString(challengeNonce)
	s := NewDigestMD5Server(DigestMD5ServerConfig{Users: map[string]string{"bob": "pw"}, Rand: bytes.NewReader(nonceBytes)})
	if _, _, err := s.Next(nil); err != nil {
		t.Fatal(err)
	}
	got, done, err := s.Next([]byte(response))
	if err != nil || !done || string(got) != rspauth || s.AuthorizationID() != "bob" {
		t.Fatalf("reply %q done %v err %v authz %q", got, done, err, s.AuthorizationID())
	}
}

func FuzzDigestMD5ClientChallenge(f *testing.F) {
	f.Add([]byte(`realm="zk-sasl-md5",nonce="1DyYYcO9Sk909q+AqTdqO3v22iTWnWMP6TQQBo2r",charset=utf-8,algorithm=md5-sess`))
	f.Add([]byte(`realm="a",realm="b",nonce="x\"y",qop="auth,auth-int",algorithm=md5-sess`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := NewDigestMD5Client(DigestMD5ClientConfig{Username: "bob", Password: "pw"})
		resp, _, err := c.Next(b)
		if err != nil {
			return
		}
		// Whatever the challenge, the response must parse as directives.
		if _, err := single(resp, false); err != nil {
			t.Fatalf("response %q to challenge %q does not parse: %v", resp, b, err)
		}
	})
}
