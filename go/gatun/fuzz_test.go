package gatun

import (
	"encoding/hex"
	"runtime"
	"testing"
)

// FuzzDecodeServerMessage feeds the decoders of server → client payloads (RETURN, THROW, ERROR,
// CALLBACK) arbitrary bytes: they must return a value or an error, never panic, never hang, and
// never allocate more than the input can describe (a count is checked against the bytes left
// before anything is made for it). Seeded with the golden vectors of spec/vectors; the first byte
// of an input picks the decoder. `go test` runs the seeds and testdata/fuzz (regressions); `make
// fuzz` runs the fuzzer itself for a long time.
func FuzzDecodeServerMessage(f *testing.F) {
	var v vectorFile
	readFrameVectors(f, &v)
	seeds := 0
	for _, fr := range v.Frames {
		if fr.Direction != "server_to_client" {
			continue
		}
		b, err := hex.DecodeString(fr.Hex)
		if err != nil || len(b) < frameHeader {
			f.Fatalf("vector %s: bad hex", fr.Name)
		}
		f.Add(append([]byte{b[4]}, b[frameHeader:]...))
		seeds++
	}
	if seeds == 0 {
		f.Fatal("no server → client vectors to seed from")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		d := &decoder{b: in[1:]}
		switch in[0] % 4 {
		case 0:
			if _, err := d.value(); err == nil {
				_ = d.end()
			}
		case 1:
			_, _ = d.throwFrame()
		case 2:
			_, _ = d.errorFrame()
		case 3:
			_, _ = d.callbackFrame()
		}
		if d.pos > len(d.b) {
			t.Fatalf("read past the end: %d of %d bytes", d.pos, len(d.b))
		}
	})
}

// TestDecoderCountsAreBoundedByTheInput keeps what fuzzing found: a u16 count of CALLBACK
// arguments or of a callback value's interfaces made a slice of up to 65,535 entries (1 MB) from
// a few bytes, before any element was read. Counts are now checked against the bytes left.
func TestDecoderCountsAreBoundedByTheInput(t *testing.T) {
	inputs := map[string][]byte{
		"callback argc":        append(make([]byte, 12), 0xff, 0xff),
		"callback value names": append([]byte{tagCallback}, append(make([]byte, 8), 0xff, 0xff)...),
	}
	for name, payload := range inputs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		d := &decoder{b: payload}
		var err error
		if name == "callback argc" {
			_, err = d.callbackFrame()
		} else {
			_, err = d.value()
		}
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: decoded %x without an error", name, payload)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
			t.Errorf("%s: %d bytes allocated for %d bytes of input", name, grew, len(payload))
		}
	}
}
