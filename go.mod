module github.com/zkd/zkd

go 1.26
