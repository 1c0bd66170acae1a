package testcluster

// ZkCliTLS returns the zkCli options an operator of ZooKeeper 3.8 uses to
// connect over TLS: the Netty client socket, zookeeper.client.secure=true
// and the key and trust stores (CLIENT_JVMFLAGS -D properties). An empty
// keyStore connects without a client certificate; store types are left to
// ZooKeeper to infer from the file extensions.
func ZkCliTLS(keyStore, trustStore, password string) ZkCliOptions {
	flags := []string{
		ZkCliNettyClasspath,
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
