// Command hello starts a Gatun server JVM, builds a string with a java.lang.StringBuilder and
// calls java.lang.Math.max. Run it from go/ with GATUN_JAR pointing at the server jar:
//
//	GATUN_JAR=../python/gatun/jars/gatun-server.jar go run ./examples/hello
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/gatun-project/gatun/go/gatun"
)

func main() {
	ctx := context.Background()
	client, err := gatun.Launch(ctx, gatun.LaunchOptions{}) // the jar comes from $GATUN_JAR
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	sbClass, err := client.Class(ctx, "java.lang.StringBuilder")
	if err != nil {
		log.Fatal(err)
	}
	sb, err := sbClass.New(ctx, "Hello")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := sb.Call(ctx, "append", ", Java"); err != nil {
		log.Fatal(err)
	}
	text, err := gatun.As[string](sb.Call(ctx, "toString"))
	if err != nil {
		log.Fatal(err)
	}

	math, err := client.Class(ctx, "java.lang.Math")
	if err != nil {
		log.Fatal(err)
	}
	biggest, err := gatun.As[int32](math.Call(ctx, "max", 1, 2))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s! Math.max(1, 2) = %d\n", text, biggest)
}
