package testcluster

import "strings"

// zkCliClasspath is the classpath zkCli.sh sets (zkEnv.sh) plus the Netty
// jars Debian's ZooKeeper jar manifest leaves out (codec, resolver,
// native-unix-common): without them the Netty client socket, the only one
// that speaks TLS, cannot connect (the client retries silently until it
// gives up). A second -cp in CLIENT_JVMFLAGS wins over the script's.
var zkCliClasspath = strings.Join([]string{"/etc/zookeeper/conf", "/usr/share/java/zookeeper.jar", nettyCodecJar,
	"/usr/share/java/netty-resolver.jar", "/usr/share/java/netty-transport-native-unix-common.jar"}, ":")

// ZkCliTLS returns the zkCli options an operator of ZooKeeper 3.8 uses to
// connect over TLS: the Netty client socket, zookeeper.client.secure=true
// and the key and trust stores (CLIENT_JVMFLAGS -D properties). An empty
// keyStore connects without a client certificate; store types are left to
// ZooKeeper to infer from the file extensions.
func ZkCliTLS(keyStore, trustStore, password string) ZkCliOptions {
	flags := []string{
		"-cp", zkCliClasspath,
		"-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
		"-Dzookeeper.client.secure=true",
		"-Dzookeeper.ssl.trustStore.location=" + trustStore,
		"-Dzookeeper.ssl.trustStore.password=" + password,
	}
	if keyStore != "" {
		flags = append(flags, "-Dzookeeper.ssl.keyStore.location="+keyStore, "-Dzookeeper.ssl.keyStore.password="+password)
	}
	return ZkCliOptions{JVMFlags: flags}
}
