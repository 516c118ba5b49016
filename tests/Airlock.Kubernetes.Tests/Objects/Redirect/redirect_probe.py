"""Probes the sidecar's redirect rules from inside a network namespace they were applied to.

Run as root. Listens where the proxy's transparent port would be (IPv4 and IPv6), then tries connections and
datagrams as the workload's uid and as the proxy's uid, and prints what happened as one JSON object.
"""
import errno
import json
import os
import socket
import struct
import sys
import threading
import time

PROXY_PORT, AGENT_UID, PROXY_UID, RESOLVER = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
SO_ORIGINAL_DST = 80
accepted = []


def serve(family, address):
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    listener.bind((address, PROXY_PORT))
    listener.listen(16)
    while True:
        conn, _ = listener.accept()
        if family == socket.AF_INET:
            raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
            original = "%s:%d" % (socket.inet_ntop(socket.AF_INET, raw[4:8]), struct.unpack("!H", raw[2:4])[0])
        else:
            raw = conn.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
            original = "[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, raw[8:24]), struct.unpack("!H", raw[2:4])[0])
        accepted.append(original)
        conn.close()


def as_uid(uid, probe):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            outcome = probe()
        except Exception as error:  # reported, never raised: the parent reads one word
            outcome = "error:" + type(error).__name__
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    outcome = os.read(read_end, 200).decode()
    os.waitpid(pid, 0)
    return outcome


def failure(error):
    return errno.errorcode.get(error.errno, str(error.errno)) if error.errno else type(error).__name__


def tcp(family, host, port):
    def probe():
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(1.5)
        try:
            s.connect((host, port))
            return "connected"
        except socket.timeout:
            return "timeout"
        except OSError as error:
            return failure(error)
    return probe


def udp(family, host, port):
    def probe():
        s = socket.socket(family, socket.SOCK_DGRAM)
        try:
            s.sendto(b"probe", (host, port))
            return "sent"
        except OSError as error:
            return failure(error)
    return probe


for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    threading.Thread(target=serve, args=(family, address), daemon=True).start()
time.sleep(0.3)

results = {
    "agent_tcp4": as_uid(AGENT_UID, tcp(socket.AF_INET, "203.0.113.5", 80)),
    "agent_tcp6": as_uid(AGENT_UID, tcp(socket.AF_INET6, "2001:db8:1::5", 443)),
    "agent_udp4": as_uid(AGENT_UID, udp(socket.AF_INET, "203.0.113.5", 9999)),
    "agent_udp6": as_uid(AGENT_UID, udp(socket.AF_INET6, "2001:db8:1::5", 9999)),
    "agent_dns_udp": as_uid(AGENT_UID, udp(socket.AF_INET, RESOLVER, 53)),
    "agent_loopback": as_uid(AGENT_UID, tcp(socket.AF_INET, "127.0.0.1", PROXY_PORT + 1)),
    "proxy_tcp4": as_uid(PROXY_UID, tcp(socket.AF_INET, "203.0.113.5", 8080)),
    "proxy_udp4": as_uid(PROXY_UID, udp(socket.AF_INET, "203.0.113.5", 9999)),
}
time.sleep(0.2)
results["accepted"] = sorted(accepted)
print(json.dumps(results))
