package gatun

import (
	"context"
	"testing"
)

func BenchmarkStaticCall(b *testing.B) {
	c := jvm(b)
	ctx := context.Background()
	m := class(b, c, "java.lang.Math")
	for b.Loop() {
		if _, err := m.Call(ctx, "max", 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewObject(b *testing.B) {
	c := jvm(b)
	ctx := context.Background()
	k := class(b, c, "java.util.ArrayList")
	for b.Loop() {
		if _, err := k.New(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPreboundCall(b *testing.B) {
	c := jvm(b)
	ctx := context.Background()
	list, err := class(b, c, "java.util.ArrayList").New(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := list.Call(ctx, "size"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallback(b *testing.B) {
	c := jvm(b)
	ctx := context.Background()
	sup, err := c.Implement(func(ctx context.Context, method string, args []any) (any, error) {
		return "x", nil
	}, "java.util.function.Supplier")
	if err != nil {
		b.Fatal(err)
	}
	objects := class(b, c, "java.util.Objects")
	for b.Loop() {
		if _, err := objects.Call(ctx, "requireNonNullElseGet", nil, sup); err != nil {
			b.Fatal(err)
		}
	}
}
