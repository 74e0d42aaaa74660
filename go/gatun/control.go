package gatun

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The control connection lives as long as the session: CANCEL travels on it because a channel's
// own socket belongs to the goroutine that waits on the call being cancelled.

// controlConn is the session's control connection (spec §1.3).
type controlConn struct {
	conn       *net.UnixConn
	session    []byte
	maxMessage uint64
	mu         sync.Mutex
}

func openControl(ctx context.Context, socketPath string, token []byte) (*controlConn, error) {
	conn, err := hello(ctx, socketPath, helloSession, token, nil)
	if err != nil {
		return nil, err
	}
	var reply [24]byte
	if _, err := io.ReadFull(conn, reply[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: hand-shake: %v", ErrConnection, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return &controlConn{
		conn:       conn,
		session:    append([]byte(nil), reply[:16]...),
		maxMessage: binary.LittleEndian.Uint64(reply[16:]),
	}, nil
}

func (cc *controlConn) send(b []byte) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	_, err := cc.conn.Write(b)
	return err
}

func (cc *controlConn) cancel(channelID uint32) error {
	var b [5]byte
	b[0] = controlCancel
	binary.LittleEndian.PutUint32(b[1:], channelID)
	return cc.send(b[:])
}
