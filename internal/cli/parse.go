package cli

import (
	"fmt"
	"strings"
)

// splitLine splits a command line into words the way zkCli.sh does: words
// are separated by white space, and a word that starts with a double or a
// single quote runs to the matching quote (which is removed) and may hold
// spaces. A quote inside a word is an ordinary character.
func splitLine(line string) []string {
	var words []string
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return words
		}
		if q := line[i]; q == '"' || q == '\'' {
			if end := strings.IndexByte(line[i+1:], q); end >= 0 {
				words = append(words, line[i+1:i+1+end])
				i += end + 2
				continue
			}
		}
		start := i
		for i < len(line) && !isSpace(line[i]) {
			i++
		}
		words = append(words, line[start:i])
	}
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

// optionSpec lists a command's options: each letter (or word, for
// reconfig's -file, -members, -add and -remove), and whether it takes a
// value.
type optionSpec struct {
	flags  []string // options without a value
	values []string // options with a value
	// group lists options of which at most one may be given.
	group []string
}

// parsedArgs is a command line split into options and positional words.
// args[0] is the command name.
type parsedArgs struct {
	args   []string
	flags  map[string]bool
	values map[string]string
}

func (p *parsedArgs) has(name string) bool {
	if p.flags[name] {
		return true
	}
	_, ok := p.values[name]
	return ok
}

// errorf builds an error the shell prints as is.
func errorf(format string, a ...any) error { return &cliError{msg: fmt.Sprintf(format, a...), code: 1} }

// parseOptions separates options from positional words like the
// commons-cli parser zkCli.sh uses: any word that starts with "-" (and is
// not just "-") anywhere after the command name is an option, and a value
// option takes the next word (or the rest of its own word, as in -v5).
func parseOptions(words []string, spec optionSpec) (*parsedArgs, error) {
	p := &parsedArgs{args: []string{words[0]}, flags: map[string]bool{}, values: map[string]string{}}
	selected := ""
	for i := 1; i < len(words); i++ {
		w := words[i]
		if len(w) < 2 || w[0] != '-' {
			p.args = append(p.args, w)
			continue
		}
		name := strings.TrimLeft(w, "-")
		matched := false
		for _, f := range spec.flags {
			if name == f {
				p.flags[f] = true
				matched = true
			}
		}
		if !matched {
			for _, v := range spec.values {
				switch {
				case name == v:
					if i+1 >= len(words) {
						return nil, errorf("org.apache.commons.cli.MissingArgumentException: Missing argument for option: %s", v)
					}
					i++
					p.values[v] = words[i]
					matched = true
				case len(v) == 1 && strings.HasPrefix(name, v) && len(name) > 1 && w[1] != '-':
					p.values[v] = name[1:]
					matched = true
				}
				if matched {
					name = v
					break
				}
			}
		}
		if !matched {
			return nil, errorf("org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: %s", w)
		}
		for _, g := range spec.group {
			if g != name {
				continue
			}
			if selected != "" && selected != name {
				return nil, errorf("org.apache.commons.cli.AlreadySelectedException: The option '%s' was specified but an option from this group has already been selected: '%s'", name, selected)
			}
			selected = name
		}
	}
	return p, nil
}
