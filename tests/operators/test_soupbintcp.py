"""Issue 19 item 10: the feed handler's SoupBinTCP Login Request carries its requested sequence
number as right-justified digits ("0" when none), and the snapshot server accepts that and the
old 20 blanks. Where Wireshark's `tshark` is installed, a capture of real feed, re-request and
snapshot traffic decodes with its MoldUDP64 and SoupBinTCP dissectors without a malformed
packet (the capture is built from the bytes a live venue exchanged with this test, framed in
IPv4/UDP/TCP headers, since capturing on loopback needs privileges)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from tests.venue_process import start_venue, write_config
from venue.marketdata.framing import (
    LOGIN_ACCEPTED,
    LOGOUT_REQUEST,
    SEQUENCED,
    UNSEQUENCED,
    decode_packet,
    encode_login_request,
    encode_request,
    parse_login_request,
    soup,
)
from venue.marketdata.messages import SNAPSHOT_COMPLETE

TIMEOUT = 10.0


def test_login_request_sequence_number_is_right_justified_digits() -> None:
    payload = encode_login_request()[3:]
    assert payload[26:] == b" " * 19 + b"0"
    assert encode_login_request(seq=42)[3:][26:] == b" " * 18 + b"42"
    assert parse_login_request(payload) == ("", "", "", 0)
    assert parse_login_request(payload[:26] + b" " * 20) == ("", "", "", 0)  # old clients


def _read_soup(conn: socket.socket, buf: bytearray) -> tuple[int, bytes]:
    while len(buf) < 2 or len(buf) < 2 + struct.unpack_from(">H", buf)[0]:
        chunk = conn.recv(65536)
        assert chunk, "the snapshot server closed the connection"
        buf += chunk
    n = struct.unpack_from(">H", buf)[0]
    kind, payload = buf[2], bytes(buf[3 : 2 + n])
    del buf[: 2 + n]
    return kind, payload


def _traffic(
    tmp_path: Path, blank_login: bool
) -> tuple[list[tuple[str, int, int, bytes]], int, int]:
    """(proto, src port, dst port, bytes) in order, the feed port and the snapshot port."""
    feed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    feed.bind(("127.0.0.1", 0))
    feed.settimeout(TIMEOUT)
    feed_port = feed.getsockname()[1]
    config = write_config(tmp_path)
    text = re.sub(r"(destination = \S+[^\n]*\nport = )0", rf"\g<1>{feed_port}", config.read_text())
    assert f"port = {feed_port}" in text
    config.write_text(text)
    venue = start_venue(config, cwd=tmp_path)
    out: list[tuple[str, int, int, bytes]] = []
    try:
        venue.wait_ready()
        started = next(json.loads(x) for x in venue.lines if '"marketdata_started"' in x)
        data, (_, src) = feed.recvfrom(65536)
        out.append(("udp", src, feed_port, data))
        session = decode_packet(data)[0]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rr:
            rr.bind(("127.0.0.1", 0))
            rr.settimeout(TIMEOUT)
            request = encode_request(session, 1, 3)
            rr.sendto(request, ("127.0.0.1", started["rerequest_port"]))
            out.append(("udp", rr.getsockname()[1], started["rerequest_port"], request))
            answer, _ = rr.recvfrom(65536)
            out.append(("udp", started["rerequest_port"], rr.getsockname()[1], answer))
        snap_port = started["snapshot_port"]
        with socket.create_connection(("127.0.0.1", snap_port), timeout=TIMEOUT) as conn:
            me = conn.getsockname()[1]
            login = encode_login_request()
            if blank_login:
                login = login[:-20] + b" " * 20
            buf = bytearray()
            for pkt in (login,):
                conn.sendall(pkt)
                out.append(("tcp", me, snap_port, pkt))
            kind, payload = _read_soup(conn, buf)
            assert kind == LOGIN_ACCEPTED, (kind, payload)
            ask = soup(UNSEQUENCED, b"Q" + struct.pack(">H", 0))
            conn.sendall(ask)
            out.append(("tcp", me, snap_port, ask))
            got = [soup(kind, payload)]
            while True:
                kind, payload = _read_soup(conn, buf)
                got.append(soup(kind, payload))
                if kind == SEQUENCED and payload[:1] == bytes([SNAPSHOT_COMPLETE]):
                    break
            out.append(("tcp", snap_port, me, b"".join(got)))
            bye = soup(LOGOUT_REQUEST)
            conn.sendall(bye)
            out.append(("tcp", me, snap_port, bye))
    finally:
        feed.close()
        assert venue.terminate() == 0
    return out, feed_port, snap_port


def _ip(proto: int, body: bytes) -> bytes:
    header = struct.pack(
        ">BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(body),
        0,
        0,
        64,
        proto,
        0,
        socket.inet_aton("127.0.0.1"),
        socket.inet_aton("127.0.0.1"),
    )
    total = sum(struct.unpack(">10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return header[:10] + struct.pack(">H", ~total & 0xFFFF) + header[12:] + body


def write_pcap(path: Path, traffic: list[tuple[str, int, int, bytes]]) -> None:
    """IPv4 packets (LINKTYPE_RAW); TCP flows get a handshake and consistent seq/ack numbers."""
    frames: list[bytes] = []
    seqs: dict[tuple[int, int], int] = {}

    def tcp(src: int, dst: int, flags: int, data: bytes = b"") -> bytes:
        seq, ack = seqs.setdefault((src, dst), 1000), seqs.setdefault((dst, src), 1000)
        seqs[(src, dst)] = seq + len(data) + (1 if flags & 0x02 else 0)
        return _ip(
            6, struct.pack(">HHIIBBHHH", src, dst, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
        )

    opened: set[tuple[int, int]] = set()
    for proto, src, dst, data in traffic:
        if proto == "udp":
            frames.append(_ip(17, struct.pack(">HHHH", src, dst, 8 + len(data), 0) + data))
            continue
        flow = (min(src, dst), max(src, dst))
        if flow not in opened:
            opened.add(flow)
            frames += [tcp(src, dst, 0x02), tcp(dst, src, 0x12), tcp(src, dst, 0x10)]
        for i in range(0, len(data), 1400):
            frames.append(tcp(src, dst, 0x18, data[i : i + 1400]))
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for n, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + n, 0, len(frame), len(frame)) + frame)


@pytest.mark.slow
@pytest.mark.parametrize("blank_login", [False, True], ids=["digits", "blanks"])
def test_a_capture_decodes_cleanly(tmp_path: Path, blank_login: bool) -> None:
    traffic, feed_port, snap_port = _traffic(tmp_path, blank_login)
    pcap = tmp_path / "feed.pcap"
    write_pcap(pcap, traffic)
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark (Wireshark) is not installed: the capture was made but not decoded")
    rr_ports = {src for proto, src, _, _ in traffic[1:3] if proto == "udp"}
    decode = ["-d", f"udp.port=={feed_port},moldudp64", "-d", f"tcp.port=={snap_port},soupbintcp"]
    for port in rr_ports:
        decode += ["-d", f"udp.port=={port},moldudp64"]
    base = [tshark, "-n", "-r", str(pcap), *decode]
    protocols = subprocess.run(
        [*base, "-T", "fields", "-e", "frame.protocols"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "moldudp64" in protocols and "soupbintcp" in protocols, protocols
    malformed = subprocess.run(
        [*base, "-Y", "_ws.malformed || _ws.expert.severity >= error"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert malformed.strip() == "", malformed
