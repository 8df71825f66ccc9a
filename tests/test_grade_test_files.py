"""Reading otter test files in the trusted test process: compiled once, fresh each time, and read again
when they change."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctlab.errors import CtlabError
from ctlab.grading.autograder import parse_test_file

TEST_FILE = '''from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 1

@test_case(points=1, hidden=False)
def test_q1(x):
    assert x == {want!r}, "x is not {want!r}"
'''


def _write(path: Path, want: int) -> None:
    path.write_text(TEST_FILE.format(want=want))


def _passed(path: Path, x: int) -> bool:
    tf = parse_test_file(path)
    tf.run({"x": x})
    return all(r.passed for r in tf.test_case_results)


def test_each_parse_is_a_fresh_test_file_and_an_edit_is_read_again(tmp_path):
    path = tmp_path / "q1.py"
    _write(path, 1)
    first, second = parse_test_file(path), parse_test_file(path)
    assert first is not second and first.test_cases[0] is not second.test_cases[0]
    assert (_passed(path, 1), _passed(path, 2)) == (True, False)
    _write(path, 2)
    assert (_passed(path, 1), _passed(path, 2)) == (False, True)


def test_a_file_that_is_not_a_test_file_stops_with_its_name(tmp_path):
    path = tmp_path / "q1.py"
    path.write_text("def broken(:\n")
    with pytest.raises(CtlabError, match=rf"^{path}: not a valid otter exception-format test file \(SyntaxError: "):
        parse_test_file(path)
