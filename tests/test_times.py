"""`python -m autograder times`: the table `make test` ends with."""

import json

from autograder import times


def test_report_groups_test_time_by_stage_and_by_notebook(tmp_path):
    (tmp_path / "build" / "test-times").mkdir(parents=True)
    (tmp_path / "build" / "audit").mkdir(parents=True)
    (tmp_path / "build" / "test-times" / "main.json").write_text(json.dumps({
        "label": "main", "wall_seconds": 100.0, "workers": 2, "tests": {
            "tests/test_course.py::test_honesty_audit[00-python-basics]": 30.0,
            "tests/test_course.py::test_honesty_audit[18-gpt]": 50.0,
            "tests/test_stages.py::test_bad_names_are_refused[UPPER]": 1.5,
            "tests/test_stages.py::test_config_must_be_plain_values": 0.5}}))
    (tmp_path / "build" / "audit" / "18-gpt.json").write_text(json.dumps(
        {"autograde_seconds": 20.5, "smoke_seconds": 9.1, "replay_seconds": 25.0, "mutants_total": 38}))
    text = times.report(tmp_path)
    stage = next(line for line in text.splitlines() if line.startswith("notebooks: honesty audit"))
    assert stage.split()[-2:] == ["80", "98%"]
    assert next(l for l in text.splitlines() if l.startswith("harness and library: test_stages")).split()[-3:] == ["2", "2", "2%"]
    gpt = next(line for line in text.splitlines() if line.startswith("18-gpt"))
    assert gpt.split() == ["18-gpt", "50.0", "20.5", "9.1", "25.0", "38"]
    assert "session main: 100 s wall on 2 worker(s)" in text
    assert "2 notebooks, 40.0 s of test time each on average" in text


def test_notebook_and_stage_names():
    assert times.notebook_of("tests/test_course.py::test_honesty_audit[12-cnn]") == "12-cnn"
    assert times.notebook_of("tests/test_stages.py::test_bad_names_are_refused[UPPER]") is None
    assert times.stage_of("tests/test_adversarial.py::test_x") == "adversarial corpus"


def test_nothing_recorded_says_so(tmp_path):
    assert "run `make test`" in times.report(tmp_path)
