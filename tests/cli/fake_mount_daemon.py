#!/usr/bin/env python3
"""A stand-in for the mount daemon's control channel (fs/control_channel.h),
so `cairn seal` can be tested without a mount: listens on the abstract Unix
socket @NAME and answers each one-line command with the contents of
DIR/<verb>.reply (verb: the command's first word), or with
"error InvalidArgument unknown command" when there is no such file. Each
command received is appended to DIR/commands. A reply file holding "hang"
never answers. Runs until killed."""
import os
import socket
import sys
import threading


def serve(conn, d):
    with conn:
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        command = data[:-1].decode("utf-8", "replace")
        with open(os.path.join(d, "commands"), "a") as f:
            f.write(command + "\n")
        path = os.path.join(d, command.split(" ", 1)[0] + ".reply")
        reply = "error InvalidArgument unknown command \"%s\"" % command
        if os.path.exists(path):
            with open(path) as f:
                reply = f.read().rstrip("\n")
        if reply == "hang":
            threading.Event().wait()
        conn.sendall(reply.encode() + b"\n")


def main():
    name, d = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0" + name)
    s.listen(8)
    open(os.path.join(d, "ready"), "w").close()
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, d), daemon=True).start()


if __name__ == "__main__":
    main()
