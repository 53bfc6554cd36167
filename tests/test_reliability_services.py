"""Network services fail cleanly (issue 14): an unreachable Dask scheduler."""

import socket
import threading

import pytest

pytest.importorskip("dask.distributed")


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
