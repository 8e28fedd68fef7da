"""`jail` isolation: bubblewrap namespaces, an unprivileged uid, cgroup v1 limits, rlimits.

How a kernel is started (all as root on the host, then dropped inside):

1. ``sh`` writes its own pid into the session's memory and pids cgroups (when writable), then execs
2. ``bwrap`` (run as root, no user namespace) with new pid, net, ipc, uts, mount and cgroup
   namespaces. It builds a fresh root: /usr and the interpreter's prefixes (the venv and the base
   Python, e.g. pyenv under /root, which is mode 0700 on the host) are bind-mounted read-only at the
   same paths, their parent folders are new 0755 folders on bwrap's tmpfs root, so the unprivileged
   uid can reach the interpreter without seeing anything else of /root. A few /etc files, a fresh
   /proc and /dev, a size-limited tmpfs scratch (cwd, HOME and /tmp) and the session folder at
   /run/sandbox (ipc sockets) complete the tree. The environment is cleared.
3. ``prlimit`` sets hard rlimits (core, file size, open files; address space and processes when
   cgroups are not writable), then
4. ``setpriv`` drops to uid/gid 65534 with no groups, no capabilities (effective, inheritable,
   bounding) and no_new_privs, and execs the supervisor shell, which starts the kernel.

The kernel reaches the host only through the ipc sockets in /run/sandbox; there is no network
interface but a down loopback in its namespace.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .cgroups import CgroupPair, cgroup_root_for
from .errors import IsolationUnavailableError
from .launcher import AS_SLACK_MB, KernelProcess, Launcher, PopenProcess, supervisor_script
from .limits import Limits

__all__ = ["JailLauncher", "cgroups_writable"]

logger = logging.getLogger(__name__)

INNER_DIR = "/run/sandbox"
SCRATCH = "/home/sandbox"
SANDBOX_UID = 65534
ETC_FILES = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd",
    "/etc/group", "/etc/hosts", "/etc/alternatives", "/etc/fonts", "/etc/mime.types",
)  # fmt: skip


@functools.lru_cache(maxsize=1)
def cgroups_writable() -> bool:
    """True when this process can create cgroup v1 memory and pids groups; logs once when not.

    Example:
        >>> isinstance(cgroups_writable(), bool)
        True
    """
    ok = cgroup_root_for("memory") is not None and cgroup_root_for("pids") is not None
    if not ok:
        logger.warning(
            "cgroup v1 memory/pids are not writable here: the jail limits memory with RLIMIT_AS and "
            "processes with RLIMIT_NPROC instead (per process, not per session)"
        )
    return ok


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for etc in ETC_FILES:
        args += ["--ro-bind-try", etc, etc]
    return args


def _python_binds() -> list[str]:
    """Read-only binds of the interpreter's prefixes, with 0755 parent folders."""
    roots = set()
    for prefix in {sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}:
        if not prefix.startswith("/usr/") and prefix != "/usr":
            roots.add(prefix)
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(r + "/") for r in roots) and not exe.startswith("/usr/"):
        roots.add(os.path.dirname(os.path.dirname(exe)))
    # A root nested in another is covered by it.
    roots = {r for r in roots if not any(r != o and r.startswith(o + "/") for o in roots)}
    parents = sorted({str(p) for r in roots for p in Path(r).parents if str(p) != "/"})
    args: list[str] = []
    for parent in parents:
        args += ["--perms", "0755", "--dir", parent]
    for root in sorted(roots):
        args += ["--ro-bind", root, root]
    return args


class JailLauncher(Launcher):
    """The default on Linux: see the module docstring for what it does."""

    name = "jail"

    def check(self) -> None:
        if sys.platform != "linux":
            raise IsolationUnavailableError("isolation 'jail' needs Linux; use isolation='docker'")
        missing = [t for t in ("bwrap", "setpriv", "prlimit", "flock") if shutil.which(t) is None]
        if missing:
            raise IsolationUnavailableError(
                f"isolation 'jail' needs {', '.join(missing)}: install bubblewrap and util-linux "
                "(apt-get install bubblewrap util-linux), or use isolation='docker'"
            )
        if os.geteuid() != 0:
            raise IsolationUnavailableError(
                "isolation 'jail' must start as root (it drops to uid 65534 inside); run as root or use "
                "isolation='docker'"
            )

    def inner_dir(self, session_dir: Path) -> str:
        return INNER_DIR

    def sandbox_uid(self) -> int | None:
        return SANDBOX_UID

    def launch(self, session_dir: Path, kernel_argv: list[str], env: dict[str, str], limits: Limits) -> KernelProcess:
        cgroups = None
        rlimits = [
            "--core=0", f"--fsize={limits.max_file_mb << 20}", f"--nofile={limits.max_open_files}",
        ]  # fmt: skip
        if cgroups_writable():
            cgroups = CgroupPair(session_dir.name, limits.memory_mb << 20, limits.max_pids)
            if not cgroups.available:
                cgroups = None
        if cgroups is None:
            rlimits += [f"--as={(limits.memory_mb + AS_SLACK_MB) << 20}", f"--nproc={limits.max_pids * 16}"]
        scratch_bytes = str(limits.scratch_mb << 20)
        env = {**env, "HOME": SCRATCH, "MATHAGENT_DIR": INNER_DIR, "TMPDIR": "/tmp"}
        bwrap = [
            "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--new-session", "--hostname", "sandbox",
            # /tmp is its own scratch tmpfs, mounted before the interpreter binds: a venv that lives
            # under the host's /tmp (a CI clone in a temp folder) is then bound read-only inside it.
            "--size", scratch_bytes, "--perms", "1777", "--tmpfs", "/tmp",
            *_system_binds(), *_python_binds(),
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "0755", "--dir", "/run", "--perms", "0755", "--dir", "/home",
            "--size", scratch_bytes, "--perms", "1777", "--tmpfs", "/dev/shm",
            "--size", scratch_bytes, "--perms", "1777", "--tmpfs", SCRATCH,
            "--bind", str(session_dir), INNER_DIR,
            "--chdir", SCRATCH, "--clearenv",
            *[a for k, v in env.items() for a in ("--setenv", k, v)],
            "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP",
            "--", "prlimit", *rlimits, "--",
            "setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
            "sh", "-c", supervisor_script("-1"), "sh", *kernel_argv,
        ]  # fmt: skip
        join = "".join(f"echo $$ > '{f}' && " for f in (cgroups.procs_files if cgroups else []))
        cmd = ["sh", "-c", join + 'exec "$@"', "sh", *bwrap]
        log = open(session_dir / "kernel.log", "wb")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env={"PATH": "/usr/bin:/bin"},
                start_new_session=True,
            )  # fmt: skip
        except BaseException:
            if cgroups is not None:
                cgroups.remove()
            raise
        finally:
            log.close()
        return PopenProcess(proc, group=False, cgroups=cgroups)
