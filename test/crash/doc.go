// Package crash kills real zkd processes with SIGKILL while clients write,
// restarts them on the same dataDir, and checks that every acknowledged
// write survived.
package crash
