//go:build !linux

package testcluster

import "errors"

// lockPort is never reached where testPortRange has no range (it reads a
// Linux file), so ports come from the kernel there.
func lockPort(int) (func(), error) {
	return nil, errors.New("port reservations need Linux")
}
