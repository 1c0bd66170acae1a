// Package config parses and validates zoo.cfg, ZooKeeper system properties and myid.
//
// A zoo.cfg file is read with java.util.Properties rules (storage-and-quorum
// spec §8.1). Keys that ZooKeeper's QuorumPeerConfig handles itself become
// fields of [Config]; every other key k becomes the system property
// "zookeeper."+k in [Config.Props], exactly as ZooKeeper does, so that both
// "snapCount=…" in zoo.cfg and "-Dzookeeper.snapCount=…" on the command line
// reach the server. Properties given with -D (see [ParseDefineArgs] and
// [ParseJVMFlags]) are layered on top with [Config.Apply].
//
// The package only reads files: it starts no goroutines, opens no sockets and
// logs nothing. Problems that do not stop the server are returned as
// [Warning] values for the caller to log; problems that do are returned as
// [*Error] values that name the file, the line and the key.
package config
