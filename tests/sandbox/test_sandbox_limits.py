"""Each limit demonstrated on the programs a reward hacker would try."""

import time

import pytest
from sandbox_helpers import PYTHON, marked_processes

from apprentice.sandbox import Limits, run_sandboxed

FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""

COUNT_FORKS = """
import os, sys, time
children = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    children += 1
print(children, flush=True)
"""


def test_timeout_kills_the_whole_tree_even_setsid_grandchildren(workspace, marker):
    sleeper = f"{PYTHON} -c 'import time; time.sleep(300)' {marker}"
    script = f"setsid {sleeper} & {sleeper} & {sleeper}"
    started = time.monotonic()
    result = run_sandboxed(["sh", "-c", script], workspace, Limits(wall_seconds=1.5))
    assert result.timed_out and result.returncode is None
    assert 1.5 <= result.duration_s < 5 and time.monotonic() - started < 6
    assert marked_processes(marker) == []


def test_fork_bomb_is_contained_and_cleaned_up(workspace, marker):
    result = run_sandboxed([PYTHON, "-c", FORK_BOMB, marker], workspace,
                           Limits(wall_seconds=3, processes=64))
    assert result.timed_out
    assert marked_processes(marker) == []


def test_shell_fork_bomb_is_contained_and_cleaned_up(workspace, marker):
    # The bomb keeps growing after the main shell exits; the namespace ends with it.
    bomb = "bomb() { bomb | bomb & }; bomb; sleep 1"
    result = run_sandboxed(["bash", "-c", bomb, marker], workspace,
                           Limits(wall_seconds=3, processes=64))
    assert result.duration_s < 6
    assert marked_processes(marker) == []


def test_forks_are_refused_at_the_process_limit(workspace, marker):
    result = run_sandboxed([PYTHON, "-c", COUNT_FORKS, marker], workspace,
                           Limits(wall_seconds=20, processes=20))
    # the shell (pid 1) and the python parent count too
    assert 0 < int(result.stdout) <= 18
    assert marked_processes(marker) == []


def test_memory_bomb_fails(workspace):
    bomb = "chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024**2))"
    result = run_sandboxed([PYTHON, "-c", bomb], workspace, Limits(memory_bytes=512 * 1024**2))
    assert result.returncode == 1 and "MemoryError" in result.stderr


def test_cpu_limit_kills_a_busy_loop(workspace):
    result = run_sandboxed([PYTHON, "-c", "while True: pass"], workspace,
                           Limits(cpu_seconds=1, wall_seconds=30))
    assert not result.timed_out and result.returncode in (128 + 24, 128 + 9)  # SIGXCPU/SIGKILL
    assert result.duration_s < 10


def test_file_size_limit(workspace):
    write = "open('big.bin', 'wb').write(b'x' * 4 * 1024**2)"
    result = run_sandboxed([PYTHON, "-c", write], workspace, Limits(file_size_bytes=1024**2))
    assert result.returncode != 0 and "File too large" in result.stderr
    assert (workspace / "big.bin").stat().st_size <= 1024**2


def test_open_files_limit(workspace):
    opener = "files = [open('data.txt') for _ in range(100)]"
    result = run_sandboxed([PYTHON, "-c", opener], workspace, Limits(open_files=32))
    assert result.returncode == 1 and "Too many open files" in result.stderr


def test_output_is_capped_with_a_visible_flag_and_no_deadlock(workspace):
    flood = ("import sys\nfor _ in range(200):\n    sys.stdout.write('o' * 50000)\n"
             "    sys.stderr.write('e' * 50000)\nprint('end')")
    result = run_sandboxed([PYTHON, "-c", flood], workspace, Limits(output_bytes=64 * 1024))
    assert result.returncode == 0 and result.output_truncated
    assert len(result.stdout) == 64 * 1024 and len(result.stderr) == 64 * 1024


def test_small_output_is_not_flagged(workspace):
    result = run_sandboxed(["echo", "hello"], workspace)
    assert result.passed and result.stdout == "hello\n" and not result.output_truncated


def test_non_utf8_output_is_decoded_with_replacement(workspace):
    write = "import sys; sys.stdout.buffer.write(b'\\xff\\xfe ok \\xc3\\n')"
    result = run_sandboxed([PYTHON, "-c", write], workspace)
    assert result.returncode == 0 and result.stdout == "\ufffd\ufffd ok \ufffd\n"


def test_os_exit_zero_reports_its_exit_and_leaves_nothing_behind(workspace, marker):
    code = ("import os, subprocess, sys\n"
            f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'],"
            " start_new_session=True)\nprint('done', flush=True)\nos._exit(0)")
    result = run_sandboxed([PYTHON, "-c", code], workspace)
    assert result.returncode == 0 and result.stdout == "done\n" and not result.timed_out
    assert marked_processes(marker) == []


def test_closed_output_does_not_escape_the_wall_clock(workspace):
    script = "exec >&- 2>&-; sleep 30"
    result = run_sandboxed(["sh", "-c", script], workspace, Limits(wall_seconds=1))
    assert result.timed_out and result.duration_s < 4


def test_signal_death_reports_128_plus_signal(workspace):
    result = run_sandboxed([PYTHON, "-c", "import os; os.kill(os.getpid(), 9)"], workspace)
    assert result.returncode == 128 + 9 and not result.timed_out


def test_stdin_is_fed(workspace):
    result = run_sandboxed([PYTHON, "-c", "import sys; print(sys.stdin.read().upper())"],
                           workspace, stdin="héllo")
    assert result.stdout == "HÉLLO\n"


@pytest.mark.parametrize("field", ["wall_seconds", "processes", "output_bytes"])
def test_non_positive_limits_are_rejected(field):
    from apprentice.errors import SandboxError

    with pytest.raises(SandboxError, match=field):
        Limits(**{field: 0})
