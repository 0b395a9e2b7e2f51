"""Headless Chromium driven over its DevTools protocol on a pipe
(--remote-debugging-pipe: JSON messages ended by NUL on descriptors 3 and
4), so that a test can size the window, press keys, read the page's state
and take a screenshot of what is on the screen. Nothing but the standard
library; the protocol is Chromium's own (chromedevtools.github.io)."""

import base64
import fcntl
import json
import os
import subprocess
import time

KEY_CODES = {"PageDown": 34, "PageUp": 33, "ArrowRight": 39, "ArrowLeft": 37, "End": 35, "Home": 36}


class Chromium:
    def __init__(self, binary, profile, width, height):
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def on_3_and_4():  # by way of descriptors above both, so neither is overwritten
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (commands_read, replies_write)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--remote-debugging-pipe", f"--window-size={width},{height}"],
            pass_fds=(3, 4), preexec_fn=on_3_and_4,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(replies_write)
        self.width, self.height = width, height
        self._buffer, self._id, self._session = b"", 0, None

    def __enter__(self):
        return self

    def __exit__(self, *_):
        try:
            self.send("Browser.close", session=False)
        except (OSError, RuntimeError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._commands)
        os.close(self._replies)

    def send(self, method, params=None, session=True, timeout=60):
        """One command; its result (events on the way are passed over)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session and self._session:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chromium did not answer {method}")
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url):
        """Opens `url` in a tab of the window's size and waits for it to load."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                  session=False)["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.navigate", {"url": url})
        for _ in range(200):
            if self.eval("document.readyState") == "complete":
                return
            time.sleep(0.05)
        raise RuntimeError(f"{url} did not load")

    def eval(self, expression):
        """A JavaScript expression's value in the page."""
        return self.send("Runtime.evaluate", {"expression": expression,
                                              "returnByValue": True})["result"].get("value")

    def press(self, key):
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key,
                                                 "windowsVirtualKeyCode": KEY_CODES[key]})

    def screenshot(self, path):
        """What the window shows now, as a PNG."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
