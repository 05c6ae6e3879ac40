"""A software authenticator for the API tests (the browser tests use Chromium's virtual one):
an ES256 key pair answering the app's WebAuthn options as a device would, with `none`
attestation, user presence and, unless told otherwise, user verification. `copy()` clones it,
as malware copying a key would: the copy's counter stays where it was."""

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.encode_cbor import encode_cbor

PRESENT, VERIFIED, ATTESTED = 0x01, 0x04, 0x40


@dataclass
class SoftAuthenticator:
    origin: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    sign_count: int = 0
    user_handle: bytes = b""

    def create(self, options: dict[str, Any], *, verified: bool = True) -> dict[str, Any]:
        """`navigator.credentials.create()`'s answer, as `toJSON()` gives it."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        numbers = self.key.public_key().public_numbers()
        cose_key = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32), -3: numbers.y.to_bytes(32)}
        attested = (
            bytes(16)  # AAGUID: none given
            + len(self.credential_id).to_bytes(2)
            + self.credential_id
            + encode_cbor(cose_key)
        )
        flags = PRESENT | ATTESTED | (VERIFIED if verified else 0)
        auth_data = self._auth_data(options["rp"]["id"], flags) + attested
        client_data = self._client_data("webauthn.create", options["challenge"])
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return self._credential(
            clientDataJSON=bytes_to_base64url(client_data),
            attestationObject=bytes_to_base64url(attestation),
            transports=["internal"],
        )

    def get(
        self, options: dict[str, Any], *, verified: bool = True, origin: str | None = None
    ) -> dict[str, Any]:
        """`navigator.credentials.get()`'s answer; the counter moves on."""
        self.sign_count += 1
        flags = PRESENT | (VERIFIED if verified else 0)
        auth_data = self._auth_data(options["rpId"], flags)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return self._credential(
            clientDataJSON=bytes_to_base64url(client_data),
            authenticatorData=bytes_to_base64url(auth_data),
            signature=bytes_to_base64url(signature),
            userHandle=bytes_to_base64url(self.user_handle),
        )

    def copy(self) -> "SoftAuthenticator":
        return copy.copy(self)

    def _auth_data(self, rp_id: str, flags: int) -> bytes:
        rp_hash = hashlib.sha256(rp_id.encode()).digest()
        return rp_hash + bytes([flags]) + self.sign_count.to_bytes(4)

    def _client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        body = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps(body).encode()

    def _credential(self, **response: object) -> dict[str, Any]:
        encoded_id = bytes_to_base64url(self.credential_id)
        return {
            "id": encoded_id,
            "rawId": encoded_id,
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
        }
