module github.com/zkd/zkd

go 1.26

require github.com/go-zookeeper/zk v1.0.4

require github.com/klauspost/compress v1.20.3
