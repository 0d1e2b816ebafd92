"""Fixtures of the end-to-end suite.

`runner` is one `csms-local` process per test module (fresh data dir, free port);
`runner_factory` makes extra runners a test controls itself (restarts).
Every test uses its own station ids, so tests in a module do not depend on each other.
On a failing test the tail of each live runner's log is attached to the report.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from csms_e2e import Runner, new_data_dir, started_runner


def _binary() -> str:
    path = os.environ.get("CSMS_LOCAL_BIN")
    if not path:
        pytest.fail(
            "CSMS_LOCAL_BIN is not set: build the local runner (cargo build -p csms-local) and run "
            "CSMS_LOCAL_BIN=target/debug/csms-local python -m pytest tests/e2e, or just ./tests/run.sh e2e",
            pytrace=False)
    resolved = Path(path).resolve()
    if not resolved.is_file() or not os.access(resolved, os.X_OK):
        pytest.fail(f"CSMS_LOCAL_BIN={path} is not an executable file ({resolved})", pytrace=False)
    return str(resolved)


@pytest.fixture(scope="session")
def csms_bin() -> str:
    return _binary()


@pytest.fixture(scope="session")
def e2e_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("csms-e2e")


@pytest.fixture(scope="module")
def runner(csms_bin, e2e_tmp, request):
    """A started runner shared by the tests of one module; stopped (SIGTERM, exit 0 within 10 s) after."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    with started_runner(csms_bin, e2e_tmp, name) as r:
        yield r


@pytest.fixture
def runner_factory(csms_bin, e2e_tmp, request):
    """make(name, data_dir=None) -> an unstarted Runner; all are killed at teardown."""
    made: list[Runner] = []

    def make(name: str = "runner", data_dir: Path | None = None) -> Runner:
        name = f"{request.node.name}-{name}".replace("/", "_").replace("[", "_").replace("]", "")
        r = Runner(csms_bin, data_dir or new_data_dir(e2e_tmp, name), e2e_tmp / "logs", name=name)
        made.append(r)
        return r

    yield make
    for r in made:
        r.discard()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for r in list(Runner.instances):
            if r.log_path is not None:
                report.sections.append((f"{r.name} log (last lines of {r.log_path})", r.log_tail()))
