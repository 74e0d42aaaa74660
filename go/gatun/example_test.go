package gatun_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/gatun-project/gatun/go/gatun"
)

// These examples run against a real server JVM: Launch takes the jar from $GATUN_JAR, which
// TestMain sets to the jar it found (go test skips them, like the tests, where there is none).

// Launch starts a private server JVM that ends with the client; then classes, objects and calls.
func ExampleLaunch() {
	ctx := context.Background()
	client, err := gatun.Launch(ctx, gatun.LaunchOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	math, err := client.Class(ctx, "java.lang.Math")
	if err != nil {
		log.Fatal(err)
	}
	biggest, err := math.Call(ctx, "max", 1, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%T %v\n", biggest, biggest) // Java's int comes back as int32

	sbClass, err := client.Class(ctx, "java.lang.StringBuilder")
	if err != nil {
		log.Fatal(err)
	}
	sb, err := sbClass.New(ctx, "Hello")
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Release()
	if _, err := sb.Call(ctx, "append", ", Java"); err != nil {
		log.Fatal(err)
	}
	text, err := gatun.As[string](sb.Call(ctx, "toString"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(text)

	_, err = math.Call(ctx, "floorDiv", 1, 0)
	var javaErr *gatun.JavaError
	if errors.As(err, &javaErr) {
		fmt.Println("Java threw", javaErr.Class)
	}
	// Output:
	// int32 2
	// Hello, Java
	// Java threw java.lang.ArithmeticException
}

// A pre-bound call: an object and a method name used again and again. The first call defines
// the name on its channel; every later call sends a 4-byte id instead (spec §3.2), and a pinned
// Thread keeps the calls on one channel and one JVM thread.
func ExampleClient_Pin() {
	ctx := context.Background()
	client, err := gatun.Launch(ctx, gatun.LaunchOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	thread, err := client.Pin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer thread.Close()
	ctx = thread.Context(ctx) // every call with this context runs on the pinned JVM thread

	sbClass, err := client.Class(ctx, "java.lang.StringBuilder")
	if err != nil {
		log.Fatal(err)
	}
	sb, err := sbClass.New(ctx, "abc")
	if err != nil {
		log.Fatal(err)
	}
	var total int32
	for i := 0; i < 1000; i++ {
		n, err := gatun.As[int32](sb.Call(ctx, "length"))
		if err != nil {
			log.Fatal(err)
		}
		total += n
	}
	fmt.Println(total)
	// Output: 3000
}

// Implement makes a Go function a Java object: here a java.util.Comparator that Java's own sort
// calls back, on the JVM thread of the sort call (nested on its channel, spec §5.1).
func ExampleClient_Implement() {
	ctx := context.Background()
	client, err := gatun.Launch(ctx, gatun.LaunchOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	byLength, err := client.Implement(func(ctx context.Context, method string, args []any) (any, error) {
		if method != "compare" {
			return nil, fmt.Errorf("unexpected method %s", method)
		}
		a, b := args[0].(string), args[1].(string)
		return int32(len(a) - len(b)), nil
	}, "java.util.Comparator")
	if err != nil {
		log.Fatal(err)
	}
	defer byLength.Release()

	listClass, err := client.Class(ctx, "java.util.ArrayList")
	if err != nil {
		log.Fatal(err)
	}
	list, err := listClass.New(ctx, []any{"ccc", "a", "bb"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := list.Call(ctx, "sort", byLength); err != nil {
		log.Fatal(err)
	}
	sorted, err := gatun.As[string](list.Call(ctx, "toString"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sorted)

	// Called from another JVM thread: served on a callback channel of the client (spec §5.2).
	supplier, err := client.Implement(func(ctx context.Context, method string, args []any) (any, error) {
		return strings.ToUpper("from go"), nil
	}, "java.util.function.Supplier")
	if err != nil {
		log.Fatal(err)
	}
	defer supplier.Release()
	futures, err := client.Class(ctx, "java.util.concurrent.CompletableFuture")
	if err != nil {
		log.Fatal(err)
	}
	future, err := futures.Call(ctx, "supplyAsync", supplier)
	if err != nil {
		log.Fatal(err)
	}
	got, err := gatun.As[string](future.(*gatun.Object).Call(ctx, "get"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got)
	// Output:
	// [a, bb, ccc]
	// FROM GO
}
