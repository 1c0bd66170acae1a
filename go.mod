module github.com/zkd/zkd

go 1.26.0

require github.com/go-zookeeper/zk v1.0.4

require github.com/klauspost/compress v1.20.3

require github.com/prometheus/client_golang v1.25.0 // indirect
