package gatun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Decoding of the server's payloads. Every read is checked against the payload's end: a malformed
// frame from the server is an error for the caller, never a panic (FuzzDecodeServerMessage).

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
