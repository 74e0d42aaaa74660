package gatun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"reflect"
	"slices"
	"unicode/utf8"
)

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

// nameRef is a member name as it goes on the wire (spec §3.2 Name): an id, defining it if new.
type nameRef struct {
	id     uint32
	define bool
	s      string
}

// encoder appends a message payload. The first error sticks; later appends are no-ops.
type encoder struct {
	b     []byte
	c     *Client // owner of objects and callbacks; nil only in vector tests
	err   error
	depth int
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("gatun: "+format, args...)
	}
}

func (e *encoder) u8(v byte)    { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }

func (e *encoder) str(s string) {
	if uint64(len(s)) > math.MaxUint32 {
		e.fail("a string of %d bytes is longer than the protocol allows (4 GiB)", len(s))
		return
	}
	if !utf8.ValidString(s) {
		e.fail("string is not valid UTF-8 (Java strings must be text): %.40q", s)
		return
	}
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) name(n nameRef) {
	if !n.define {
		e.u32(n.id)
		return
	}
	if len(n.s) > math.MaxUint16 {
		e.fail("member name of %d bytes is longer than 65535 bytes", len(n.s))
		return
	}
	if !utf8.ValidString(n.s) {
		e.fail("member name is not valid UTF-8: %q", n.s)
		return
	}
	e.u32(n.id | nameDefine)
	e.u16(uint16(len(n.s)))
	e.b = append(e.b, n.s...)
}

func (e *encoder) target(kind byte, id uint64) {
	e.u8(kind)
	e.u64(id)
}

func (e *encoder) args(args []any) {
	if len(args) > math.MaxUint16 {
		e.fail("%d arguments: at most 65535 are allowed", len(args))
		return
	}
	e.u16(uint16(len(args)))
	for _, a := range args {
		e.value(a)
	}
}

// tagged encodes a fixed-width value: its tag, then the low size bytes of bits, little-endian.
func (e *encoder) tagged(tag byte, size int, bits uint64) {
	e.b = append(e.b, tag)
	for i := range size {
		e.b = append(e.b, byte(bits>>(8*i)))
	}
}

func (e *encoder) intValue(v int64) {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		e.tagged(tagInt, 4, uint64(v))
	} else {
		e.tagged(tagLong, 8, uint64(v))
	}
}

func (e *encoder) uintValue(v uint64) {
	if v > math.MaxInt64 {
		e.fail("unsigned integer %d does not fit in a Java long", v)
		return
	}
	e.intValue(int64(v))
}

// value encodes one Go value (the table is in README.md and spec §4.2 "Go clients send").
func (e *encoder) value(v any) {
	if e.err != nil {
		return
	}
	switch x := v.(type) {
	case nil:
		e.u8(tagNull)
	case bool:
		if x {
			e.u8(tagTrue)
		} else {
			e.u8(tagFalse)
		}
	case int8:
		e.tagged(tagByte, 1, uint64(x))
	case int16:
		e.tagged(tagShort, 2, uint64(x))
	case Char:
		e.tagged(tagChar, 2, uint64(x))
	case int32:
		e.tagged(tagInt, 4, uint64(x))
	case int64:
		e.tagged(tagLong, 8, uint64(x))
	case int:
		e.intValue(int64(x))
	case uint8:
		e.intValue(int64(x))
	case uint16:
		e.intValue(int64(x))
	case uint32:
		e.intValue(int64(x))
	case uint:
		e.uintValue(uint64(x))
	case uint64:
		e.uintValue(x)
	case float32:
		e.tagged(tagFloat, 4, uint64(math.Float32bits(x)))
	case float64:
		e.tagged(tagDouble, 8, math.Float64bits(x))
	case string:
		e.u8(tagString)
		e.str(x)
	case []byte:
		if uint64(len(x)) > math.MaxUint32 {
			e.fail("a []byte of %d bytes is longer than the protocol allows", len(x))
			return
		}
		e.u8(tagBytes)
		e.u32(uint32(len(x)))
		e.b = append(e.b, x...)
	case Decimal:
		e.u8(tagDecimal)
		e.str(string(x))
	case *Object:
		if x == nil {
			e.u8(tagNull)
			return
		}
		if e.foreign(x.c, "a Java object") {
			return
		}
		if x.released.Load() {
			e.fail("Java object %d was released and cannot be used", x.handle)
			return
		}
		e.u8(tagObject)
		e.u64(x.handle)
	case *Class:
		if x == nil {
			e.u8(tagNull)
			return
		}
		if e.foreign(x.c, "a Java class") {
			return
		}
		e.u8(tagClass)
		e.u64(x.id)
		e.str(x.name)
	case *Callback:
		if x == nil {
			e.u8(tagNull)
			return
		}
		if e.foreign(x.c, "a callback") {
			return
		}
		e.u8(tagCallback)
		e.u64(x.id)
		e.u16(uint16(len(x.interfaces)))
		for _, s := range x.interfaces {
			e.str(s)
		}
	case []any:
		e.seq(tagList, len(x), slices.Values(x))
	case Set:
		e.seq(tagSet, len(x), slices.Values(x))
	case Map:
		encodeMap(e, len(x), x.All())
	case map[string]any:
		encodeMap(e, len(x), maps.All(x))
	case map[any]any:
		encodeMap(e, len(x), maps.All(x))
	default:
		e.reflectValue(v)
	}
}

func (e *encoder) enter() {
	e.depth++
	if e.depth > maxDepth {
		e.fail("values nested more than %d deep (a cycle?)", maxDepth)
	}
}

// collection starts a LIST, SET or MAP of n elements (entries); false if n is too many. The caller
// encodes the elements and then leaves the level (e.depth--).
func (e *encoder) collection(tag byte, n int) bool {
	if uint64(n) > math.MaxUint32 {
		e.fail("a collection of %d elements is larger than the protocol allows", n)
		return false
	}
	e.enter()
	e.u8(tag)
	e.u32(uint32(n))
	return true
}

// seq encodes a LIST or SET of n elements.
func (e *encoder) seq(tag byte, n int, elems iter.Seq[any]) {
	if !e.collection(tag, n) {
		return
	}
	for v := range elems {
		if e.err != nil {
			break
		}
		e.value(v)
	}
	e.depth--
}

// encodeMap encodes a MAP of n entries.
func encodeMap[K, V any](e *encoder, n int, entries iter.Seq2[K, V]) {
	if !e.collection(tagMap, n) {
		return
	}
	for k, v := range entries {
		if e.err != nil {
			break
		}
		e.value(k)
		e.value(v)
	}
	e.depth--
}

// reflectValue encodes named and composite types not covered by value's type switch.
func (e *encoder) reflectValue(v any) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		e.value(rv.Bool())
	case reflect.Int8:
		e.value(int8(rv.Int()))
	case reflect.Int16:
		e.value(int16(rv.Int()))
	case reflect.Int32:
		e.value(int32(rv.Int()))
	case reflect.Int64:
		e.value(rv.Int())
	case reflect.Int:
		e.intValue(rv.Int())
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint, reflect.Uint64, reflect.Uintptr:
		e.uintValue(rv.Uint())
	case reflect.Float32:
		e.value(float32(rv.Float()))
	case reflect.Float64:
		e.value(rv.Float())
	case reflect.String:
		e.value(rv.String())
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			e.value(b)
			return
		}
		e.seq(tagList, rv.Len(), func(yield func(any) bool) {
			for i := range rv.Len() {
				if !yield(rv.Index(i).Interface()) {
					return
				}
			}
		})
	case reflect.Map:
		encodeMap(e, rv.Len(), func(yield func(any, any) bool) {
			for k, w := range rv.Seq2() {
				if !yield(k.Interface(), w.Interface()) {
					return
				}
			}
		})
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			e.u8(tagNull)
			return
		}
		e.fail("cannot send a value of type %T to Java", v)
	default:
		e.fail("cannot send a value of type %T to Java", v)
	}
}

// decoder reads a message payload.
type decoder struct {
	b   []byte
	pos int
	c   *Client // owner of returned objects; nil in vector tests
}

var errShort = errors.New("gatun: protocol error: the server's message ends too early")

func (d *decoder) need(n int) error {
	if n < 0 || len(d.b)-d.pos < n {
		return errShort
	}
	return nil
}

func (d *decoder) u8() (byte, error) {
	if err := d.need(1); err != nil {
		return 0, err
	}
	d.pos++
	return d.b[d.pos-1], nil
}

func (d *decoder) u16() (uint16, error) {
	if err := d.need(2); err != nil {
		return 0, err
	}
	d.pos += 2
	return binary.LittleEndian.Uint16(d.b[d.pos-2:]), nil
}

func (d *decoder) u32() (uint32, error) {
	if err := d.need(4); err != nil {
		return 0, err
	}
	d.pos += 4
	return binary.LittleEndian.Uint32(d.b[d.pos-4:]), nil
}

func (d *decoder) u64() (uint64, error) {
	if err := d.need(8); err != nil {
		return 0, err
	}
	d.pos += 8
	return binary.LittleEndian.Uint64(d.b[d.pos-8:]), nil
}

func (d *decoder) str() (string, error) {
	n, err := d.u32()
	if err != nil {
		return "", err
	}
	if err := d.need(int(n)); err != nil {
		return "", err
	}
	s := string(d.b[d.pos : d.pos+int(n)])
	d.pos += int(n)
	return s, nil
}

func (d *decoder) end() error {
	if d.pos != len(d.b) {
		return fmt.Errorf("gatun: protocol error: %d unexpected bytes after the server's message", len(d.b)-d.pos)
	}
	return nil
}

// value decodes one server → client value (spec §4.1; the Go types are in README.md).
func (d *decoder) value() (any, error) {
	tag, err := d.u8()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNull:
		return nil, nil
	case tagTrue:
		return true, nil
	case tagFalse:
		return false, nil
	case tagByte:
		v, err := d.u8()
		return int8(v), err
	case tagShort:
		v, err := d.u16()
		return int16(v), err
	case tagChar:
		v, err := d.u16()
		return Char(v), err
	case tagInt:
		v, err := d.u32()
		return int32(v), err
	case tagLong:
		v, err := d.u64()
		return int64(v), err
	case tagFloat:
		v, err := d.u32()
		return math.Float32frombits(v), err
	case tagDouble:
		v, err := d.u64()
		return math.Float64frombits(v), err
	case tagString:
		return d.str()
	case tagBytes:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		if err := d.need(int(n)); err != nil {
			return nil, err
		}
		b := make([]byte, n)
		copy(b, d.b[d.pos:])
		d.pos += int(n)
		return b, nil
	case tagDecimal:
		s, err := d.str()
		return Decimal(s), err
	case tagObject:
		h, err := d.u64()
		if err != nil {
			return nil, err
		}
		shape, err := d.u8()
		if err != nil {
			return nil, err
		}
		return newObject(d.c, h, Shape(shape)), nil
	case tagClass:
		id, err := d.u64()
		if err != nil {
			return nil, err
		}
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		if d.c != nil {
			return d.c.classFor(id, name), nil
		}
		return &Class{id: id, name: name}, nil
	case tagList, tagSet:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		if err := d.need(int(n)); err != nil { // at least one byte per element
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = d.value(); err != nil {
				return nil, err
			}
		}
		if tag == tagSet {
			return Set(out), nil
		}
		return out, nil
	case tagMap:
		n, err := d.u32()
		if err != nil {
			return nil, err
		}
		if err := d.need(2 * int(n)); err != nil {
			return nil, err
		}
		out := make(Map, n)
		for i := range out {
			if out[i].Key, err = d.value(); err != nil {
				return nil, err
			}
			if out[i].Value, err = d.value(); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagCallback:
		id, err := d.u64()
		if err != nil {
			return nil, err
		}
		n, err := d.u16()
		if err != nil {
			return nil, err
		}
		if err := d.need(4 * int(n)); err != nil { // a name takes at least its length
			return nil, err
		}
		ifaces := make([]string, n)
		for i := range ifaces {
			if ifaces[i], err = d.str(); err != nil {
				return nil, err
			}
		}
		return &Callback{c: d.c, id: id, interfaces: ifaces}, nil
	}
	return nil, fmt.Errorf("gatun: protocol error: unknown value tag 0x%02x", tag)
}

// throwFrame is a decoded THROW payload.
type throwFrame struct {
	handle                uint64
	class, message, stack string
}

func (d *decoder) throwFrame() (t throwFrame, err error) {
	if t.handle, err = d.u64(); err != nil {
		return
	}
	if t.class, err = d.str(); err != nil {
		return
	}
	if t.message, err = d.str(); err != nil {
		return
	}
	if t.stack, err = d.str(); err != nil {
		return
	}
	err = d.end()
	return
}

func (d *decoder) errorFrame() (*RequestError, error) {
	code, err := d.u16()
	if err != nil {
		return nil, err
	}
	msg, err := d.str()
	if err != nil {
		return nil, err
	}
	return &RequestError{Code: ErrorCode(code), Message: msg}, d.end()
}

// callbackFrame is a decoded CALLBACK payload.
type callbackFrame struct {
	id     uint64
	method string
	args   []any
}

func (d *decoder) callbackFrame() (f callbackFrame, err error) {
	if f.id, err = d.u64(); err != nil {
		return
	}
	if f.method, err = d.str(); err != nil {
		return
	}
	n, err := d.u16()
	if err != nil {
		return
	}
	if err = d.need(int(n)); err != nil { // a value takes at least its tag: no 1 MB for 2 bytes
		return
	}
	f.args = make([]any, n)
	for i := range f.args {
		if f.args[i], err = d.value(); err != nil {
			return
		}
	}
	err = d.end()
	return
}

// Request bodies (spec §3.2). The client and the golden-vector tests both build frames with these.

func (e *encoder) callBody(kind byte, target uint64, name nameRef, args []any) {
	e.target(kind, target)
	e.name(name)
	e.args(args)
}

func (e *encoder) newBody(classID uint64, args []any) {
	e.u64(classID)
	e.args(args)
}

func (e *encoder) getFieldBody(kind byte, target uint64, name nameRef) {
	e.target(kind, target)
	e.name(name)
}

func (e *encoder) setFieldBody(kind byte, target uint64, name nameRef, value any) {
	e.target(kind, target)
	e.name(name)
	e.value(value)
}

func (e *encoder) resolveMemberBody(classID uint64, name nameRef) {
	e.u64(classID)
	e.name(name)
}

func (e *encoder) releaseBody(handles []uint64) {
	e.u32(uint32(len(handles)))
	for _, h := range handles {
		e.u64(h)
	}
}

func (e *encoder) instanceOfBody(value any, classID uint64) {
	e.value(value)
	e.u64(classID)
}

func (e *encoder) newArrayBody(classID uint64, dims []int) {
	e.u64(classID)
	e.u8(byte(len(dims)))
	for _, d := range dims {
		e.u32(uint32(d))
	}
}

func (e *encoder) arrayBody(handle uint64, op byte, index, stop int, value any) {
	e.u64(handle)
	e.u8(op)
	switch op {
	case arrayGet:
		e.u32(uint32(int32(index)))
	case arraySet:
		e.u32(uint32(int32(index)))
		e.value(value)
	case arraySlice:
		e.u32(uint32(int32(index)))
		e.u32(uint32(int32(stop)))
	}
}

func (e *encoder) callbackErrorBody(throwable uint64, errType, message string) {
	e.u64(throwable)
	e.str(errType)
	e.str(message)
}

// frameBytes is a whole single frame: header and payload (for tests and tools).
func frameBytes(ftype, flags byte, length int, total uint64, payload []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(length))
	b = append(b, ftype, flags, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, total)
	return append(b, payload...)
}

// foreign reports (and records as the encoding error) a value owned by another client: its
// handles and ids mean nothing in this session.
func (e *encoder) foreign(owner *Client, what string) bool {
	if e.c == nil || owner == e.c {
		return false
	}
	e.fail("%s of another Gatun client (session) cannot be passed here", what)
	return true
}
