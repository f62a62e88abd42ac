#!/usr/bin/env python3
"""Reference signer for EdgeLink messages (docs/SECURITY.md), for integrators in any language.

A message is signed with Ed25519 over  b"edgelink-sig-v1\\n" + topic + b"\\n" + value  where value
is the Kafka message value exactly as produced. Two Kafka headers carry the result:
    edgelink-key: the key id, hex of the first 8 bytes of SHA-256 over the raw 32-byte public key
    edgelink-sig: base64 (standard, padded) of the 64-byte signature

    edgelink_sign.py sign --key KEY.pem --topic edge.X < message.json
        prints the two headers, one "name: value" per line
    edgelink_sign.py verify --public-key PUB --topic edge.X --key-id ID --signature SIG < message.json
        exit 0 when valid, 1 otherwise (PUB: a PEM file, or base64 of the raw 32 bytes)
    edgelink_sign.py public --key KEY.pem
        prints the public key (base64 of its raw 32 bytes) and its key id
    edgelink_sign.py check-vectors schemas/examples/signing/vectors.json
        recomputes every test vector; exit 0 when all match

Needs the `cryptography` package (Debian: python3-cryptography).
"""

import argparse
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = b"edgelink-sig-v1\n"
KEY_HEADER = "edgelink-key"
SIG_HEADER = "edgelink-sig"


def signed_bytes(topic: str, value: bytes) -> bytes:
    if "\n" in topic:
        raise ValueError("a topic name cannot contain a newline")
    return PREFIX + topic.encode("ascii") + b"\n" + value


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def load_private(path: str) -> Ed25519PrivateKey:
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{path}: not an Ed25519 private key")
    return key


def load_public(text: str) -> Ed25519PublicKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise SystemExit("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def sign(key: Ed25519PrivateKey, topic: str, value: bytes) -> dict:
    signature = key.sign(signed_bytes(topic, value))
    return {KEY_HEADER: key_id(raw_public(key.public_key())),
            SIG_HEADER: base64.b64encode(signature).decode()}


def verify(public_key: Ed25519PublicKey, topic: str, value: bytes, kid: str, sig: str) -> bool:
    if kid != key_id(raw_public(public_key)):
        return False
    try:
        public_key.verify(base64.b64decode(sig, validate=True), signed_bytes(topic, value))
        return True
    except (InvalidSignature, ValueError):
        return False


def check_vectors(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    failures = 0
    for key_doc in doc["keys"]:
        key = serialization.load_pem_private_key(key_doc["private_key_pem"].encode(), None)
        pub = raw_public(key.public_key())
        if base64.b64encode(pub).decode() != key_doc["public_key"] or key_id(pub) != key_doc["key_id"]:
            print(f"key {key_doc['key_id']}: public key or key id differs")
            failures += 1
    keys = {k["key_id"]: k for k in doc["keys"]}
    for v in doc["vectors"]:
        signed_value = v["signed_value"].encode("utf-8")
        value = v["value"].encode("utf-8")
        signer = keys[v["signed_by"]]
        key = serialization.load_pem_private_key(signer["private_key_pem"].encode(), None)
        got = sign(key, v["signed_topic"], signed_value)
        signed = base64.b64encode(signed_bytes(v["signed_topic"], signed_value)).decode()
        if signed != v["signed_bytes_base64"]:
            print(f"{v['name']}: signed bytes differ")
            failures += 1
        if got != {KEY_HEADER: v["headers"][KEY_HEADER], SIG_HEADER: v["headers"][SIG_HEADER]}:
            print(f"{v['name']}: headers differ: {got}")
            failures += 1
        # What a receiver on `topic` holding `trusted` concludes.
        trusted = {k: load_public(keys[k]["public_key"]) for k in v["trusted"]}
        kid = v["headers"][KEY_HEADER]
        if kid not in trusted:
            verdict = "unknown_key"
        elif verify(trusted[kid], v["topic"], value, kid, v["headers"][SIG_HEADER]):
            verdict = "valid"
        else:
            verdict = "bad_signature"
        if verdict != v["verdict"]:
            print(f"{v['name']}: verdict {verdict}, expected {v['verdict']}")
            failures += 1
    print(f"{len(doc['vectors'])} vectors, {failures} failures")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sign")
    p.add_argument("--key", required=True)
    p.add_argument("--topic", required=True)
    p = sub.add_parser("verify")
    p.add_argument("--public-key", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--key-id", required=True)
    p.add_argument("--signature", required=True)
    p = sub.add_parser("public")
    p.add_argument("--key", required=True)
    p = sub.add_parser("check-vectors")
    p.add_argument("file")
    args = parser.parse_args()

    if args.cmd == "sign":
        for name, value in sign(load_private(args.key), args.topic, sys.stdin.buffer.read()).items():
            print(f"{name}: {value}")
        return 0
    if args.cmd == "verify":
        try:
            with open(args.public_key, encoding="ascii") as f:
                text = f.read()
        except FileNotFoundError:
            text = args.public_key
        ok = verify(load_public(text), args.topic, sys.stdin.buffer.read(), args.key_id, args.signature)
        print("valid" if ok else "invalid")
        return 0 if ok else 1
    if args.cmd == "public":
        pub = raw_public(load_private(args.key).public_key())
        print(f"{base64.b64encode(pub).decode()} {key_id(pub)}")
        return 0
    return check_vectors(args.file)


if __name__ == "__main__":
    sys.exit(main())
