package gatun

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestStaticCallsAndOverloads(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	tests := []struct {
		class, method string
		args          []any
		want          any
	}{
		{"java.lang.Math", "max", []any{1, 2}, int32(2)},
		{"java.lang.Math", "max", []any{int64(1), int64(1) << 40}, int64(1) << 40},
		{"java.lang.Math", "max", []any{1.5, 2.5}, 2.5},
		{"java.lang.Math", "abs", []any{float32(-1.5)}, float32(1.5)},
		{"java.lang.Math", "abs", []any{int8(-3)}, int32(3)},
		{"java.lang.Math", "addExact", []any{1 << 40, 1}, int64(1<<40 + 1)},
		{"java.lang.String", "valueOf", []any{Char('x')}, "x"},
		{"java.lang.String", "valueOf", []any{true}, "true"},
		{"java.lang.String", "valueOf", []any{int64(7)}, "7"},
		{"java.lang.Integer", "parseInt", []any{"-42"}, int32(-42)},
		{"java.lang.Integer", "toHexString", []any{255}, "ff"},
		{"java.lang.Character", "toUpperCase", []any{Char('q')}, Char('Q')},
		{"java.util.Objects", "requireNonNull", []any{int8(-5)}, int8(-5)},
		{"java.util.Objects", "requireNonNull", []any{int16(300)}, int16(300)},
		{"java.util.Objects", "requireNonNull", []any{"héllo €𝄞"}, "héllo €𝄞"},
		{"java.util.Objects", "requireNonNull", []any{[]byte{1, 2, 255}}, []byte{1, 2, 255}},
		{"java.util.Objects", "requireNonNull", []any{Decimal("-12.50")}, Decimal("-12.50")},
		{"java.util.Objects", "requireNonNull", []any{float32(0.25)}, float32(0.25)},
		{"java.util.Objects", "isNull", []any{nil}, true},
		{"java.util.Objects", "toString", []any{nil, "dflt"}, "dflt"},
		{"java.math.BigDecimal", "valueOf", []any{int64(12345), 2}, Decimal("123.45")},
	}
	for _, tc := range tests {
		t.Run(tc.class+"."+tc.method, func(t *testing.T) {
			got, err := class(t, c, tc.class).Call(ctx, tc.method, tc.args...)
			if err != nil {
				t.Fatalf("%s.%s%v: %v", tc.class, tc.method, tc.args, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%s.%s%v = %#v, want %#v", tc.class, tc.method, tc.args, got, tc.want)
			}
		})
	}
}

func TestObjectsAndCollections(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	sb, err := class(t, c, "java.lang.StringBuilder").New(ctx, "ab")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []any{"c", Char('d'), 1, true} {
		if _, err := sb.Call(ctx, "append", a); err != nil {
			t.Fatalf("append(%v): %v", a, err)
		}
	}
	if s, err := As[string](sb.Call(ctx, "toString")); err != nil || s != "abcd1true" {
		t.Fatalf("toString = %q, %v", s, err)
	}
	ch, err := class(t, c, "java.lang.Character").Call(ctx, "toLowerCase", Char('C'))
	if err != nil || ch != Char('c') {
		t.Fatalf("toLowerCase = %#v, %v", ch, err)
	}
	// A char result goes back as a char.
	if _, err := sb.Call(ctx, "append", ch); err != nil {
		t.Fatal(err)
	}
	if s, _ := As[string](sb.Call(ctx, "toString")); s != "abcd1truec" {
		t.Fatalf("after append(char) %q", s)
	}

	list, err := class(t, c, "java.util.Objects").Call(ctx, "requireNonNull", []any{1, "a", []any{}, nil})
	if err != nil {
		t.Fatal(err)
	}
	lo := list.(*Object)
	if lo.Shape() != ShapeList {
		t.Fatalf("a list came back as shape %v", lo.Shape())
	}
	if n, _ := lo.Call(ctx, "size"); n != int32(4) {
		t.Fatalf("size %v", n)
	}
	if v, _ := lo.Call(ctx, "get", 1); v != "a" {
		t.Fatalf("get(1) = %v", v)
	}
	arrayList := class(t, c, "java.util.ArrayList")
	if ok, err := lo.IsInstanceOf(ctx, arrayList); err != nil || !ok {
		t.Fatalf("IsInstanceOf ArrayList: %v %v", ok, err)
	}
	if ok, _ := c.InstanceOf(ctx, "s", arrayList); ok {
		t.Fatal("a string is an ArrayList?")
	}
	m, err := class(t, c, "java.util.Objects").Call(ctx, "requireNonNull", map[string]any{"k": int64(5)})
	if err != nil || m.(*Object).Shape() != ShapeMap {
		t.Fatalf("map: %v %v", m, err)
	}
	if v, _ := m.(*Object).Call(ctx, "get", "k"); v != int64(5) {
		t.Fatalf("map get %v", v)
	}
	s, err := class(t, c, "java.util.Objects").Call(ctx, "requireNonNull", Set{1, 2, 2})
	if err != nil || s.(*Object).Shape() != ShapeSet {
		t.Fatalf("set: %v %v", s, err)
	}
	if n, _ := s.(*Object).Call(ctx, "size"); n != int32(2) {
		t.Fatalf("set size %v", n)
	}
	it, err := lo.Call(ctx, "iterator")
	if err != nil || it.(*Object).Shape() != ShapeIterator {
		t.Fatalf("iterator: %v %v", it, err)
	}
	// Objects go back as themselves.
	if same, _ := class(t, c, "java.util.Objects").Call(ctx, "equals", lo, lo); same != true {
		t.Fatal("an object is not equal to itself")
	}
	k, err := class(t, c, "java.lang.Integer").Field(ctx, "MAX_VALUE")
	if err != nil || k != int32(2147483647) {
		t.Fatalf("MAX_VALUE %v %v", k, err)
	}
	if err := class(t, c, "java.lang.Integer").SetField(ctx, "MAX_VALUE", 1); err == nil {
		t.Fatal("set a final field")
	}
	entry := class(t, c, "java.util.Map.Entry")
	if entry.Name() != "java.util.Map$Entry" {
		t.Fatalf("nested class name %q", entry.Name())
	}
	kind, nested, err := class(t, c, "java.util.Map").Member(ctx, "Entry")
	if err != nil || kind != MemberClass || nested.Name() != "java.util.Map$Entry" {
		t.Fatalf("Member(Entry) %v %v %v", kind, nested, err)
	}
	if kind, _, _ := class(t, c, "java.lang.Math").Member(ctx, "max"); kind != MemberMethod {
		t.Fatalf("Member(max) %v", kind)
	}
	if kind, _, _ := class(t, c, "java.lang.Integer").Member(ctx, "MIN_VALUE"); kind != MemberField {
		t.Fatalf("Member(MIN_VALUE) %v", kind)
	}
	lo.Release()
	if _, err := lo.Call(ctx, "size"); err == nil {
		t.Fatal("a released object was usable")
	}
	lo.Release() // idempotent
	if v, err := class(t, c, "java.lang.String").NewValue(ctx, "abc"); err != nil || v != "abc" {
		t.Fatalf("new String: %v %v", v, err)
	}
	if _, err := class(t, c, "java.lang.String").New(ctx, "abc"); err == nil {
		t.Fatal("New of a by-value class did not fail")
	}
}

func TestArrays(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	arr, err := c.NewArray(ctx, class(t, c, "int"), 5)
	if err != nil {
		t.Fatal(err)
	}
	if arr.Shape() != ShapeArray {
		t.Fatalf("shape %v", arr.Shape())
	}
	if n, err := arr.Len(ctx); err != nil || n != 5 {
		t.Fatalf("Len %d %v", n, err)
	}
	if err := arr.SetIndex(ctx, 2, 7); err != nil {
		t.Fatal(err)
	}
	if v, err := arr.Index(ctx, 2); err != nil || v != int32(7) {
		t.Fatalf("Index %v %v", v, err)
	}
	if s, err := arr.Slice(ctx, 1, 4); err != nil || !reflect.DeepEqual(s, []any{int32(0), int32(7), int32(0)}) {
		t.Fatalf("Slice %v %v", s, err)
	}
	if s, _ := arr.Slice(ctx, 3, 100); len(s) != 2 {
		t.Fatalf("clamped slice %v", s)
	}
	_, err = arr.Index(ctx, 9)
	var re *RequestError
	if !errors.As(err, &re) || re.Code != CodeBadArgument {
		t.Fatalf("Index(9): %v", err)
	}
	strs, err := c.NewArray(ctx, class(t, c, "java.lang.String"), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	row, err := strs.Index(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := row.(*Object).SetIndex(ctx, 0, "z"); err != nil {
		t.Fatal(err)
	}
	if s, _ := class(t, c, "java.util.Arrays").Call(ctx, "deepToString", strs); s != "[[null, null, null], [z, null, null]]" {
		t.Fatalf("deepToString %v", s)
	}
	if h, err := class(t, c, "java.util.Arrays").Call(ctx, "asList", arr); err != nil || h.(*Object).Shape() != ShapeList {
		t.Fatalf("asList %v %v", h, err)
	}
}

func TestErrors(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	integer := class(t, c, "java.lang.Integer")
	_, err := integer.Call(ctx, "parseInt", "nope")
	var je *JavaError
	if !errors.As(err, &je) {
		t.Fatalf("parseInt(nope): %v", err)
	}
	if je.Class != "java.lang.NumberFormatException" || !strings.Contains(je.Message, "nope") ||
		!strings.Contains(je.StackTrace, "at java.base/java.lang.Integer.parseInt") || je.Throwable == nil {
		t.Fatalf("JavaError %+v", je)
	}
	if msg, err := je.Throwable.Call(ctx, "getMessage"); err != nil || msg != je.Message {
		t.Fatalf("getMessage %v %v", msg, err)
	}
	if !errors.Is(err, &JavaError{Class: "java.lang.NumberFormatException"}) {
		t.Fatal("errors.Is by class")
	}
	tests := []struct {
		name string
		do   func() error
		code ErrorCode
	}{
		{"no such member", func() error { _, err := integer.Call(ctx, "noSuchMethod"); return err }, CodeNoSuchMember},
		{"no matching overload", func() error { _, err := integer.Call(ctx, "parseInt", []byte{1}, 2, 3, 4); return err }, CodeNoMatchingOverload},
		{"no such class", func() error { _, err := c.Class(ctx, "no.such.Klass"); return err }, CodeNoSuchClass},
		{"no such field", func() error { _, err := integer.Field(ctx, "NOPE"); return err }, CodeNoSuchMember},
		{"runtime not allowed", func() error {
			rt, err := c.Class(ctx, "java.lang.Runtime")
			if err != nil {
				return err
			}
			_, err = rt.Call(ctx, "getRuntime")
			return err
		}, CodeNotAllowed},
		{"system not allowed", func() error {
			k, err := c.Class(ctx, "java.lang.System")
			if err != nil {
				return err
			}
			_, err = k.Call(ctx, "exit", 1)
			return err
		}, CodeNotAllowed},
		{"forName not allowed", func() error {
			sb, err := class(t, c, "java.lang.StringBuilder").New(ctx)
			if err != nil {
				return err
			}
			k, err := sb.Call(ctx, "getClass")
			if err != nil {
				return err
			}
			_, err = k.(*Object).Call(ctx, "getMethods")
			return err
		}, CodeNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			var re *RequestError
			if !errors.As(err, &re) || re.Code != tc.code {
				t.Fatalf("got %v, want a RequestError %v", err, tc.code)
			}
		})
	}
	// The channel is still fine after all that.
	if v, err := integer.Call(ctx, "parseInt", "5"); err != nil || v != int32(5) {
		t.Fatalf("after errors: %v %v", v, err)
	}
}

func TestLargeValuesChunked(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	const size = 20 << 20
	s := strings.Repeat("gatun€", size/8)
	got, err := class(t, c, "java.util.Objects").Call(ctx, "toString", s)
	if err != nil {
		t.Fatal(err)
	}
	if got != s {
		t.Fatalf("20 MiB string came back different (%d bytes)", len(got.(string)))
	}
	b := bytes.Repeat([]byte{0, 1, 2, 250, 255}, size/5)
	got, err = class(t, c, "java.util.Arrays").Call(ctx, "copyOf", b, len(b))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.([]byte), b) {
		t.Fatal("20 MiB []byte came back different")
	}
	// A list larger than a region both ways.
	l := make([]any, 300000)
	for i := range l {
		l[i] = i
	}
	arr, err := class(t, c, "java.util.Objects").Call(ctx, "requireNonNull", l)
	if err != nil {
		t.Fatal(err)
	}
	back, err := arr.(*Object).Call(ctx, "toArray")
	if err != nil {
		t.Fatal(err)
	}
	all, err := back.(*Object).Slice(ctx, 0, len(l))
	if err != nil || len(all) != len(l) || all[299999] != int32(299999) {
		t.Fatalf("slice of %d: %v", len(all), err)
	}
}

func TestLimitsAndSmallRegion(t *testing.T) {
	c := second(t)
	ctx := context.Background()
	objs := class(t, c, "java.util.Objects")
	s := strings.Repeat("x", 500000) // 8 chunks of a 64 KiB region, both ways
	if got, err := objs.Call(ctx, "toString", s); err != nil || got != s {
		t.Fatalf("chunked over a small region: %v", err)
	}
	_, err := objs.Call(ctx, "toString", strings.Repeat("y", 2<<20))
	var re *RequestError
	if !errors.As(err, &re) || re.Code != CodeLimit || !strings.Contains(re.Message, "max message size of 1048576") {
		t.Fatalf("over the limit: %v", err)
	}
	// The server refuses to send a reply over the limit.
	_, err = objs.Call(ctx, "toString", []any{strings.Repeat("z", 700000), strings.Repeat("z", 700000)})
	if err == nil {
		t.Fatal("a 1.4 MB reply passed a 1 MiB limit")
	}
	if got, err := objs.Call(ctx, "toString", "ok"); err != nil || got != "ok" {
		t.Fatalf("after the limit errors: %v %v", got, err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	math := class(t, c, "java.lang.Math")
	const goroutines, calls = 8, 20000
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			base := int32(g) * 1000000
			for i := 0; i < calls; i++ {
				v, err := math.Call(ctx, "addExact", base, int32(i))
				if err != nil {
					errs <- err
					return
				}
				if v != base+int32(i) {
					errs <- errors.New("cross-talk: a call got another call's answer")
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestPinnedThread(t *testing.T) {
	c := second(t) // its allowlist admits java.lang.ThreadLocal
	th, err := c.Pin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer th.Close()
	ctx := th.Context(context.Background())
	// A ThreadLocal keeps its value on the pinned JVM thread.
	tl, err := class(t, c, "java.lang.ThreadLocal").New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tl.Call(ctx, "set", "mine"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if v, err := tl.Call(ctx, "get"); err != nil || v != "mine" {
			t.Fatalf("pinned get: %v %v", v, err)
		}
	}
	// The pool's channels run on other JVM threads.
	if v, err := tl.Call(context.Background(), "get"); err != nil || v != nil {
		t.Fatalf("pooled get: %v %v", v, err)
	}
	// One call at a time per Thread: a call blocks on a latch that only another channel opens.
	latch, err := class(t, c, "java.util.concurrent.CountDownLatch").New(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { _, err := latch.Call(ctx, "await"); done <- err }()
	for th.ch.inUse.Load() != holdCall { // the goroutine holds the Thread's channel for its call
		runtime.Gosched()
	}
	if _, err := tl.Call(ctx, "get"); !errors.Is(err, ErrBusy) {
		t.Fatalf("concurrent use of a Thread: %v", err)
	}
	if _, err := latch.Call(context.Background(), "countDown"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestInvalidUTF8IsRefusedBeforeSending: spec §4.4, a client sends well-formed UTF-8 only. A
// string argument or member name that is not valid UTF-8 fails in the client with an error that
// says so; nothing reaches the server, and the next call on the same client works.
func TestInvalidUTF8IsRefusedBeforeSending(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	str := class(t, c, "java.lang.String")
	tests := []struct {
		name, member string
		arg          any
	}{
		{"an invalid byte", "valueOf", "a\xffb"},
		{"a truncated sequence", "valueOf", "\xc3"},
		{"an encoded surrogate", "valueOf", "\xed\xa0\x80"},
		{"an overlong encoding", "valueOf", "\xc0\xaf"},
		{"in a list", "valueOf", []any{"ok", "\xff"}},
		{"a member name", "value\xffOf", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := str.Call(ctx, tt.member, tt.arg)
			if err == nil || !strings.Contains(err.Error(), "UTF-8") {
				t.Fatalf("Call(%q, %q) = %v, want an error about UTF-8", tt.member, tt.arg, err)
			}
			if v, err := str.Call(ctx, "valueOf", "fine"); err != nil || v != "fine" {
				t.Fatalf("the next call: %v, %v", v, err)
			}
		})
	}
}
