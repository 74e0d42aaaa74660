package gatun

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

type callbackLoopVector struct {
	CallbackLoop struct {
		Steps []struct {
			Direction     string `json:"direction"`
			Hex           string `json:"hex"`
			CallbackError *struct {
				Throwable       string            `json:"throwable"`
				Type            map[string]string `json:"type"`
				MessageEndsWith map[string]string `json:"message_ends_with"`
			} `json:"callback_error"`
		} `json:"steps"`
	} `json:"callback_loop"`
}

// TestCallbackLoopVector replays the vectors' callback loop through the client's real loop
// (callbackLoop, runCallback and the channel's send and receive): the test plays the server on a
// region that mapChannel set up, writes each CALLBACK and checks each answer byte for byte, or for
// CALLBACK_ERROR its handle, Go's error type and the end of its text.
func TestCallbackLoopVector(t *testing.T) {
	var v callbackLoopVector
	readFrameVectors(t, &v)
	ch, mem, server := fakeServerChannel(t, 4096)
	clientSeq := (*uint64)(unsafe.Pointer(&mem[offClientSeq]))
	serverSeq := (*uint64)(unsafe.Pointer(&mem[offServerSeq]))
	clientParked := (*uint32)(unsafe.Pointer(&mem[offClientParked]))
	data := mem[regionHeader:]

	served := make(chan error, 1)
	go func() {
		defer server.Close() // the session ends: the loop fails its next wait and returns
		var seenClient, sentServer uint64
		for i, s := range v.CallbackLoop.Steps {
			if s.Direction != "client_to_server" {
				frame, _ := hex.DecodeString(s.Hex)
				copy(data, frame)
				sentServer++
				atomic.StoreUint64(serverSeq, sentServer)
				if atomic.CompareAndSwapUint32(clientParked, 1, 0) { // spec §2.2: ring only a parked client
					_, _ = server.Write([]byte{1})
				}
				continue
			}
			deadline := time.Now().Add(20 * time.Second)
			for atomic.LoadUint64(clientSeq) == seenClient {
				if time.Now().After(deadline) {
					served <- fmt.Errorf("step %d: the client sent nothing", i)
					return
				}
				runtime.Gosched()
			}
			seenClient++
			got := append([]byte(nil), data[:frameHeader+int(binary.LittleEndian.Uint32(data))]...)
			if err := checkCallbackAnswer(got, s.Hex, s.CallbackError); err != nil {
				served <- fmt.Errorf("step %d: %v", i, err)
				return
			}
		}
		served <- nil
	}()

	// The vector's callback 1, as a Go handler.
	c := ch.c
	c.baseCtx = context.Background()
	c.callbacks = map[uint64]*callbackEntry{1: {h: func(_ context.Context, method string, args []any) (any, error) {
		switch method {
		case "get":
			return "X", nil
		case "add":
			return args[0].(int32) + int32(args[1].(int64)), nil
		case "echo":
			return args[0], nil
		case "fail":
			return nil, errors.New("bad")
		}
		return nil, fmt.Errorf("no method %s", method)
	}}}
	callbacks := 0
	loopErr := c.callbackLoop(ch, func() { callbacks++ }, func() {})
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if loopErr == nil {
		t.Fatal("the loop returned without an error after the session ended")
	}
	if want := 5; callbacks != want {
		t.Fatalf("%d callbacks ran, the vector has %d", callbacks, want)
	}
}

// checkCallbackAnswer compares one frame the client wrote with a step of the vector.
func checkCallbackAnswer(got []byte, wantHex string, wantErr *struct {
	Throwable       string            `json:"throwable"`
	Type            map[string]string `json:"type"`
	MessageEndsWith map[string]string `json:"message_ends_with"`
}) error {
	if wantErr == nil {
		want, _ := hex.DecodeString(wantHex)
		if !bytes.Equal(got, want) {
			return fmt.Errorf("client wrote %x, vector %x", got, want)
		}
		return nil
	}
	if got[4] != tCallbackError {
		return fmt.Errorf("expected CALLBACK_ERROR, the client sent frame type %#x", got[4])
	}
	d := decoder{b: got[frameHeader:]}
	throwable, err1 := d.u64()
	typ, err2 := d.str()
	msg, err3 := d.str()
	if err := errors.Join(err1, err2, err3); err != nil || d.pos != len(d.b) {
		return fmt.Errorf("CALLBACK_ERROR body %x does not decode: %v", got[frameHeader:], err)
	}
	if fmt.Sprint(throwable) != wantErr.Throwable || typ != wantErr.Type["go"] || !strings.HasSuffix(msg, wantErr.MessageEndsWith["go"]) {
		return fmt.Errorf("CALLBACK_ERROR %d %q %q, vector %s %q %q", throwable, typ, msg,
			wantErr.Throwable, wantErr.Type["go"], wantErr.MessageEndsWith["go"])
	}
	return nil
}
