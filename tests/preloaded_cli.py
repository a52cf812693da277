"""The CLI with TensorFlow's import paid once: a fork server for many short ``kd_efficacy.run``s.

A refused command (a bad input, tests/reliability/test_bad_inputs.py) spends ~5 s of CPU importing
TensorFlow and Keras and well under a second on its own check, so a catalogue of them launched as
separate ``python -m kd_efficacy.run`` processes is mostly imports. Here one server process
imports the entry point and everything a run imports, then forks one child per command; the child
sets its environment, argv and stdout/stderr (its working directory is the server's, the
checkout, where ``run_cli`` runs too) and calls the same
``run.entry_point()`` the module's ``__main__`` calls, so it is a fresh process (nothing it does
reaches the server or another command) that starts where ``python -m`` would be after its imports.

Why a separate server, not forks of pytest: the server never runs a TensorFlow op, so each child
initialises TF's runtime (thread pools, devices) itself, as a new process does; pytest's process
has run ops, and a fork of it would inherit a live runtime. The server is single-threaded (a
child forked beside a writing thread could inherit a held lock).

Limit: what TensorFlow reads once at its import (TF_CPP_MIN_LOG_LEVEL) has the server's value
(``cli_env()``'s); a command's own environment applies to everything read later (TF_CONFIG, and
CUDA_VISIBLE_DEVICES, which TensorFlow reads when it first lists devices, in the child).

Protocol: the client writes one JSON list of commands to the server's stdin ({"argv", "env",
"out", "err", "timeout"}); the server keeps up to ``jobs`` children running and prints
``{"index", "code"}`` per command as each ends (a timed-out child is killed: code -9).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future

from kd_testing import REPO_ROOT, cli_env


def _child(command):
    """In the forked child: become the command and exit with its status; never returns."""
    code = 1
    try:
        os.environ.clear()
        os.environ.update(command["env"])
        for fd, path in ((1, command["out"]), (2, command["err"])):
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(handle, fd)
            os.close(handle)
        sys.argv = ["kd_efficacy.run", *command["argv"]]
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from kd_efficacy import run

        try:
            run.entry_point()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
    except BaseException:  # as the interpreter would: a traceback, then exit status 1
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(commands, jobs, emit):
    """Runs ``commands`` with at most ``jobs`` children at a time; ``emit(index, code)`` each."""
    pending = list(enumerate(commands))
    running = {}  # pid -> (index, deadline)
    while pending or running:
        while pending and len(running) < jobs:
            index, command = pending.pop(0)
            sys.stdout.flush()  # a child must not inherit (and write again) a buffered line
            pid = os.fork()
            if pid == 0:
                _child(command)
            running[pid] = (index, time.monotonic() + command["timeout"])
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            emit(running.pop(pid)[0], os.waitstatus_to_exitcode(status))
            continue
        for pid, (_, deadline) in list(running.items()):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def _server_main():
    import kd_efficacy.experiment  # noqa: F401  (the imports every child would repeat)
    import kd_efficacy.run  # noqa: F401

    commands = json.loads(sys.stdin.readline())

    def emit(index, code):
        print(json.dumps({"index": index, "code": code}), flush=True)

    serve(commands, int(sys.argv[1]), emit)


def run_all(commands, jobs=2, timeout=300):
    """Starts ``commands`` (each ``(args, env)``: kd_efficacy.run's arguments and extra
    environment, as ``run_cli`` takes them) on a new server; returns one Future per command,
    resolving to a CompletedProcess with text stdout and stderr."""
    scratch = tempfile.mkdtemp(prefix="preloaded_cli_")
    requests, futures = [], []
    for i, (args, env) in enumerate(commands):
        out, err = (os.path.join(scratch, f"{i}.{name}") for name in ("out", "err"))
        env = cli_env(**(env or {}))
        requests.append(
            {"argv": list(args), "env": env, "out": out, "err": err, "timeout": timeout}
        )
        futures.append(Future())
    server = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), str(jobs)],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    server.stdin.write(json.dumps(requests) + "\n")
    server.stdin.close()

    def collect():
        for line in server.stdout:
            done = json.loads(line)
            request = requests[done["index"]]
            with open(request["out"]) as out, open(request["err"]) as err:
                argv = ["kd_efficacy.run", *request["argv"]]
                result = subprocess.CompletedProcess(argv, done["code"], out.read(), err.read())
            futures[done["index"]].set_result(result)
        server.wait()
        shutil.rmtree(scratch, ignore_errors=True)  # every finished command's output is read
        for future in futures:  # the server died before finishing these
            if not future.done():
                future.set_exception(
                    RuntimeError(f"preloaded CLI server exited {server.returncode}")
                )

    threading.Thread(target=collect, daemon=True).start()
    return futures


if __name__ == "__main__":
    _server_main()
