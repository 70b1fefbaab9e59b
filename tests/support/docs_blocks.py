"""Extract the runnable code blocks of the project's markdown (README.md, docs/*.md).

Conventions (documented in docs/architecture.md, "Tested docs"):

* A fenced block tagged ``python`` is a Python block: it runs in a fresh interpreter, in
  the file's working folder, in document order.
* A block tagged ``bash``/``sh``/``shell``/``console`` or untagged is a shell block. When a
  line starts with ``$ ``, only such lines are commands and the others are their expected
  output; otherwise every line whose program (after ``VAR=value`` prefixes) is
  ``selfsup``, ``python``, ``torchrun`` or ``bash`` is a command, and a block without such
  a line (a file tree, a table) is not a command block. A trailing ``# comment`` is kept
  (the shell ignores it); a line ending in ``\\`` continues on the next.
* A command line holding ``...``, ``[--``, ``<placeholder>`` or an upper-case placeholder
  (``DIR``, ``NAME``, ``FILE``) is a synopsis and is not run; nor are installation commands (``pip``, ``twine``,
  ``python -m build``): the test environment is already installed. Programs named
  ``selfsup-*`` that are installed console scripts (a plugin's commands) run too.
* When a ``$`` command's expected output holds a line ``selfsup: error: ...``, the command
  must fail with exit status 2 and print that line; every other command must succeed.
* ``<!-- docs-test: skip REASON -->`` on the line(s) just above a block marks it illustrative
  (a signature, an excerpt, a command that needs a GPU or data the project cannot carry).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Block", "Command", "extract_blocks", "SHELL_LANGS", "RUN_PROGRAMS", "SETUP_PROGRAMS"]

SHELL_LANGS = {"", "bash", "sh", "shell", "console"}
#: Programs whose command lines are run.
RUN_PROGRAMS = {"selfsup", "python", "python3", "torchrun", "bash"}
#: Installation commands: the test environment already did them.
SETUP_PROGRAMS = {"pip", "pip3", "twine"}
SKIP_MARK = re.compile(r"<!--\s*docs-test:\s*skip\b(.*?)-->")
PLACEHOLDER = re.compile(r"(?<![\w./=-])[A-Z][A-Z_]+(?![\w./-])")
ENV_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")


@dataclass
class Command:
    """One command line of a shell block and what the docs say it prints."""

    text: str
    line: int
    #: ``selfsup: error: ...`` lines the docs show after it (then it must fail with them).
    expected_errors: list[str] = field(default_factory=list)
    #: Why it is not run ("" when it runs).
    skip: str = ""


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    text: str
    skip: str = ""
    commands: list[Command] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def kind(self) -> str:
        return "python" if self.lang == "python" else "shell"


def _program(line: str) -> tuple[str, list[str]]:
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        words = line.split()
    while words and ENV_PREFIX.match(words[0]):
        words = words[1:]
    return (words[0] if words else ""), words


def _console_script(program: str) -> bool:
    """``selfsup-*`` programs that are installed console scripts (not a table's ``selfsup-builtin``)."""
    if not re.fullmatch(r"selfsup-[a-z0-9-]+", program):
        return False
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which(program, path=path) is not None


def _command_skip(line: str) -> str:
    program, words = _program(line)
    if program in SETUP_PROGRAMS or words[:3] in (["python", "-m", "build"], ["python", "-m", "pip"]):
        return "installation"
    words = line.split(" #", 1)[0].split()
    while words and ENV_PREFIX.match(words[0]):  # VAR=value prefixes are not placeholders
        words = words[1:]
    code = " ".join(words)
    if "..." in code or "…" in code or "[--" in code or PLACEHOLDER.search(code) or re.search(r"<[\w-]+>", code):
        return "synopsis"
    return ""


def _join_continuations(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, text in lines:
        if pending is not None:
            number, text = pending[0], pending[1] + " " + text.strip()
            pending = None
        if text.rstrip().endswith("\\"):
            pending = (number, text.rstrip()[:-1].rstrip())
            continue
        joined.append((number, text))
    if pending is not None:
        joined.append(pending)
    return joined


def _commands(block: Block) -> list[Command]:
    lines = _join_continuations([(block.line + 1 + i, text) for i, text in enumerate(block.text.splitlines())])
    prompted = any(text.startswith("$ ") for _, text in lines)
    commands: list[Command] = []
    for number, text in lines:
        if prompted:
            if text.startswith("$ "):
                command = text[2:].strip()
                commands.append(Command(command, number, skip=_command_skip(command)))
            elif commands and text.startswith("selfsup: error:"):
                commands[-1].expected_errors.append(text.strip())
            continue
        program, _ = _program(text)
        if program in RUN_PROGRAMS | SETUP_PROGRAMS or _console_script(program):
            commands.append(Command(text.strip(), number, skip=_command_skip(text)))
    return commands


def extract_blocks(path: Path) -> list[Block]:
    """The python and shell blocks of one markdown file, in order (skipped ones included)."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)(```+)\s*([\w+-]*)", lines[i])
        if not fence:
            i += 1
            continue
        ticks, lang = fence.group(2), fence.group(3).lower()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(ticks):
            end += 1
        body = "\n".join(line[len(fence.group(1)) :] for line in lines[i + 1 : end])
        skip = ""
        above = i - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        if above >= 0:
            mark = SKIP_MARK.search(lines[above])
            if mark:
                skip = mark.group(1).strip() or "illustrative"
        if lang == "python" or lang in SHELL_LANGS:
            block = Block(path, i + 1, lang, body, skip)
            if block.kind == "shell":
                block.commands = _commands(block)
            if block.kind == "python" or block.commands:
                blocks.append(block)
        i = end + 1
    return blocks
