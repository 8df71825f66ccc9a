"""The sandboxed worker of phase 1 (started by ctlab.grading.sandbox; imports nothing else of ctlab
but ctlab.grading.snapshot, and has no effect when imported: the process set-up is in `zygote.main`).

Three processes per worker, so that every submission starts from the same pristine state:

- The zygote (zygote.py, started once per worker) imports pandas, numpy, matplotlib and
  pyarrow (warmup.py), builds the syscall policy (policy.py), then reads one JSON job per
  line on stdin (protocol.py). For each job it forks a job process and waits for its
  one-line typed reply. It never reads a submission's bytes (no cells, no snapshot, no
  progress record, no file names), so nothing of one submission can be in the memory that
  the next one is forked from.
- The job process (job.py, one per submission, forked from the zygote) prepares the
  submission's world, forks the submission process, enforces the wall-clock and output
  limits, copies the last well-formed snapshot and the progress record to the outbox
  (files.py), and replies. In bubblewrap mode it first drops to the sandbox user (when root)
  and enters new user, mount, IPC, network, UTS and pid namespaces with private size-capped
  tmpfs for /tmp, /dev/shm, the working copy (/job) and the staging folder (/out), and hides
  the inbox and outbox (isolation.py): every file, IPC object and process of the submission
  dies with those namespaces when the job process exits. In the fallback mode (no
  namespaces: root only) it stays root, hands host folders to the worker's uid and wipes
  them afterwards.
- The submission process (submission.py; pid 1 of its pid namespace in bubblewrap mode)
  drops every capability, applies the limits and the syscall policy, and runs the cells in
  one namespace, snapshotting the answer variables after every cell (cells.py).

`__main__.py` is the script the sandbox runs (`python -I .../worker/__main__.py`).
"""
