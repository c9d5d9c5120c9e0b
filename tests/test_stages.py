"""The stage cache: built once per settings, never loaded stale or half-written."""

import pytest
import torch

from fromscratch import stages


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FROMSCRATCH_STAGES", str(tmp_path))


def test_builds_once_then_loads_the_same_tensors():
    calls = []

    def build(config):
        calls.append(config)
        return {"w": torch.full((2, 3), float(config["scale"]))}

    first = stages.load_or_build("toy", {"scale": 2}, build, quiet=True)
    second = stages.load_or_build("toy", {"scale": 2}, build, quiet=True)
    assert calls == [{"scale": 2}]
    assert torch.equal(first["w"], second["w"]) and second["w"][0, 0].item() == 2.0


def test_other_settings_are_another_stage():
    built = []
    stages.load_or_build("toy", {"scale": 1}, lambda c: built.append(c) or {"v": 1}, quiet=True)
    stages.load_or_build("toy", {"scale": 3}, lambda c: built.append(c) or {"v": 3}, quiet=True)
    assert built == [{"scale": 1}, {"scale": 3}]
    assert stages.stage_path("toy", {"scale": 1}) != stages.stage_path("toy", {"scale": 3})
    assert stages.stage_path("toy", {"a": 1, "b": 2}) == stages.stage_path("toy", {"b": 2, "a": 1})


def test_corrupt_file_is_rebuilt_not_loaded():
    path = stages.stage_path("toy", {"scale": 5})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a checkpoint")
    stage = stages.load_or_build("toy", {"scale": 5}, lambda c: {"v": torch.tensor(5)}, quiet=True)
    assert stage["v"].item() == 5
    assert torch.load(path, weights_only=True)["v"].item() == 5


def test_failed_build_leaves_no_file(tmp_path):
    def broken(config):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stages.load_or_build("toy", {"scale": 7}, broken, quiet=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "Has Space", "../escape", "UPPER"])
def test_bad_names_are_refused(name):
    with pytest.raises(ValueError, match="stage name"):
        stages.stage_path(name, {})


def test_config_must_be_plain_values():
    with pytest.raises(ValueError, match="plain JSON"):
        stages.stage_path("toy", {"tensor": torch.zeros(1)})
