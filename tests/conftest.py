"""Set-up shared by every test file.

Helper modules (reveal_answers, review_fixture, nonroot, make_corpus, calibrate_similarity...) are
imported by their names: pytest puts this folder (rootdir-based, as the folder of conftest.py) and the
folders that pyproject.toml's `pythonpath` names on the import path, so no test changes the import
path itself. A test that needs another working directory uses `monkeypatch.chdir` or
`contextlib.chdir`, which put the old one back.
"""
