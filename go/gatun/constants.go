package gatun

import (
	"fmt"
)

// The protocol's numbers, written once for this client; spec_vectors_test.go checks every one
// against spec/vectors/constants.json, so a drift from the spec fails a test instead of a call.

// Wire constants of spec/protocol.md, version 1.
const (
	protocolVersion = 1

	helloSession = 1
	helloChannel = 2

	regionHeader    = 512
	offClientSeq    = 64
	offServerSeq    = 128
	offClientParked = 192
	offServerParked = 256
	frameHeader     = 16
	flagMore        = 1

	controlCancel   = 0x01
	controlClose    = 0x02
	controlShutdown = 0x03

	targetObject = 0
	targetClass  = 1

	arrayLength = 0
	arrayGet    = 1
	arraySet    = 2
	arraySlice  = 3

	nameDefine = 0x80000000
	// maxNameID is the server's bound on name ids per channel (NameTable.MAX_ID).
	maxNameID = 1 << 20
	// maxDepth bounds the nesting of collections sent as values (a cycle would never end).
	maxDepth = 512
)

// Frame types (spec §3.2, §3.3).
const (
	tCall           byte = 0x01
	tNew            byte = 0x02
	tGetField       byte = 0x03
	tSetField       byte = 0x04
	tResolveClass   byte = 0x05
	tResolveMember  byte = 0x06
	tRelease        byte = 0x07
	tInstanceOf     byte = 0x08
	tNewArray       byte = 0x09
	tArray          byte = 0x0A
	tSessionInfo    byte = 0x0B
	tCallbackReturn byte = 0x10
	tCallbackError  byte = 0x11
	tServeCallbacks byte = 0x20
	tContinue       byte = 0x7F
	tReturn         byte = 0x40
	tThrow          byte = 0x41
	tError          byte = 0x42
	tCallback       byte = 0x50
)

// Value tags (spec §4).
const (
	tagNull     byte = 0x00
	tagTrue     byte = 0x01
	tagFalse    byte = 0x02
	tagByte     byte = 0x03
	tagShort    byte = 0x04
	tagChar     byte = 0x05
	tagInt      byte = 0x06
	tagLong     byte = 0x07
	tagFloat    byte = 0x08
	tagDouble   byte = 0x09
	tagString   byte = 0x0A
	tagBytes    byte = 0x0B
	tagObject   byte = 0x0C
	tagClass    byte = 0x0D
	tagList     byte = 0x0E
	tagMap      byte = 0x0F
	tagSet      byte = 0x10
	tagCallback byte = 0x11
	tagDecimal  byte = 0x12
)

var frameNames = map[byte]string{
	tCall: "CALL", tNew: "NEW", tGetField: "GET_FIELD", tSetField: "SET_FIELD",
	tResolveClass: "RESOLVE_CLASS", tResolveMember: "RESOLVE_MEMBER", tRelease: "RELEASE",
	tInstanceOf: "INSTANCE_OF", tNewArray: "NEW_ARRAY", tArray: "ARRAY", tSessionInfo: "SESSION_INFO",
	tCallbackReturn: "CALLBACK_RETURN", tCallbackError: "CALLBACK_ERROR", tServeCallbacks: "SERVE_CALLBACKS",
	tContinue: "CONTINUE", tReturn: "RETURN", tThrow: "THROW", tError: "ERROR", tCallback: "CALLBACK",
}

func frameName(t byte) string {
	if n, ok := frameNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%02x", t)
}
