"""The command line's error boundary: a failure the user can act on is one line on stderr and
an exit code, never a traceback.

Every ``hems`` command runs inside :class:`ErrorBoundaryGroup`, which turns the project's typed
errors into messages: bad input (settings, a file given on the command line) exits 2, as
typer's own usage errors do; a runtime failure (a file that cannot be written, a port in use,
a database that cannot be reached, a record that does not exist) exits 1. Anything else is a bug:
it is reported in one line too, and with ``--debug`` (or ``HEMS_DEBUG=1``) its traceback is shown.
Input is validated where it enters (options' types and ranges, :func:`read_model`), so commands
need no try/except of their own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from hems.demo import DemoDataError
from hems.settings import SettingsError
from hems.storage.store import ConflictError, NotFoundError

DEBUG_ENV = "HEMS_DEBUG"
USAGE_EXIT = 2  # click's and typer's code for bad arguments
FAILURE_EXIT = 1

M = TypeVar("M", bound=BaseModel)


class InputError(ValueError):
    """A file or value given on the command line that cannot be used (exit 2)."""


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(text.split())


def validation_problems(exc: ValidationError) -> str:
    """Each invalid field of ``exc`` by name, on one line."""
    named = ((".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors())
    return "; ".join(f"{name}: {msg}" if name else msg for name, msg in named)


def read_model(path: Path, model: type[M]) -> M:
    """``model`` from the JSON file ``path``; invalid JSON (binary too) or fields raise
    :class:`InputError` naming the file and each bad field."""
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise InputError(f"{path}: {validation_problems(exc)}") from None


def writable_file(path: Path) -> Path:
    """An option callback: ``path``'s folder is created and must let us write ``path``, so an
    unwritable ``--out`` is refused before any work is done."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(f"cannot create {path.parent}: {exc.strerror}") from None
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory")
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise typer.BadParameter(f"cannot write {path}: permission denied")
    return path


def _message(exc: Exception) -> tuple[str, int] | None:
    """The message and exit code for an error the user can act on; None for a bug."""
    match exc:
        case SettingsError() | InputError() | DemoDataError():
            return str(exc), USAGE_EXIT
        case NotFoundError():
            return f"no {exc}", FAILURE_EXIT
        case ConflictError():
            return str(exc), FAILURE_EXIT
        case OSError(filename=str() | bytes() as name, strerror=str() as reason):
            return f"{reason}: {os.fsdecode(name)}", FAILURE_EXIT
        case OSError(strerror=str() as reason):
            return reason, FAILURE_EXIT
        case OSError():
            return str(exc), FAILURE_EXIT
        case SQLAlchemyError():
            cause = getattr(exc, "orig", None) or exc
            return f"database error: {cause}", FAILURE_EXIT
    return None


class ErrorBoundaryGroup(TyperGroup):
    """The root command group: runs the command and turns its failures into messages."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click Context (a private type)
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):  # usage errors, exits, ^C
            raise
        except Exception as exc:
            known = _message(exc)
            if known is not None:
                text, code = known
                typer.echo(f"Error: {one_line(text)}", err=True)
                raise typer.Exit(code) from None
            if ctx.params.get("debug"):  # --debug or HEMS_DEBUG (the root callback's option)
                raise
            typer.echo(
                f"Error: unexpected {type(exc).__name__}: {one_line(str(exc))} (a bug; run again "
                f"with --debug or {DEBUG_ENV}=1 for the traceback)",
                err=True,
            )
            raise typer.Exit(FAILURE_EXIT) from None
