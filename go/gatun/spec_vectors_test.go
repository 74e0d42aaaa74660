package gatun

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
