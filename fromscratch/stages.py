"""Trained stages that later notebooks build on, cached so that each is trained once per machine.

From part 5 on, a notebook starts from a model an earlier notebook trained (notebook 24 adapts
notebook 18's GPT; 25-29 align 19's model). Each notebook must still run on its own, on Colab or
a fresh clone, so it asks for the stage by name and by the exact settings it needs::

    from fromscratch.stages import load_or_build
    state = load_or_build("gpt-shakespeare", {"n_layer": 2, "steps": 300}, build=train_tiny_gpt)

``build(config)`` returns a picklable object (a ``state_dict``, a dict of them) and runs only
when the cache holds no stage of that name built from those settings. A stage is cached under
a name that carries a hash of its settings, so a changed setting never loads a stale model. The
file is written to a temporary name and renamed into place, so an interrupted run leaves the old
cache or none, never half a file. Grading never depends on this cache: the sandbox starts empty.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

from fromscratch.data import cache_dir

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def stages_dir() -> Path:
    """Where trained stages live: ``$FROMSCRATCH_STAGES``, else ``<user cache>/stages``."""
    return Path(os.environ.get("FROMSCRATCH_STAGES") or cache_dir() / "stages")


def stage_path(name: str, config: dict) -> Path:
    """The file that holds stage ``name`` built from ``config``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"a stage name is lowercase letters, digits and dashes, got {name!r}")
    try:
        canonical = json.dumps(config, sort_keys=True)
    except TypeError as error:
        raise ValueError(f"stage {name!r}: its config must be plain JSON values ({error})") from None
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return stages_dir() / f"{name}-{digest}.pt"


def load_or_build(name: str, config: dict, build: Callable[[dict], Any], *, rebuild: bool = False,
                  quiet: bool = False) -> Any:
    """The stage ``name`` built from ``config``: from the cache, or built now and cached."""
    import torch

    path = stage_path(name, config)
    if path.exists() and not rebuild:
        try:
            stage = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:           # a corrupt file is rebuilt, never half-used
            if not quiet:
                print(f"stage {name}: cached file unreadable ({type(error).__name__}); rebuilding")
        else:
            if not quiet:
                print(f"stage {name}: loaded from {path}")
            return stage
    if not quiet:
        print(f"stage {name}: not cached, building it now")
    stage = build(dict(config))
    save_stage(stage, path)
    return stage


def save_stage(stage: Any, path: Path) -> None:
    """Write ``stage`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(stage, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
