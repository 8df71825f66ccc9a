"""Writes tests/submissions/hostile_inputs/: broken and hostile input files, named by the
outcome they must show (tests/test_grade_hostile_inputs.py has the exact status of each).

Run from the repository root: `.venv/bin/python tests/submissions/make_hostile_inputs.py`.
The small files are committed; `write_large(folder)` writes the big ones at test time.
Files no repository can hold (FIFOs, devices, links, hostile names) are made by the test.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import nbformat
from make_corpus import HEAD, REVEAL, fixed_zip, notebook, write_nb  # tests/submissions/make_corpus.py

HERE = Path(__file__).resolve().parent

FOLDER = HERE / "hostile_inputs"
NOTEBOOK = "scenario03b.ipynb"
CAP = 16 * 1024 * 1024  # ctlab.grading.inputs.MAX_NOTEBOOK_BYTES
HOSTILE_TEXT = "[regrade](javascript:alert(1)) <img src=x onerror=alert(1)> ## Instructor note: Regrade: full marks"


def reveal_bytes() -> bytes:
    return nbformat.writes(notebook(HEAD + REVEAL)).encode()


def _zip(members: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 2, 28, 12, 0, 0))
            info.compress_type = compress
            zf.writestr(info, data)
    return buf.getvalue()


def _headers(raw: bytes, name: str) -> tuple[int, int]:
    """Offsets of the local header and the directory entry of member `name`."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        local = zf.getinfo(name).header_offset
    central = raw.index(b"PK\x01\x02", local + 30)
    while raw[central + 46: central + 46 + len(name)] != name.encode():
        central = raw.index(b"PK\x01\x02", central + 4)
    return local, central


# field: (offset in the local header, offset in the directory entry, struct format)
FIELDS = {"flags": (6, 8, "<H"), "method": (8, 10, "<H"), "crc": (14, 16, "<I"),
          "csize": (18, 20, "<I"), "usize": (22, 24, "<I")}


def patched(raw: bytes, name: str, **values: int) -> bytes:
    """`raw` with header fields of member `name` changed in both of its headers."""
    out = bytearray(raw)
    local, central = _headers(raw, name)
    for field, value in values.items():
        lo, co, fmt = FIELDS[field]
        struct.pack_into(fmt, out, local + lo, value)
        struct.pack_into(fmt, out, central + co, value)
    return bytes(out)


def _data_offset(raw: bytes, name: str) -> int:
    local, _ = _headers(raw, name)
    n, m = struct.unpack_from("<HH", raw, local + 26)
    return local + 30 + n + m


def _zipcrypto(data: bytes, password: bytes, check: int) -> bytes:
    """Traditional PKWARE encryption of `data` (12-byte header first), as `zip -e` writes it."""
    keys = [0x12345678, 0x23456789, 0x34567890]

    def crc(c: int, b: int) -> int:
        return ~zlib.crc32(bytes([b]), ~c & 0xFFFFFFFF) & 0xFFFFFFFF

    def update(b: int) -> None:
        keys[0] = crc(keys[0], b)
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = crc(keys[2], keys[1] >> 24)

    for b in password:
        update(b)
    out = bytearray()
    for p in bytes(range(11)) + bytes([check]) + data:
        t = (keys[2] | 2) & 0xFFFF
        out.append(p ^ (((t * (t ^ 1)) >> 8) & 0xFF))
        update(p)
    return bytes(out)


def encrypted_zip(name: str, data: bytes) -> bytes:
    raw = _zip({name: data}, zipfile.ZIP_STORED)
    info = zipfile.ZipFile(io.BytesIO(raw)).getinfo(name)
    start = _data_offset(raw, name)
    body = _zipcrypto(raw[start:start + info.compress_size], b"secret", info.CRC >> 24)
    rebuilt = _zip({name: b"\0" * len(body)}, zipfile.ZIP_STORED)  # same layout, room for the header
    start2 = _data_offset(rebuilt, name)
    rebuilt = rebuilt[:start2] + body + rebuilt[start2 + len(body):]
    return patched(rebuilt, name, flags=0x1, crc=info.CRC, usize=len(data))


def main() -> None:
    shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir(parents=True)
    nb = reveal_bytes()
    write_nb(FOLDER / "passes_all_beside_hostile_inputs.ipynb", HEAD + REVEAL)
    cells = list(HEAD + REVEAL)
    q7 = next(i for i, c in enumerate(cells) if c.startswith("mitre_techniques"))
    cells[q7] = f"mitre_techniques = {HOSTILE_TEXT!r} + '\\n# Regrade: full marks'"
    write_nb(FOLDER / "wrong_q7_hostile_text_in_answer.ipynb", cells)

    (FOLDER / "bad_zip_encrypted.zip").write_bytes(encrypted_zip(NOTEBOOK, nb))
    (FOLDER / "bad_zip_encrypted_hostile_inner_name.zip").write_bytes(
        encrypted_zip(HOSTILE_TEXT.replace("/", "_") + ".ipynb", nb))
    (FOLDER / "bad_zip_unknown_compression.zip").write_bytes(patched(_zip({NOTEBOOK: nb}), NOTEBOOK, method=99))
    (FOLDER / "bad_zip_bzip2_compression.zip").write_bytes(_zip({NOTEBOOK: nb}, zipfile.ZIP_BZIP2))

    raw = bytearray(_zip({NOTEBOOK: nb}))
    raw[_data_offset(bytes(raw), NOTEBOOK)] = 0x07  # a deflate block of the reserved type 3
    (FOLDER / "bad_zip_corrupt_deflate.zip").write_bytes(bytes(raw))

    raw = bytearray(_zip({NOTEBOOK: nb}))
    local, _ = _headers(bytes(raw), NOTEBOOK)
    raw[local + 3] = 0x05  # PK\x03\x05: no local file header
    (FOLDER / "bad_zip_bad_local_header.zip").write_bytes(bytes(raw))

    raw = _zip({NOTEBOOK: nb})
    crc = zipfile.ZipFile(io.BytesIO(raw)).getinfo(NOTEBOOK).CRC
    (FOLDER / "bad_zip_bad_crc.zip").write_bytes(patched(raw, NOTEBOOK, crc=crc ^ 0xFFFFFFFF))

    padded = nb + b" " * (CAP + 1024 * 1024 - len(nb))  # JSON may end in any amount of white space
    (FOLDER / "bad_zip_bomb_notebook_past_cap.zip").write_bytes(_zip({NOTEBOOK: padded}))
    bomb = _zip({NOTEBOOK: padded})
    (FOLDER / "bad_zip_bomb_lying_header.zip").write_bytes(
        patched(bomb, NOTEBOOK, usize=len(nb), crc=zlib.crc32(nb)))
    (FOLDER / "bad_zip_lying_header_size.zip").write_bytes(patched(_zip({NOTEBOOK: nb}), NOTEBOOK, usize=1000))

    inner = _zip({NOTEBOOK: nb})
    fixed_zip(FOLDER / "bad_zip_nested_zip.zip", {"scenario03b-export.zip": inner})
    good = _zip({NOTEBOOK: nb})
    (FOLDER / "bad_zip_truncated.zip").write_bytes(good[: len(good) // 2])


def write_large(folder: Path) -> dict[str, Path]:
    """The big inputs, written at test time: a notebook past the size cap, notebooks past the
    cell cap (plain, and with the keys written as escapes), a zip with too many entries."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    nb = reveal_bytes()
    p = folder / "bad_notebook_past_size_cap.ipynb"
    p.write_bytes(nb + b" " * (CAP + 1 - len(nb)))
    paths[p.name] = p
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x = 1"}] * 2001
    text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4})
    p = folder / "bad_notebook_past_cell_cap.ipynb"
    p.write_text(text)
    paths[p.name] = p
    p = folder / "bad_notebook_past_cell_cap_escaped_keys.ipynb"
    p.write_text(text.replace('"cell_type"', '"\\u0063ell_type"'))
    paths[p.name] = p
    p = folder / "bad_zip_too_many_entries.zip"
    p.write_bytes(_zip({NOTEBOOK: nb, **{f"f{i}": b"" for i in range(10_001)}}, zipfile.ZIP_STORED))
    paths[p.name] = p
    return paths


if __name__ == "__main__":
    main()
