"""An admin console client over a unix socket that counts the descriptors it is sent.

SecurityIT runs it (as the test's own user or, through setpriv, as nobody) to see whether
pgloom's SHOW FDS attaches SCM_RIGHTS descriptors, which only recvmsg can observe.
Usage: console_fds_probe.py SOCKET_PATH USER PASSWORD QUERY
Prints one line: "rows=N fds=M", or "error=<message>" when pgloom sends an ErrorResponse.
"""
import array
import hashlib
import os
import socket
import struct
import sys

path, user, password, query = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(path)
buf = b""
fds = []


def receive():
    global buf
    data, ancillary, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(253 * 4))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            got = array.array("i")
            got.frombytes(payload[: len(payload) - len(payload) % got.itemsize])
            fds.extend(got)
    if not data:
        raise EOFError("pgloom closed the connection")
    buf += data


def message():
    global buf
    while len(buf) < 5 or len(buf) < 1 + struct.unpack("!i", buf[1:5])[0]:
        receive()
    n = struct.unpack("!i", buf[1:5])[0]
    tag, body, buf = buf[0:1], buf[5 : 1 + n], buf[1 + n :]
    return tag, body


def error_text(body):
    for field in body.split(b"\0"):
        if field[:1] == b"M":
            return field[1:].decode()
    return body.decode(errors="replace")


def until_ready():
    rows = 0
    while True:
        tag, body = message()
        if tag == b"E":
            print("error=" + error_text(body))
            sys.exit(0)
        if tag == b"D":
            rows += 1
        if tag == b"R":
            code = struct.unpack("!i", body[:4])[0]
            if code == 3:
                send(b"p", password.encode() + b"\0")
            elif code == 5:
                inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
                send(b"p", b"md5" + hashlib.md5(inner + body[4:8]).hexdigest().encode() + b"\0")
            elif code != 0:
                print("error=unsupported authentication request %d" % code)
                sys.exit(0)
        if tag == b"Z":
            return rows


def send(tag, body):
    s.sendall(tag + struct.pack("!i", 4 + len(body)) + body)


params = b"user\0" + user.encode() + b"\0database\0pgbouncer\0\0"
s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
try:
    until_ready()
    send(b"Q", query.encode() + b"\0")
    rows = until_ready()
    send(b"X", b"")
except EOFError as e:
    print("error=" + str(e))
    sys.exit(0)
finally:
    for fd in fds:
        os.close(fd)
print("rows=%d fds=%d" % (rows, len(fds)))
