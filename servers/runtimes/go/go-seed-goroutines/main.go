// go-seed-goroutines: the tutorial's next step. The same raw-syscall
// server (package seed), with a goroutine per accepted connection. Its
// reads are blocking read(2) calls on blocking descriptors, outside the
// runtime's netpoller, so a goroutine waiting for its client holds an OS
// thread, and so does one in sleep_us's nanosleep(2): threads grow with
// connections. Its C++ twin is `thread-per-connection`.
package main

import (
	"cmbench.invalid/runtimes/seed"
	"cmbench.invalid/runtimes/workload"
)

func main() {
	listener, timeout := seed.Listen()
	for {
		conn := seed.Accept(listener, timeout)
		go func() {
			workload.ServeConnection(conn)
			conn.Close()
		}()
	}
}
