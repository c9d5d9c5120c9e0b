"""The course's command line: ``python -m autograder COMMAND`` (the Makefile calls these).

  release [NB ...]        learner notebooks/ and the fromscratch library from solutions/
  verify                  drift, import order, metadata (what `make check` runs)
  audit [NB ...] [-j N]   the honesty audit; writes build/audit.json; --report prints saved records
  execute [NB ...] --budget B   reference outputs into solutions/, with seconds and peak memory
  check NOTEBOOK          a learner's self-check of the visible tests
  grade NB [--force]      autograde collected submissions, feedback, grades.csv
  times                   where make test's time went, by stage and by notebook
  publish UPTO [--repo owner/name] [--dest DIR]   the learner repository: notebooks up to UPTO
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.notebooks import CourseError, course_root, resolve_slug, slugs

BUILD = "build"


def _chosen(names: list[str]) -> list[str]:
    return [resolve_slug(n) for n in names] if names else slugs()


def cmd_release(args) -> int:
    from autograder.release import release

    release(_chosen(args.notebooks) if args.notebooks else None)
    return 0


def cmd_verify(args) -> int:
    from autograder.verify import verify

    started = time.perf_counter()
    problems = verify()
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"check: {len(slugs())} notebook(s), {len(problems)} problem(s), {time.perf_counter() - started:.1f} s")
    return 1 if problems else 0


def audit_records_dir() -> Path:
    return course_root() / BUILD / "audit"


def write_report(records: list[dict]) -> int:
    from autograder.audit import table

    out = course_root() / BUILD / "audit.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=2))
    print(table(records))
    for record in records:
        for note in record.get("notes", []):
            print(f"note {record['notebook']}: {note}")
    bad = [(r["notebook"], v) for r in records for v in r.get("violations", [])]
    for notebook, violation in bad:
        print(f"VIOLATION {notebook}: {violation}")
    print(f"audit: {len(records)} notebook(s), {len(bad)} violation(s); records in {out.relative_to(course_root())}")
    return 1 if bad else 0


def cmd_audit(args) -> int:
    from autograder.audit import audit_in_subprocess

    if args.report:
        chosen = _chosen(args.notebooks)
        files = [audit_records_dir() / f"{slug}.json" for slug in chosen]
        missing = [f.stem for f in files if not f.exists()]
        if missing:
            raise CourseError(f"no audit record for {', '.join(missing)}; run `make audit`")
        return write_report([json.loads(f.read_text()) for f in files])
    chosen = _chosen(args.notebooks)
    jobs = max(1, args.jobs or os.cpu_count() or 1)
    with ThreadPoolExecutor(jobs) as pool:  # threads only wait: each audit is its own process
        records = list(pool.map(lambda s: audit_in_subprocess(s, audit_records_dir() / f"{s}.json"), chosen))
    return write_report(records)


def cmd_execute(args) -> int:
    from autograder.execute import execute

    return execute(_chosen(args.notebooks), args.budget)


def cmd_check(args) -> int:
    from autograder.selfcheck import self_check

    return self_check(Path(args.notebook))


def cmd_grade(args) -> int:
    from autograder.grade import grade

    return grade(resolve_slug(args.notebook), force=args.force, jobs=args.jobs)


def cmd_times(args) -> int:
    from autograder.times import main

    return main()


def cmd_publish(args) -> int:
    from autograder.publish import publish

    publish(args.upto, repo=args.repo, dest=args.dest, branch=args.branch)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("release", help="regenerate notebooks/ and fromscratch/")
    s.add_argument("notebooks", nargs="*")
    s.set_defaults(run=cmd_release)
    s = sub.add_parser("verify", help="drift and conventions (make check)")
    s.set_defaults(run=cmd_verify)
    s = sub.add_parser("audit", help="honesty audit")
    s.add_argument("notebooks", nargs="*")
    s.add_argument("-j", "--jobs", type=int, default=0, help="notebooks audited at once (default: cores)")
    s.add_argument("--report", action="store_true", help="print and save the records already in build/audit/")
    s.set_defaults(run=cmd_audit)
    s = sub.add_parser("execute", help="reference run with papermill")
    s.add_argument("notebooks", nargs="*")
    s.add_argument("--budget", default="default", choices=["smoke", "default", "full"])
    s.set_defaults(run=cmd_execute)
    s = sub.add_parser("check", help="self-check a learner notebook's visible tests")
    s.add_argument("notebook")
    s.set_defaults(run=cmd_check)
    s = sub.add_parser("grade", help="autograde collected submissions")
    s.add_argument("notebook")
    s.add_argument("--force", action="store_true", help="grade again submissions already autograded")
    s.add_argument("-j", "--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    s.set_defaults(run=cmd_grade)
    s = sub.add_parser("times", help="where make test's time went, by stage and notebook")
    s.set_defaults(run=cmd_times)
    s = sub.add_parser("publish", help="write the learner repository: notebooks up to UPTO, no answers")
    s.add_argument("upto", help="the newest notebook learners get (12 or 12-cnn)")
    s.add_argument("--repo", help="the learner repository, owner/name (default: pyproject's)")
    s.add_argument("--dest", type=Path, help="the folder to write (default: build/publish/NAME)")
    s.add_argument("--branch", help="the learner repository's branch (default: pyproject's)")
    s.set_defaults(run=cmd_publish)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
