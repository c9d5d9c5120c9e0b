"""Data sets for the course, found locally or downloaded once, checked, never half-written.

A file is looked for in this order:

1. ``$FROMSCRATCH_DATA`` (CI and developers point it at a shared folder);
2. the repository's ``data/`` folder;
3. the user cache (``$XDG_CACHE_HOME/fromscratch`` or ``~/.cache/fromscratch``);

and only then downloaded into the user cache, with a progress bar and a checksum. A download
goes to a ``.part`` file that is renamed into place only once its size and checksum are right,
so an interrupted or corrupt download never leaves a file that looks finished. Offline, the
error says where to put the file by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_DATA = Path(__file__).resolve().parent.parent / "data"


class DataUnavailable(RuntimeError):
    """A data set could not be found or fetched; the message says what to do."""


@dataclass(frozen=True)
class Remote:
    filename: str
    url: str
    checksum: str  # "sha256:<hex>" or "md5:<hex>"


REMOTES = {
    "tinyshakespeare": Remote(
        "tinyshakespeare.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "sha256:86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),
    # MNIST (LeCun, Cortes & Burges 1998) from the mirror torchvision uses; md5 sums as published there.
    "mnist-train-images": Remote("train-images-idx3-ubyte.gz",
                                 "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
                                 "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "mnist-train-labels": Remote("train-labels-idx1-ubyte.gz",
                                 "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
                                 "md5:d53e105ee54ea40749a09fcbcd1e9432"),
    "mnist-test-images": Remote("t10k-images-idx3-ubyte.gz",
                                "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
                                "md5:9fb629c4189551a2d022fa330f9573f3"),
    "mnist-test-labels": Remote("t10k-labels-idx1-ubyte.gz",
                                "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
                                "md5:ec29112dd5afa0611ce80d1b7f02629c"),
}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fromscratch"


def search_dirs() -> list[Path]:
    """Where files are looked for, in order."""
    dirs = []
    if os.environ.get("FROMSCRATCH_DATA"):
        dirs.append(Path(os.environ["FROMSCRATCH_DATA"]).expanduser())
    return dirs + [REPO_DATA, cache_dir()]


def file_checksum(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, checksum: str) -> bool:
    algorithm, expected = checksum.split(":", 1)
    return file_checksum(path, algorithm) == expected


def download(url: str, dest: Path, checksum: str, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` atomically: the file appears only when size and checksum are right."""
    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    what = f"could not download {dest.name} from {url}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            expected_size = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            with open(part, "wb") as out, tqdm(total=expected_size, unit="B", unit_scale=True,
                                               desc=dest.name, disable=not progress) as bar:
                while block := response.read(1 << 16):
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
        if expected_size is not None and received != expected_size:
            raise DataUnavailable(f"{what}: the transfer stopped after {received} of {expected_size} bytes; "
                                  "try again")
        if not _verify(part, checksum):
            raise DataUnavailable(f"{what}: its checksum is wrong (expected {checksum}); the file on the "
                                  "server may have changed or the download was corrupted; try again")
        os.replace(part, dest)
        return dest
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise DataUnavailable(f"{what} ({reason})") from None
    finally:
        part.unlink(missing_ok=True)


def fetch(name: str, progress: bool = True) -> Path:
    """The local path of a registered data file, downloading it once if it is nowhere to be found."""
    if name not in REMOTES:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(sorted(REMOTES))}")
    remote = REMOTES[name]
    for folder in search_dirs():
        candidate = folder / remote.filename
        if candidate.is_file():
            if not _verify(candidate, remote.checksum):
                raise DataUnavailable(f"{candidate} is damaged (its checksum is not {remote.checksum}); "
                                      "delete it and run again to download a fresh copy")
            return candidate
    try:
        return download(remote.url, cache_dir() / remote.filename, remote.checksum, progress)
    except DataUnavailable as error:
        places = ", ".join(str(p) for p in search_dirs())
        raise DataUnavailable(f"{error}. Offline? Download {remote.url} yourself and put it, named "
                              f"{remote.filename}, in one of: {places} (or point FROMSCRATCH_DATA at its folder)") from None


def load_tiny_shakespeare() -> str:
    """Tiny Shakespeare (Karpathy 2015): 1,115,394 characters of plays, as one string."""
    return fetch("tinyshakespeare").read_text(encoding="utf-8")


IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (MNIST's format; gzip or plain): 2 zero bytes, a type code, the rank,
    then one big-endian uint32 per dimension, then the data in row-major order."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    rank = raw[3]
    shape = struct.unpack(f">{rank}I", raw[4:4 + 4 * rank])
    dtype = np.dtype(IDX_TYPES[raw[2]])
    body = raw[4 + 4 * rank:]
    if len(body) != int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(f"{path}: IDX header says shape {shape} but the file holds {len(body)} bytes of data")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST images (N, 28, 28) uint8 and labels (N,) uint8, for ``split`` = ``train`` or ``test``."""
    if split not in ("train", "test"):
        raise ValueError("split must be 'train' or 'test'")
    images = read_idx(fetch(f"mnist-{split}-images"))
    labels = read_idx(fetch(f"mnist-{split}-labels"))
    if len(images) != len(labels):
        raise DataUnavailable(f"MNIST {split}: {len(images)} images but {len(labels)} labels")
    return images, labels


SKLEARN_SETS = ("digits", "iris", "breast_cancer", "wine", "diabetes")


def load_sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    """One of scikit-learn's bundled data sets (no download): ``(X, y)``."""
    if name not in SKLEARN_SETS:
        raise ValueError(f"unknown bundled data set {name!r}; choose from {', '.join(SKLEARN_SETS)}")
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    return bunch.data, bunch.target
