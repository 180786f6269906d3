"""Runs the READMEs' Python, Node and qgw snippets, as written, against a running gateway.

Which fenced blocks run (in README.md, clients/python/README.md, clients/node/README.md
and deploy/README.md, or the files named on the command line):

- ```python: with --python, in a scratch directory;
- ```js / ```javascript: with node, saved as a .js file inside --node-project, the
  consumer project the Node README's install step made (so `require` resolves there);
- ```sh (or bash, shell) whose first command starts with `qgw` or `cargo run -p qgw`:
  with bash -euo pipefail, in a scratch directory. `cargo run -p qgw -- ARGS` and
  `qgw ARGS` run the --qgw binary (CI builds it once; nothing else of cargo is mapped).
  Other sh blocks (cargo, grpcurl, docker, kubectl, pip, npm...) are not run and are
  only counted. A sh block that calls qgw on a later line but starts with something else
  is an error: put the qgw lines in a block of their own.

A block the runner would run but must not (a placeholder, a command that writes to /etc)
carries a marker on the line right before its fence, with the reason:

    <!-- snippet: skip (writes completions into /etc) -->

A marker with no reason, one not followed by a fence, or one before a block the runner
never runs is an error, so a marker cannot go stale silently.

What a snippet gets, and the only ways its text is changed (all printed per snippet):

- The address. The snippets name the default address, localhost:50051; CI's gateway
  listens elsewhere (--port, 50151 in .ci/run) so it never collides with a gateway a
  developer runs. The runner rewrites the port of `localhost:50051`, `127.0.0.1:50051`
  and `[::1]:50051` to --port and changes nothing else in the text. qgw snippets that
  name no --target get QGW_TARGET=http://127.0.0.1:PORT, qgw's own setting. (qgw takes
  only http(s):// targets today; plain host:port works there once its fix lands, and
  then QGW_TARGET may be given either way.)
- $TASK, in qgw snippets: the token of a task created (not started) just before the
  snippet runs, for lines such as `qgw start --task "$TASK"`.
- Files in the qgw scratch directory: clip.mp4 (64 KiB of zero bytes; the sandbox does
  not decode video) and query.json (one mp4 output of https://example.com/video.mp4),
  standing for the reader's own files of those names.

Usage (.ci/run runs it after the client packages are installed):
    python .ci/readme_snippets.py --port 50151 --python VENV/bin/python --qgw target/debug/qgw \\
        --node-project DIR [FILE.md ...]
    python .ci/readme_snippets.py --list [FILE.md ...]    # what would run or be skipped

The process running this script must be able to import qencode_gateway_client (it
creates the $TASK tasks); exits 1 when any snippet fails or any marker is wrong.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = ["README.md", "clients/python/README.md", "clients/node/README.md", "deploy/README.md"]
DEFAULT_PORT = "50051"
SNIPPET_TIMEOUT = 180  # seconds per snippet

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)[^`]*$")
MARKER = re.compile(r"^\s*<!--\s*snippet:(?P<body>.*?)-->\s*$")
SKIP = re.compile(r"^\s*skip\s*\((?P<reason>[^)]*\S[^)]*)\)\s*$")
QGW_COMMAND = re.compile(r"^\s*(qgw|cargo run -p qgw)(\s|$)")
ADDRESS = re.compile(r"\b(localhost|127\.0\.0\.1|\[::1\]):" + DEFAULT_PORT + r"\b")
LANGUAGES = {"python": "python", "py": "python", "js": "node", "javascript": "node",
             "sh": "shell", "bash": "shell", "shell": "shell"}

# `cargo run -p qgw -- ARGS` and `qgw ARGS` run the binary CI built; any other cargo fails.
SHELL_PRELUDE = """\
qgw() { "$QGW_BIN" "$@"; }
cargo() {
  if [[ ${1-} == run && ${2-} == -p && ${3-} == qgw ]]; then
    shift 3; [[ ${1-} == -- ]] && shift
    "$QGW_BIN" "$@"
  else
    echo "readme_snippets: only 'cargo run -p qgw' is mapped, not: cargo $*" >&2; return 127
  fi
}
set -euo pipefail
"""

QUERY_JSON = '{"query": {"source": "https://example.com/video.mp4", "format": [{"output": "mp4", "size": "640x360"}]}}\n'


@dataclass
class Block:
    path: str
    line: int  # of the opening fence, 1-based
    info: str
    text: str
    kind: Optional[str]  # "python", "node", "qgw", or None: not run
    skip: Optional[str]  # the marker's reason

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def first_command(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line
    return ""


def parse(path: str, problems: list[str]) -> list[Block]:
    """The fenced blocks of one Markdown file, with their kind and skip marker."""
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        marker = MARKER.match(lines[i])
        if marker:
            skip = SKIP.match(marker.group("body"))
            if not skip:
                problems.append(f"{path}:{i + 1}: unknown snippet marker (want <!-- snippet: skip (reason) -->)")
            elif i + 1 >= len(lines) or not FENCE.match(lines[i + 1]):
                problems.append(f"{path}:{i + 1}: a snippet marker must be right before a fence")
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, info = opening.group("indent"), opening.group("fence"), opening.group("info").lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        text = "\n".join(body) + "\n"
        language = LANGUAGES.get(info)
        kind = language
        if language == "shell":
            kind = "qgw" if QGW_COMMAND.match(first_command(text)) else None
            if kind is None and any(QGW_COMMAND.match(line) for line in body):
                problems.append(f"{path}:{i + 1}: a sh block calls qgw after other commands: give the qgw lines a block of their own")
        previous = MARKER.match(lines[i - 1]) if i > 0 else None
        reason = None
        if previous and SKIP.match(previous.group("body")):
            reason = SKIP.match(previous.group("body")).group("reason").strip()
            if kind is None:
                problems.append(f"{path}:{i + 1}: skip marker on a block the runner never runs (```{info})")
        blocks.append(Block(path, i + 1, info, text, kind, reason))
        i = j + 1
    return blocks


def rewrite_address(text: str, port: str) -> tuple[str, int]:
    return ADDRESS.subn(lambda m: f"{m.group(1)}:{port}", text)


def create_task() -> str:
    from qencode_gateway_client import Client  # the package under test, from its venv

    with Client(f"127.0.0.1:{ARGS.port}", timeout=30) as client:
        return client.create_task().task_token


def run(block: Block, number: int, scratch: Path) -> bool:
    text, rewrites = rewrite_address(block.text, ARGS.port)
    notes = [f"port 50051 -> {ARGS.port} x{rewrites}"] if rewrites else []
    env = dict(os.environ)
    if block.kind == "python":
        file = scratch / f"snippet_{number}.py"
        file.write_text(text)
        command, cwd = [ARGS.python, str(file)], scratch
    elif block.kind == "node":
        folder = Path(ARGS.node_project) / "readme-snippets"
        folder.mkdir(exist_ok=True)
        file = folder / f"snippet_{number}.js"
        file.write_text(text)
        command, cwd = ["node", str(file)], folder
    else:
        workdir = scratch / f"qgw_{number}"
        workdir.mkdir()
        (workdir / "clip.mp4").write_bytes(bytes(64 * 1024))
        (workdir / "query.json").write_text(QUERY_JSON)
        file = workdir / "snippet.sh"
        file.write_text(SHELL_PRELUDE + text)
        env["QGW_BIN"] = str(Path(ARGS.qgw).resolve())
        if "--target" not in text:
            # http:// because qgw takes no plain host:port yet (see the module docstring).
            env["QGW_TARGET"] = f"http://127.0.0.1:{ARGS.port}"
            notes.append(f"QGW_TARGET={env['QGW_TARGET']}")
        if "$TASK" in text or "${TASK}" in text:
            env["TASK"] = create_task()
            notes.append(f"TASK={env['TASK']}")
        command, cwd = ["bash", str(file)], workdir
    print(f"-- run {block.where} ```{block.info}" + (f" ({'; '.join(notes)})" if notes else ""), flush=True)
    try:
        done = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=SNIPPET_TIMEOUT, text=True)
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout or ""
        print(output if isinstance(output, str) else output.decode(errors="replace"))
        print(f"FAILED {block.where}: no end after {SNIPPET_TIMEOUT} s")
        return False
    lines = done.stdout.splitlines()
    shown = lines if done.returncode else lines[-8:]
    for line in shown:
        print(f"   | {line}")
    if done.returncode:
        print(f"FAILED {block.where}: exit {done.returncode}\n{text}")
        return False
    return True


def main() -> int:
    problems: list[str] = []
    blocks = [block for path in (ARGS.files or DEFAULT_FILES) for block in parse(path, problems)]
    runnable = [b for b in blocks if b.kind and not b.skip]
    skipped = [b for b in blocks if b.kind and b.skip]
    not_run = [b for b in blocks if not b.kind]
    for block in skipped:
        print(f"-- skip {block.where} ```{block.info}: {block.skip}")
    if ARGS.list:
        for block in runnable:
            print(f"-- would run {block.where} ```{block.info} ({block.kind})")
        for block in not_run:
            print(f"-- not a snippet the runner runs: {block.where} ```{block.info}")
    failed = 0
    if not ARGS.list and not problems:
        with tempfile.TemporaryDirectory(prefix="readme-snippets-") as scratch:
            for number, block in enumerate(runnable, 1):
                failed += not run(block, number, Path(scratch))
    for problem in problems:
        print(f"ERROR {problem}")
    if ARGS.list:
        print(f"{len(runnable)} to run, {len(skipped)} skipped by marker, {len(not_run)} other blocks")
        return 1 if problems else 0
    print(f"{len(not_run)} other fenced blocks are not snippets this runner runs (--list names them)")
    print(f"snippets: {len(runnable) - failed} passed, {failed} failed, {len(skipped)} skipped")
    return 1 if failed or problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", help=f"Markdown files, relative to the repository (default: {' '.join(DEFAULT_FILES)})")
    parser.add_argument("--list", action="store_true", help="only say what would run and what is skipped")
    parser.add_argument("--port", default=DEFAULT_PORT, help="the gateway's port on 127.0.0.1 / localhost")
    parser.add_argument("--python", default=sys.executable, help="interpreter with qencode_gateway_client installed")
    parser.add_argument("--qgw", default=str(ROOT / "target/debug/qgw"), help="the qgw binary")
    parser.add_argument("--node-project", help="a folder where qencode-gateway-client is npm-installed")
    ARGS = parser.parse_args()
    if not ARGS.list and ARGS.node_project is None:
        parser.error("--node-project is required to run snippets")
    os.chdir(ROOT)
    sys.exit(main())
