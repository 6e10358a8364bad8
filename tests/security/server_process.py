"""A real Daphne (or gunicorn) server in a subprocess, for hostile-input tests that must show
the process survives and its memory stays bounded (issue 13).

The server runs on its own SQLite file under a temporary directory (Daphne: the embedded
default; gunicorn, which refuses the in-memory channel layer: with ``REDIS_URL``), binds
127.0.0.1 only, and is stopped by the fixture that started it. Memory is read from
``/proc/<pid>/status`` of the process that serves requests (gunicorn's one worker):
``VmRSS`` now and ``VmHWM`` (peak), whose mark ``reset_peak`` clears through
``/proc/<pid>/clear_refs``.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from django.conf import settings

from bench.live_servers import free_port, stop, wait_for_port

PASSWORD = "hostile-input-pw"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SETUP = (
    "from accounts.models import User; "
    f"User.objects.create_superuser('boss', 'boss@example.org', {PASSWORD!r})"
)


@dataclass
class Response:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class ServerProcess:
    port: int
    process: subprocess.Popen
    cookies: dict[str, str] = field(default_factory=dict)
    worker_pid: int | None = None  # gunicorn: the worker that serves, not the master

    @property
    def serving_pid(self) -> int:
        return self.worker_pid or self.process.pid

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict | None = None
    ) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if method == "POST":
            sent |= {"Origin": self.origin, "Referer": f"{self.origin}/"}
        try:
            connection.request(method, path, body=body, headers=sent | (headers or {}))
            answer = connection.getresponse()
            for header in answer.headers.get_all("Set-Cookie") or []:
                parsed = SimpleCookie(header)
                self.cookies |= {name: morsel.value for name, morsel in parsed.items()}
            return Response(answer.status, answer.read())
        finally:
            connection.close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def csrf_token(self, path: str) -> str:
        return CSRF.search(self.request("GET", path).text).group(1)

    def login(self) -> None:
        token = self.csrf_token("/accounts/login/")
        form = f"csrfmiddlewaretoken={token}&username=boss&password={PASSWORD}"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = self.request("POST", "/accounts/login/", form.encode(), headers)
        assert answer.status == 302, answer.text[:300]

    def upload(self, path: str, fields: dict[str, str], name: str, data: bytes) -> Response:
        """POST a multipart form with one file, as the page's form would."""
        fields = {"csrfmiddlewaretoken": self.csrf_token(path), **fields}
        body, content_type = multipart(fields, name, data)
        return self.request("POST", path, body, {"Content-Type": content_type})

    def is_answering(self) -> bool:
        return self.process.poll() is None and self.request("GET", "/healthz").status == 200

    def memory_kib(self, key: str) -> int:
        status = Path(f"/proc/{self.serving_pid}/status").read_text()
        return int(re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE).group(1))

    def reset_peak(self) -> None:
        """Make ``VmHWM`` start again from the current RSS (Linux: clear_refs "5")."""
        Path(f"/proc/{self.serving_pid}/clear_refs").write_text("5")


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = b"".join([*parts, head.encode(), data, f"\r\n--{boundary}--\r\n".encode()])
    return body, f"multipart/form-data; boundary={boundary}"


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {"CASCADE_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", "DEBUG": "0"}
    return env | {"SECRET_KEY": "hostile-input-tests-only", "LOGIN_THROTTLING": "0"}


def run_server(data_dir: Path) -> Iterator[ServerProcess]:
    """Migrate a fresh embedded database, add a superuser, serve it; stop on exit."""
    env = _env(data_dir)
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    for command in (["migrate", "-v0"], ["shell", "-c", SETUP]):
        subprocess.run([*manage, *command], env=env, check=True, cwd=settings.BASE_DIR)
    port = free_port()
    daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(
        [*daphne, "config.asgi:application"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "daphne.log").open("wb"),
    )
    try:
        wait_for_port(port, process=process)
        yield ServerProcess(port, process)
    finally:
        stop([process])


def run_gunicorn(data_dir: Path, redis_url: str) -> Iterator[ServerProcess]:
    """gunicorn with ``config/gunicorn.py`` (its default worker class and threads) and one
    worker, on a fresh SQLite file and ``redis_url``'s layer; stop on exit."""
    port = free_port()
    env = _env(data_dir) | {"REDIS_URL": redis_url, "WEB_WORKERS": "1"}
    env |= {"WEB_BIND": f"127.0.0.1:{port}"}
    gunicorn = [str(Path(sys.executable).with_name("gunicorn")), "-c", "config/gunicorn.py"]
    process = subprocess.Popen(
        gunicorn,
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "gunicorn.log").open("wb"),
    )
    try:
        wait_for_port(port, process=process)
        server = ServerProcess(port, process)
        assert server.is_answering()  # the worker has booted
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text()
        server.worker_pid = int(children.split()[0])
        yield server
    finally:
        stop([process])
