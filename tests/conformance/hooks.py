"""Schemathesis hooks for Keyplane's conformance run (tests/conformance/run).

- Operations whose security is `sigv4` (every management operation) are signed
  with AWS SigV4 (service execute-api) by a `requests` auth object, which
  runs on the prepared request: it signs the bytes that are actually sent
  (final URL, query encoding and body), after every schemathesis transform.
  Most calls are signed by the platform admin, some by a workspace viewer so
  that refusals (403) are exercised too.
- Operations whose security is `bearer_key` (whoami) get
  `Authorization: Bearer <key>`: a real minted key, or a revoked one.
- Generated values that are well-formed ids are swapped, some of the time,
  for ids that exist, and verify and report-leak bodies get real keys, so
  the run reaches past "not found". Values that are not well-formed are left
  alone: negative cases stay negative.
- after_call tallies the statuses each operation answered; the run prints
  the tally.

Reads KEYPLANE_URL, KEYPLANE_DATA (the data directory of `keyplane serve`)
and KEYPLANE_STATUS_LOG (where the tally goes).
"""

from __future__ import annotations

import configparser
import datetime
import hashlib
import hmac
import itertools
import json
import os
import re
import threading
import urllib.parse
import zlib
from collections import Counter

import requests
import schemathesis

BASE_URL = os.environ["KEYPLANE_URL"].rstrip("/")
DATA_DIR = os.environ["KEYPLANE_DATA"]
STATUS_LOG = os.environ.get("KEYPLANE_STATUS_LOG")
REGION = json.load(open(os.path.join(DATA_DIR, "config.json")))["region"]
SERVICE = "execute-api"

# RFC 3986 unreserved characters: SigV4's UriEncode leaves only these.
UNRESERVED = "-_.~"


def _credentials(profile: str) -> tuple[str, str]:
    parser = configparser.ConfigParser()
    parser.read(os.path.join(DATA_DIR, "credentials"))
    section = parser[profile]
    return section["aws_access_key_id"], section["aws_secret_access_key"]


def _canonical_query(raw: str) -> str:
    """As the server (and AWS) builds it: decode each name and value (`+`
    is a space), encode strictly, sort the pairs."""

    def encode(text: str) -> str:
        decoded = urllib.parse.unquote_plus(text, errors="replace")
        return urllib.parse.quote(decoded, safe=UNRESERVED)

    pairs = []
    for pair in raw.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        pairs.append((encode(name), encode(value)))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _header_value(value: str) -> str:
    # What the server's HTTP stack hands on (surrounding whitespace gone),
    # with runs of spaces collapsed as the signers do.
    return " ".join(part for part in value.strip(" \t").split(" ") if part)


# Every signed request carries a request id of its own, signed: two
# identical generated requests within the same second would otherwise have
# the same signature, and the server rightly takes the second for a replay
# of the first (409 REQUEST_REPLAYED). Distinct clients' requests differ.
_request_ids = itertools.count()


class SigV4(requests.auth.AuthBase):
    """Signs a prepared request; the path is signed as sent (which the
    server accepts, as curl does), the payload hash covers the body."""

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key = access_key
        self.secret_key = secret_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urllib.parse.urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        date = amz_date[:8]
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token"):
            request.headers.pop(name, None)
        request.headers["Host"] = url.netloc
        request.headers["X-Amz-Date"] = amz_date
        request.headers["X-Request-Id"] = f"conformance-{next(_request_ids)}"
        # Every header a client set is signed, as curl and the SDKs do (the
        # server refuses an unsigned Idempotency-Key).
        signed = {"host": url.netloc, "x-amz-date": amz_date}
        for name in ("Content-Type", "Idempotency-Key", "X-Request-Id"):
            if name in request.headers:
                value = request.headers[name]
                if isinstance(value, bytes):
                    value = value.decode("latin-1")
                signed[name.lower()] = _header_value(value)
        names = sorted(signed)
        canonical = "\n".join(
            [
                request.method,
                url.path or "/",
                _canonical_query(url.query),
                "".join(f"{name}:{signed[name]}\n" for name in names),
                ";".join(names),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{date}/{REGION}/{SERVICE}/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = ("AWS4" + self.secret_key).encode()
        for part in (date, REGION, SERVICE, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return request


class Bearer(requests.auth.AuthBase):
    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.key}"
        return request


ADMIN = SigV4(*_credentials("keyplane-admin"))
VIEWER = SigV4(*_credentials("conformance-viewer"))
VIEWER_ARN = "arn:aws:iam::123456789012:user/conformance-viewer"


def _call(method: str, path: str, body: object | None = None, auth: requests.auth.AuthBase = ADMIN) -> dict:
    response = requests.request(method, BASE_URL + path, json=body, auth=auth, timeout=10)
    if response.status_code >= 300:
        raise RuntimeError(f"bootstrap {method} {path}: {response.status_code} {response.text}")
    return response.json() if response.content else {}


def _key(org: str, ws: str, name: str) -> dict:
    return _call(
        "POST",
        "/v1/keys",
        {
            "organization_id": org,
            "scope": "workspace",
            "workspace_id": ws,
            "type": "service",
            "name": name,
            "role": "editor",
            "permissions": ["models:*"],
            "credits": 1000000,
        },
    )


# The world the run starts from: an organization with a workspace, a viewer,
# keys to verify and keys to report.
ORG = _call("POST", "/v1/organizations", {"name": "conformance"})["id"]
WS = _call("POST", f"/v1/organizations/{ORG}/workspaces", {"name": "prod"})["id"]
_call(
    "PUT",
    f"/v1/organizations/{ORG}/members/{urllib.parse.quote(VIEWER_ARN, safe='')}",
    {"org_role": "member", "workspace_roles": {WS: "viewer"}, "permissions": ["models:*"]},
)
# Three pools, so that one use does not spoil another: keys to verify (no
# generated call names them, so they stay valid all run), keys the
# management calls act on (rolled, revoked, disabled as it comes), keys to
# report as leaked.
REVOKED = _key(ORG, WS, "revoked")
_call("DELETE", f"/v1/keys/{REVOKED['id']}")
KEYS_TO_VERIFY = [_key(ORG, WS, f"verify-{i}")["key"] for i in range(3)] + [REVOKED["key"]]
KEY_IDS = [_key(ORG, WS, f"target-{i}")["id"] for i in range(3)] + [REVOKED["id"]]
LEAK_TARGETS = [_key(ORG, WS, f"leak-{i}")["key"] for i in range(3)]

ID_PATTERN = re.compile(r"^(org|ws|key)_[A-Za-z0-9]+$")
REAL = {"org": [ORG], "ws": [WS], "key": KEY_IDS}


def _pick(value: str, choices: list, chance: float):
    """One of `choices` for `chance` of the values, else None. Decided by a
    hash of the generated value, not by `random`: the same case gets the
    same answer, so a seed replays a run and shrinking stays stable."""
    digest = zlib.crc32(value.encode("utf-8", "surrogatepass"))
    if digest % 1000 < chance * 1000:
        return choices[(digest // 1000) % len(choices)]
    return None


def _real_id(value: object, salt: str, chance: float = 0.6) -> object:
    """A real id of the same kind for a well-formed generated one, sometimes."""
    if isinstance(value, str) and ID_PATTERN.match(value):
        return _pick(value + salt, REAL[value.split("_", 1)[0]], chance) or value
    return value


def _security(operation) -> list[str]:
    """The schemes the document says the operation takes: the hooks sign
    what the document says is signed, so an operation documented without
    its scheme fails the run with 401s."""
    requirements = operation.definition.raw.get("security") or []
    return [name for requirement in requirements for name in requirement]


# Who signs, and which key whoami shows, go round in turn (not `random`,
# which hypothesis would flag inside its strategies).
_turns = itertools.count()


@schemathesis.auth(refresh_interval=None, retry_on=[])
class KeyplaneAuth:
    def get(self, case, context):
        operation = context.operation
        turn = next(_turns)
        schemes = _security(operation)
        if "sigv4" in schemes:
            return VIEWER if turn % 10 == 0 else ADMIN
        if "bearer_key" in schemes:
            return Bearer(KEYS_TO_VERIFY[turn % len(KEYS_TO_VERIFY)])
        return None

    def set(self, case, data, context):
        case._auth = data


@schemathesis.hook
def map_case(context, case):
    """Runs on every generated case, in the coverage and fuzzing phases."""
    # The choices hash the whole case: the same case is always sent the same
    # way, and different cases with the same id still differ.
    salt = repr((case.path_parameters, case.query, case.body))
    path = case.path_parameters
    if isinstance(path, dict):
        for name in ("org", "key_id"):
            if name in path:
                path[name] = _real_id(path[name], salt)
        if isinstance(path.get("principal"), str):
            path["principal"] = _pick(path["principal"] + salt, [VIEWER_ARN], 0.3) or path["principal"]
    query = case.query
    if isinstance(query, dict):
        for name in ("organization_id", "workspace_id"):
            if name in query:
                query[name] = _real_id(query[name], salt, chance=0.8)
    body = case.body
    if isinstance(body, dict):
        for name in ("organization_id", "workspace_id", "key_id"):
            if name in body:
                body[name] = _real_id(body[name], salt, chance=0.8)
        if isinstance(body.get("workspace_ids"), list):
            body["workspace_ids"] = [_real_id(ws, salt) for ws in body["workspace_ids"]]
        if isinstance(body.get("workspace_roles"), dict):
            body["workspace_roles"] = {_real_id(ws, salt): role for ws, role in body["workspace_roles"].items()}
        if isinstance(body.get("key"), str):
            pool = LEAK_TARGETS if case.operation.path == "/v1/keys/report-leak" else KEYS_TO_VERIFY
            body["key"] = _pick(body["key"] + salt, pool, 0.6) or body["key"]
    return case


# Refusals of schema-valid requests for reasons no JSON Schema can state.
# Each is a rule about time, about two fields together, or about what the
# server issued; the document says them in words. A schema-valid request
# refused with any other code fails the run.
SEMANTIC_REFUSALS = {
    "EXPIRY_IN_PAST",  # expires_at must lie in the future
    "INVALID_CURSOR",  # a cursor is opaque: only one the server issued is valid
    "INVALID_RANGE",  # usage: from <= to, and under 366 days apart
    "LOOKS_LIKE_A_KEY",  # no stored text may hold an API key (a checksum)
    "IDEMPOTENCY_KEY_MISMATCH",  # an Idempotency-Key reused for another request
    "ROTATION_NEEDS_SECRET",  # rotation: true needs a secret bound to the key
}


def _problem_code(response) -> str | None:
    try:
        return response.json().get("code")
    except Exception:
        return None


_statuses: dict[str, Counter] = {}
_dropped: Counter = Counter()
_lock = threading.Lock()


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code == "ST202" and response.status_code == 400:
        code = _problem_code(response)
        if code in SEMANTIC_REFUSALS:
            with _lock:
                _dropped[code] += 1
                _save()
            return False
    return True


def _save() -> None:
    if STATUS_LOG:
        tally = {
            "statuses": {label: dict(counts) for label, counts in _statuses.items()},
            "semantic_refusals": dict(_dropped),
        }
        with open(STATUS_LOG, "w") as out:
            json.dump(tally, out, indent=1, sort_keys=True)


@schemathesis.hook
def after_call(context, case, response):
    answer = str(response.status_code)
    if response.status_code >= 400:
        answer += f" {_problem_code(response)}"
    with _lock:
        _statuses.setdefault(case.operation.label, Counter())[answer] += 1
        _save()
