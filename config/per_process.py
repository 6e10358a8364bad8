"""One object per server process, made on first use: a Redis client, a sending loop.

Made under a lock, and again in a forked child (a child must not share its parent's
sockets or threads). Without the lock, two threads of a fresh process each made one and
the second replaced the first: a Redis client made from a URL owns its pool and closes it
when it is garbage-collected, so the replaced one closed a connection the other thread
was still opening, and that socket's handshake failed (bench/README.md, "Where it stands,
session 8").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    """``get()`` returns this process's ``T``, made by ``make`` the first time."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._made: tuple[int, T] | None = None

    def get(self) -> T:
        with self._lock:
            if self._made is None or self._made[0] != os.getpid():
                self._made = (os.getpid(), self._make())
            return self._made[1]

    def forget(self) -> None:
        """The next ``get()`` makes a new one, as another process would (tests)."""
        with self._lock:
            self._made = None
