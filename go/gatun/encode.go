package gatun

import (
	"encoding/binary"
	"fmt"
	"iter"
	"maps"
	"math"
	"reflect"
	"slices"
	"unicode/utf8"
)

// Encoding: values (spec §4) and request bodies (spec §3.2). The client and the golden-vector
// tests build frames with these same functions, so the vectors test what the client really sends.

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
