"""The simulated users' HTTP client (bench/mixed.py, bench/soak.py): the standard library's
http.client, one connection per request (gunicorn's sync workers close each one anyway), a token
or a browser's session, and every answer timed and tallied under a name, thread-safely."""

import http.client
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie


@dataclass
class Tally:
    latencies: list = field(default_factory=list)  # seconds, of every request sent
    errors: int = 0  # no answer, or an answer other than the one expected
    server_errors: int = 0  # 5xx
    unanswered: int = 0  # connection refused or reset, or no answer within the timeout
    samples: list = field(default_factory=list)  # the first errors, to say what went wrong


class Recorder:
    """Requests by name. `tallies` is swapped for a new dict by `reset`; read it after the load."""

    def __init__(self):
        self._lock = threading.Lock()
        self.tallies: dict[str, Tally] = {}

    def add(self, name: str, seconds: float, status: int, ok: bool, detail: str = "") -> None:
        with self._lock:
            tally = self.tallies.setdefault(name, Tally())
            tally.latencies.append(seconds)
            if ok:
                return
            tally.errors += 1
            tally.server_errors += status >= 500
            tally.unanswered += status == 0
            if len(tally.samples) < 3:
                tally.samples.append(f"{status} {detail[:300]}")

    def reset(self) -> dict:
        with self._lock:
            tallies, self.tallies = self.tallies, {}
        return tallies


def percentile(ordered: list, share: float) -> float:
    """Nearest rank of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def figures(tally: Tally, seconds: float) -> dict:
    """req/s over `seconds`, p50/p95/p99 in ms, counts."""
    ordered = sorted(tally.latencies)
    return {
        "count": len(ordered),
        "rate": len(ordered) / seconds if seconds else 0.0,
        **{f"p{n}": percentile(ordered, n / 100) * 1000 for n in (50, 95, 99)},
        "errors": tally.errors,
        "server_errors": tally.server_errors,
        "unanswered": tally.unanswered,
    }


@dataclass
class Answer:
    status: int  # 0: no answer
    body: bytes
    ok: bool
    cookies: dict

    def json(self):
        return json.loads(self.body)


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body: text fields, and files as (filename, bytes, content type)."""
    boundary = secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, kind) in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        parts.append(f"{head}Content-Type: {kind}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Http:
    """One simulated user's client of the server on 127.0.0.1:`port`."""

    def __init__(self, port: int, recorder: Recorder, *, token: str = "", timeout: float = 60):
        self.port, self.recorder, self.timeout = port, recorder, timeout
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        self.cookies: dict[str, str] = {}

    def get(self, name: str, path: str, *, expect=(200,)) -> Answer:
        return self.request(name, "GET", path, expect=expect)

    def post(self, name: str, path: str, data=None, *, files=None, expect=(200, 201)) -> Answer:
        """JSON `data`; with `files`, multipart with `data` as text fields."""
        if files:
            body, kind = multipart(data or {}, files)
        else:
            body, kind = json.dumps(data or {}, ensure_ascii=False).encode(), "application/json"
        return self.request(name, "POST", path, body=body, headers={"Content-Type": kind}, expect=expect)

    def post_form(self, name: str, path: str, data: dict, *, expect=(200, 302)) -> Answer:
        body = urllib.parse.urlencode(data).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request(name, "POST", path, body=body, headers=headers, expect=expect)

    def request(self, name, method, path, *, body=b"", headers=None, expect=(200,)) -> Answer:
        sent = {**self.headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        start = time.perf_counter()
        try:
            conn.request(method, path, body=body or None, headers=sent)
            response = conn.getresponse()
            content = response.read()
            status = response.status
            cookies = {}
            for line in response.headers.get_all("Set-Cookie") or []:
                cookies.update({key: morsel.value for key, morsel in SimpleCookie(line).items()})
        except (OSError, http.client.HTTPException) as exc:
            status, content, cookies = 0, repr(exc).encode(), {}
        finally:
            conn.close()
        ok = status in expect
        detail = "" if ok else f"{method} {path}: {content[:300].decode(errors='replace')}"
        self.recorder.add(name, time.perf_counter() - start, status, ok, detail)
        self.cookies.update(cookies)
        return Answer(status, content, ok, cookies)


def signed_in(port: int, recorder: Recorder, username: str, password: str) -> Http:
    """A browser's session: the login page's CSRF cookie, the form posted with it, the session
    cookie kept (sent by hand: the production cookies are Secure and this is plain HTTP)."""
    browser = Http(port, recorder)
    browser.get("sign-in", "/login/")
    token = browser.cookies.get("csrftoken", "")
    form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
    answer = browser.post_form("sign-in", "/login/", form, expect=(302,))
    if not answer.ok or "sessionid" not in browser.cookies:
        raise SystemExit(f"{username} could not sign in: {answer.status} {answer.body[:300]!r}")
    return browser
