"""Real PostgreSQL, Prometheus, VictoriaMetrics and Spark Connect servers for tests and benches.

Each server runs on a free loopback port with its data in a fresh temporary directory, is
started at most once per process (tests in several modules share it) and is stopped at exit.
Nothing here touches a system service: the servers are plain child processes.
"""

from __future__ import annotations

import atexit
import functools
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from base64 import b64encode
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Credentials that exist only inside the throw-away test servers; tests scan every message
# for them to prove that no source ever echoes a secret.
PG_ADMIN_PASSWORD = "pg-admin-Zt81w"
PG_READER = "slo_reader"
PG_READER_PASSWORD = "pg-reader-Kq40v"
PROM_USER = "slo"
PROM_PASSWORD = "sloview-test-pw-7Qx"
# bcrypt of PROM_PASSWORD (cost 4): Prometheus only accepts bcrypt hashes in its web config.
PROM_PASSWORD_BCRYPT = "$2b$04$A5t2vcd0DhQzKTqw14KqZeF/KkvBzhsFvixzgy0TA/s.7qovIg95S"
SECRETS = (PG_ADMIN_PASSWORD, PG_READER_PASSWORD, PROM_PASSWORD)

ALIBABA_TABLE = "lora_request_trace"
ALIBABA_COLUMNS = (
    "gmt_create timestamp, predict_type text, predict_status text, "
    'exec_time_seconds double precision, "groupId" text, prompt_length double precision, '
    "negative_prompt_length double precision, num_images_per_prompt double precision, "
    "num_inference_steps double precision, checkpoint_model_version_id text, num_lora integer"
)


class ServerMissingError(Exception):
    """The server's programs are not installed here (tests skip, or fail under CI)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres_user() -> list[str]:
    # initdb and postgres refuse to run as root; as any other user they run as themselves.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def postgres_bin() -> Path | None:
    """The directory of initdb/pg_ctl, newest version first, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class Postgres:
    """A running PostgreSQL: loopback TCP with password authentication, socket in `root`."""

    root: Path
    port: int
    bindir: Path

    @property
    def host(self) -> str:
        """The loopback address the server listens on."""
        return "127.0.0.1"

    def url(self, user: str = PG_READER, password: str | None = PG_READER_PASSWORD) -> str:
        """A SQLAlchemy URL (psycopg 3) for the `sloview` database."""
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/sloview"

    def admin(self) -> Any:
        """A psycopg connection as the superuser (autocommit), for loading test data."""
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user="postgres",
            password=PG_ADMIN_PASSWORD,
            dbname="sloview",
            autocommit=True,
        )

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        subprocess.run(
            [
                *_as_postgres_user(),
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> Postgres:
    """initdb + start on a free port (fsync off: test data need no durability)."""
    bindir = postgres_bin()
    if bindir is None:
        raise ServerMissingError("PostgreSQL is not installed (Debian package postgresql)")
    # Not under /root (0700), and owned by the user the server runs as.
    root = Path(tempfile.mkdtemp(prefix="sloview-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pwfile = root / "pw"
    pwfile.write_text(PG_ADMIN_PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres", "postgres")
    run = [*_as_postgres_user()]
    subprocess.run(
        [
            *run,
            str(bindir / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            "postgres",
            "--pwfile",
            str(pwfile),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c shared_buffers=256MB -c max_parallel_workers_per_gather=2"
    )
    subprocess.run(
        [
            *run,
            str(bindir / "pg_ctl"),
            "-D",
            str(root / "data"),
            "-l",
            str(root / "log"),
            "-o",
            options,
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    server = Postgres(root=root, port=port, bindir=bindir)
    subprocess.run(
        [
            *run,
            str(bindir / "psql"),
            "-h",
            str(root),
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            "CREATE DATABASE sloview",
        ],
        check=True,
        capture_output=True,
    )
    with server.admin() as conn:
        conn.execute(f"CREATE ROLE {PG_READER} LOGIN PASSWORD '{PG_READER_PASSWORD}'")
        conn.execute(f"GRANT pg_read_all_data TO {PG_READER}")
    return server


def load_csv(server: Postgres, table: str, columns: str, csv_path: Path) -> None:
    """CREATE TABLE and COPY a CSV file (with a header) into it."""
    with server.admin() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({columns})")
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as copy,
            csv_path.open("rb") as fh,
        ):
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        conn.execute(f"ANALYZE {table}")


# -- Prometheus -------------------------------------------------------------------------------


@dataclass
class Prometheus:
    """A running Prometheus on loopback, optionally behind basic auth."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]
    basic_auth: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def prometheus_bins() -> tuple[str, str]:
    """Paths of prometheus and promtool."""
    prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    if prom is None or tool is None:
        raise ServerMissingError("Prometheus is not installed (Debian package prometheus)")
    return prom, tool


def split_openmetrics_by_day(source: Path, out_dir: Path) -> list[Path]:
    """One OpenMetrics file per UTC day (each with the family headers and `# EOF`).

    promtool 2.42 re-reads its whole input for every 2-hour block it writes; a file per day
    keeps that re-reading small (a multi-day file takes minutes).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    header: list[str] = []
    handles: dict[int, Any] = {}
    try:
        with source.open() as fh:
            for line in fh:
                if line.startswith("#"):
                    if not line.startswith("# EOF"):
                        header.append(line)
                    continue
                if not line.strip():
                    continue
                stamp = float(line.rsplit(" ", 1)[1])
                day = int(stamp // 86_400)
                out = handles.get(day)
                if out is None:
                    out = (out_dir / f"day-{day}.om.txt").open("w")
                    out.writelines(header)
                    handles[day] = out
                out.write(line)
    finally:
        for out in handles.values():
            out.write("# EOF\n")
            out.close()
    return sorted(out_dir / f"day-{day}.om.txt" for day in handles)


def backfill(files: Iterable[Path], data_dir: Path, workers: int = 2) -> None:
    """Write TSDB blocks from OpenMetrics files (before the server starts)."""
    _, tool = prometheus_bins()
    data_dir.mkdir(parents=True, exist_ok=True)

    def one(path: Path) -> None:
        done = subprocess.run(
            [tool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(path), str(data_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"promtool failed on {path.name}: {done.stderr.strip()[-500:]}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, files))


def start_prometheus(
    data_dir: Path | None = None, basic_auth: tuple[str, str] | None = None
) -> Prometheus:
    """Start Prometheus over `data_dir` (or an empty one) with a 100-year retention."""
    prom, _ = prometheus_bins()
    root = Path(tempfile.mkdtemp(prefix="sloview-prom-", dir="/tmp"))
    if data_dir is None:
        data_dir = root / "data"
        data_dir.mkdir()
    config = root / "prometheus.yml"
    config.write_text("scrape_configs: []\n")
    port = free_port()
    # Retention counts back from the newest block: the default 15 days would delete history.
    args = [
        prom,
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=100y",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    if basic_auth is not None:
        web = root / "web.yml"
        web.write_text(f"basic_auth_users:\n  {basic_auth[0]}: {PROM_PASSWORD_BCRYPT}\n")
        args.append(f"--web.config.file={web}")
    log = (root / "log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    server = Prometheus(root=root, port=port, process=process, basic_auth=basic_auth)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = (root / "log").read_text(errors="replace")[-1000:]
            server.stop()
            raise RuntimeError(f"prometheus exited: {text}")
        try:
            request = urllib.request.Request(f"{server.url}/-/ready")
            if basic_auth is not None:
                token = b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
                request.add_header("Authorization", f"Basic {token}")
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("prometheus did not become ready within 60 s")


def backfilled_prometheus(source: Path) -> Prometheus:
    """Prometheus started over blocks backfilled from an OpenMetrics file (split per day)."""
    prometheus_bins()
    root = Path(tempfile.mkdtemp(prefix="sloview-backfill-", dir="/tmp"))
    data_dir = root / "data"
    try:
        backfill(split_openmetrics_by_day(source, root / "split"), data_dir)
        shutil.rmtree(root / "split")
        server = start_prometheus(data_dir)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    # The blocks live beside the server's own folder: delete both when it stops.
    stop = server.stop

    def stop_all() -> None:
        stop()
        shutil.rmtree(root, ignore_errors=True)

    server.stop = stop_all  # type: ignore[method-assign]
    return server


# -- VictoriaMetrics -----------------------------------------------------------------------


@dataclass
class VictoriaMetrics:
    """A running single-node VictoriaMetrics on loopback (it serves the Prometheus query API)."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The server's base URL (the Prometheus API is under /api/v1 as in Prometheus)."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def import_openmetrics(self, source: Path) -> int:
        """Load an OpenMetrics file (timestamps in seconds) through /api/v1/import/prometheus.

        That endpoint reads the Prometheus text format, whose timestamps are milliseconds:
        each sample's timestamp is multiplied by 1000 on the way. Returns the samples sent.
        """
        lines = []
        with source.open() as fh:
            for line in fh:
                if line.startswith("#") or not line.strip():
                    continue
                head, stamp = line.rsplit(" ", 1)
                lines.append(f"{head} {int(float(stamp) * 1000)}\n")
        for i in range(0, len(lines), 200_000):
            body = "".join(lines[i : i + 200_000]).encode()
            request = urllib.request.Request(
                f"{self.url}/api/v1/import/prometheus", data=body, method="POST"
            )
            with urllib.request.urlopen(request, timeout=120) as answer:
                if answer.status not in (200, 204):
                    raise RuntimeError(f"VictoriaMetrics import answered {answer.status}")
        # Make the new samples visible to queries at once.
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=60):
            pass
        return len(lines)


def start_victoriametrics() -> VictoriaMetrics:
    """Start VictoriaMetrics on a free port with a fresh data folder and a 100-year retention."""
    binary = shutil.which("victoria-metrics")
    if binary is None:
        raise ServerMissingError(
            "VictoriaMetrics is not installed (Debian package victoria-metrics)"
        )
    root = Path(tempfile.mkdtemp(prefix="sloview-vm-", dir="/tmp"))
    port = free_port()
    args = [
        binary,
        f"-storageDataPath={root / 'data'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        # Backfilled history from 2024 would otherwise fall outside the default 1 month.
        "-retentionPeriod=100y",
        # Answers must reflect imports made a moment ago, not a cached empty range.
        "-search.disableCache",
        "-loggerLevel=ERROR",
    ]
    log = (root / "log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    server = VictoriaMetrics(root=root, port=port, process=process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = (root / "log").read_text(errors="replace")[-1000:]
            server.stop()
            raise RuntimeError(f"victoria-metrics exited: {text}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("victoria-metrics did not become ready within 60 s")


def loaded_victoriametrics(source: Path) -> VictoriaMetrics:
    """VictoriaMetrics with an OpenMetrics file imported."""
    server = start_victoriametrics()
    try:
        server.import_openmetrics(source)
    except BaseException:
        server.stop()
        raise
    return server


# -- Spark Connect ----------------------------------------------------------------------------

SPARK_CONNECT_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


@dataclass
class SparkConnect:
    """A Spark Connect server (local mode, 2 cores) on loopback."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The Spark Connect URL."""
        return f"sc://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def spark_home() -> Path:
    """The installed pyspark package, which ships spark-submit and the Spark Connect jar."""
    if shutil.which("java") is None:
        raise ServerMissingError("Java is not installed (Debian package openjdk-17-jre-headless)")
    try:
        import pyspark
    except ImportError as exc:
        raise ServerMissingError(
            "pyspark is not installed (pip install 'pyspark[connect]')"
        ) from exc
    home = Path(pyspark.__file__).parent
    if not glob.glob(str(home / "jars" / "spark-connect_*.jar")):
        raise ServerMissingError(f"no Spark Connect jar in {home / 'jars'}")
    return home


def start_spark_connect(timeout_s: float = 240.0, memory: str = "1g") -> SparkConnect:
    """spark-submit the Spark Connect server on a free port; ready when its log says so."""
    home = spark_home()
    root = Path(tempfile.mkdtemp(prefix="sloview-spark-", dir="/tmp"))
    port = free_port()
    confs = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.sql.shuffle.partitions": "4",
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={root}",
    }
    args = [str(home / "bin" / "spark-submit"), "--class", SPARK_CONNECT_CLASS]
    for key, value in confs.items():
        args += ["--conf", f"{key}={value}"]
    args += ["--driver-memory", memory, "--master", "local[2]", "spark-internal"]
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    log_path = root / "log"
    log = log_path.open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    server = SparkConnect(root=root, port=port, process=process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if "Spark Connect server started" in text:
            return server
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"the Spark Connect server exited: {text[-1500:]}")
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the Spark Connect server did not start within {timeout_s:g} s")


# -- once per process -------------------------------------------------------------------------


def _once(start: Any) -> Any:
    """Start a server on first use, remember it (or why it is missing), stop it at exit."""

    @functools.cache
    def cached(*args: Any) -> Any:
        try:
            server = start(*args)
        except ServerMissingError as exc:
            return exc
        atexit.register(server.stop)
        return server

    @functools.wraps(start)
    def get(*args: Any) -> Any:
        result = cached(*args)
        if isinstance(result, ServerMissingError):
            raise result
        return result

    return get


shared_postgres = _once(start_postgres)
shared_prometheus = _once(backfilled_prometheus)
shared_auth_prometheus = _once(lambda: start_prometheus(basic_auth=(PROM_USER, PROM_PASSWORD)))
shared_victoriametrics = _once(loaded_victoriametrics)
shared_spark = _once(start_spark_connect)


def _alibaba_postgres(csv_path: Path) -> Postgres:
    server: Postgres = shared_postgres()
    load_csv(server, ALIBABA_TABLE, ALIBABA_COLUMNS, csv_path)
    return server


alibaba_postgres = functools.cache(_alibaba_postgres)


def sample_sqlite(path: Path, sample: Path) -> None:
    """The bundled sample as an SQLite table `requests` (epoch ms, endpoint, HTTP status,
    latency in ms): a database too big to read as rows once the row limit is small."""
    import sqlite3

    import numpy as np

    from sloview.ingest import load_requests
    from sloview.ingest.table import LATENCY, OK, times_ns

    frame = load_requests(sample).frame
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE requests (ts INTEGER, endpoint TEXT, status INTEGER, latency_ms REAL)"
        )
        conn.executemany(
            "INSERT INTO requests VALUES (?, ?, ?, ?)",
            zip(
                (times_ns(frame) // 1_000_000).tolist(),
                frame["endpoint"].astype(str).tolist(),
                np.where(frame[OK].to_numpy(), 200, 500).tolist(),
                frame[LATENCY].astype(float).tolist(),
                strict=True,
            ),
        )
