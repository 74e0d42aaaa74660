package gatun

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"sync/atomic"
)

// Char is a Java char (a UTF-16 code unit): sent as CHAR, and what a Java char comes back as (a
// distinct type, so that a char result passed back to Java is a char again, not an int). Convert
// with rune(c); a surrogate half is not a valid rune on its own.
type Char uint16

// Decimal is a java.math.BigDecimal in its string form, e.g. "-12.50"; sent and received as DECIMAL.
type Decimal string

// Set is sent as a new java.util.HashSet of its elements (SET).
type Set []any

// MapEntry is one key/value pair of a Map.
type MapEntry struct {
	Key, Value any
}

// Map is sent as a new java.util.HashMap (MAP) with its entries in order; Go maps
// (map[string]any, map[any]any and other map types) are sent as MAP too.
type Map []MapEntry

// All yields the entries' keys and values in order.
func (m Map) All() iter.Seq2[any, any] {
	return func(yield func(any, any) bool) {
		for _, kv := range m {
			if !yield(kv.Key, kv.Value) {
				return
			}
		}
	}
}

// Shape says which kind of Java object an *Object is (spec §4, shapes of a returned OBJECT).
type Shape uint8

// The shapes of spec §4.
const (
	ShapeObject   Shape = 0
	ShapeList     Shape = 1
	ShapeMap      Shape = 2
	ShapeSet      Shape = 3
	ShapeArray    Shape = 4
	ShapeIterator Shape = 5
)

var shapeNames = [...]string{"object", "list", "map", "set", "array", "iterator"}

// String returns "object", "list", "map", "set", "array" or "iterator".
func (s Shape) String() string {
	if int(s) < len(shapeNames) {
		return shapeNames[s]
	}
	return fmt.Sprintf("shape(%d)", uint8(s))
}

// Object is a Java object held for this session by the server. Release it when done; an Object
// that becomes unreachable is released automatically (in batches) after the Go GC collects it.
// Objects are safe for concurrent use.
type Object struct {
	c        *Client
	handle   uint64
	shape    Shape
	released atomic.Bool
	cleanup  runtime.Cleanup
}

func newObject(c *Client, handle uint64, shape Shape) *Object {
	o := &Object{c: c, handle: handle, shape: shape}
	if c != nil {
		o.cleanup = runtime.AddCleanup(o, c.queueRelease, handle)
	}
	return o
}

// Handle is the object's handle in the session (spec §6).
func (o *Object) Handle() uint64 { return o.handle }

// Shape says whether the object is a List, Map, Set, array, Iterator or plain object.
func (o *Object) Shape() Shape { return o.shape }

// Client is the client whose session holds the object.
func (o *Object) Client() *Client { return o.c }

// String describes the object (it does not call Java's toString; use Call(ctx, "toString")).
func (o *Object) String() string {
	return fmt.Sprintf("gatun.Object(%d, %s)", o.handle, o.shape)
}

// Release lets the server drop the object. Releases are sent in batches, before a later request;
// using the Object afterwards is an error. Release is idempotent.
func (o *Object) Release() {
	if o == nil || !o.released.CompareAndSwap(false, true) {
		return
	}
	if o.c != nil {
		o.cleanup.Stop()
		o.c.queueRelease(o.handle)
	}
}

func (o *Object) check() error {
	if o.released.Load() {
		return fmt.Errorf("gatun: Java object %d was released and cannot be used", o.handle)
	}
	return nil
}

// Call calls the instance method name with args (Go values, converted as in README.md) and returns
// the result converted to Go. Java exceptions are *JavaError, refusals *RequestError.
func (o *Object) Call(ctx context.Context, name string, args ...any) (any, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	v, err := o.c.call(ctx, targetObject, o.handle, name, args)
	runtime.KeepAlive(o)
	return v, err
}

// Field reads the public instance field name.
func (o *Object) Field(ctx context.Context, name string) (any, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	v, err := o.c.getField(ctx, targetObject, o.handle, name)
	runtime.KeepAlive(o)
	return v, err
}

// SetField writes the public instance field name.
func (o *Object) SetField(ctx context.Context, name string, value any) error {
	if err := o.check(); err != nil {
		return err
	}
	err := o.c.setField(ctx, targetObject, o.handle, name, value)
	runtime.KeepAlive(o)
	return err
}

// IsInstanceOf reports whether the object is an instance of cls.
func (o *Object) IsInstanceOf(ctx context.Context, cls *Class) (bool, error) {
	return o.c.InstanceOf(ctx, o, cls)
}

// Len is the length of an array object (ARRAY length).
func (o *Object) Len(ctx context.Context) (int, error) {
	v, err := o.array(ctx, arrayLength, 0, 0, nil)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int32)
	if !ok {
		return 0, protocolErr("array length is a %T", v)
	}
	return int(n), nil
}

// Index returns element i of an array object.
func (o *Object) Index(ctx context.Context, i int) (any, error) {
	return o.array(ctx, arrayGet, i, 0, nil)
}

// SetIndex sets element i of an array object (converted to the component type by the server).
func (o *Object) SetIndex(ctx context.Context, i int, value any) error {
	_, err := o.array(ctx, arraySet, i, 0, value)
	return err
}

// Slice returns elements start..stop-1 of an array object, clamped to its bounds like Python slices.
func (o *Object) Slice(ctx context.Context, start, stop int) ([]any, error) {
	v, err := o.array(ctx, arraySlice, start, stop, nil)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, protocolErr("array slice is a %T", v)
	}
	return l, nil
}

// Class is a Java class of the session (from Client.Class). Classes are never released.
type Class struct {
	c    *Client
	id   uint64
	name string
}

// Name is the class's Java name, e.g. "java.util.Map$Entry".
func (k *Class) Name() string { return k.name }

// ID is the server's class id (spec §3.2).
func (k *Class) ID() uint64 { return k.id }

// String returns the class name.
func (k *Class) String() string { return "gatun.Class(" + k.name + ")" }

// New calls a constructor and returns the new object. A constructor whose result comes back by
// value (java.lang.String, boxed numbers, BigDecimal) is an error here: use NewValue.
func (k *Class) New(ctx context.Context, args ...any) (*Object, error) {
	v, err := k.NewValue(ctx, args...)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*Object)
	if !ok {
		return nil, fmt.Errorf("gatun: new %s returned a %T by value, not an object: use NewValue", k.name, v)
	}
	return o, nil
}

// NewValue calls a constructor and returns the result converted to Go (an *Object, or a value
// such as a string for java.lang.String).
func (k *Class) NewValue(ctx context.Context, args ...any) (any, error) {
	return k.c.newInstance(ctx, k.id, args)
}

// Call calls the static method name.
func (k *Class) Call(ctx context.Context, name string, args ...any) (any, error) {
	return k.c.call(ctx, targetClass, k.id, name, args)
}

// Field reads the static field name.
func (k *Class) Field(ctx context.Context, name string) (any, error) {
	return k.c.getField(ctx, targetClass, k.id, name)
}

// SetField writes the static field name.
func (k *Class) SetField(ctx context.Context, name string, value any) error {
	return k.c.setField(ctx, targetClass, k.id, name, value)
}

// MemberKind is what RESOLVE_MEMBER found for a name.
type MemberKind int

// The kinds of Class.Member.
const (
	MemberNone   MemberKind = 0
	MemberMethod MemberKind = 1
	MemberField  MemberKind = 2
	MemberClass  MemberKind = 3
)

// Member says whether name is a static method, a static field or a nested class of k (and
// returns the nested class), or nothing.
func (k *Class) Member(ctx context.Context, name string) (MemberKind, *Class, error) {
	v, err := k.c.resolveMember(ctx, k.id, name)
	if err != nil {
		return MemberNone, nil, err
	}
	switch x := v.(type) {
	case nil:
		return MemberNone, nil, nil
	case int32:
		return MemberKind(x), nil, nil
	case *Class:
		return MemberClass, x, nil
	}
	return MemberNone, nil, protocolErr("RESOLVE_MEMBER returned a %T", v)
}

// As converts the result of a call to T: n, err := gatun.As[int32](math.Call(ctx, "max", 1, 2)).
// It passes an error through and reports a result of another type as an error.
func As[T any](v any, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if v == nil {
		return zero, nil
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("gatun: the result is a %T, not a %T", v, zero)
	}
	return t, nil
}
