package gatun

import (
	"encoding/binary"
)

// Whole messages over a channel: one frame when the message fits the region, chunks answered by
// CONTINUE when it does not (spec §3.1). A refusal may come after any chunk; the caller reads it.

func (ch *channel) writeHeader(ftype, flags byte, length int, total uint64) {
	d := ch.data
	binary.LittleEndian.PutUint32(d[0:], uint32(length))
	d[4] = ftype
	d[5] = flags
	d[6], d[7] = 0, 0
	binary.LittleEndian.PutUint64(d[8:], total)
}

// send sends a message, in chunks when it does not fit. It returns with the last chunk published
// (answered=false: the caller awaits the answer) or with the server's early answer to a chunk
// already in the region (answered=true: e.g. a LIMIT refusal).
func (ch *channel) send(st *call, ftype byte, payload []byte) (answered bool, err error) {
	total := uint64(len(payload))
	if total > ch.maxMessage {
		ch.pending = ch.pending[:0]
		return false, limitErr("a "+frameName(ftype)+" message", total, ch.maxMessage)
	}
	if len(payload) <= ch.chunk {
		ch.writeHeader(ftype, 0, len(payload), total)
		copy(ch.data[frameHeader:], payload)
		ch.commitNames()
		return false, ch.publish()
	}
	for pos := 0; ; {
		n := min(ch.chunk, len(payload)-pos)
		more := pos+n < len(payload)
		var flags byte
		if more {
			flags = flagMore
		}
		ch.writeHeader(ftype, flags, n, total)
		copy(ch.data[frameHeader:], payload[pos:pos+n])
		pos += n
		if !more {
			ch.commitNames()
			return false, ch.publish()
		}
		if err := ch.publish(); err != nil {
			return false, err
		}
		if err := ch.await(st); err != nil {
			return false, err
		}
		if ch.data[4] != tContinue {
			ch.pending = ch.pending[:0] // refused before it was read: it defined no names
			return true, nil
		}
	}
}

// receive returns the server's message now in the region: its type and payload. A single-frame
// payload aliases the region (valid until the next send); a chunked one is assembled.
func (ch *channel) receive(st *call) (byte, []byte, error) {
	d := ch.data
	length := int(binary.LittleEndian.Uint32(d[0:]))
	ftype := d[4]
	flags := d[5]
	total := binary.LittleEndian.Uint64(d[8:])
	if length > ch.chunk || total < uint64(length) {
		return 0, nil, ch.fail(protocolErr("bad frame header: length %d, total %d", length, total))
	}
	if flags&flagMore == 0 {
		if total != uint64(length) {
			return 0, nil, ch.fail(protocolErr("frame length %d differs from its total %d", length, total))
		}
		return ftype, d[frameHeader : frameHeader+length], nil
	}
	if total > ch.maxMessage || total > uint64(maxInt) {
		return 0, nil, ch.fail(limitErr("a "+frameName(ftype)+" message from the server", total, ch.maxMessage))
	}
	buf := make([]byte, 0, total)
	for {
		if uint64(len(buf)+length) > total {
			return 0, nil, ch.fail(protocolErr("the server's chunks are longer than the announced total %d", total))
		}
		buf = append(buf, d[frameHeader:frameHeader+length]...)
		if flags&flagMore == 0 {
			break
		}
		ch.writeHeader(tContinue, 0, 0, 0)
		if err := ch.publish(); err != nil {
			return 0, nil, err
		}
		if err := ch.await(st); err != nil {
			return 0, nil, err
		}
		length = int(binary.LittleEndian.Uint32(d[0:]))
		flags = d[5]
		if length > ch.chunk || d[4] != ftype || binary.LittleEndian.Uint64(d[8:]) != total {
			return 0, nil, ch.fail(protocolErr("a chunk changed the type or total of its message"))
		}
	}
	if uint64(len(buf)) != total {
		return 0, nil, ch.fail(protocolErr("the server's chunks carry %d bytes of a %d-byte message", len(buf), total))
	}
	return ftype, buf, nil
}
