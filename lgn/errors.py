"""Errors a user can act on. The CLI prints them as one line and exits non-zero."""

from __future__ import annotations

from pathlib import Path


class LgnError(Exception):
    """A problem with the user's input or environment, with the fix in ``hint``."""

    def __init__(self, problem: str, hint: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.problem}; {self.hint}" if self.hint else self.problem


class FormatError(LgnError):
    """A file lgn was asked to load is missing, corrupt, of another kind or another version."""


class ToolError(LgnError):
    """An external tool (Yosys, nextpnr, a simulator) failed; its log holds the details."""

    def __init__(self, tool: str, message: str, log: Path | None) -> None:
        hint = f"see {log}" if log else None
        super().__init__(f"{tool} failed: {message}", hint)
        self.log = log
