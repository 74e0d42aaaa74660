module github.com/gatun-project/gatun/go

go 1.24
