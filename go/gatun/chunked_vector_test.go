package gatun

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

type chunkedVector struct {
	Chunked struct {
		DataCapacity int `json:"data_capacity"`
		Request      struct {
			Total int            `json:"total"`
			Body  map[string]any `json:"body"`
		} `json:"request"`
		Answer struct {
			Body map[string]any `json:"body"`
		} `json:"answer"`
		Steps       []struct{ Direction, Hex string } `json:"steps"`
		AnswerSteps []struct{ Direction, Hex string } `json:"answer_steps"`
	} `json:"chunked"`
}

// TestChunkedExchangeVector replays the vectors' chunked exchange, CONTINUE included, through the
// channel's real send and receive: the channel is set up by mapChannel from a WELCOME this test
// writes, on a region with the vector's data capacity, and the test plays the server.
func TestChunkedExchangeVector(t *testing.T) {
	var v chunkedVector
	readFrameVectors(t, &v)
	cv := v.Chunked
	ch, mem, server := fakeServerChannel(t, cv.DataCapacity)
	clientSeq := (*uint64)(unsafe.Pointer(&mem[offClientSeq]))
	serverSeq := (*uint64)(unsafe.Pointer(&mem[offServerSeq]))
	clientParked := (*uint32)(unsafe.Pointer(&mem[offClientParked]))
	data := mem[regionHeader:]
	type step = struct{ Direction, Hex string }
	steps := append([]step(nil), cv.Steps...)
	steps = append(steps, step{"client_to_server", hex.EncodeToString(frameBytes(tSessionInfo, 0, 0, 0, nil))})
	steps = append(steps, cv.AnswerSteps...)
	failed := make(chan error, 1)
	go func() {
		var seenClient, sentServer uint64
		for _, s := range steps {
			frame, _ := hex.DecodeString(s.Hex)
			if s.Direction == "client_to_server" {
				deadline := time.Now().Add(20 * time.Second)
				for atomic.LoadUint64(clientSeq) == seenClient {
					if time.Now().After(deadline) {
						failed <- fmt.Errorf("the client sent nothing")
						server.Close()
						return
					}
					runtime.Gosched()
				}
				seenClient++
				n := int(binary.LittleEndian.Uint32(data))
				if got := data[:frameHeader+n]; !bytes.Equal(got, frame) {
					failed <- fmt.Errorf("client wrote %x..., vector %x...", got[:min(32, len(got))], frame[:min(32, len(frame))])
					server.Close()
					return
				}
				continue
			}
			copy(data, frame)
			sentServer++
			atomic.StoreUint64(serverSeq, sentServer)
			if atomic.CompareAndSwapUint32(clientParked, 1, 0) { // spec §2.2: ring only a parked client
				_, _ = server.Write([]byte{1})
			}
		}
		failed <- nil
	}()

	// The request, built by the client's own encoder.
	body := cv.Request.Body
	e := &encoder{}
	kind, target := goTarget(t, body["target"])
	e.callBody(kind, target, goName(body["name"]), goArgs(t, body["args"]))
	if len(e.b) != cv.Request.Total {
		t.Fatalf("request payload %d bytes, vector %d", len(e.b), cv.Request.Total)
	}
	st := &call{ctx: context.Background()}
	if answered, err := ch.send(st, tCall, e.b); err != nil || answered {
		t.Fatalf("send: %v (answered %v)", err, answered)
	}
	if err := ch.await(st); err != nil {
		t.Fatal(err)
	}
	if typ, payload, err := ch.receive(st); err != nil || typ != tReturn || !bytes.Equal(payload, []byte{tagInt, 99, 0, 0, 0}) {
		t.Fatalf("answer %#x %x %v", typ, payload, err)
	}
	if _, err := ch.send(st, tSessionInfo, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.await(st); err != nil {
		t.Fatal(err)
	}
	typ, payload, err := ch.receive(st) // chunked: receive answers CONTINUE
	if err != nil || typ != tReturn {
		t.Fatalf("chunked answer %#x %v", typ, err)
	}
	want, _ := hex.DecodeString(cv.Answer.Body["value"].(map[string]any)["bytes"].(string))
	if !bytes.Equal(payload[5:], want) || payload[0] != tagBytes {
		t.Fatalf("chunked answer of %d bytes differs", len(payload))
	}
	if err := <-failed; err != nil {
		t.Fatal(err)
	}
}

// fakeServerChannel sets up a channel through mapChannel, with a WELCOME this test writes, on a
// region of the given data capacity; the caller plays the server on mem and server.
func fakeServerChannel(t *testing.T, capacity int) (*channel, []byte, net.Conn) {
	t.Helper()
	dir := t.TempDir()
	size := regionHeader + capacity
	file := filepath.Join(dir, "region")
	head := make([]byte, size)
	copy(head, "GSHM")
	binary.LittleEndian.PutUint32(head[4:], 1)
	binary.LittleEndian.PutUint64(head[8:], uint64(size))
	binary.LittleEndian.PutUint32(head[16:], regionHeader)
	binary.LittleEndian.PutUint32(head[20:], uint32(capacity))
	if err := os.WriteFile(file, head, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	l, err := net.Listen("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := l.Accept(); accepted <- c }()
	conn, err := net.Dial("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	server := <-accepted
	t.Cleanup(func() { server.Close() })
	welcome := binary.LittleEndian.AppendUint32(nil, 1)
	welcome = binary.LittleEndian.AppendUint64(welcome, uint64(size))
	welcome = binary.LittleEndian.AppendUint32(welcome, uint32(len(file)))
	welcome = append(welcome, file...)
	if _, err := server.Write(welcome); err != nil {
		t.Fatal(err)
	}
	wait, err := parseWaitPolicy("adaptive")
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{waitSpec: wait, classes: map[string]*Class{}, byID: map[uint64]*Class{}, callbacks: map[uint64]*callbackEntry{}}
	ch, err := mapChannel(c, conn.(*net.UnixConn), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ch.unmap)
	mapped := make([]byte, 1)
	if _, err := server.Read(mapped); err != nil || mapped[0] != 1 {
		t.Fatal("no MAPPED byte")
	}
	return ch, mem, server
}

// TestClientRefusesBadServerFrames: each negative server frame fails the channel.
func TestClientRefusesBadServerFrames(t *testing.T) {
	var v struct {
		Negative struct {
			ServerFrames []struct {
				Name   string
				Frames []string
			} `json:"server_frames"`
		} `json:"negative"`
	}
	readFrameVectors(t, &v)
	for _, nv := range v.Negative.ServerFrames {
		t.Run(nv.Name, func(t *testing.T) {
			ch, mem, server := fakeServerChannel(t, 4096)
			go answerEach(mem, server, nv.Frames)
			if _, err := (&Client{}).roundTrip(context.Background(), ch, tSessionInfo, nil); err == nil {
				t.Fatal("a malformed answer was accepted")
			}
			if ch.broken == nil {
				t.Fatal("the channel is still marked usable")
			}
		})
	}
}

// answerEach plays a server that answers each frame the client sends (its request, then each
// CONTINUE) with the next of frames (hex), ringing the doorbell when the client parked (spec §2.2).
// It closes the connection if the client sends nothing for 10 s.
func answerEach(mem []byte, server net.Conn, frames []string) {
	clientSeq := (*uint64)(unsafe.Pointer(&mem[offClientSeq]))
	serverSeq := (*uint64)(unsafe.Pointer(&mem[offServerSeq]))
	clientParked := (*uint32)(unsafe.Pointer(&mem[offClientParked]))
	for i, h := range frames {
		frame, _ := hex.DecodeString(h)
		deadline := time.Now().Add(10 * time.Second)
		for atomic.LoadUint64(clientSeq) == uint64(i) {
			if time.Now().After(deadline) {
				server.Close()
				return
			}
			runtime.Gosched()
		}
		copy(mem[regionHeader:], frame)
		atomic.StoreUint64(serverSeq, uint64(i+1))
		if atomic.CompareAndSwapUint32(clientParked, 1, 0) {
			_, _ = server.Write([]byte{1})
		}
	}
}

// TestReturnVectorsThroughRoundTrip answers a real roundTrip with each RETURN frame of the vectors
// and checks the value the client's request path returns against the vector's meaning.
func TestReturnVectorsThroughRoundTrip(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, f := range v.Frames {
		if f.Direction != "server_to_client" || f.Meaning["type"] != "RETURN" {
			continue
		}
		n++
		t.Run(f.Name, func(t *testing.T) {
			ch, mem, server := fakeServerChannel(t, 4096)
			go answerEach(mem, server, []string{f.Hex})
			got, err := ch.c.roundTrip(context.Background(), ch, tSessionInfo, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := f.Meaning["body"].(map[string]any)
			if g := normal(t, map[string]any{"value": meaningOf(got)}); !reflect.DeepEqual(g, normal(t, want)) {
				t.Fatalf("roundTrip returned %v, vector %v", g, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no RETURN frames in the vectors")
	}
}
