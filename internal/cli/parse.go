package cli

import (
	"fmt"
	"slices"
	"strings"
)

// splitLine splits a command line into words the way zkCli.sh does: words
// are separated by white space, and a word that starts with a double or a
// single quote runs to the matching quote (which is removed) and may hold
// spaces; a quote with no match is dropped. A quote inside a word is an
// ordinary character.
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
			i++ // an unmatched quote is dropped, as zkCli.sh drops it
			continue
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
func errorf(format string, a ...any) error {
	return &cliError{msg: fmt.Sprintf(format, a...), code: exitFailed}
}

// parseOptions separates options from positional words like the
// commons-cli parser zkCli.sh uses: any word that starts with "-" (and is
// not just "-") anywhere after the command name is an option, until a
// "--" that makes every later word positional. A value option takes the
// next word, or the rest of its own word (-v5); flags may be clustered
// (-sR). Long forms ("--s") are not options zkCli.sh knows.
func parseOptions(words []string, spec optionSpec) (*parsedArgs, error) {
	p := &parsedArgs{args: []string{words[0]}, flags: map[string]bool{}, values: map[string]string{}}
	selected := ""
	choose := func(name string) error {
		if !slices.Contains(spec.group, name) {
			return nil
		}
		if selected != "" && selected != name {
			return errorf("org.apache.commons.cli.AlreadySelectedException: The option '%s' was specified but an option from this group has already been selected: '%s'", name, selected)
		}
		selected = name
		return nil
	}
	unrecognized := func(w string) error {
		return errorf("org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: %s", w)
	}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			p.args = append(p.args, words[i+1:]...)
			break
		}
		if len(w) < 2 || w[0] != '-' {
			p.args = append(p.args, w)
			continue
		}
		if w[1] == '-' {
			return nil, unrecognized(w)
		}
		name := w[1:]
		switch {
		case slices.Contains(spec.flags, name):
			p.flags[name] = true
		case slices.Contains(spec.values, name):
			if i+1 >= len(words) {
				return nil, errorf("org.apache.commons.cli.MissingArgumentException: Missing argument for option: %s", name)
			}
			i++
			p.values[name] = words[i]
		case slices.Contains(spec.values, name[:1]):
			p.values[name[:1]] = name[1:] // -v5
			name = name[:1]
		default:
			for _, c := range name {
				if !slices.Contains(spec.flags, string(c)) {
					return nil, unrecognized(w)
				}
			}
			for _, c := range name {
				if err := choose(string(c)); err != nil {
					return nil, err
				}
				p.flags[string(c)] = true
			}
			continue
		}
		if err := choose(name); err != nil {
			return nil, err
		}
	}
	return p, nil
}
