"""Signatures: DSSE envelopes (Dead Simple Signing Envelope, the format of
in-toto attestations and Sigstore bundles), made with a private key the
user configured.

The signature is over DSSE's pre-authentication encoding
``PAE(payloadType, payload)``; the envelope is
``{"payloadType", "payload" (base64), "signatures": [{"keyid", "sig"}]}``.
Keys: Ed25519 or ECDSA P-256 (SHA-256) in PEM, the kinds
``securesystemslib`` and cosign read. The key id is the sha256 of the
public key (SubjectPublicKeyInfo, DER), so a verifier can pick the key.

The private key is read for one signature and never kept, printed or put
in an error: a bad key file raises an error naming the file only.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_mlenv.errors import MlenvError

__all__ = [
    "DSSE_MEDIA_TYPE",
    "Signer",
    "key_id",
    "load_signer",
    "open_envelope",
    "pae",
    "sign_envelope",
    "verify_envelope",
]

#: The media type of a DSSE envelope.
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding of a payload and its type."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True, slots=True)
class Signer:
    """A loaded private key and its id; ``repr`` shows the id only."""

    keyid: str
    _key: Any

    def __repr__(self) -> str:
        return f"Signer(keyid={self.keyid[:12]}…)"

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return bytes(self._key.sign(data, ec.ECDSA(hashes.SHA256())))
        return bytes(self._key.sign(data))


def key_id(public_key: Any) -> str:
    """sha256 hex of a public key's SubjectPublicKeyInfo (DER)."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_signer(path: str, password: str | None = None) -> Signer:
    """The private key in PEM file ``path`` (Ed25519 or ECDSA P-256)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise MlenvError(f"signing key {path}: cannot be read ({exc.strerror})") from None
    try:
        key = serialization.load_pem_private_key(
            data, password=password.encode() if password else None
        )
    except (ValueError, TypeError):
        raise MlenvError(
            f"signing key {path}: not a PEM private key (or a wrong password); "
            "make one with: openssl genpkey -algorithm ed25519 -out signing.pem"
        ) from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and not isinstance(key.curve, ec.SECP256R1):
        raise MlenvError(f"signing key {path}: ECDSA keys must be on P-256")
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise MlenvError(f"signing key {path}: use an Ed25519 or ECDSA P-256 key")
    return Signer(key_id(key.public_key()), key)


def sign_envelope(payload: bytes, payload_type: str, signer: Signer) -> bytes:
    """A DSSE envelope (JSON bytes) holding ``payload``, signed by ``signer``."""
    signature = signer.sign(pae(payload_type, payload))
    envelope = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": signer.keyid, "sig": base64.b64encode(signature).decode()}],
    }
    return json.dumps(envelope, sort_keys=True).encode()


def open_envelope(envelope: bytes) -> tuple[str, bytes, list[dict[str, str]]]:
    """``(payloadType, payload, signatures)`` of an envelope, unchecked."""
    try:
        doc = json.loads(envelope)
        return (
            str(doc["payloadType"]),
            base64.b64decode(doc["payload"]),
            [dict(s) for s in doc.get("signatures") or []],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise MlenvError(f"not a DSSE envelope: {type(exc).__name__}") from None


def verify_envelope(envelope: bytes, public_key_pem: bytes) -> bytes:
    """The payload of ``envelope`` when one of its signatures is the
    ``public_key_pem`` key's; else ``MlenvError``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    payload_type, payload, signatures = open_envelope(envelope)
    try:
        public = serialization.load_pem_public_key(public_key_pem)
    except ValueError:
        raise MlenvError("the verification key is not a PEM public key") from None
    wanted = key_id(public)
    message = pae(payload_type, payload)
    for entry in signatures:
        if entry.get("keyid") not in (None, "", wanted):
            continue
        sig = base64.b64decode(entry.get("sig", ""))
        try:
            if isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(sig, message, ec.ECDSA(hashes.SHA256()))
            elif isinstance(public, ed25519.Ed25519PublicKey):
                public.verify(sig, message)
            else:
                raise MlenvError("the verification key is neither Ed25519 nor ECDSA P-256")
            return payload
        except InvalidSignature:
            continue
    raise MlenvError(f"no valid signature by key {wanted[:12]} on the envelope")
