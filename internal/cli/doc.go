// Package cli is `zkd cli`: a ZooKeeper shell with zkCli.sh's command set,
// syntax and output, so that an operator's habits and scripts carry over.
//
// It runs in three ways. With a command on its command line it runs that
// one command and exits: 0 on success, non-zero with the error on stderr
// otherwise (1 for a failed or malformed command, 127 for an unknown one,
// as zkCli.sh). With no command and a terminal on stdin and stdout it is
// interactive: line editing, history kept across runs, tab completion of
// command names and znode paths, and watch events printed as they arrive.
// With no command and stdin not a terminal it reads commands line by line,
// without a prompt, like zkCli.sh without JLine.
//
// Where zkCli.sh writes a line to stdout or to stderr, the shell writes the
// same text to the same stream ("Created /a" goes to stderr, data and Stat
// to stdout), and a script's exit status is its last command's, as in
// zkCli.sh. A few things are deliberately different: a one-shot command
// closes its session when it ends (zkCli.sh leaves it to expire); one-shot
// mode prints no connection banner or connection-state notices; a
// malformed number is an error message rather than a Java stack trace;
// "help" prints the command list to stdout; addWatch without -m is always
// recursive (zkCli.sh 3.8 reuses the last -m); and removewatches asks the
// server where ZooKeeper's Java client first checks its own watch tables.
// With -json the commands that return data print one JSON document instead
// of zkCli's text, and watch events go to stderr as JSON objects.
//
// The package talks to servers only through package client.
package cli
