package gatun

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// HELLO and WELCOME (spec §1.2), shared by the control connection and every channel.

const handshakeTimeout = 10 * time.Second

var welcomeStatus = map[byte]string{
	1: "authentication failed (wrong token)",
	2: "unsupported protocol version",
	3: "malformed hello",
	4: "unknown session",
	5: "limit reached",
}

// hello dials the server and sends HELLO (spec §1.2); it returns the connection after an ok status.
func hello(ctx context.Context, socketPath string, kind byte, token, session []byte) (*net.UnixConn, error) {
	var d net.Dialer
	d.Timeout = handshakeTimeout
	c, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot connect to the Gatun server at %s: %v", ErrConnection, socketPath, err)
	}
	conn := c.(*net.UnixConn)
	deadline := time.Now().Add(handshakeTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write(helloBytes(kind, token, session)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: hand-shake with %s: %v", ErrConnection, socketPath, err)
	}
	var st [1]byte
	if _, err := io.ReadFull(conn, st[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: hand-shake with %s: %v", ErrConnection, socketPath, err)
	}
	if st[0] != 0 {
		var n [2]byte
		text := ""
		if _, err := io.ReadFull(conn, n[:]); err == nil {
			b := make([]byte, binary.LittleEndian.Uint16(n[:]))
			if _, err := io.ReadFull(conn, b); err == nil {
				text = string(b)
			}
		}
		conn.Close()
		reason, ok := welcomeStatus[st[0]]
		if !ok {
			reason = fmt.Sprintf("status %d", st[0])
		}
		return nil, fmt.Errorf("%w: the Gatun server refused the connection: %s: %s", ErrConnection, reason, text)
	}
	return conn, nil
}

// helloBytes is the HELLO message (spec §1.2); session is empty for kind 1.
func helloBytes(kind byte, token, session []byte) []byte {
	msg := make([]byte, 0, 56)
	msg = append(msg, 'G', 'A', 'T', 'N')
	msg = binary.LittleEndian.AppendUint16(msg, protocolVersion)
	msg = append(msg, kind, 0)
	msg = append(msg, token...)
	return append(msg, session...)
}
