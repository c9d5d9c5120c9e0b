"""Data loaders: local search order, IDX parsing, and downloads against a loopback HTTP server."""

import gzip
import hashlib
import http.server
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from fromscratch import data

BODY = b"To be, or not to be, that is the question.\n" * 50
GOOD = "sha256:" + hashlib.sha256(BODY).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        if self.path == "/good.txt":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/truncated.txt":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[: len(BODY) // 2])  # then the connection closes
        else:
            self.send_error(404)

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No FROMSCRATCH_DATA, an empty repo data/ and cache: nothing is found locally."""
    monkeypatch.delenv("FROMSCRATCH_DATA", raising=False)
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo-data")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_download_succeeds_and_verifies(server, tmp_path):
    path = data.download(f"{server}/good.txt", tmp_path / "good.txt", GOOD, progress=False)
    assert path.read_bytes() == BODY
    assert list(tmp_path.iterdir()) == [path]  # no .part file left behind


@pytest.mark.parametrize("url, checksum, message", [
    ("/missing.txt", GOOD, "Not Found"),
    ("/truncated.txt", GOOD, "stopped after"),
    ("/good.txt", "sha256:" + "0" * 64, "checksum is wrong"),
])
def test_failed_downloads_leave_nothing_behind(server, tmp_path, url, checksum, message):
    with pytest.raises(data.DataUnavailable, match=message):
        data.download(server + url, tmp_path / "file.txt", checksum, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_offline_fetch_says_where_to_put_the_file(isolated, monkeypatch):
    monkeypatch.setitem(data.REMOTES, "tinyshakespeare",
                        data.Remote("tinyshakespeare.txt", "http://127.0.0.1:9/nothing-listens-here", GOOD))
    with pytest.raises(data.DataUnavailable) as info:
        data.fetch("tinyshakespeare", progress=False)
    message = str(info.value)
    assert "Offline?" in message and "FROMSCRATCH_DATA" in message and "tinyshakespeare.txt" in message


def test_fetch_downloads_once_into_the_cache(isolated, server, monkeypatch):
    monkeypatch.setitem(data.REMOTES, "demo", data.Remote("demo.txt", f"{server}/good.txt", GOOD))
    first = data.fetch("demo", progress=False)
    assert first == data.cache_dir() / "demo.txt"
    monkeypatch.setitem(data.REMOTES, "demo", data.Remote("demo.txt", f"{server}/missing.txt", GOOD))
    assert data.fetch("demo", progress=False) == first  # found locally, no second download


def test_search_order_prefers_fromscratch_data(isolated, monkeypatch):
    for folder in ("env", "repo-data", "cache/fromscratch"):
        (isolated / folder).mkdir(parents=True, exist_ok=True)
        (isolated / folder / "demo.txt").write_bytes(BODY)
    monkeypatch.setenv("FROMSCRATCH_DATA", str(isolated / "env"))
    monkeypatch.setitem(data.REMOTES, "demo", data.Remote("demo.txt", "http://127.0.0.1:9/", GOOD))
    assert data.fetch("demo") == isolated / "env" / "demo.txt"
    monkeypatch.delenv("FROMSCRATCH_DATA")
    assert data.fetch("demo") == isolated / "repo-data" / "demo.txt"


def test_a_damaged_local_file_is_reported(isolated, monkeypatch):
    (isolated / "repo-data").mkdir()
    (isolated / "repo-data" / "demo.txt").write_bytes(BODY[:-1])
    monkeypatch.setitem(data.REMOTES, "demo", data.Remote("demo.txt", "http://127.0.0.1:9/", GOOD))
    with pytest.raises(data.DataUnavailable, match="is damaged"):
        data.fetch("demo")


@pytest.mark.skipif(not (Path(os.environ.get("FROMSCRATCH_DATA", "/nonexistent")) / "tinyshakespeare.txt").is_file(),
                    reason="needs FROMSCRATCH_DATA with tinyshakespeare.txt (the Makefile points it at ../shared/data)")
def test_tiny_shakespeare_from_the_shared_folder():
    text = data.load_tiny_shakespeare()
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")


def write_idx(path: Path, array: np.ndarray, code: int) -> None:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


def test_idx_parsing_of_images_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    write_idx(tmp_path / "images.gz", images, 0x08)
    write_idx(tmp_path / "labels", labels, 0x08)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "images.gz"), images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "labels"), labels)
    floats = rng.standard_normal((2, 3)).astype(np.float32)
    write_idx(tmp_path / "floats", floats, 0x0D)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "floats"), floats)


def test_idx_rejects_bad_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04junk")
    with pytest.raises(ValueError, match="bad magic"):
        data.read_idx(tmp_path / "junk")
    write_idx(tmp_path / "short", np.zeros((4, 4), np.uint8), 0x08)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-3])
    with pytest.raises(ValueError, match="header says shape"):
        data.read_idx(tmp_path / "short")


def test_load_mnist_from_local_idx_files(isolated, monkeypatch):
    folder = isolated / "repo-data"
    folder.mkdir()
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    labels = np.array([7, 2], dtype=np.uint8)
    for kind, array in (("images", images), ("labels", labels)):
        path = folder / f"test-{kind}.gz"
        write_idx(path, array, 0x08)
        checksum = "md5:" + hashlib.md5(path.read_bytes()).hexdigest()
        monkeypatch.setitem(data.REMOTES, f"mnist-test-{kind}", data.Remote(path.name, "http://127.0.0.1:9/", checksum))
    got_images, got_labels = data.load_mnist("test")
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_bundled_sklearn_sets():
    X, y = data.load_sklearn("iris")
    assert X.shape == (150, 4) and sorted(set(y.tolist())) == [0, 1, 2]
    with pytest.raises(ValueError, match="choose from"):
        data.load_sklearn("imagenet")
