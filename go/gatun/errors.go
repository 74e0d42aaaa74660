package gatun

import (
	"errors"
	"fmt"
	"strings"
)

// ErrConnection is wrapped by every error that means the server is unreachable: it refused the
// hand-shake, its JVM died or it closed the connection. Test with errors.Is(err, ErrConnection).
var ErrConnection = errors.New("gatun: connection to the Gatun server lost")

// ErrClosed is returned (wrapped) by calls on a Client after Close.
var ErrClosed = errors.New("gatun: the client is closed")

// ErrBusy is returned when a pinned Thread, or a callback's context, is used by a second
// goroutine while a call on it is running: a channel serves one call at a time.
var ErrBusy = errors.New("gatun: this channel is running a call in another goroutine")

// ErrProtocol is wrapped by errors about bytes from the server that break the protocol.
var ErrProtocol = errors.New("gatun: protocol error")

// ErrorCode is the code of a server ERROR frame (spec §3.3).
type ErrorCode uint16

// The ERROR codes of spec §3.3.
const (
	CodeNotAllowed         ErrorCode = 1
	CodeNoSuchClass        ErrorCode = 2
	CodeNoSuchMember       ErrorCode = 3
	CodeNoMatchingOverload ErrorCode = 4
	CodeBadHandle          ErrorCode = 5
	CodeProtocol           ErrorCode = 6
	CodeLimit              ErrorCode = 7
	CodeBadArgument        ErrorCode = 8
)

var codeNames = map[ErrorCode]string{
	CodeNotAllowed: "NOT_ALLOWED", CodeNoSuchClass: "NO_SUCH_CLASS", CodeNoSuchMember: "NO_SUCH_MEMBER",
	CodeNoMatchingOverload: "NO_MATCHING_OVERLOAD", CodeBadHandle: "BAD_HANDLE", CodeProtocol: "PROTOCOL",
	CodeLimit: "LIMIT", CodeBadArgument: "BAD_ARGUMENT",
}

// String returns the spec's name of the code, e.g. "NOT_ALLOWED".
func (c ErrorCode) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("ERROR_%d", uint16(c))
}

// RequestError is Gatun refusing or failing a request (a server ERROR frame, spec §3.3), or the
// client refusing to send one (Code CodeLimit for a message over the server's maximum size).
type RequestError struct {
	Code    ErrorCode
	Message string
}

// Error returns "gatun: CODE_NAME: message".
func (e *RequestError) Error() string {
	return fmt.Sprintf("gatun: %s: %s", e.Code, e.Message)
}

// JavaError is a Java exception thrown by the called code (a THROW frame).
//
// Class, Message and StackTrace are copies taken when it was thrown, readable after the session
// ends; Throwable is the live Java exception object (Release it when done, or let it be collected).
type JavaError struct {
	Class      string
	Message    string
	StackTrace string
	Throwable  *Object
}

// Error returns "java exception: class: message"; StackTrace has the Java stack.
func (e *JavaError) Error() string {
	if e.Message == "" {
		return "java exception: " + e.Class
	}
	return "java exception: " + e.Class + ": " + e.Message
}

// Is reports whether target is a *JavaError of the same Java class (or with an empty Class).
func (e *JavaError) Is(target error) bool {
	t, ok := target.(*JavaError)
	return ok && (t.Class == "" || t.Class == e.Class)
}

func protocolErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

func limitErr(what string, size, limit uint64) error {
	return &RequestError{Code: CodeLimit, Message: fmt.Sprintf(
		"%s of %d bytes exceeds the server's max message size of %d bytes (--max-message-bytes)",
		what, size, limit)}
}

// callbackErrorType names a Go error for CALLBACK_ERROR's type field.
func callbackErrorType(err error) string {
	t := fmt.Sprintf("%T", err)
	return strings.TrimPrefix(t, "*")
}
