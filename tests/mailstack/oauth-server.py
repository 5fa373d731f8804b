#!/usr/bin/env python3
"""tests/mailstack/oauth-server.py DIR PORT [TLS_PORT CERT KEY]

The test mail stack's OAuth 2.0 authorization server, on 127.0.0.1:PORT
(python3 standard library only; start.sh starts it, stop.sh stops it).
With TLS_PORT it serves the same endpoints and state over HTTPS too, on
127.0.0.1:TLS_PORT with CERT and KEY (PEM; start.sh gives the stack's
certificate, signed by its throw-away CA): a provider with a private CA.
It issues real signed access tokens (JWT, HS256, a key made at start) and
refresh tokens, and Dovecot's oauth2 passdb asks its introspection endpoint
whether a token is good. Endpoints:

  POST /token        RFC 6749 token endpoint: grant_type client_credentials,
                     refresh_token (rotated on every use),
                     urn:ietf:params:oauth:grant-type:device_code (RFC 8628),
                     urn:ietf:params:oauth:grant-type:jwt-bearer (RFC 7523,
                     an RS256 JWT of a service account, checked with openssl)
  POST /device       RFC 8628 device authorization (scope "openid ...": the
                     device grant's answer carries an OpenID Connect id_token)
  POST /introspect   RFC 7662 (token=...): {"active": ..., "username": ...}

and, for the tests (JSON answers; form or query parameters):

  POST /test/client           mailbox=ADDR [lifetime=SECS] -> client_id,
                              client_secret (client_credentials tokens are
                              for ADDR: Exchange's mailbox permission)
  POST /test/service-account  [lifetime=SECS] -> a Google-style JSON key
  POST /test/approve          user_code=CODE user=ADDR: the user signs in
  POST /test/expire           user=ADDR: every access token issued so far
                              for ADDR stops working (grants stay good)
  POST /test/revoke           user=ADDR: every grant of ADDR is revoked
  GET  /test/stats            client_id=ID: token requests by grant type

State is in memory; the log (DIR/log/oauth.log) has paths and outcomes only.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

LOCK = threading.Lock()
KEY = secrets.token_bytes(32)
CLIENTS = {}  # client_id -> {secret, mailbox, lifetime}
ACCOUNTS = {}  # service account email -> {public_key_file, lifetime}
GRANTS = {}  # grant id -> {client_id, user, refresh, revoked, revoked_at}
DEVICES = {}  # device_code -> {client_id, user_code, user, expires}
NOT_BEFORE = {}  # user -> unix time: access tokens issued before it are dead
STATS = {}  # client_id -> {grant_type: count}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    mac = hmac.new(KEY, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def verify(token):
    """The claims of one of our access tokens, or None."""
    try:
        head, body, mac = token.split(".")
        want = hmac.new(KEY, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(want, unb64url(mac)):
            return None
        return json.loads(unb64url(body))
    except (ValueError, TypeError):
        return None


def issue(client_id, user, lifetime, grant_id=None):
    now = time.time()
    claims = {
        "sub": user,
        "cid": client_id,
        "gid": grant_id,
        "iat": now,
        "exp": int(now + lifetime),
        "jti": secrets.token_hex(8),
    }
    return sign(claims)


def count(client_id, grant_type):
    STATS.setdefault(client_id, {}).setdefault(grant_type, 0)
    STATS[client_id][grant_type] += 1


class Refused(Exception):
    def __init__(self, status, error, description):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def new_grant(client_id, user, lifetime, scope=""):
    gid = secrets.token_hex(8)
    refresh = "rt-" + secrets.token_urlsafe(24)
    GRANTS[gid] = {"client_id": client_id, "user": user, "refresh": refresh, "revoked": None}
    answer = {
        "access_token": issue(client_id, user, lifetime, gid),
        "token_type": "Bearer",
        "expires_in": lifetime,
        "refresh_token": refresh,
    }
    if "openid" in scope.split():
        # OpenID Connect: who signed in (Microsoft's claim name).
        now = int(time.time())
        answer["id_token"] = sign({"iss": TOKEN_URLS[0], "aud": client_id, "sub": gid,
                                   "preferred_username": user, "iat": now, "exp": now + lifetime})
    return answer


def client(form, secret_required):
    cid = form.get("client_id", "")
    c = CLIENTS.get(cid)
    if c is None:
        raise Refused(401, "invalid_client", "unknown client_id")
    if secret_required or "client_secret" in form:
        if not hmac.compare_digest(form.get("client_secret", ""), c["secret"]):
            raise Refused(401, "invalid_client", "wrong client_secret")
    return cid, c


def token_grant(form):
    gt = form.get("grant_type", "")
    if gt == "client_credentials":
        cid, c = client(form, True)
        count(cid, gt)
        lifetime = c["lifetime"]
        return {
            "access_token": issue(cid, c["mailbox"], lifetime),
            "token_type": "Bearer",
            "expires_in": lifetime,
        }
    if gt == "refresh_token":
        cid, c = client(form, False)
        count(cid, gt)
        rt = form.get("refresh_token", "")
        for gid, g in GRANTS.items():
            if g["refresh"] == rt and g["client_id"] == cid:
                if g["revoked"]:
                    raise Refused(400, "invalid_grant", f"AADSTS50173: the grant was revoked at {g['revoked']}")
                # Rotation: the old refresh token is spent.
                g["refresh"] = "rt-" + secrets.token_urlsafe(24)
                return {
                    "access_token": issue(cid, g["user"], c["lifetime"], gid),
                    "token_type": "Bearer",
                    "expires_in": c["lifetime"],
                    "refresh_token": g["refresh"],
                }
        raise Refused(400, "invalid_grant", "unknown or spent refresh token")
    if gt == DEVICE_GRANT:
        cid, c = client(form, False)
        count(cid, gt)
        d = DEVICES.get(form.get("device_code", ""))
        if d is None or d["client_id"] != cid:
            raise Refused(400, "invalid_grant", "unknown device_code")
        if time.time() > d["expires"]:
            raise Refused(400, "expired_token", "the device code expired")
        if d["user"] is None:
            raise Refused(400, "authorization_pending", "waiting for the user")
        del DEVICES[form["device_code"]]
        return new_grant(cid, d["user"], c["lifetime"], d["scope"])
    if gt == JWT_GRANT:
        return jwt_grant(form.get("assertion", ""))
    raise Refused(400, "unsupported_grant_type", "unknown grant_type")


def jwt_grant(assertion):
    try:
        head, body, sig = assertion.split(".")
        header = json.loads(unb64url(head))
        claims = json.loads(unb64url(body))
        signature = unb64url(sig)
    except (ValueError, TypeError):
        raise Refused(400, "invalid_grant", "not a JWT")
    account = ACCOUNTS.get(claims.get("iss", ""))
    if account is None:
        raise Refused(401, "invalid_client", "unknown service account")
    count(claims["iss"], JWT_GRANT)
    if header.get("alg") != "RS256":
        raise Refused(400, "invalid_grant", "alg must be RS256")
    with tempfile.NamedTemporaryFile() as f:
        f.write(signature)
        f.flush()
        ok = subprocess.run(
            ["openssl", "dgst", "-sha256", "-verify", account["public_key_file"], "-signature", f.name],
            input=f"{head}.{body}".encode(),
            capture_output=True,
        ).returncode == 0
    if not ok:
        raise Refused(400, "invalid_grant", "bad signature")
    now = time.time()
    if claims.get("aud") not in TOKEN_URLS:
        raise Refused(400, "invalid_grant", "wrong aud")
    if not (claims.get("iat", 0) - 60 <= now <= claims.get("exp", 0)):
        raise Refused(400, "invalid_grant", "assertion expired")
    if account.get("revoked"):
        raise Refused(400, "invalid_grant", "the service account's key was revoked")
    user = claims.get("sub") or ""
    if "@" not in user:
        raise Refused(400, "invalid_grant", "sub must name the mailbox")
    lifetime = account["lifetime"]
    return {
        "access_token": issue(claims["iss"], user, lifetime),
        "token_type": "Bearer",
        "expires_in": lifetime,
    }


def introspect(token):
    claims = verify(token)
    if claims is None or claims["exp"] <= time.time():
        return {"active": False}
    gid = claims.get("gid")
    if gid and GRANTS.get(gid, {}).get("revoked"):
        return {"active": False}
    if claims["iat"] < NOT_BEFORE.get(claims["sub"], 0):
        return {"active": False}
    account = ACCOUNTS.get(claims["cid"])
    if account and account.get("revoked"):
        return {"active": False}
    return {"active": True, "username": claims["sub"], "client_id": claims["cid"], "exp": claims["exp"]}


def make_service_account(lifetime):
    email = f"svc-{secrets.token_hex(4)}@postdesk-test.iam.gserviceaccount.com"
    kdir = os.path.join(STATE, "keys")
    os.makedirs(kdir, exist_ok=True)
    key_pem = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        capture_output=True, check=True,
    ).stdout
    pub_file = os.path.join(kdir, email + ".pub.pem")
    subprocess.run(["openssl", "pkey", "-pubout", "-out", pub_file], input=key_pem, check=True, capture_output=True)
    ACCOUNTS[email] = {"public_key_file": pub_file, "lifetime": lifetime}
    return {
        "type": "service_account",
        "project_id": "postdesk-test",
        "private_key_id": secrets.token_hex(20),
        "private_key": key_pem.decode(),
        "client_email": email,
        "client_id": str(secrets.randbelow(10**20)),
        "token_uri": TOKEN_URLS[0],
    }


def test_action(path, form):
    if path == "/test/client":
        cid = "client-" + secrets.token_hex(6)
        secret = "cs-" + secrets.token_urlsafe(18)
        CLIENTS[cid] = {
            "secret": secret,
            "mailbox": form.get("mailbox", "").lower(),
            "lifetime": int(form.get("lifetime", "3600")),
        }
        return {"client_id": cid, "client_secret": secret}
    if path == "/test/service-account":
        return make_service_account(int(form.get("lifetime", "3600")))
    if path == "/test/approve":
        for d in DEVICES.values():
            if d["user_code"] == form.get("user_code"):
                d["user"] = form.get("user", "").lower()
                return {"approved": True}
        raise Refused(404, "not_found", "no such user_code")
    if path == "/test/expire":
        NOT_BEFORE[form.get("user", "").lower()] = time.time()
        return {"expired": True}
    if path == "/test/revoke":
        user, n = form.get("user", "").lower(), 0
        for g in GRANTS.values():
            if g["user"] == user and not g["revoked"]:
                g["revoked"] = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
                n += 1
        NOT_BEFORE[user] = time.time()
        return {"revoked": n}
    if path == "/test/stats":
        return STATS.get(form.get("client_id", ""), {})
    raise Refused(404, "not_found", "no such endpoint")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode() if n else ""
        query = urllib.parse.urlsplit(self.path).query
        form = dict(urllib.parse.parse_qsl(query))
        form.update(urllib.parse.parse_qsl(raw))
        return form

    def route(self):
        path = urllib.parse.urlsplit(self.path).path
        form = self.form()
        try:
            with LOCK:
                if path == "/token":
                    result = token_grant(form)
                elif path == "/device":
                    cid, _ = client(form, False)
                    code = secrets.token_urlsafe(24)
                    user_code = secrets.token_hex(4).upper()
                    DEVICES[code] = {"client_id": cid, "user_code": user_code, "user": None,
                                     "scope": form.get("scope", ""), "expires": time.time() + 300}
                    result = {
                        "device_code": code,
                        "user_code": user_code,
                        "verification_uri": f"http://127.0.0.1:{PORT}/device/verify",
                        "expires_in": 300,
                        "interval": 1,
                    }
                elif path == "/introspect":
                    result = introspect(form.get("token", ""))
                elif path.startswith("/test/"):
                    result = test_action(path, form)
                else:
                    raise Refused(404, "not_found", "no such endpoint")
            self.log(f"{path} 200 {result.get('active', '') if path == '/introspect' else ''}")
            self.answer(200, result)
        except Refused as r:
            self.log(f"{path} {r.status} {r.error}")
            self.answer(r.status, {"error": r.error, "error_description": r.description})

    do_POST = route
    do_GET = route

    def log(self, line):
        sys.stderr.write(time.strftime("%H:%M:%S ") + line + "\n")
        sys.stderr.flush()

    def log_message(self, *args):
        pass  # the default would log query strings; ours never has a token


def https_server(port, cert, key):
    """The same Handler behind TLS. A client that refuses our certificate
    ends the handshake in accept(); socketserver drops that connection
    (an OSError) and serves the next."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    return server


if __name__ == "__main__":
    STATE, PORT = sys.argv[1], int(sys.argv[2])
    TOKEN_URLS = [f"http://127.0.0.1:{PORT}/token"]
    if len(sys.argv) == 6:
        tls_port = int(sys.argv[3])
        TOKEN_URLS.append(f"https://127.0.0.1:{tls_port}/token")
        tls = https_server(tls_port, sys.argv[4], sys.argv[5])
        threading.Thread(target=tls.serve_forever, daemon=True).start()
        sys.stderr.write(f"oauth-server: listening on 127.0.0.1:{tls_port} (https)\n")
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    sys.stderr.write(f"oauth-server: listening on 127.0.0.1:{PORT}\n")
    sys.stderr.flush()
    server.serve_forever()
