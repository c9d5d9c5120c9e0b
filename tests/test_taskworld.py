"""The task world (fromscratch.sft, exported by notebook 25) that parts 6-9 build on: its contract."""

import random
import subprocess
import sys

import pytest

from fromscratch import sft


def test_same_seed_same_tasks_in_another_process():
    """Seeded by random.Random and stable hashes only: another interpreter (another hash seed) agrees."""
    here = [(t.kind, t.prompt, t.answer) for t in sft.generate_tasks("test", 60, seed=3)]
    code = ("from fromscratch import sft; print([(t.kind, t.prompt, t.answer) "
            "for t in sft.generate_tasks('test', 60, seed=3)])")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}).stdout.strip()
    assert repr(here) == there
    assert sft.fact_table() == sft.fact_table() and sft.fact_table() is not sft.fact_table()


def test_splits_are_disjoint_and_the_held_out_kind_never_trains():
    train = sft.generate_tasks("train", 3000, seed=0)
    test = sft.generate_tasks("test", 300, seed=0)
    held = sft.generate_tasks("held_out_kind", 50, seed=0)
    assert not {(t.kind, t.prompt) for t in train} & {(t.kind, t.prompt) for t in test}
    assert {t.kind for t in train} == set(sft.TRAIN_KINDS)
    assert {t.kind for t in held} == set(sft.HELD_OUT_KINDS)
    assert all(sft.task_split(t) == "train" for t in train) and all(sft.task_split(t) == "test" for t in test)


@pytest.mark.parametrize("kind", sft.TASK_KINDS)
def test_every_answer_is_what_its_prompt_asks(kind):
    """The answers are computed, not stored: recompute them from the prompt for the string and number kinds."""
    rng = random.Random(7)
    for _ in range(40):
        task = sft.make_task(kind, rng)
        word = task.prompt.split()[-1].rstrip("?.")
        expected = {"reverse": lambda: word[::-1], "sort": lambda: "".join(sorted(word)),
                    "upper": lambda: word.upper(), "length": lambda: str(len(word)),
                    "count": lambda: str(word.count(task.prompt.split()[1])),
                    "add": lambda: str(sum(map(int, task.prompt.split("=")[0].split("+")))),
                    "sub": lambda: str(int(task.prompt.split("-")[0]) - int(task.prompt.split("-")[1].split("=")[0]))}
        if kind in expected:
            assert task.answer == expected[kind](), task
        else:                                       # a look-up: the answer is the fact table's
            facts = sft.fact_table()
            assert task.answer in {row["capital" if kind == "capital" else "colour"] for row in facts.values()}


def test_checkers_on_hand_worked_cases():
    assert sft.exact_match("  flo \n", "flo") == 1.0 and sft.exact_match("Flo", "flo") == 0.0
    assert sft.token_f1("the answer is 19", "19") == pytest.approx(2 * (1 / 4) * 1 / (1 / 4 + 1))
    assert sft.token_f1("", "") == 1.0 and sft.token_f1("", "x") == 0.0 and sft.token_f1("a b", "c") == 0.0


def test_preferences_follow_the_written_rules():
    rng = random.Random(1)
    for kind in sft.TASK_KINDS:
        task = sft.make_task(kind, rng)
        responses = sft.candidate_responses(task, rng)
        scores = {quality: sft.response_score(task, text) for quality, text in responses.items()}
        assert min(scores["concise"], scores["polite"], scores["rambling"]) > max(scores["near_miss"], scores["wrong"])
        assert sft.prefer(task, responses["concise"], responses["rambling"]) == "a"
        assert sft.prefer(task, responses["wrong"], responses["polite"]) == "b"
        assert sft.prefer(task, responses["concise"], responses["concise"]) == "tie"


def test_bad_input_is_refused_at_the_boundary():
    with pytest.raises(ValueError):
        sft.make_task("poetry", random.Random(0))
    with pytest.raises(ValueError):
        sft.generate_tasks("validation", 3)
    with pytest.raises(ValueError):
        sft.generate_tasks("train", 3, kinds=["length"])
    tokenizer = sft.ChatTokenizer()
    with pytest.raises(ValueError):
        sft.encode_prompt(tokenizer, "reverse " + "a" * 200, block_size=64)
    with pytest.raises(ValueError):
        sft.build_example(tokenizer, "upper olf", "", block_size=64)
