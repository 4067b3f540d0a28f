"""Fixtures: one switch per test module and target, entries cleaned per test.

The `dataplane` fixture is parametrized by target ("bmv2", "embedded"); it
creates a namespace with veths for ports 1-4 and CRYPTO_PORT, starts the
target on the switch-side ends, pushes the committed pipeline
(p4src/build/mobility.json + p4info) over P4Runtime and yields a `Dataplane`.
`dp` hands the same object to one test and deletes its entries afterwards.
"""

from __future__ import annotations

import pytest

from .lib import Dataplane
from .netns import Namespace, netns_available
from .p4consts import CRYPTO_PORT, P4INFO, P4JSON
from .p4rt import P4RuntimeClient
from .targets import SwitchProcess, find_binary, selected_targets

DATA_PORTS = [1, 2, 3, 4]
PORTS = DATA_PORTS + [CRYPTO_PORT]


@pytest.fixture(scope="module", params=selected_targets())
def dataplane(request):
    target = request.param
    reason = netns_available()
    if reason:
        pytest.skip(reason)
    if not (P4JSON.exists() and P4INFO.exists()):
        pytest.skip("p4src/build outputs missing: run `make p4`")
    binary, reason = find_binary(target)
    if binary is None:
        pytest.skip(reason)
    ns = Namespace.create(PORTS)
    try:
        sw = SwitchProcess.start(target, binary,
                                 {n: p.switch_ifname for n, p in ns.ports.items()})
        try:
            p4rt = P4RuntimeClient(sw.grpc_addr, P4INFO, P4JSON)
            try:
                yield Dataplane(target, ns, p4rt)
            finally:
                p4rt.close()
        finally:
            sw.stop()
    finally:
        ns.close()


@pytest.fixture
def dp(dataplane: Dataplane):
    dataplane.ns.drain()
    try:
        yield dataplane
    finally:
        dataplane.cleanup()
