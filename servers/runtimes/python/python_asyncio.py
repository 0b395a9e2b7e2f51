"""python-asyncio: one event loop (asyncio.start_server, which runs on
epoll), a coroutine per connection. Its C++ twin is `epoll`. sleep_us blocks
the loop's one thread in time.sleep, as a blocking database driver called
from a coroutine would, so every other connection waits; wait_us is
asyncio.sleep, a timer, and the loop serves others meanwhile."""

import asyncio

import workload


async def serve(reader, writer, timeout):
    """Answers one connection's requests, pipelined ones in order."""
    pending = workload.Pending()
    try:
        while True:
            for request in pending:
                workload.blocking_work(request)
                if request.wait_us:  # yielding when there is no wait would delay the answer
                    await asyncio.sleep(request.wait_us / 1e6)
                writer.write(workload.response(request))
                if not request.keep_alive:
                    await writer.drain()
                    return
            await writer.drain()
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                return
            pending.feed(chunk)
    except workload.BadRequest as bad:
        writer.write(workload.error_response(bad.status))
        await linger(reader, writer)
    except (OSError, asyncio.TimeoutError):  # reset, timed out
        pass
    finally:
        writer.close()


async def linger(reader, writer):
    """Half-closes and reads what the client still sends for a moment, so
    that unread bytes do not turn the close into a reset."""
    async def discard_input():
        while await reader.read(4096):
            pass

    try:
        await writer.drain()
        writer.write_eof()
        await asyncio.wait_for(discard_input(), 0.2)
    except (OSError, asyncio.TimeoutError):
        pass


async def main():
    args = workload.arguments(__doc__.splitlines()[0])
    timeout = args.timeout_ms / 1000 or None
    # asyncio sets TCP_NODELAY on every accepted socket.
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, timeout), args.host, args.port, backlog=1024)
    print(f"listening on {args.host}:{args.port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
