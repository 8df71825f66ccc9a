"""Where a command's wall time goes: named spans on one clock, printed by `ctlab grade --timings`.

Phases of a batch overlap (the test processes start while the workers load their libraries,
phase 2 of one submission runs while the next one is in phase 1), so each phase is kept as the
spans it took, and shown with when it started and ended on the command's clock as well as its
summed duration.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def process_age() -> float:
    """Seconds since this process was created (interpreter start and imports included); 0 when
    the kernel does not say."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class Span:
    name: str
    start: float  # seconds after the clock's origin
    end: float


@dataclass
class Timings:
    """Spans of named phases on the monotonic clock, relative to `origin`. Thread-safe."""

    origin: float = field(default_factory=time.monotonic)
    spans: list[Span] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, start: float, end: float) -> None:
        """A span between two readings of time.monotonic()."""
        with self._lock:
            self.spans.append(Span(name, start - self.origin, end - self.origin))

    def add_duration(self, name: str, seconds: float, end: float | None = None) -> None:
        """A span of `seconds` that ended at `end` (now by default): for phases measured elsewhere
        (in a worker or a test process) and reported back."""
        end = time.monotonic() if end is None else end
        self.add(name, end - max(0.0, seconds), end)

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.add(name, t0, time.monotonic())

    def total(self, name: str) -> float:
        with self._lock:
            return sum(s.end - s.start for s in self.spans if s.name == name)

    def names(self) -> list[str]:
        with self._lock:
            return list(dict.fromkeys(s.name for s in sorted(self.spans, key=lambda s: s.start)))

    def merge(self, other: Timings) -> None:
        """Take `other`'s spans onto this clock."""
        shift = other.origin - self.origin
        with self._lock:
            self.spans.extend(Span(s.name, s.start + shift, s.end + shift) for s in other.spans)

    def describe(self) -> list[str]:
        """One line per phase, in the order they started: how often, how long in all, from when
        to when on this clock; then the time from the clock's origin to the last span's end."""
        with self._lock:
            spans = sorted(self.spans, key=lambda s: s.start)
        lines = []
        width = max((len(s.name) for s in spans), default=5)
        for name in dict.fromkeys(s.name for s in spans):
            mine = [s for s in spans if s.name == name]
            total = sum(s.end - s.start for s in mine)
            count = f"{len(mine)}x" if len(mine) > 1 else ""
            lines.append(f"  {name:<{width}}  {total:7.2f} s {count:>5}  "
                         f"[{min(s.start for s in mine):6.2f} .. {max(s.end for s in mine):6.2f}]")
        lines.append(f"  {'total':<{width}}  {max((s.end for s in spans), default=0.0):7.2f} s")
        return lines
