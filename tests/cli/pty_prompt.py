#!/usr/bin/env python3
"""Runs cairn on a pseudo-terminal (its controlling terminal, so /dev/tty is
the pty), waits for the password prompt, types KEYS, and prints a JSON line:
the exit status, everything cairn wrote to the terminal, and whether the
terminal's echo was on again after cairn exited.

usage: pty_prompt.py KEYS CAIRN ARG...   (KEYS: Python escapes, e.g. '\\x03')
"""
import json
import os
import select
import sys
import termios
import time


def main():
    keys = sys.argv[1].encode().decode("unicode_escape").encode("latin-1")
    argv = sys.argv[2:]
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        import fcntl

        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        os.execv(argv[0], argv)
    out = b""
    deadline = time.time() + 30

    def read_some(timeout):
        """Reads what is there within timeout: "data", "none" or "eof"."""
        nonlocal out
        r, _, _ = select.select([master], [], [], timeout)
        if not r:
            return "none"
        try:
            chunk = os.read(master, 4096)
        except OSError:
            return "eof"
        if not chunk:
            return "eof"
        out += chunk
        return "data"

    while b"password" not in out and time.time() < deadline:
        if read_some(0.2) == "eof":
            break
    time.sleep(0.05)  # cairn shows the prompt after setting the terminal mode
    os.write(master, keys)
    status = None
    while time.time() < deadline:
        read_some(0.1)
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    if status is None:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    while read_some(0.05) == "data":
        pass
    attrs = termios.tcgetattr(slave)
    echo = bool(attrs[3] & termios.ECHO)
    icanon = bool(attrs[3] & termios.ICANON)
    isig = bool(attrs[3] & termios.ISIG)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    print(json.dumps({"rc": code, "output": out.decode("utf-8", "replace"),
                      "echo": echo, "icanon": icanon, "isig": isig}))


main()
