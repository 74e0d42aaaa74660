// Package gatun is the Go client of Gatun, a bridge from Go to a JVM over Unix sockets and shared
// memory (the protocol is spec/protocol.md in the Gatun repository).
//
// Launch starts a private server JVM and connects; Connect and ConnectInfoFile attach to a running
// one. Then:
//
//	math, _ := client.Class(ctx, "java.lang.Math")
//	v, err := math.Call(ctx, "max", 1, 2) // int32(2)
//	sbClass, _ := client.Class(ctx, "java.lang.StringBuilder")
//	sb, _ := sbClass.New(ctx, "x")
//	n, err := gatun.As[int32](sb.Call(ctx, "length"))
//
// Values cross as described in README.md (Go int → Java int or long, string → String, []byte →
// byte[], []any → ArrayList, *Object → the object itself, ...; Java results come back with exact
// widths: int32, int64, Char, float32, ...). Every other Java object is an *Object; release it with
// Object.Release or let the garbage collector do it.
//
// # Concurrency
//
// A Client is safe for concurrent use. Each call borrows a channel (one socket, one shared-memory
// region, one JVM thread) from a pool and returns it afterwards, so concurrent goroutines run on
// different JVM threads and never wait for each other. Code that needs Java thread-local state
// pins a channel: t, _ := client.Pin(ctx); ctx = t.Context(ctx); every call made with that context
// runs on the same JVM thread. A Thread runs one call at a time (ErrBusy otherwise).
//
// # Contexts
//
// Every call takes a context. When it ends while Java is still working, the client sends CANCEL:
// the JVM thread is interrupted, and the call returns ctx.Err() once the server has answered (after
// a grace second without an answer, the channel is abandoned instead).
//
// # Callbacks
//
// Client.Implement turns a Handler into a Java object implementing interfaces. Calls from the JVM
// thread of a running call arrive on that call's goroutine, and the handler's context is bound to
// the same channel, so Go → Java → Go → Java nests on one JVM thread. Calls from other JVM threads
// arrive on callback channels served by goroutines of the client.
//
// # Errors
//
// A Java exception is a *JavaError, a refusal by the server (allowlist, no such member, limits) a
// *RequestError, and a lost server an error wrapping ErrConnection ("the Gatun server JVM died").
package gatun
