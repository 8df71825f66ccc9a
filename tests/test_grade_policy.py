"""The syscall policy of submission code (src/ctlab/grading/worker/policy.py), loaded for real in a
process of its own, which then tries what a hostile notebook would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ctlab.grading.worker import policy

# x86_64 numbers, called through libc's syscall() so that nothing in between can refuse first.
PROBE = r'''
import ctypes, errno, json, os, socket, sys, threading
from ctlab.grading.worker import policy
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0
policy.build_filter().load()
res = {}
def call(name, nr, *args):
    r = libc.syscall(nr, *args)
    res[name] = "ok" if r >= 0 else errno.errorcode[ctypes.get_errno()]
buf = ctypes.create_string_buffer(256)
call("socket AF_INET", 41, 2, 1, 0)
call("socket AF_UNIX", 41, 1, 1, 0)
call("socket AF_NETLINK", 41, 16, 3, 0)
call("socketpair AF_INET", 53, 2, 1, 0, buf)
call("socketpair AF_UNIX", 53, 1, 1, 0, buf)
call("io_uring_setup", 425, 8, buf)
call("io_uring_enter", 426, 0, 0, 0, 0, 0, 0)
call("io_uring_register", 427, 0, 0, 0, 0)
call("add_key", 248, b"user", b"k", b"v", 1, -4)
call("keyctl", 250, 0, -4, 0)
call("request_key", 249, b"user", b"k", 0, 0)
call("shmget", 29, 0, 4096, 0o1000 | 0o600)
call("msgget", 68, 0, 0o1000 | 0o600)
call("semget", 64, 0, 1, 0o1000 | 0o600)
call("mq_open", 240, b"q", 0o100 | 2, 0o600, 0)
call("memfd_create", 319, b"x", 0)
call("unshare CLONE_NEWUSER", 272, 0x10000000)
call("unshare CLONE_NEWNET", 272, 0x40000000)
call("setns", 308, 0, 0)
call("clone CLONE_NEWUSER", 56, 0x10000000 | 17, 0, 0, 0, 0)
call("clone3", 435, buf, 88)
call("fork", 57)
call("vfork", 58)
call("ptrace", 101, 16, os.getppid(), 0, 0)
call("process_vm_readv", 310, os.getppid(), buf, 1, buf, 1, 0)
call("bpf", 321, 0, buf, 128)
call("perf_event_open", 298, buf, 0, -1, -1, 0)
call("userfaultfd", 323, 0)
call("mount", 165, b"none", b"/tmp", b"tmpfs", 0, 0)
call("pidfd_getfd", 438, 0, 0, 0)
call("personality set", 135, 0x0040000)
call("personality query", 135, ctypes.c_ulong(0xFFFFFFFF))
call("getpid", 39)
t = threading.Thread(target=lambda: res.__setitem__("thread", "ran"))
t.start(); t.join()
print(json.dumps(res))
'''

DENIED = ["socket AF_INET", "socket AF_UNIX", "socket AF_NETLINK", "socketpair AF_INET", "io_uring_setup",
          "io_uring_enter", "io_uring_register", "add_key", "keyctl", "request_key", "shmget", "msgget", "semget",
          "mq_open", "memfd_create", "unshare CLONE_NEWUSER", "unshare CLONE_NEWNET", "setns",
          "clone CLONE_NEWUSER", "fork", "vfork", "ptrace", "process_vm_readv", "bpf", "perf_event_open",
          "userfaultfd", "mount", "pidfd_getfd", "personality set"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_policy_refuses_every_route_out_and_keeps_threads():
    import platform

    if platform.machine() != "x86_64":
        pytest.skip("the probe uses x86_64 syscall numbers")
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert {k: res[k] for k in DENIED} == {k: "EPERM" for k in DENIED}
    assert res["clone3"] == "ENOSYS"  # so libc falls back to clone, whose flags the policy can see
    assert (res["socketpair AF_UNIX"], res["personality query"], res["getpid"], res["thread"]) == ("ok", "ok", "ok", "ran")


def test_policy_covers_what_dockers_default_profile_leaves_out():
    denied = set(policy.denied_syscalls())
    for name in ("add_key", "keyctl", "request_key", "bpf", "perf_event_open", "userfaultfd", "mount", "umount2",
                 "setns", "unshare", "kexec_load", "open_by_handle_at", "acct", "swapon", "ptrace",
                 "process_vm_readv", "process_vm_writev", "io_uring_setup", "io_uring_enter", "io_uring_register",
                 "shmget", "msgget", "semget", "mq_open", "memfd_create", "socket", "fork", "vfork"):
        assert name in denied, name
