"""config.per_process: one object per process, made once even when threads ask together,
and made again in a forked child."""

from __future__ import annotations

import threading

from config import per_process
from config.per_process import PerProcess


def test_threads_asking_together_get_the_one_object_made_once():
    """Had a second thread made one while the first was still making its own, one would
    replace the other: a Redis client made from a URL then closed the pool of a
    connection still being opened (a socket's handshake failed on a fresh server,
    bench/README.md "Where it stands, session 8")."""
    first_made, release, made = threading.Event(), threading.Event(), []

    def make():
        made.append(object())
        if len(made) == 1:
            first_made.set()
            release.wait(timeout=10)  # the second thread arrives meanwhile
        return made[-1]

    shared = PerProcess(make)
    got = []
    first = threading.Thread(target=lambda: got.append(shared.get()))
    second = threading.Thread(target=lambda: got.append(shared.get()))
    first.start()
    assert first_made.wait(timeout=10)
    second.start()
    second.join(timeout=0.5)  # unlocked, it makes a second object here and returns it
    release.set()
    first.join(timeout=10)
    second.join(timeout=10)
    assert len(made) == 1
    assert got == [made[0], made[0]]


def test_a_forked_child_makes_its_own_and_forget_starts_over(monkeypatch):
    shared = PerProcess(object)
    parent = shared.get()
    assert shared.get() is parent
    monkeypatch.setattr(per_process.os, "getpid", lambda: -1)  # as in a forked child
    child = shared.get()
    assert child is not parent
    assert shared.get() is child
    shared.forget()
    assert shared.get() is not child
