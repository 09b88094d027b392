"""The SLO registry: agreed versions and reviews on SQLite and on a real PostgreSQL, from empty,
with writers racing, and the `sloview registry` commands."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sloview.cli import main
from sloview.errors import SloviewError
from sloview.model import SLO
from sloview.registry import Registry
from tests import servers
from tests.conftest import require

SPECS = """\
slos:
  - name: chat-latency
    service: genai
    sli: {kind: latency, metric: latency_ms}
    objective: {threshold: 8000, op: lte, target: 0.95}
    window: {rolling: 7d}
  - name: availability
    sli: {kind: availability}
    objective: {target: 0.99}
    window: {rolling: 7d}
"""


def _slo(target: float = 0.95, threshold: float = 8000) -> SLO:
    return SLO.from_dict(
        {
            "name": "chat-latency",
            "sli": {"kind": "latency", "metric": "latency_ms"},
            "objective": {"threshold": threshold, "op": "lte", "target": target},
            "window": {"rolling": "7d"},
        }
    )


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "slos.yaml"
    path.write_text(SPECS)
    return path


def test_a_new_registry_is_migrated_from_empty(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "dir" / "registry.db"
    registry = Registry(f"sqlite:///{db}")
    assert registry.names() == []
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        head = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert {"slo_versions", "slo_reviews", "alembic_version"} <= tables
    assert head == "0001"
    # Opening it again migrates nothing and keeps what is there.
    registry.agree(_slo(), by="alice", at="2026-11-01T00:00:00Z")
    assert Registry(f"sqlite:///{db}").names() == ["chat-latency"]


def test_agreeing_again_makes_the_next_version_and_keeps_the_old(registry_url: str) -> None:
    registry = Registry(registry_url)
    v1 = registry.agree(
        _slo(),
        by="alice",
        at="2026-11-01T00:00:00Z",
        rationale="the workshop",
        fingerprint="abc",
        start="2026-10-01T00:00:00Z",
        end="2026-10-31T00:00:00Z",
        figures={"attainment": 0.96},
    )
    v2 = registry.agree(_slo(0.99, 9000), by="bob", at="2026-12-01T00:00:00Z", rationale="tighter")
    assert (v1.version, v2.version) == (1, 2)
    history = registry.versions("chat-latency")
    assert [v.version for v in history] == [1, 2]
    first = history[0]
    # Version 1 is exactly what was agreed: spec, who, when, why, data and figures.
    assert first.slo == _slo()
    assert (first.agreed_by, first.agreed_at, first.rationale) == (
        "alice",
        "2026-11-01T00:00:00Z",
        "the workshop",
    )
    assert (first.data_fingerprint, first.data_start, first.data_end) == (
        "abc",
        "2026-10-01T00:00:00Z",
        "2026-10-31T00:00:00Z",
    )
    assert first.figures == {"attainment": 0.96}
    assert registry.latest("chat-latency").slo.objective.target == 0.99


def test_the_same_name_and_version_cannot_be_written_twice(registry_url: str) -> None:
    registry = Registry(registry_url)
    registry.agree(_slo(), by="alice", at="2026-11-01T00:00:00Z")
    from sloview.registry.schema import versions

    with pytest.raises(sa.exc.IntegrityError), registry.engine.begin() as conn:
        conn.execute(
            versions.insert().values(
                name="chat-latency", version=1, spec="{}", agreed_by="x", agreed_at="now"
            )
        )


def test_unknown_name_and_nameless_agreement_are_clear(registry_url: str) -> None:
    registry = Registry(registry_url)
    registry.agree(_slo(), by="alice", at="2026-11-01T00:00:00Z")
    with pytest.raises(SloviewError) as exc:
        registry.latest("checkout")
    assert "no SLO named 'checkout'" in exc.value.one_line()
    assert "Registered: chat-latency" in exc.value.one_line()
    with pytest.raises(SloviewError, match="who agreed must be named"):
        registry.agree(_slo(), by="  ", at="2026-11-01T00:00:00Z")


def _race(registry_url: str, writers: int, each: int) -> list[int]:
    """`writers` threads, each opening its own Registry (own connections) at the same moment
    and agreeing versions of one SLO as fast as it can."""
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(writers)

    def write(who: int) -> None:
        try:
            start.wait(timeout=60)
            registry = Registry(registry_url)
            for i in range(each):
                v = registry.agree(
                    _slo(0.9 + 0.001 * i), by=f"writer-{who}", at=f"2026-12-01T00:00:{i:02d}Z"
                )
                with lock:
                    numbers.append(v.version)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return numbers


def test_two_writers_on_sqlite_never_lose_or_duplicate_a_version(registry_url: str) -> None:
    Registry(registry_url)  # created before the race
    numbers = _race(registry_url, writers=2, each=15)
    assert sorted(numbers) == list(range(1, 31))
    stored = [v.version for v in Registry(registry_url).versions("chat-latency")]
    assert stored == list(range(1, 31))


@pytest.fixture(scope="module")
def pg_server() -> Iterator[servers.Postgres]:
    """A real PostgreSQL of this module's own, with a login role that owns registries."""
    try:
        server = servers.start_postgres()
    except servers.ServerMissingError as exc:
        require(False, str(exc))
        raise
    try:
        with server.admin() as conn:
            conn.execute("CREATE ROLE registrar LOGIN PASSWORD 'reg-secret-42'")
        yield server
    finally:
        server.stop()


def _new_database(server: servers.Postgres, name: str) -> str:
    with server.admin() as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER registrar")
    return f"postgresql://registrar:reg-secret-42@{server.host}:{server.port}/{name}"


@pytest.fixture(scope="module")
def pg_registry(pg_server: servers.Postgres) -> str:
    """A registry database on the real PostgreSQL (written by a login role)."""
    return _new_database(pg_server, "registry")


def test_two_processes_create_and_write_one_postgres_registry_at_once(
    pg_server: servers.Postgres, spec_file: Path
) -> None:
    # Two `sloview registry add` processes open a database that has no tables yet at the same
    # moment: one creates them (the other waits on an advisory lock), and their versions of
    # the same two SLOs are 1 and 2, never both 1.
    url = _new_database(pg_server, "fresh")
    command = [sys.executable, "-m", "sloview.cli", "registry", "add", str(spec_file)]
    procs = [
        subprocess.Popen(
            [*command, "--by", f"writer-{i}", "--registry", url, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    registry = Registry(url)
    for name in ("availability", "chat-latency"):
        versions = registry.versions(name)
        assert [v.version for v in versions] == [1, 2]
        assert {v.agreed_by for v in versions} == {"writer-0", "writer-1"}
    with registry.engine.connect() as conn:
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert head == "0001"


def test_two_writers_on_postgres_never_lose_or_duplicate_a_version(pg_registry: str) -> None:
    before = len(Registry(pg_registry).versions("chat-latency"))
    numbers = _race(pg_registry, writers=2, each=25)
    expected = list(range(before + 1, before + 51))
    assert sorted(numbers) == expected
    stored = [v.version for v in Registry(pg_registry).versions("chat-latency")]
    assert stored[before:] == expected
    writers = {v.agreed_by for v in Registry(pg_registry).versions("chat-latency")[before:]}
    assert writers == {"writer-0", "writer-1"}


def test_cli_on_postgres_never_shows_the_password(
    pg_registry: str, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["registry", "add", str(spec_file), "--by", "alice", "--registry", pg_registry]) == 0
    )
    assert main(["registry", "list", "--registry", pg_registry]) == 0
    out = capsys.readouterr().out
    assert "chat-latency v" in out
    assert "reg-secret-42" not in out


def test_registry_cli_add_list_show(
    registry_url: str, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "list"]) == 0
    assert "no SLO is registered" in capsys.readouterr().out
    code = main(
        [
            "registry",
            "add",
            str(spec_file),
            "--by",
            "alice",
            "--note",
            "workshop 1",
            "--at",
            "2026-11-01",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "recorded chat-latency version 1 (agreed by alice, 2026-11-01T00:00:00Z)" in out
    assert main(["registry", "add", str(spec_file), "--by", "bob", "--service", "checkout"]) == 0
    capsys.readouterr()
    assert main(["registry", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [(s["name"], s["version"], s["service"]) for s in listing["slos"]] == [
        ("availability", 2, "checkout"),
        ("chat-latency", 2, "checkout"),
    ]
    assert main(["registry", "show", "chat-latency"]) == 0
    out = capsys.readouterr().out
    assert "chat-latency: 2 versions" in out
    assert "v1  2026-11-01 00:00 UTC by alice: 95% of requests complete within 8 s" in out
    assert "(workshop 1)" in out
    assert "reviews: 0" in out
    assert main(["registry", "show", "chat-latency", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [v["agreed_by"] for v in shown["versions"]] == ["alice", "bob"]
    assert shown["versions"][0]["slo"]["objective"]["threshold"] == 8000


def test_registry_bad_input_is_one_line(
    registry_url: str, spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = {
        ("registry", "show", "checkout"): "no SLO named 'checkout' in the registry",
        ("registry", "add", str(tmp_path / "none.yaml"), "--by", "a"): "none.yaml",
        ("registry", "add", str(spec_file), "--by", "a", "--at", "yesterday"): "--at",
        (
            "registry",
            "list",
            "--registry",
            "postgresql://sloview:hunter2@127.0.0.1:1/registry",
        ): "cannot be reached",
        ("registry", "list", "--registry", "nosuchdb://x/y"): "is not a database URL",
    }
    for argv, expected in cases.items():
        try:
            code = main(list(argv))
        except SystemExit as exc:  # a bad flag value is refused by the argument parser
            code = int(exc.code or 0)
        assert code == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert expected in err, (argv, err)
        assert "hunter2" not in err
        assert "Traceback" not in err
