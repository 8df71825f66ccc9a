"""Linux isolation primitives of the worker (through libc): mounts, capabilities, namespaces,
uid switches, and how one submission's memory cap is split."""

from __future__ import annotations

import ctypes
import functools
import os

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
CAP_KILL, CAP_SETGID, CAP_SETUID = 5, 6, 7
O_PATH = 0o10000000
EINVAL = 22


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library, opened on first use (and so inherited by every process forked after)."""
    return ctypes.CDLL(None, use_errno=True)


def prctl(option: int, arg: int = 0) -> int:
    return int(libc().prctl(option, arg, 0, 0, 0))


def check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    check(libc().mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def set_caps(keep: tuple[int, ...] = ()) -> None:
    """Keep only the capabilities `keep` (effective and permitted); nothing inheritable."""
    mask = 0
    for cap in keep:
        mask |= 1 << cap
    data = (_CapData * 2)()
    for i in range(2):
        part = (mask >> (32 * i)) & 0xFFFFFFFF
        data[i].effective = data[i].permitted = part
        data[i].inheritable = 0
    check(libc().capset(ctypes.byref(_CapHeader(0x20080522, 0)), data), "capset")


def drop_all_caps() -> None:
    """No capability left, now or after any exec: bounding and ambient sets emptied too."""
    for cap in range(64):
        if prctl(PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == EINVAL:  # past the last
            break
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    set_caps()


def mount_proc_and_drop_sys_admin() -> None:
    """Root-mode zygote start: a fresh /proc of the sandbox's pid namespace (bubblewrap's
    covers parts of its own), so that each submission's pid namespace may mount its own;
    then CAP_SYS_ADMIN goes, keeping what starting and stopping job processes needs."""
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    set_caps(keep=(CAP_SETUID, CAP_SETGID, CAP_KILL))


def become(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def enter_namespaces() -> None:
    """New user, mount, IPC, network, UTS and pid namespaces, with this process's own uid
    and gid mapped to themselves (so no uid switch is possible inside)."""
    uid, gid = os.geteuid(), os.getegid()
    prctl(PR_SET_DUMPABLE, 1)  # after a uid switch, /proc/self/*_map need it
    check(libc().unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWPID),
          "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    mount("none", "/", None, MS_REC | MS_PRIVATE)


def tmpfs(target: str, size: int, mode: str = "0755", inodes: int = 65536) -> None:
    os.makedirs(target, exist_ok=True)
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(size)},nr_inodes={inodes},mode={mode}")


def read_only(target: str) -> None:
    """Remount the mount at `target` read-only in this mount namespace, keeping its other flags
    (a mount inherited from a more privileged namespace may not lose nosuid, nodev or noexec;
    with no atime flag given, the kernel keeps its atime setting)."""
    kept = os.statvfs(target).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)  # statvfs's ST_* bits are these MS_* ones
    mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def hide(target: str) -> None:
    """Cover `target` with an empty read-only tmpfs (a locked mount can be covered, not removed)."""
    mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4096,nr_inodes=4,mode=0555")


def budget(memory_mb: int) -> tuple[dict[str, int], int]:
    """How one submission's memory cap splits: private tmpfs sizes, and what is left for its
    address space. Their sum is the cap, so no allocation route takes a submission past it."""
    total = int(memory_mb) * 1024 * 1024
    files = {"tmp": total // 16, "shm": total // 32, "job": total // 8, "out": total // 8}
    return files, total - sum(files.values())
