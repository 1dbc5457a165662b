"""The nats-py internals the loader's direct delivery path relies on are still there."""

from __future__ import annotations

import inspect

from nats.aio.client import Client
from nats.aio.subscription import Subscription
from nats.protocol.parser import Parser

from loader.natsclient import DeliveryClient


def test_nats_py_still_dispatches_messages_through_process_msg() -> None:
    parameters = list(inspect.signature(Client._process_msg).parameters)
    assert parameters == ["self", "sid", "subject", "reply", "data", "headers"]
    assert "_process_msg(" in inspect.getsource(Parser.parse)
    assert list(inspect.signature(DeliveryClient._process_msg).parameters) == parameters


def test_subscriptions_still_carry_their_sid() -> None:
    subscription = Subscription(conn=None, id=42, subject="x")
    assert subscription._id == 42
