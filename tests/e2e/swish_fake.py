"""A fake of the Swish Commerce API for the end-to-end tests, written from Swish's documented shapes (Swish has no
test server that runs here): mutual TLS with a client certificate the fake's own CA issued (as Swish issues merchants
theirs), `PUT /swish-cpcapi/api/v2/paymentrequests/{instructionUUID}` (201, `Location`, and `PaymentRequestToken` for
an m-commerce request), `GET /swish-cpcapi/api/v1/paymentrequests/{id}`, the documented validation errors as a 422
list of `{errorCode, errorMessage}`, and the callback Swish POSTs to `callbackUrl` when the payer answers.

The payer is the test: `settle(id, status)` plays the payer's Swish app (PAID, DECLINED, CANCELLED, ERROR) and sends
the callback. One relaxation, said here: the documented API refuses a callback URL that is not HTTPS (RP03); the
fake takes `http://127.0.0.1` because the local runner under test serves plain HTTP.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import secrets
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MERCHANT = "1231181189"
PAYMENT_REQUESTS = re.compile(r"^/swish-cpcapi/api/v2/paymentrequests/([0-9A-F]{32})$")
PAYMENT_REQUEST = re.compile(r"^/swish-cpcapi/api/v1/paymentrequests/([0-9A-Fa-f]{32})$")


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject: str, key, issuer_name, issuer_key, *, ca: bool, server: bool):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
         .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False, decipher_only=False),
                            critical=True)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if server:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


class SwishFake:
    """Start with `start(dir)`; `url` is the API's base, `ca`, `client_cert`, `client_key` the PEM files the CSMS
    is configured with."""

    def __init__(self):
        self.requests: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self, directory: Path) -> "SwishFake":
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("Swish fake root", ca_key, None, None, ca=True, server=False)
        server_key = ec.generate_private_key(ec.SECP256R1())
        server = _cert("127.0.0.1", server_key, ca.subject, ca_key, ca=False, server=True)
        client_key = ec.generate_private_key(ec.SECP256R1())
        client = _cert(MERCHANT, client_key, ca.subject, ca_key, ca=False, server=False)
        files = {"ca.pem": _pem(ca), "server.pem": _pem(server), "server.key": _pem(server_key),
                 "client.pem": _pem(client), "client.key": _pem(client_key)}
        for name, data in files.items():
            (directory / name).write_bytes(data)
        self.ca, self.client_cert, self.client_key = (directory / "ca.pem", directory / "client.pem",
                                                      directory / "client.key")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(directory / "server.pem", directory / "server.key")
        context.verify_mode = ssl.CERT_REQUIRED  # the merchant's certificate, or no connection
        context.load_verify_locations(self.ca)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status: int, body=None, headers: dict | None = None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                m = PAYMENT_REQUESTS.match(self.path)
                if not m:
                    return self.answer(404)
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    return self.answer(400)
                errors = fake.validate(body)
                if errors:
                    return self.answer(422, [{"errorCode": c, "errorMessage": msg, "additionalInformation": None}
                                             for c, msg in errors])
                rid = m.group(1)
                with fake.lock:
                    if rid in fake.requests:
                        return self.answer(409, [{"errorCode": "RP04", "errorMessage":
                                                  "A payment request with this id exists already."}])
                    token = None if body.get("payerAlias") else secrets.token_hex(16)
                    fake.requests[rid] = {
                        "id": rid, "payeePaymentReference": body["payeePaymentReference"], "paymentReference": None,
                        "callbackUrl": body["callbackUrl"], "payerAlias": body.get("payerAlias"),
                        "payeeAlias": body["payeeAlias"], "amount": float(body["amount"]), "currency": "SEK",
                        "message": body.get("message", ""), "status": "CREATED",
                        "dateCreated": _now(), "datePaid": None, "errorCode": None, "errorMessage": None,
                        "token": token,
                    }
                headers = {"Location": f"https://127.0.0.1/swish-cpcapi/api/v1/paymentrequests/{rid}"}
                if token:
                    headers["PaymentRequestToken"] = token
                self.answer(201, None, headers)

            def do_GET(self):
                m = PAYMENT_REQUEST.match(self.path)
                with fake.lock:
                    found = m and fake.requests.get(m.group(1).upper())
                    if not found:
                        return self.answer(404)
                    self.answer(200, {k: v for k, v in found.items() if k != "token"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @staticmethod
    def validate(body: dict) -> list[tuple[str, str]]:
        """The documented checks of a new payment request."""
        errors = []
        ref = body.get("payeePaymentReference")
        if ref is not None and not re.fullmatch(r"[a-zA-Z0-9]{1,35}", str(ref)):
            errors.append(("FF08", "PayeePaymentReference is invalid."))
        url = body.get("callbackUrl") or ""
        if not (url.startswith("https://") or url.startswith("http://127.0.0.1")):
            errors.append(("RP03", "Callback URL is missing or does not use HTTPS."))
        payer = body.get("payerAlias")
        if payer is not None and not re.fullmatch(r"[1-9]\d{7,14}", str(payer)):
            errors.append(("BE18", "Payer alias is invalid."))
        if body.get("payeeAlias") != MERCHANT:
            errors.append(("RP01", "Missing Merchant Swish Number."))
        amount = body.get("amount")
        if not isinstance(amount, str) or not re.fullmatch(r"\d{1,10}\.\d{2}", amount):
            errors.append(("PA02", "Amount value is missing or not a valid number."))
        elif float(amount) < 1:
            errors.append(("AM06", "Specified transaction amount is less than agreed minimum."))
        if body.get("currency") != "SEK":
            errors.append(("AM03", "Invalid or missing Currency."))
        message = body.get("message") or ""
        if len(message) > 50 or not re.fullmatch(r"[a-zA-Z0-9åäöÅÄÖ:;.,?!()\" \-]*", message):
            errors.append(("RP02", "Wrong formatted message."))
        return errors

    def settle(self, rid: str, status: str) -> requests.Response:
        """The payer answered in their Swish app: the request's new state, then Swish's callback."""
        with self.lock:
            r = self.requests[rid]
            r["status"] = status
            if status == "PAID":
                r["datePaid"] = _now()
                r["paymentReference"] = secrets.token_hex(16).upper()
            elif status in ("DECLINED", "ERROR"):
                r["errorCode"], r["errorMessage"] = ("RF07", "Transaction declined") if status == "DECLINED" \
                    else ("TM01", "Swish timed out before the payment was started")
            body = {k: v for k, v in r.items() if k != "token"}
        return requests.post(r["callbackUrl"], json=body, timeout=10)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
