package gatunarrow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const continuation = 0xFFFFFFFF

// message splits the encapsulated IPC message at the start of buf (continuation marker, metadata
// length, flatbuffer metadata, body) into an ipc.Message whose metadata and body are slices of buf:
// nothing is copied, and both hold a reference to buf until the message is released.
func message(buf *memory.Buffer) (msg *ipc.Message, err error) {
	b := buf.Bytes()
	if len(b) < 8 || binary.LittleEndian.Uint32(b) != continuation {
		return nil, errors.New("gatunarrow: not an Arrow IPC message (no continuation marker)")
	}
	metaLen := int64(int32(binary.LittleEndian.Uint32(b[4:])))
	if metaLen <= 0 || metaLen > int64(len(b))-8 {
		return nil, fmt.Errorf("gatunarrow: Arrow IPC message with a bad metadata length %d in %d bytes", metaLen, len(b))
	}
	defer func() {
		// The flatbuffer accessors panic on malformed metadata.
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("gatunarrow: malformed Arrow IPC message metadata: %v", r)
		}
	}()
	meta := memory.SliceBuffer(buf, 8, int(metaLen))
	defer meta.Release()
	// The body length is in the metadata: read it through a message without a body first.
	probe := ipc.NewMessage(meta, memory.NewBufferBytes(nil))
	bodyLen := probe.BodyLen()
	probe.Release()
	if bodyLen < 0 || bodyLen > int64(len(b))-8-metaLen {
		return nil, fmt.Errorf("gatunarrow: Arrow IPC message claims a body of %d bytes; %d are there",
			bodyLen, int64(len(b))-8-metaLen)
	}
	body := memory.SliceBuffer(buf, int(8+metaLen), int(bodyLen))
	defer body.Release()
	return ipc.NewMessage(meta, body), nil
}

// decoder turns IPC record batch messages of one stream into records with arrow-go's own loader,
// whose arrays are slices of the message body: no copy. arrow-go decodes batch messages through an
// ipc.Reader over a MessageReader; each batch gets a reader of its own (fed the schema message and
// then the batch), because an ipc.Reader keeps a reference to its latest record until its next
// read, and that would keep the batch's span from going back to the JVM when the caller releases
// the record.
type decoder struct {
	schemaMessage []byte
	schema        *arrow.Schema
}

// newDecoder starts a stream from its schema message.
func newDecoder(schemaMessage []byte) (*decoder, error) {
	d := &decoder{schemaMessage: schemaMessage}
	rdr, err := d.reader()
	if err != nil {
		return nil, err
	}
	d.schema = rdr.Schema()
	rdr.Release()
	if err := checkNoDictionary(d.schema); err != nil {
		return nil, err
	}
	return d, nil
}

// reader is an ipc.Reader that has read the schema message and reads what feed gets next.
func (d *decoder) reader(next ...*ipc.Message) (*ipc.Reader, error) {
	msg, err := message(memory.NewBufferBytes(d.schemaMessage))
	if err != nil {
		return nil, err
	}
	if typ := msg.Type(); typ != ipc.MessageSchema {
		msg.Release()
		return nil, fmt.Errorf("gatunarrow: expected an Arrow IPC schema message, got %v", typ)
	}
	f := &feed{msgs: append([]*ipc.Message{msg}, next...)}
	rdr, err := ipc.NewReaderFromMessageReader(f)
	msg.Release()
	if err != nil {
		return nil, fmt.Errorf("gatunarrow: %w", err)
	}
	return rdr, nil
}

// batch decodes the record batch message at the start of buf. The record's buffers are slices of
// buf (each holding a reference to it); the caller owns the record.
func (d *decoder) batch(buf *memory.Buffer) (arrow.RecordBatch, error) {
	msg, err := message(buf)
	if err != nil {
		return nil, err
	}
	defer msg.Release()
	if msg.Type() != ipc.MessageRecordBatch {
		return nil, fmt.Errorf("gatunarrow: expected an Arrow IPC record batch message, got %v", msg.Type())
	}
	rdr, err := d.reader(msg)
	if err != nil {
		return nil, err
	}
	defer rdr.Release()
	if !rdr.Next() {
		if err := rdr.Err(); err != nil {
			return nil, fmt.Errorf("gatunarrow: decoding a record batch: %w", err)
		}
		return nil, errors.New("gatunarrow: decoding a record batch gave none")
	}
	rec := rdr.RecordBatch()
	rec.Retain() // rdr.Release drops the reader's own reference
	return rec, nil
}

// feed is an ipc.MessageReader of a few messages the caller keeps the references of.
type feed struct{ msgs []*ipc.Message }

// Message returns the next message, io.EOF after the last.
func (f *feed) Message() (*ipc.Message, error) {
	if len(f.msgs) == 0 {
		return nil, io.EOF
	}
	m := f.msgs[0]
	f.msgs = f.msgs[1:]
	return m, nil
}

// Retain is part of ipc.MessageReader; a feed holds no references.
func (f *feed) Retain() {}

// Release is part of ipc.MessageReader, as Retain.
func (f *feed) Release() {}

// checkNoDictionary refuses dictionary-encoded fields, at any depth: the shared-memory path carries
// record batch messages only (spec/arrow.md §3, §4).
func checkNoDictionary(schema *arrow.Schema) error {
	for _, f := range schema.Fields() {
		if err := noDictionary(f.Type, f.Name); err != nil {
			return err
		}
	}
	return nil
}

func noDictionary(t arrow.DataType, where string) error {
	switch t := t.(type) {
	case *arrow.DictionaryType:
		return fmt.Errorf("gatunarrow: field %s is dictionary-encoded, which the shared-memory path does not carry; "+
			"decode it first (e.g. compute.CastArray to its value type)", where)
	case arrow.ExtensionType:
		return noDictionary(t.StorageType(), where)
	case arrow.NestedType:
		for _, f := range t.Fields() {
			if err := noDictionary(f.Type, where+"."+f.Name); err != nil {
				return err
			}
		}
	}
	return nil
}
