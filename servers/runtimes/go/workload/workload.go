// Package workload is cmbench's HTTP/1.1 request and workload for the Go
// servers, over bytes: the parser's rules and limits and the query keys are
// those of the C++ models (net/http_request.cpp, servers/handler), so each
// server only decides how it reads, writes and waits
// (docs/server-contract.md).
package workload

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

const (
	MaxHeaderBytes = 8 * 1024    // request line and headers; over it: 431
	MaxBodyBytes   = 1024 * 1024 // over it: 413
	maxWorkMicros  = 60_000_000  // one minute
	maxBodyBytes   = 64 * 1024 * 1024
)

// Work is what a request's query string asks for.
type Work struct {
	CPU, Sleep, Wait time.Duration
	Bytes            int
	CustomBody       bool
}

// Request is one parsed request: its work and how to frame the answer.
type Request struct {
	Work      Work
	KeepAlive bool
	Head      bool
	Minor     int // HTTP/1.<Minor>
}

var methods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true,
	"DELETE": true, "OPTIONS": true, "PATCH": true}

// Parse reads the request at the front of buf. It returns the request and
// the bytes it took; 0 bytes and status 0 when more must be read first;
// an HTTP status (400, 413, 431, 501, 505) when the connection must be
// answered with it and closed.
func Parse(buf []byte) (req Request, used int, status int) {
	start := 0
	for bytes.HasPrefix(buf[start:], []byte("\r\n")) {
		start += 2 // empty lines before the request line are ignored
	}
	end := bytes.Index(buf[start:], []byte("\r\n\r\n"))
	head := buf[start:]
	if end >= 0 {
		head = head[:end+4]
	}
	if bareLF(head) >= 0 { // HTTP/0.9 and hand-typed requests end here
		return req, 0, 400
	}
	if end < 0 {
		if len(buf) > MaxHeaderBytes {
			return req, 0, 431
		}
		return req, 0, 0
	}
	headEnd := start + end + 4
	if headEnd > MaxHeaderBytes {
		return req, 0, 431
	}
	lines := strings.Split(string(buf[start:start+end]), "\r\n")
	if status = parseRequestLine(lines[0], &req); status != 0 {
		return req, 0, status
	}
	length, status := parseHeaders(lines[1:], &req)
	if status != 0 {
		return req, 0, status
	}
	if len(buf)-headEnd < length {
		return req, 0, 0
	}
	return req, headEnd + length, 0
}

// bareLF is the index of the first LF without a CR before it, or -1.
func bareLF(buf []byte) int {
	for i, c := range buf {
		if c == '\n' && (i == 0 || buf[i-1] != '\r') {
			return i
		}
	}
	return -1
}

func parseRequestLine(line string, req *Request) int {
	parts := strings.Split(line, " ")
	if len(parts) != 3 || !isToken(parts[0]) || parts[1] == "" {
		return 400
	}
	method, target, version := parts[0], parts[1], parts[2]
	for _, c := range []byte(target) {
		if c <= 0x20 || c >= 0x7f {
			return 400
		}
	}
	if len(version) != 8 || !strings.HasPrefix(version, "HTTP/") || version[6] != '.' ||
		!isDigit(version[5]) || !isDigit(version[7]) {
		return 400
	}
	if version[5] != '1' {
		return 505
	}
	if !methods[method] {
		return 501
	}
	if target[0] != '/' && target != "*" && !strings.HasPrefix(target, "http://") {
		return 400
	}
	req.Minor = int(version[7] - '0')
	req.Head = method == "HEAD"
	if q := strings.IndexByte(target, '?'); q >= 0 {
		return parseWork(target[q+1:], &req.Work)
	}
	return 0
}

// parseHeaders reads the header lines: the body's length, keep-alive and
// Host, refusing what the models refuse.
func parseHeaders(lines []string, req *Request) (length int, status int) {
	sawLength, sawHost, sawTransfer, close, keepAlive := false, false, false, false, false
	for _, line := range lines {
		colon := strings.IndexByte(line, ':')
		if colon < 0 || !isToken(line[:colon]) {
			return 0, 400 // also whitespace before the colon: a smuggling shape
		}
		name, value := strings.ToLower(line[:colon]), strings.Trim(line[colon+1:], " \t")
		if !isFieldValue(value) {
			return 0, 400
		}
		switch name {
		case "content-length":
			n, err := strconv.ParseUint(value, 10, 63)
			if sawLength || value == "" || (err != nil && !isDigits(value)) {
				return 0, 400
			}
			if err != nil || n > MaxBodyBytes {
				return 0, 413
			}
			sawLength, length = true, int(n)
		case "transfer-encoding":
			sawTransfer = true
		case "connection":
			for _, option := range strings.Split(value, ",") {
				option = strings.ToLower(strings.Trim(option, " \t"))
				close = close || option == "close"
				keepAlive = keepAlive || option == "keep-alive"
			}
		case "host":
			if sawHost {
				return 0, 400
			}
			sawHost = true
		}
	}
	if sawTransfer { // chunked bodies are not served; with a length, smuggling
		if sawLength {
			return 0, 400
		}
		return 0, 501
	}
	if req.Minor >= 1 && !sawHost {
		return 0, 400
	}
	req.KeepAlive = !close && (req.Minor >= 1 || keepAlive)
	return length, 0
}

// parseWork reads the query's keys; unknown keys are ignored, a value that
// is not a whole number within its key's limit is a 400.
func parseWork(query string, work *Work) int {
	for _, field := range strings.Split(query, "&") {
		key, value, _ := strings.Cut(field, "=")
		limit := uint64(maxWorkMicros)
		switch key {
		case "cpu_us", "sleep_us", "wait_us":
		case "bytes":
			limit = maxBodyBytes
		default:
			continue
		}
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil || !isDigits(value) || n > limit {
			return 400
		}
		micros := time.Duration(n) * time.Microsecond
		switch key {
		case "cpu_us":
			work.CPU = micros
		case "sleep_us":
			work.Sleep = micros
		case "wait_us":
			work.Wait = micros
		default:
			work.Bytes, work.CustomBody = int(n), true
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

func isFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f {
			return false
		}
	}
	return true
}

var reasons = map[int]string{200: "OK", 400: "Bad Request", 413: "Content Too Large",
	431: "Request Header Fields Too Large", 501: "Not Implemented",
	505: "HTTP Version Not Supported"}

func appendHead(out []byte, status, length, minor int, keepAlive bool) []byte {
	out = append(out, "HTTP/1."+strconv.Itoa(minor)+" "+strconv.Itoa(status)+" "+reasons[status]+
		"\r\nServer: cmbench-go\r\nContent-Type: text/plain\r\nContent-Length: "+
		strconv.Itoa(length)+"\r\n"...)
	if !keepAlive {
		out = append(out, "Connection: close\r\n"...)
	} else if minor == 0 {
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, "\r\n"...)
}

var filler = bytes.Repeat([]byte("x"), 64*1024)

// AppendResponse appends the answer to req: the hello body, or Bytes bytes.
func AppendResponse(out []byte, req Request) []byte {
	body := []byte("Hello, World!")
	length := len(body)
	if req.Work.CustomBody {
		length = req.Work.Bytes
	}
	out = appendHead(out, 200, length, req.Minor, req.KeepAlive)
	if req.Head {
		return out
	}
	if !req.Work.CustomBody {
		return append(out, body...)
	}
	for left := length; left > 0; left -= len(filler) {
		out = append(out, filler[:min(left, len(filler))]...)
	}
	return out
}

// AppendError appends an error answer that closes the connection.
func AppendError(out []byte, status int) []byte {
	reason := reasons[status] + "\n"
	return append(appendHead(out, status, len(reason), 1, false), reason...)
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// BurnCPU spends d of the calling thread's own CPU time
// (CLOCK_THREAD_CPUTIME_ID), so time off the CPU does not count.
func BurnCPU(d time.Duration) {
	if d <= 0 {
		return
	}
	runtime.LockOSThread() // one thread's clock for the whole burn
	defer runtime.UnlockOSThread()
	deadline := threadCPU() + d
	x := uint64(0x9e3779b97f4a7c15)
	for threadCPU() < deadline {
		for i := 0; i < 256; i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
	}
	sink += x
}

var sink uint64

func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID,
		uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// BlockingSleep blocks the calling OS thread for d in a syscall, as a
// blocking database driver would; the runtime must find another thread to
// run other goroutines meanwhile. (time.Sleep would park only the
// goroutine: that is Wait's job.)
func BlockingSleep(d time.Duration) {
	for d > 0 {
		ts := syscall.NsecToTimespec(int64(d))
		var left syscall.Timespec
		if syscall.Nanosleep(&ts, &left) == nil {
			return
		}
		d = time.Duration(left.Nano()) // woken by a signal: sleep the rest
	}
}

// Serve runs req's work on the calling goroutine: CPU, the blocking sleep,
// then the wait (which parks only the goroutine).
func Serve(req Request) {
	BurnCPU(req.Work.CPU)
	BlockingSleep(req.Work.Sleep)
	time.Sleep(req.Work.Wait)
}

// Conn is a connection as a server reads and writes it. Linger half-closes
// it and reads what the client still sends for a moment, so that unread
// bytes do not turn the close into a reset that destroys the answer.
type Conn interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
	Linger()
}

// ServeConnection answers c's requests, pipelined ones in order, until the
// client closes, asks to close, or sends what is answered with an error.
// The caller closes c.
func ServeConnection(c Conn) {
	var buf []byte
	chunk := make([]byte, 64*1024)
	for {
		var out []byte
		for {
			req, used, status := Parse(buf)
			if status != 0 {
				c.Write(AppendError(out, status))
				c.Linger()
				return
			}
			if used == 0 {
				break
			}
			buf = buf[used:]
			Serve(req)
			out = AppendResponse(out, req)
			if !req.KeepAlive {
				c.Write(out)
				return
			}
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
		n, err := c.Read(chunk)
		if n <= 0 || err != nil {
			return
		}
		buf = append(buf, chunk[:n]...)
	}
}
