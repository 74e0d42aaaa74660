package gatun

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConstantsMatchTheSpec checks the client's wire constants against spec/vectors/constants.json.
func TestConstantsMatchTheSpec(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "spec", "vectors", "constants.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	group := func(name string) map[string]any { return c[name].(map[string]any) }
	num := func(g, k string) int { return int(group(g)[k].(float64)) }
	check := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, spec says %d", what, got, want)
		}
	}
	check("protocolVersion", protocolVersion, int(c["protocol_version"].(float64)))
	for _, w := range []struct {
		key string
		got time.Duration
	}{
		{"MAX_SPIN_NANOS", maxSpin}, {"PROBE_SPIN_NANOS", probeSpin}, {"MIN_SPIN_NANOS", minSpin},
		{"MIN_PROBE_NANOS", minProbe}, {"MAX_PROBE_NANOS", maxProbe}, {"GAP_NANOS", spinGap},
	} {
		check("wait policy "+w.key, int(w.got.Nanoseconds()), num("wait_policy", w.key))
	}
	check("looksPerClockRead", looksPerClockRead, num("wait_policy", "LOOKS_PER_CLOCK_READ"))
	check("helloSession", helloSession, num("hello", "KIND_SESSION"))
	check("helloChannel", helloChannel, num("hello", "KIND_CHANNEL"))
	check("session HELLO length", len(helloBytes(helloSession, make([]byte, 32), nil)), num("hello", "SESSION_HELLO_BYTES"))
	check("channel HELLO length", len(helloBytes(helloChannel, make([]byte, 32), make([]byte, 16))), num("hello", "CHANNEL_HELLO_BYTES"))
	if got := string(helloBytes(helloSession, make([]byte, 32), nil)[:4]); got != group("hello")["MAGIC"].(string) {
		t.Errorf("HELLO magic %q", got)
	}
	for name, code := range group("welcome_status") {
		if code.(float64) != 0 {
			if _, ok := welcomeStatus[byte(code.(float64))]; !ok {
				t.Errorf("no welcome status %s", name)
			}
		}
	}
	if len(welcomeStatus) != len(group("welcome_status"))-1 {
		t.Errorf("welcome statuses %v", welcomeStatus)
	}
	check("controlCancel", controlCancel, num("control", "CANCEL"))
	check("controlClose", controlClose, num("control", "CLOSE"))
	check("controlShutdown", controlShutdown, num("control", "SHUTDOWN"))
	check("regionHeader", regionHeader, num("region", "DATA_OFFSET"))
	check("offClientSeq", offClientSeq, num("region", "OFF_CLIENT_SEQ"))
	check("offServerSeq", offServerSeq, num("region", "OFF_SERVER_SEQ"))
	check("offClientParked", offClientParked, num("region", "OFF_CLIENT_PARKED"))
	check("offServerParked", offServerParked, num("region", "OFF_SERVER_PARKED"))
	check("frameHeader", frameHeader, num("frame", "HEADER_BYTES"))
	check("flagMore", flagMore, num("frame", "FLAG_MORE"))
	check("targetObject", targetObject, num("targets", "OBJECT"))
	check("targetClass", targetClass, num("targets", "CLASS"))
	check("arrayLength", arrayLength, num("array_ops", "LENGTH"))
	check("arrayGet", arrayGet, num("array_ops", "GET"))
	check("arraySet", arraySet, num("array_ops", "SET"))
	check("arraySlice", arraySlice, num("array_ops", "SLICE"))
	check("nameDefine", nameDefine, num("names", "DEFINE_BIT"))
	check("maxNameID", maxNameID, num("names", "MAX_ID"))
	for name, code := range group("frame_types") {
		ft, ok := frameTypes[name]
		if !ok || int(ft) != int(code.(float64)) {
			t.Errorf("frame type %s = %d (%v), spec says %v", name, ft, ok, code)
		}
	}
	tags := map[string]byte{
		"NULL": tagNull, "TRUE": tagTrue, "FALSE": tagFalse, "BYTE": tagByte, "SHORT": tagShort, "CHAR": tagChar,
		"INT": tagInt, "LONG": tagLong, "FLOAT": tagFloat, "DOUBLE": tagDouble, "STRING": tagString, "BYTES": tagBytes,
		"OBJECT": tagObject, "CLASS": tagClass, "LIST": tagList, "MAP": tagMap, "SET": tagSet, "CALLBACK": tagCallback,
		"DECIMAL": tagDecimal,
	}
	if len(codeNames) != len(group("error_codes")) {
		t.Errorf("%d error codes, spec has %d", len(codeNames), len(group("error_codes")))
	}
	if len(tags) != len(group("value_tags")) {
		t.Errorf("%d value tags, spec has %d", len(tags), len(group("value_tags")))
	}
	for name, tag := range group("value_tags") {
		check("tag "+name, int(tags[name]), int(tag.(float64)))
	}
	for name, code := range group("error_codes") {
		got := ErrorCode(int(code.(float64))).String()
		if got != name {
			t.Errorf("error code %v is %q here, %q in the spec", code, got, name)
		}
	}
}

// TestFailedFirstUseDefinesNoName is the spec's define/fail/use scenario against a real server: a
// first use of a name whose arguments fail to encode defines nothing, so the next request's new
// name does not inherit it, and the name's next use defines it properly.
func TestFailedFirstUseDefinesNoName(t *testing.T) {
	c := jvm(t)
	ctx := context.Background()
	sb, err := class(t, c, "java.lang.StringBuilder").New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Call(ctx, "insert", 0, uint64(1)<<63); err == nil {
		t.Fatal("an unsigned value beyond 63 bits should be refused in the client")
	}
	if n, err := sb.Call(ctx, "capacity"); err != nil {
		t.Fatalf("capacity: %v (%v)", err, n)
	}
	if _, err := sb.Call(ctx, "insert", 0, "x"); err != nil {
		t.Fatalf("insert after a failed first use: %v", err)
	}
	if s, err := As[string](sb.Call(ctx, "toString")); err != nil || !strings.HasPrefix(s, "x") {
		t.Fatalf("toString = %q, %v", s, err)
	}
}

type wireVectors struct {
	Hello   map[string]struct{ Hex string } `json:"hello"`
	Welcome map[string]struct {
		Hex     string         `json:"hex"`
		Meaning map[string]any `json:"meaning"`
	} `json:"welcome"`
	Control map[string]struct {
		Hex     string         `json:"hex"`
		Meaning map[string]any `json:"meaning"`
	} `json:"control"`
}

func loadWireVectors(t *testing.T) *wireVectors {
	t.Helper()
	var v wireVectors
	readFrameVectors(t, &v)
	return &v
}

// answerOnce listens on a fresh socket, reads a HELLO and answers reply: the client's WELCOME
// parsing in isolation. It returns the socket path and the HELLO bytes it received.
func answerOnce(t *testing.T, reply []byte) (string, <-chan []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		defer l.Close()
		c, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		b := make([]byte, 40)
		_, _ = io.ReadFull(c, b)
		got <- b
		_, _ = c.Write(reply)
		_, _ = c.Read(make([]byte, 1)) // until the client closes
	}()
	return path, got
}

// TestWelcomeVectors parses each WELCOME vector with the client's hand-shake code.
func TestWelcomeVectors(t *testing.T) {
	v := loadWireVectors(t)
	token := make([]byte, 32)
	for i := range token {
		token[i] = byte(i)
	}
	for name, w := range v.Welcome {
		if name == "channel_ok" {
			continue // needs a real region file: the integration tests open channels
		}
		t.Run(name, func(t *testing.T) {
			reply, _ := hex.DecodeString(w.Hex)
			path, got := answerOnce(t, reply)
			cc, err := openControl(context.Background(), path, token)
			if hello := <-got; hex.EncodeToString(hello) != v.Hello["session"].Hex {
				t.Errorf("HELLO sent %x", hello)
			}
			if int(w.Meaning["status"].(float64)) != 0 {
				if err == nil || !errors.Is(err, ErrConnection) || !strings.Contains(err.Error(), w.Meaning["message"].(string)) {
					t.Fatalf("refusal: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cc.conn.Close()
			if hex.EncodeToString(cc.session) != w.Meaning["session"].(string) ||
				strconv.FormatUint(cc.maxMessage, 10) != w.Meaning["max_message_bytes"].(string) {
				t.Fatalf("session %x, max %d", cc.session, cc.maxMessage)
			}
		})
	}
}

// TestControlVectors encodes CANCEL with the control connection's own code.
func TestControlVectors(t *testing.T) {
	v := loadWireVectors(t)
	path := filepath.Join(t.TempDir(), "c.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := l.Accept(); accepted <- c }()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer := <-accepted
	defer peer.Close()
	cc := &controlConn{conn: conn.(*net.UnixConn)}
	cancel := v.Control["cancel"]
	if err := cc.cancel(uint32(cancel.Meaning["channel"].(float64))); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(peer, got); err != nil || hex.EncodeToString(got) != cancel.Hex {
		t.Fatalf("CANCEL %x (%v), vector %s", got, err, cancel.Hex)
	}
	for name, b := range map[string]byte{"close": controlClose, "shutdown": controlShutdown} {
		if hex.EncodeToString([]byte{b}) != v.Control[name].Hex {
			t.Errorf("%s is %#x, vector %s", name, b, v.Control[name].Hex)
		}
	}
}
