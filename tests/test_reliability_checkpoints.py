"""Checkpoints are never trusted blindly (issue 14): content hash, run key, no links."""

import io
import json
import shutil
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.montecarlo.parallel import decode_chunk, encode_chunk
from mssim.montecarlo.power import estimate

SMALL = ["power.n_per_arm=[10, 20]"]
RUN = {"replicates": 12, "chunk_size": 4, "progress": False}


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(None, SMALL)


@pytest.fixture(scope="module")
def reference(scenario):
    """The run without checkpoints: what every resumed run must give."""
    return estimate(scenario, **RUN)


@pytest.fixture
def finished(tmp_path, scenario, reference):
    """A finished run folder whose chunks the tests then damage."""
    out = tmp_path / "run"
    pd.testing.assert_frame_equal(estimate(scenario, out=out, **RUN), reference)
    return out


def chunk(out, index=1):
    return out / "chunks" / f"chunk-{index:06d}.npz"


def resume(scenario, out):
    """Resume the run, returning the table and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = estimate(scenario, out=out, **RUN)
    return frame, [str(w.message) for w in caught]


def forge(data: bytes, change) -> bytes:
    """Rewrite a chunk's arrays with ``change`` but keep its chunk.json (and sha256)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, body in members.items():
            if name.endswith(".npy"):
                array = change(name, np.load(io.BytesIO(body)))
                out = io.BytesIO()
                np.save(out, array)
                body = out.getvalue()
            archive.writestr(name, body)
    return buffer.getvalue()


def test_resume_uses_finished_chunks_without_warnings(scenario, reference, finished):
    frame, messages = resume(scenario, finished)
    pd.testing.assert_frame_equal(frame, reference)
    assert messages == []


def test_a_chunk_cut_short_is_computed_again(scenario, reference, finished):
    path = chunk(finished)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    frame, messages = resume(scenario, finished)
    pd.testing.assert_frame_equal(frame, reference)
    assert any(str(path) in m and "not trusted" in m for m in messages)
    assert decode_chunk(path.read_bytes(), *_identity(finished, 1)) is not None
    assert resume(scenario, finished)[1] == []  # replaced by a good chunk


def _identity(out, index):
    """(run key, index, replicates) of a chunk of ``finished``."""
    return (out / "chunks" / "RUN_KEY").read_text(), index, RUN["chunk_size"]


def test_a_forged_chunk_does_not_move_power(scenario, reference, finished):
    path = chunk(finished)
    original = decode_chunk(path.read_bytes(), *_identity(finished, 1))
    path.write_bytes(forge(path.read_bytes(), lambda name, a: ~a if a.dtype == bool else a + 1))
    with zipfile.ZipFile(path) as archive:  # every rejection and estimate is changed
        forged = np.load(io.BytesIO(archive.read("reject.npy")))
    assert (forged != original["reject"]).all()
    frame, messages = resume(scenario, finished)
    pd.testing.assert_frame_equal(frame, reference)
    assert any("sha256" in m for m in messages)


def test_a_chunk_of_another_run_is_computed_again(tmp_path, scenario, reference, finished):
    other = load_scenario(None, [*SMALL, "dropout.rate=0.4"])
    foreign = tmp_path / "foreign"
    estimate(other, out=foreign, **RUN)
    chunk(finished).write_bytes(chunk(foreign).read_bytes())
    frame, messages = resume(scenario, finished)
    pd.testing.assert_frame_equal(frame, reference)
    assert any("another run" in m for m in messages)


def test_a_chunk_moved_to_another_index_is_computed_again(scenario, reference, finished):
    chunk(finished, 1).write_bytes(chunk(finished, 0).read_bytes())
    frame, messages = resume(scenario, finished)
    pd.testing.assert_frame_equal(frame, reference)
    assert any("another chunk" in m for m in messages)


@pytest.mark.parametrize("seed", range(4))
def test_garbage_chunks_are_computed_again_without_a_traceback(scenario, reference, finished, seed):
    rng = np.random.default_rng(seed)
    for index in range(3):
        chunk(finished, index).write_bytes(rng.bytes(int(rng.integers(0, 3000))))
    frame, messages = resume(scenario, finished)
    pd.testing.assert_frame_equal(frame, reference)
    assert len(messages) == 3


def test_malformed_archives_are_refused_not_parsed():
    good = encode_chunk("k", 2, {"reject": np.zeros((2, 4), bool)})
    assert set(decode_chunk(good, "k", 2, 4)) == {"reject"}
    assert "one entry per replicate" in decode_chunk(good, "k", 2, 5)
    compressed = io.BytesIO()
    with zipfile.ZipFile(compressed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("reject.npy", b"\0" * 10_000_000)
        archive.writestr("chunk.json", json.dumps({"format": "mssim-chunk-1"}))
    assert "compressed" in decode_chunk(compressed.getvalue(), "k", 2, 4)
    # a header claiming a huge array with no data behind it
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 4)}
    )
    members = {"reject": np.lib.format.magic(1, 0) + header.getvalue()}
    from mssim.montecarlo.parallel import chunk_hash

    lying = io.BytesIO()
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("reject.npy", members["reject"])
        meta = {
            "format": "mssim-chunk-1",
            "key": "k",
            "index": 2,
            "sha256": chunk_hash("k", 2, members),
        }
        archive.writestr("chunk.json", json.dumps(meta))
    assert "one entry per replicate" in decode_chunk(lying.getvalue(), "k", 2, 4)


def test_a_symlinked_chunks_folder_is_refused(tmp_path, cli):
    out, outside = tmp_path / "run", tmp_path / "outside"
    command = ("run", "--replicates", 4, "--out", out, "--set", "power.n_per_arm=[10]")
    assert cli(*command)[0] == 0
    shutil.rmtree(out / "chunks")
    outside.mkdir()
    (out / "chunks").symlink_to(outside)
    status, _, err = cli(*command)
    assert status == 2 and f"{out / 'chunks'}: is a symbolic link" in err
    assert "Traceback" not in err
    assert list(outside.iterdir()) == []


def test_a_symlinked_chunk_file_is_refused_and_not_read(tmp_path, scenario, finished):
    secret = tmp_path / "secret.npz"
    secret.write_bytes(chunk(finished).read_bytes())
    chunk(finished).unlink()
    chunk(finished).symlink_to(secret)
    with pytest.raises(MssimError, match="is a symbolic link"):
        estimate(scenario, out=finished, **RUN)
    assert chunk(finished).is_symlink()


def test_a_symlinked_sweep_cell_folder_is_refused(tmp_path, scenario):
    from mssim.montecarlo.sweep import run_sweep

    out, outside = tmp_path / "sweep", tmp_path / "outside"
    (out / "cells").mkdir(parents=True)
    outside.mkdir()
    (out / "cells" / "0").symlink_to(outside)
    with pytest.raises(MssimError, match="cells/0: is a symbolic link"):
        run_sweep(scenario, {"dropout.rate": [0.1, 0.2]}, replicates=4, out=out, progress=False)
    assert list(outside.iterdir()) == []


def test_a_folder_where_a_chunk_should_be_is_refused(scenario, finished):
    chunk(finished).unlink()
    chunk(finished).mkdir()
    with pytest.raises(MssimError, match=f"{chunk(finished)}: is not a file"):
        estimate(scenario, out=finished, **RUN)
