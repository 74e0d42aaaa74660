package gatun

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// The golden vectors of spec/vectors/frames.json: client → server frames are encoded from their
// meaning and compared byte for byte; server → client frames are decoded and compared by meaning.

type vectorFile struct {
	ProtocolVersion int `json:"protocol_version"`
	Frames          []struct {
		Name      string         `json:"name"`
		Direction string         `json:"direction"`
		Hex       string         `json:"hex"`
		Meaning   map[string]any `json:"meaning"`
	} `json:"frames"`
	Chunk struct {
		Hex     string         `json:"hex"`
		Meaning map[string]any `json:"meaning"`
	} `json:"chunk"`
	Hello map[string]struct {
		Hex     string         `json:"hex"`
		Meaning map[string]any `json:"meaning"`
	} `json:"hello"`
}

// readFrameVectors decodes spec/vectors/frames.json into v (the parts of it v declares).
func readFrameVectors(t testing.TB, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "spec", "vectors", "frames.json"))
	if err != nil {
		t.Fatalf("golden vectors: %v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("golden vectors: %v", err)
	}
}

func loadVectors(t *testing.T) *vectorFile {
	t.Helper()
	var v vectorFile
	readFrameVectors(t, &v)
	if v.ProtocolVersion != protocolVersion {
		t.Fatalf("vectors are for protocol %d, this client speaks %d", v.ProtocolVersion, protocolVersion)
	}
	return &v
}

var frameTypes = func() map[string]byte {
	m := map[string]byte{}
	for t, n := range frameNames {
		m[n] = t
	}
	return m
}()

func u64of(t *testing.T, v any) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(v.(string), 10, 64)
	if err != nil {
		t.Fatalf("bad u64 %v", v)
	}
	return n
}

func intOf(v any) int { return int(v.(float64)) }

// goValue turns a vector's value meaning into the Go value that the client sends as it.
func goValue(t *testing.T, m any) any {
	t.Helper()
	for kind, x := range m.(map[string]any) {
		switch kind {
		case "null":
			return nil
		case "bool":
			return x.(bool)
		case "byte":
			return int8(intOf(x))
		case "short":
			return int16(intOf(x))
		case "char":
			return Char(intOf(x))
		case "int":
			return int32(intOf(x))
		case "long":
			n, err := strconv.ParseInt(x.(string), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		case "float_bits":
			n, err := strconv.ParseUint(x.(string), 0, 32)
			if err != nil {
				t.Fatal(err)
			}
			return math.Float32frombits(uint32(n))
		case "double":
			return x.(float64)
		case "string":
			return x.(string)
		case "bytes":
			b, err := hex.DecodeString(x.(string))
			if err != nil {
				t.Fatal(err)
			}
			return b
		case "decimal":
			return Decimal(x.(string))
		case "object":
			return &Object{handle: u64of(t, x.(map[string]any)["handle"])}
		case "class":
			c := x.(map[string]any)
			return &Class{id: u64of(t, c["id"]), name: c["name"].(string)}
		case "callback":
			c := x.(map[string]any)
			var ifaces []string
			for _, s := range c["interfaces"].([]any) {
				ifaces = append(ifaces, s.(string))
			}
			return &Callback{id: u64of(t, c["id"]), interfaces: ifaces}
		case "list", "set":
			var out []any
			for _, e := range x.([]any) {
				out = append(out, goValue(t, e))
			}
			if out == nil {
				out = []any{}
			}
			if kind == "set" {
				return Set(out)
			}
			return out
		case "map":
			out := Map{}
			for _, kv := range x.([]any) {
				p := kv.([]any)
				out = append(out, MapEntry{goValue(t, p[0]), goValue(t, p[1])})
			}
			return out
		}
		t.Fatalf("unknown value kind %q", kind)
	}
	t.Fatalf("empty value meaning")
	return nil
}

// meaningOf is the vector meaning of a value the client decoded.
func meaningOf(v any) any {
	switch x := v.(type) {
	case nil:
		return map[string]any{"null": nil}
	case bool:
		return map[string]any{"bool": x}
	case int8:
		return map[string]any{"byte": x}
	case int16:
		return map[string]any{"short": x}
	case Char:
		return map[string]any{"char": x}
	case int32:
		return map[string]any{"int": x}
	case int64:
		return map[string]any{"long": strconv.FormatInt(x, 10)}
	case float32:
		return map[string]any{"float_bits": fmt.Sprintf("0x%08x", math.Float32bits(x))}
	case float64:
		return map[string]any{"double": x}
	case string:
		return map[string]any{"string": x}
	case []byte:
		return map[string]any{"bytes": hex.EncodeToString(x)}
	case Decimal:
		return map[string]any{"decimal": string(x)}
	case *Object:
		return map[string]any{"object": map[string]any{"handle": strconv.FormatUint(x.handle, 10), "shape": x.shape}}
	case *Class:
		return map[string]any{"class": map[string]any{"id": strconv.FormatUint(x.id, 10), "name": x.name}}
	case *Callback:
		return map[string]any{"callback": map[string]any{"id": strconv.FormatUint(x.id, 10), "interfaces": x.interfaces}}
	case []any:
		return map[string]any{"list": meaningList(x)}
	case Set:
		return map[string]any{"set": meaningList(x)}
	case Map:
		out := []any{}
		for _, kv := range x {
			out = append(out, []any{meaningOf(kv.Key), meaningOf(kv.Value)})
		}
		return map[string]any{"map": out}
	}
	return map[string]any{"unknown": fmt.Sprintf("%T", v)}
}

func meaningList(l []any) []any {
	out := []any{}
	for _, e := range l {
		out = append(out, meaningOf(e))
	}
	return out
}

func goArgs(t *testing.T, m any) []any {
	out := []any{}
	for _, a := range m.([]any) {
		out = append(out, goValue(t, a))
	}
	return out
}

func goName(m any) nameRef {
	n := m.(map[string]any)
	r := nameRef{id: uint32(intOf(n["id"]))}
	if s, ok := n["define"].(string); ok {
		r.define, r.s = true, s
	}
	return r
}

func goTarget(t *testing.T, m any) (byte, uint64) {
	tg := m.(map[string]any)
	if h, ok := tg["object"]; ok {
		return targetObject, u64of(t, h)
	}
	return targetClass, u64of(t, tg["class"])
}

// encodeBody builds a client → server payload from its meaning with the client's encoders.
func encodeBody(t *testing.T, typ string, b map[string]any) []byte {
	e := &encoder{}
	switch typ {
	case "CALL":
		kind, target := goTarget(t, b["target"])
		e.callBody(kind, target, goName(b["name"]), goArgs(t, b["args"]))
	case "NEW":
		e.newBody(u64of(t, b["class"]), goArgs(t, b["args"]))
	case "GET_FIELD":
		kind, target := goTarget(t, b["target"])
		e.getFieldBody(kind, target, goName(b["name"]))
	case "SET_FIELD":
		kind, target := goTarget(t, b["target"])
		e.setFieldBody(kind, target, goName(b["name"]), goValue(t, b["value"]))
	case "RESOLVE_CLASS":
		e.str(b["name"].(string))
	case "RESOLVE_MEMBER":
		e.resolveMemberBody(u64of(t, b["class"]), goName(b["name"]))
	case "RELEASE":
		var hs []uint64
		for _, h := range b["handles"].([]any) {
			hs = append(hs, u64of(t, h))
		}
		e.releaseBody(hs)
	case "INSTANCE_OF":
		e.instanceOfBody(goValue(t, b["value"]), u64of(t, b["class"]))
	case "NEW_ARRAY":
		var dims []int
		for _, d := range b["dims"].([]any) {
			dims = append(dims, intOf(d))
		}
		e.newArrayBody(u64of(t, b["class"]), dims)
	case "ARRAY":
		op := byte(intOf(b["op"]))
		index, stop := 0, 0
		var value any
		switch op {
		case arrayGet:
			index = intOf(b["index"])
		case arraySet:
			index = intOf(b["index"])
			value = goValue(t, b["value"])
		case arraySlice:
			index, stop = intOf(b["start"]), intOf(b["stop"])
		}
		e.arrayBody(u64of(t, b["handle"]), op, index, stop, value)
	case "CALLBACK_RETURN":
		e.value(goValue(t, b["value"]))
	case "CALLBACK_ERROR":
		e.callbackErrorBody(u64of(t, b["throwable"]), b["python_type"].(string), b["message"].(string))
	case "SERVE_CALLBACKS", "CONTINUE", "SESSION_INFO":
	default:
		t.Fatalf("no encoder for %s", typ)
	}
	if e.err != nil {
		t.Fatalf("encode: %v", e.err)
	}
	return e.b
}

// decodeBody turns a server → client payload into its meaning with the client's decoders.
func decodeBody(t *testing.T, ftype byte, payload []byte) map[string]any {
	d := &decoder{b: payload}
	switch ftype {
	case tReturn:
		v, err := d.value()
		if err == nil {
			err = d.end()
		}
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"value": meaningOf(v)}
	case tThrow:
		f, err := d.throwFrame()
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"throwable": strconv.FormatUint(f.handle, 10), "class_name": f.class, "message": f.message, "stack": f.stack}
	case tError:
		re, err := d.errorFrame()
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"code": int(re.Code), "message": re.Message}
	case tCallback:
		f, err := d.callbackFrame()
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"callback": strconv.FormatUint(f.id, 10), "method": f.method, "args": meaningList(f.args)}
	case tContinue:
		if len(payload) != 0 {
			t.Fatal("CONTINUE with a payload")
		}
		return map[string]any{}
	}
	t.Fatalf("no decoder for %s", frameName(ftype))
	return nil
}

// normal makes a JSON-able value comparable with what encoding/json decoded.
func normal(t *testing.T, v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGoldenVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.Frames) == 0 {
		t.Fatal("no frames in the vectors")
	}
	for _, f := range v.Frames {
		t.Run(f.Name, func(t *testing.T) {
			want, err := hex.DecodeString(f.Hex)
			if err != nil {
				t.Fatal(err)
			}
			typ := f.Meaning["type"].(string)
			ftype, ok := frameTypes[typ]
			if !ok {
				t.Fatalf("unknown frame type %s", typ)
			}
			flags := byte(intOf(f.Meaning["flags"]))
			body := f.Meaning["body"].(map[string]any)
			switch f.Direction {
			case "client_to_server":
				payload := encodeBody(t, typ, body)
				got := frameBytes(ftype, flags, len(payload), uint64(len(payload)), payload)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("encoded\n got %x\nwant %x", got, want)
				}
				if total := intOf(f.Meaning["total"]); total != len(payload) {
					t.Fatalf("total %d, payload %d", total, len(payload))
				}
			case "server_to_client":
				length := binary.LittleEndian.Uint32(want[0:])
				if want[4] != ftype || want[5] != flags || binary.LittleEndian.Uint64(want[8:]) != uint64(intOf(f.Meaning["total"])) || int(length) != len(want)-frameHeader {
					t.Fatalf("header %x does not match %v", want[:16], f.Meaning)
				}
				got := normal(t, decodeBody(t, ftype, want[frameHeader:]))
				if !reflect.DeepEqual(got, normal(t, body)) {
					t.Fatalf("decoded\n got %v\nwant %v", got, body)
				}
			default:
				t.Fatalf("unknown direction %q", f.Direction)
			}
		})
	}
	t.Run("chunk", func(t *testing.T) {
		raw, _ := hex.DecodeString(v.Chunk.Hex)
		m := v.Chunk.Meaning
		got := map[string]any{
			"type": frameName(raw[4]), "flags": int(raw[5]),
			"length": int(binary.LittleEndian.Uint32(raw)), "total": int(binary.LittleEndian.Uint64(raw[8:])),
		}
		if !reflect.DeepEqual(normal(t, got), normal(t, m)) {
			t.Fatalf("chunk header %v, want %v", got, m)
		}
		if int(binary.LittleEndian.Uint32(raw)) != len(raw)-frameHeader || raw[5]&flagMore == 0 {
			t.Fatal("chunk length or MORE flag wrong")
		}
	})
	for kind, h := range v.Hello {
		t.Run("hello_"+kind, func(t *testing.T) {
			token, _ := hex.DecodeString(h.Meaning["token"].(string))
			var session []byte
			if s, ok := h.Meaning["session"].(string); ok {
				session, _ = hex.DecodeString(s)
			}
			got := hex.EncodeToString(helloBytes(byte(intOf(h.Meaning["kind"])), token, session))
			if got != h.Hex || intOf(h.Meaning["version"]) != protocolVersion {
				t.Fatalf("hello\n got %s\nwant %s", got, h.Hex)
			}
		})
	}
}

// TestEncodeRoundTrip checks that every value the encoder writes decodes to itself.
func TestEncodeRoundTrip(t *testing.T) {
	values := []any{nil, true, false, int8(-128), int16(-32768), Char(0x20AC), int32(-7), int64(1) << 40,
		float32(1.5), -0.1, "héllo €𝄞", []byte{0, 255}, Decimal("-12.50"),
		[]any{int32(1), "a", []any{}}, Set{1.5}, Map{{"k", int64(5)}}}
	for _, v := range values {
		e := &encoder{}
		e.value(v)
		if e.err != nil {
			t.Fatalf("%v: %v", v, e.err)
		}
		// Server → client OBJECTs carry a shape byte; none here, so the bytes read back as they are.
		d := &decoder{b: e.b}
		got, err := d.value()
		if err != nil || d.end() != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if !reflect.DeepEqual(normal(t, meaningOf(got)), normal(t, meaningOf(v))) {
			t.Fatalf("round trip of %#v gave %#v", v, got)
		}
	}
}

func TestEncodeGoTypes(t *testing.T) {
	type myInt int
	tests := []struct {
		in   any
		want any // the value meaning
	}{
		{1, map[string]any{"int": 1}},
		{1 << 40, map[string]any{"long": "1099511627776"}},
		{uint8(200), map[string]any{"int": 200}},
		{uint16(65535), map[string]any{"int": 65535}},
		{uint32(1 << 31), map[string]any{"long": "2147483648"}},
		{uint64(5), map[string]any{"int": 5}},
		{myInt(3), map[string]any{"int": 3}},
		{[]string{"a"}, map[string]any{"list": []any{map[string]any{"string": "a"}}}},
		{map[string]any{"k": true}, map[string]any{"map": []any{[]any{map[string]any{"string": "k"}, map[string]any{"bool": true}}}}},
		{(*Object)(nil), map[string]any{"null": nil}},
	}
	for _, tc := range tests {
		e := &encoder{}
		e.value(tc.in)
		if e.err != nil {
			t.Fatalf("%T: %v", tc.in, e.err)
		}
		d := &decoder{b: e.b}
		got, err := d.value()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normal(t, meaningOf(got)), normal(t, tc.want)) {
			t.Errorf("%T %v: got %v, want %v", tc.in, tc.in, meaningOf(got), tc.want)
		}
	}
	for _, bad := range []any{uint64(math.MaxUint64), "\xff", struct{}{}, make(chan int)} {
		e := &encoder{}
		e.value(bad)
		if e.err == nil {
			t.Errorf("%T %q: no error", bad, bad)
		}
	}
	cyc := []any{nil}
	cyc[0] = cyc
	e := &encoder{}
	e.value(cyc)
	if e.err == nil {
		t.Error("a cyclic list encoded without error")
	}
}
