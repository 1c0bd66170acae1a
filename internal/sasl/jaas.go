package sasl

import (
	"fmt"
	"os"
	"strings"
)

// Login module classes ZooKeeper's JAAS files name.
const (
	// DigestLoginModule holds DIGEST-MD5 credentials: user_<name> options
	// in a server section, username and password in a client section.
	DigestLoginModule = "org.apache.zookeeper.server.auth.DigestLoginModule"
	// Krb5LoginModule holds Kerberos (GSSAPI) credentials.
	Krb5LoginModule = "com.sun.security.auth.module.Krb5LoginModule"
)

// JAAS is a parsed JAAS login configuration file: named sections, each a
// list of login modules with options.
type JAAS struct {
	File     string // the path it was read from, for messages
	Sections []JAASSection
}

// JAASSection is one named entry of a JAAS file, such as "Server" or
// "Client".
type JAASSection struct {
	Name    string
	Line    int // line of the name
	Modules []LoginModule
}

// LoginModule is one "class flag key=value ...;" line of a section.
type LoginModule struct {
	Class   string
	Flag    string // required, requisite, sufficient or optional (lower case)
	Options map[string]string
	Line    int // line of the class name
}

// LoadJAAS reads and parses the JAAS file at path.
func LoadJAAS(path string) (*JAAS, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read JAAS configuration: %w", err)
	}
	return ParseJAAS(path, data)
}

// ParseJAAS parses the text of a JAAS login configuration; file names it
// in errors, which also give the line. The syntax is the one Java's
// default configuration reads:
//
//	Name {
//	    module.Class flag key="value" key=value;
//	};
//
// with // and /* */ comments. Flags are required, requisite, sufficient and
// optional, in any case. A quoted value may hold \" \\ \n \t escapes.
// ${property} expansion is not done: a value is taken as written. A name
// given to two sections is an error.
func ParseJAAS(file string, data []byte) (*JAAS, error) {
	p := &jaasParser{file: file, lx: jaasLexer{src: string(data), line: 1}}
	return p.parse()
}

// Section returns the section called name (names are case-sensitive, as in
// Java).
func (j *JAAS) Section(name string) (*JAASSection, bool) {
	for i := range j.Sections {
		if j.Sections[i].Name == name {
			return &j.Sections[i], true
		}
	}
	return nil, false
}

// Module returns the first login module of the section whose class is
// class.
func (s *JAASSection) Module(class string) (*LoginModule, bool) {
	for i := range s.Modules {
		if s.Modules[i].Class == class {
			return &s.Modules[i], true
		}
	}
	return nil, false
}

// DigestUsers returns the DIGEST-MD5 users a server section defines: every
// option named user_<name> (of any module of the section, as ZooKeeper
// collects them) maps <name> to its password. Nil if there are none.
func (s *JAASSection) DigestUsers() map[string]string {
	var users map[string]string
	for _, m := range s.Modules {
		for k, v := range m.Options {
			name, ok := strings.CutPrefix(k, "user_")
			if !ok {
				continue
			}
			if users == nil {
				users = make(map[string]string)
			}
			users[name] = v
		}
	}
	return users
}

// DigestCredentials returns the username and password of a client
// section's DigestLoginModule; ok is false when the section has no such
// module. A missing option is returned as "".
func (s *JAASSection) DigestCredentials() (username, password string, ok bool) {
	m, ok := s.Module(DigestLoginModule)
	if !ok {
		return "", "", false
	}
	return m.Options["username"], m.Options["password"], true
}

// Krb5Options are the options of a Krb5LoginModule that ZooKeeper set-ups
// use. Options holds all of them as written, including these.
type Krb5Options struct {
	Principal      string
	KeyTab         string
	UseKeyTab      bool
	StoreKey       bool
	UseTicketCache bool
	TicketCache    string
	DoNotPrompt    bool
	IsInitiator    bool // default true, as in Java
	Debug          bool
	Options        map[string]string
}

// Kerberos returns the options of the section's Krb5LoginModule; ok is
// false when it has none.
func (s *JAASSection) Kerberos() (Krb5Options, bool) {
	m, ok := s.Module(Krb5LoginModule)
	if !ok {
		return Krb5Options{}, false
	}
	o := m.Options
	isTrue := func(k string) bool { return strings.EqualFold(o[k], "true") }
	k := Krb5Options{
		Principal:      o["principal"],
		KeyTab:         o["keyTab"],
		UseKeyTab:      isTrue("useKeyTab"),
		StoreKey:       isTrue("storeKey"),
		UseTicketCache: isTrue("useTicketCache"),
		TicketCache:    o["ticketCache"],
		DoNotPrompt:    isTrue("doNotPrompt"),
		IsInitiator:    !strings.EqualFold(o["isInitiator"], "false"),
		Debug:          isTrue("debug"),
		Options:        o,
	}
	return k, true
}

// jaasParser turns the lexer's tokens into sections.
type jaasParser struct {
	file string
	lx   jaasLexer
}

func (p *jaasParser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("JAAS configuration %s line %d: %s", p.file, line, fmt.Sprintf(format, args...))
}

func (p *jaasParser) parse() (*JAAS, error) {
	j := &JAAS{File: p.file}
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tokEOF {
			return j, nil
		}
		if t.kind != tokWord {
			return nil, p.errorf(t.line, "expected a section name, found %s", t)
		}
		if prev, dup := j.Section(t.text); dup {
			return nil, p.errorf(t.line, "section %q is already defined on line %d", t.text, prev.Line)
		}
		sec := JAASSection{Name: t.text, Line: t.line}
		if err := p.expect('{', "after section name "+t.text); err != nil {
			return nil, err
		}
		if err := p.modules(&sec); err != nil {
			return nil, err
		}
		if err := p.expect(';', "after the } closing section "+sec.Name); err != nil {
			return nil, err
		}
		j.Sections = append(j.Sections, sec)
	}
}

// modules reads login module lines up to the closing brace.
func (p *jaasParser) modules(sec *JAASSection) error {
	for {
		t, err := p.next()
		if err != nil {
			return err
		}
		switch {
		case t.kind == '}':
			if len(sec.Modules) == 0 {
				return p.errorf(t.line, "section %s has no login module", sec.Name)
			}
			return nil
		case t.kind != tokWord:
			return p.errorf(t.line, "expected a login module class in section %s, found %s", sec.Name, t)
		}
		m := LoginModule{Class: t.text, Line: t.line, Options: map[string]string{}}
		f, err := p.next()
		if err != nil {
			return err
		}
		flag := strings.ToLower(f.text)
		if f.kind != tokWord || (flag != "required" && flag != "requisite" && flag != "sufficient" && flag != "optional") {
			return p.errorf(f.line, "login module %s needs a flag (required, requisite, sufficient or optional), found %s", m.Class, f)
		}
		m.Flag = flag
		if err := p.options(&m); err != nil {
			return err
		}
		sec.Modules = append(sec.Modules, m)
	}
}

// options reads key=value pairs up to the semicolon ending a module line.
func (p *jaasParser) options(m *LoginModule) error {
	for {
		t, err := p.next()
		if err != nil {
			return err
		}
		if t.kind == ';' {
			return nil
		}
		if t.kind != tokWord {
			return p.errorf(t.line, "expected an option name or ; for login module %s, found %s", m.Class, t)
		}
		// The name is not shown: in a malformed line it may be part of
		// an unquoted password.
		if err := p.expect('=', "after an option name"); err != nil {
			return err
		}
		v, err := p.next()
		if err != nil {
			return err
		}
		if v.kind != tokWord && v.kind != tokString {
			return p.errorf(v.line, "option %s of login module %s has no value, found %s", t.text, m.Class, v)
		}
		m.Options[t.text] = v.text
	}
}

func (p *jaasParser) expect(kind rune, where string) error {
	t, err := p.next()
	if err != nil {
		return err
	}
	if t.kind != kind {
		return p.errorf(t.line, "expected %q %s, found %s", kind, where, t)
	}
	return nil
}

func (p *jaasParser) next() (jaasToken, error) {
	t, err := p.lx.next()
	if err != nil {
		return t, p.errorf(t.line, "%v", err)
	}
	return t, nil
}
