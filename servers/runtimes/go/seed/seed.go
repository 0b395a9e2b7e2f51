// Package seed is the tutorial's server made of raw syscalls: a socket
// bound and listening, and connections read and written with read(2) and
// write(2) on blocking descriptors, no runtime netpoller in between. Both
// seed servers use it; they differ only in who serves an accepted
// connection.
package seed

import (
	"flag"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// Listen binds the address given by -host and -port, listens, and says
// "listening on HOST:PORT" once it does. It also returns -timeout-ms, how
// long a connection may stay silent before it is closed (0: forever).
func Listen() (fd int, timeout time.Duration) {
	host := flag.String("host", "127.0.0.1", "address to bind")
	port := flag.Int("port", 8080, "port to bind")
	timeoutMs := flag.Int("timeout-ms", 0, "close a connection silent this long (0: never)")
	flag.Parse()
	ip := net.ParseIP(*host).To4() // IPv4: the tutorial's AF_INET
	if ip == nil {
		fail(fmt.Errorf("-host %q: give an IPv4 address", *host))
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	check(err)
	check(syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
	address := &syscall.SockaddrInet4{Port: *port}
	copy(address.Addr[:], ip)
	check(syscall.Bind(fd, address))
	check(syscall.Listen(fd, 1024))
	fmt.Printf("listening on %s:%d\n", *host, *port)
	return fd, time.Duration(*timeoutMs) * time.Millisecond
}

// Accept waits in accept(2) for the next connection, blocking the thread.
func Accept(listener int, timeout time.Duration) *Conn {
	for {
		fd, _, err := syscall.Accept4(listener, syscall.SOCK_CLOEXEC)
		if err == syscall.EINTR || err == syscall.ECONNABORTED {
			continue
		}
		if err != nil { // EMFILE and the like: wait, then try again
			time.Sleep(10 * time.Millisecond)
			continue
		}
		// Each answer is one write; without delaying small ones, as the models.
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		if timeout > 0 {
			tv := syscall.NsecToTimeval(int64(timeout))
			syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
		}
		return &Conn{fd}
	}
}

// Conn is an accepted connection's descriptor (workload.Conn).
type Conn struct{ fd int }

func (c *Conn) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(c.fd, p)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

func (c *Conn) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		n, err := syscall.Write(c.fd, p[written:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return written, err
		}
		written += n
	}
	return written, nil
}

func (c *Conn) Linger() {
	syscall.Shutdown(c.fd, syscall.SHUT_WR)
	tv := syscall.NsecToTimeval(int64(200 * time.Millisecond))
	syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	discard := make([]byte, 4096)
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); {
		if n, err := syscall.Read(c.fd, discard); n <= 0 && err != syscall.EINTR {
			return
		}
	}
}

func (c *Conn) Close() { syscall.Close(c.fd) }

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, os.Args[0]+":", err)
	os.Exit(1)
}
