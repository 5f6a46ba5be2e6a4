"""``bench.floor_profile``'s grouping of py-spy samples, against this specification: the frames
at the root (the thread's start down to the loop's runner) do not count; a sample goes to the
innermost frame of a known package above them (the standard library's frames, such as hmac
under PyJWT or asyncio's queues under Engine.IO, go to the package that called them); a sample
with nothing above the runner is the loop's own C; one with only the standard library above it
is asyncio's."""

from __future__ import annotations

from pathlib import Path

from bench.floor_profile import LOOP_C, STDLIB, group_of, grouped

ROOT = [
    "<module> (bench/floor_server.py:272)",
    "main (bench/floor_server.py:268)",
    "run (uvicorn/server.py:67)",
    "run (/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/runners.py:118)",
]


def test_a_sample_goes_to_the_innermost_known_package_above_the_runner() -> None:
    jwt = [
        *ROOT,
        "_handle_eio_message (socketio/async_server.py:640)",
        "on_connect (bench/floor_server.py:150)",
    ]
    jwt += ["decode (jwt/api_jwt.py:222)", "new (/usr/lib/python3.11/hmac.py:184)"]
    assert group_of(jwt) == "JWT (PyJWT, hmac)"
    queue = [*ROOT, "_send_packet (engineio/async_socket.py:90)", "put (asyncio/queues.py:150)"]
    assert group_of(queue) == "python-engineio"
    handler = [
        *ROOT,
        "trigger_event (socketio/async_namespace.py:40)",
        "on_invite (bench/floor_server.py:170)",
    ]
    assert group_of(handler) == "the floor's handlers"


def test_the_runner_and_what_has_no_package_above_it() -> None:
    assert group_of(ROOT) == LOOP_C
    assert group_of([*ROOT, "_run (asyncio/events.py:80)"]) == STDLIB
    # uvicorn at the root is the runner, uvicorn above it is uvicorn's protocol code
    assert (
        group_of(
            [*ROOT, "data_received (uvicorn/protocols/websockets/websockets_sansio_impl.py:150)"]
        )
        == "uvicorn"
    )


def test_raw_lines_are_summed_by_group(tmp_path: Path) -> None:
    raw = tmp_path / "floor.raw"
    stack = ";".join([*ROOT, "send (uvicorn/protocols/websockets/websockets_sansio_impl.py:300)"])
    raw.write_text(f"{';'.join(ROOT)} 7\n{stack} 3\n{stack} 2\n")
    assert grouped(raw) == {LOOP_C: 7, "uvicorn": 5}
