// go-seed: the tutorial's Go server. Raw syscalls (socket, bind, listen,
// accept, read, write: package seed), and one connection at a time: the
// next client waits in the listen backlog until this one leaves.
// Its C++ twin is `iterative`. sleep_us blocks the thread in nanosleep(2)
// and wait_us parks the goroutine; with one connection at a time both hold
// everyone else up, as they do in the twin.
package main

import (
	"cmbench.invalid/runtimes/seed"
	"cmbench.invalid/runtimes/workload"
)

func main() {
	listener, timeout := seed.Listen()
	for {
		conn := seed.Accept(listener, timeout)
		workload.ServeConnection(conn)
		conn.Close()
	}
}
