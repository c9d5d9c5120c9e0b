"""The stall of issue 14: a reply that has arrived must be read at once, even while the client sends.

nbclient mirrors Output widgets by sending ``comm_msg`` on the shell socket while it waits for the
cell's ``execute_reply`` on that same socket. A send can consume ZeroMQ's edge-triggered readiness
signal, and pyzmq's asyncio poll then sleeps until its timeout although the reply is waiting (with
jupyter_client's own channel, 9 of 10 trials of the scenario below waited the whole timeout).
"""

import asyncio
import time

import zmq
import zmq.asyncio
from jupyter_client.session import Session
from nbformat.v4 import new_code_cell

from autograder.execution import GuardedExecute, events_of, record_event
from autograder.kernel_client import POLL_SLICE_SECONDS, PromptKernelManager, SlicedPollChannel

TIMEOUT = 10.0


async def reply_while_sending(channel_class) -> tuple[float, dict]:
    """Ask, then receive the answer while sending 20 more messages: seconds until it is read."""
    context = zmq.asyncio.Context()
    server, client = context.socket(zmq.ROUTER), context.socket(zmq.DEALER)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    session = Session()
    channel = channel_class(client, session)
    try:
        session.send(client, "execute_request", {"code": "1"})
        ident, *frames = await server.recv_multipart()
        waiting = asyncio.ensure_future(channel.get_msg(timeout=TIMEOUT))
        await asyncio.sleep(0.05)
        session.send(server, "execute_reply", {"status": "ok"}, ident=ident)
        for _ in range(20):                       # what nbclient's OutputWidget.sync_state does
            session.send(client, "comm_msg", {"data": {"method": "update"}})
        started = time.monotonic()
        message = await waiting
        return time.monotonic() - started, message
    finally:
        client.close(0)
        server.close(0)
        context.term()


def test_a_waiting_reply_is_read_within_a_slice_although_the_client_sends():
    for _ in range(10):
        seconds, message = asyncio.run(reply_while_sending(SlicedPollChannel))
        assert message["header"]["msg_type"] == "execute_reply"
        assert seconds < TIMEOUT / 2, f"slept {seconds:.1f} s through a reply that had arrived"


def test_the_timeout_still_holds_when_nothing_arrives():
    async def wait_for_nothing():
        context = zmq.asyncio.Context()
        socket = context.socket(zmq.DEALER)
        socket.connect("tcp://127.0.0.1:9")
        try:
            started = time.monotonic()
            try:
                await SlicedPollChannel(socket, Session()).get_msg(timeout=3 * POLL_SLICE_SECONDS)
            except Exception as error:
                return type(error).__name__, time.monotonic() - started
            return "message", 0.0
        finally:
            socket.close(0)
            context.term()

    outcome, seconds = asyncio.run(wait_for_nothing())
    assert outcome == "Empty" and seconds >= 3 * POLL_SLICE_SECONDS * 0.9


def test_every_kernel_the_course_starts_uses_the_prompt_client():
    from autograder.sandbox import SandboxedKernelManager

    for manager in (PromptKernelManager, SandboxedKernelManager):
        assert issubclass(manager, PromptKernelManager)
        assert manager.client_factory.default_value.shell_channel_class.default_value is SlicedPollChannel


def test_a_client_side_wait_far_beyond_the_kernels_time_is_recorded_as_a_stall():
    cell = new_code_cell("x = 1")
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00.000Z",
                                  "shell.execute_reply": "2026-01-01T00:00:00.500Z"}
    executor = GuardedExecute.__new__(GuardedExecute)     # the check alone, no kernel
    executor.wait_stall_seconds = 10
    executor._check_waiting(cell, waited=3.0)
    assert "autograder" not in cell.metadata
    executor._check_waiting(cell, waited=120.4)
    nb = type("Nb", (), {"cells": [cell]})()
    assert events_of(nb) == [{"cell": 0, "grade_id": None, "event": "stall",
                              "detail": "waited 120.4 s for a cell the kernel ran in 0.5 s"}]


def test_events_name_their_cell_and_grade_id():
    first, second = new_code_cell("a"), new_code_cell("b")
    second.metadata["nbgrader"] = {"grade_id": "test-b", "grade": True}
    record_event(second, "timeout", "ran past its 60 s limit")
    record_event(second, "restart", "kernel restarted and earlier cells replayed")
    nb = type("Nb", (), {"cells": [first, second]})()
    assert [(e["cell"], e["grade_id"], e["event"]) for e in events_of(nb)] == [
        (1, "test-b", "timeout"), (1, "test-b", "restart")]
