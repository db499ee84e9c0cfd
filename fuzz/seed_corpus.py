#!/usr/bin/env python3
"""Seed fuzz/corpus/<target>/ with the captured EtherNet/IP frames in crates/cip/tests/data/vectors.

Run from fuzz/: python3 seed_corpus.py
"""
import glob
import hashlib
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "crates", "cip", "tests", "data", "vectors", "cpppo-5.2.5")


def frames():
    for path in glob.glob(os.path.join(VECTORS, "*.json")) + glob.glob(os.path.join(VECTORS, "clients", "*.json")):
        if path.endswith("INDEX.json"):
            continue
        with open(path) as f:
            v = json.load(f)
        hexes = [v["request_hex"], v["response_hex"]] + [e["hex"] for e in v.get("exchange") or []]
        for h in hexes:
            if h:
                yield bytes.fromhex(h)


def put(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


for frame in frames():
    put("encap_header", frame)
    put("frame_stream", b"\x05\xff" + frame + frame)  # chunk size 6, no length limit, two frames
    command, _length = struct.unpack("<HH", frame[:4])
    body = frame[24:]
    if command in (0x6F, 0x70) and len(body) > 6:
        put("cpf", body[6:])
    elif command in (0x04, 0x63, 0x64) and body:
        put("cpf", body)
        if len(body) > 6:
            put("list_items", body[6:])
