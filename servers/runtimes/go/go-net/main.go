// go-net: Go as people write it. net.Listen and a goroutine per
// connection, in blocking style; underneath, the runtime's netpoller
// (epoll) parks a goroutine that waits for its socket and runs the others
// on a few threads (GOMAXPROCS of them, one per CPU it may use): M:N.
// Its C++ twins are `fiber` (the same shape) and `epoll` (what it runs
// on). wait_us parks the goroutine (time.Sleep); sleep_us blocks its
// thread in nanosleep(2), and the runtime starts another thread to run the
// rest, so under sleep_us its threads grow with connections.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"cmbench.invalid/runtimes/workload"
)

// conn is a net.Conn as workload.Conn: a read gives up after the timeout.
type conn struct {
	*net.TCPConn
	timeout time.Duration
}

func (c conn) Read(p []byte) (int, error) {
	if c.timeout > 0 {
		c.SetReadDeadline(time.Now().Add(c.timeout))
	}
	return c.TCPConn.Read(p)
}

func (c conn) Linger() {
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	discard := make([]byte, 4096)
	for {
		if _, err := c.TCPConn.Read(discard); err != nil {
			return
		}
	}
}

func main() {
	host := flag.String("host", "127.0.0.1", "address to bind")
	port := flag.Int("port", 8080, "port to bind")
	timeoutMs := flag.Int("timeout-ms", 0, "close a connection silent this long (0: never)")
	flag.Parse()
	listener, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-net:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", listener.Addr())
	timeout := time.Duration(*timeoutMs) * time.Millisecond
	for {
		c, err := listener.Accept() // TCP_NODELAY is net's default
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				time.Sleep(10 * time.Millisecond) // EMFILE and the like
			}
			continue
		}
		go func() {
			workload.ServeConnection(conn{c.(*net.TCPConn), timeout})
			c.Close()
		}()
	}
}
