"""The syscall policy of submission code, built with libseccomp (through pyseccomp).

One policy in every sandbox mode (bubblewrap, unprivileged-user fallback). It is modelled
on Docker's default seccomp profile: every syscall that profile leaves out of an
unprivileged container is denied here, and on top of it whatever would let a submission
reach past its own process:

- no network: no socket(2) at all, socketpair(2) only for AF_UNIX pairs, and no io_uring
  (IORING_OP_SOCKET opens sockets without socket(2));
- no new processes (threads only), so one address space holds everything the submission
  allocates and RLIMIT_AS bounds it; no namespaces (unshare, setns, namespace clone flags);
- nothing that outlives the process: no kernel keyrings, no SysV IPC, no POSIX message
  queues, no memfd;
- no looking into or steering other processes: ptrace, process_vm_*, pidfd_getfd, kcmp;
- no kernel attack surface an unprivileged container never needs: bpf, perf_event_open,
  userfaultfd, module loading, mounts, clock and system settings, and the like.

Denied calls fail with EPERM (ENOSYS for clone3, so libc falls back to clone, whose flags
can be checked); a syscall of a foreign ABI (x32, i386) kills the process.

Part of the sandboxed worker (ctlab.grading.worker): it
imports nothing from ctlab.
"""

from __future__ import annotations

import errno

import pyseccomp as sc

CLONE_THREAD = 0x00010000
NAMESPACE_FLAGS = {
    "CLONE_NEWTIME": 0x00000080, "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000, "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000, "CLONE_NEWNET": 0x40000000,
}
AF_UNIX = 1
PERSONALITY_QUERY = 0xFFFFFFFF

# Left out of Docker's default profile for a container without added capabilities.
DOCKER_DENIED = [
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
    "fanotify_init", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms",
    "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load",
    "keyctl", "lookup_dcookie", "mbind", "mount", "mount_setattr", "move_mount", "move_pages",
    "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
    "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "query_module", "quotactl",
    "quotactl_fd", "reboot", "request_key", "set_mempolicy", "setns", "settimeofday", "stime",
    "swapoff", "swapon", "sysfs", "_sysctl", "syslog", "umount", "umount2", "unshare", "uselib",
    "userfaultfd", "ustat", "vm86", "vm86old", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "chroot", "vhangup", "pidfd_getfd", "lsm_set_self_attr",
]
# What a submission could keep past its own end, or use to hold memory outside RLIMIT_AS.
OUTLIVING = [
    "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
    "semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend",
    "mq_timedreceive", "mq_notify", "mq_getsetattr", "memfd_create", "memfd_secret",
]
NEW_PROCESSES = ["fork", "vfork"]


def _resolves(name: str) -> bool:
    try:
        return int(sc.resolve_syscall(sc.Arch.NATIVE, name)) >= 0
    except Exception:  # noqa: BLE001 - libseccomp does not know the name: nothing to deny
        return False


def denied_syscalls() -> list[str]:
    """Every syscall the policy denies outright (some others are denied by their arguments)."""
    return [n for n in dict.fromkeys(DOCKER_DENIED + OUTLIVING + NEW_PROCESSES + ["socket"]) if _resolves(n)]


def build_filter() -> sc.SyscallFilter:
    """The policy as a libseccomp filter, ready to `load()` (needs no_new_privs set first)."""
    f = sc.SyscallFilter(sc.ALLOW)
    f.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    eperm = sc.ERRNO(errno.EPERM)
    for name in denied_syscalls():
        f.add_rule(eperm, name)
    # clone: threads only (CLONE_THREAD set), and never with a namespace flag.
    f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    for flag in NAMESPACE_FLAGS.values():
        f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    if _resolves("clone3"):
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    f.add_rule(eperm, "socketpair", sc.Arg(0, sc.NE, AF_UNIX))
    f.add_rule(eperm, "personality", sc.Arg(0, sc.NE, PERSONALITY_QUERY))
    return f
