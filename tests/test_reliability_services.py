"""Network services (issue 14): an unreachable Dask scheduler, an exposed dashboard."""

import importlib.util
import socket
import threading

import pytest

needs_dask = pytest.mark.skipif(
    not importlib.util.find_spec("distributed"), reason="dask.distributed is not installed"
)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def not_dask():
    """A loopback server that answers every connection with an HTTP error."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"\xff" * 64)

    threading.Thread(target=answer, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@needs_dask
@pytest.mark.parametrize("kind", ["closed port", "not dask", "malformed"])
def test_unreachable_scheduler_exits_2_naming_the_address(tmp_path, cli, kind, request):
    address = {
        "closed port": lambda: f"tcp://127.0.0.1:{free_port()}",
        "not dask": lambda: request.getfixturevalue("not_dask"),
        "malformed": lambda: "scheduler-without-port",
    }[kind]()
    out = tmp_path / "run"
    status, _, err = cli(
        "run", "--backend", "dask", "--scheduler", address, "--replicates", 4, "--out", out
    )
    assert status == 2
    assert f"--scheduler {address}: " in err and "Traceback" not in err
    assert not out.exists()  # refused before the folder is made


@needs_dask
def test_library_callers_get_the_same_refusal():
    from mssim.config.load import load_scenario
    from mssim.errors import MssimError
    from mssim.montecarlo.power import estimate

    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(MssimError, match=f"--scheduler {address}: cannot reach"):
        estimate(
            load_scenario(None, ["power.n_per_arm=[10]"]),
            replicates=4,
            backend="dask",
            scheduler=address,
            progress=False,
        )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.7", "[::]", "myhost.example"])
def test_a_dashboard_on_another_interface_is_warned_about(host):
    from mssim.views.dashboard import exposure_warning

    warning = exposure_warning(host)
    assert warning is not None and "no authentication" in warning and host in warning


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_a_dashboard_on_loopback_is_not_warned_about(host):
    from mssim.views.dashboard import exposure_warning

    assert exposure_warning(host) is None


def test_the_dashboard_command_prints_the_warning(monkeypatch, cli):
    pytest.importorskip("solara")
    from mssim.views import dashboard

    calls = []
    monkeypatch.setattr(dashboard.os, "execve", lambda *args: calls.append(args))
    status, _, err = cli("dashboard", "--host", "0.0.0.0")
    assert status == 0 and len(calls) == 1
    assert "mssim: warning: dashboard --host 0.0.0.0: the dashboard has no authentication" in err
    status, _, err = cli("dashboard")
    assert status == 0 and "warning" not in err
