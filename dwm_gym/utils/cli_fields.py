"""Command-line options derived from a dataclass: its fields are the one source of truth.

Each field becomes ``--field-name`` (``_`` -> ``-``) with the field's type, its default and, as help,
its entry in the dataclass's Google-style ``Attributes:`` docstring section::

    add_dataclass_arguments(parser, AgentRunConfig, overrides={"dataset": {"required": True}})
    config = dataclass_from_args(AgentRunConfig, parser.parse_args())

Types: ``int``, ``float``, ``str``, :class:`pathlib.Path`, ``typing.Literal[...]`` (choices), each
optionally ``| None``; ``bool`` becomes a ``--x`` / ``--no-x`` pair. A field without a default is a
required option.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

_SCALARS = (int, float, str, Path)
_ENTRY = re.compile(r"^(\w+)(?:\s*\([^)]*\))?\s*:\s*(.*)$")
_ROLE = re.compile(r":\w+:`(~?)([^`]+)`")  # :func:`a.b`, :class:`~a.B`


def field_docs(cls: type) -> dict[str, str]:
    """Field name -> description, from the ``Attributes:`` section of ``cls``'s Google-style docstring.

    Continuation lines of an entry are joined with single spaces; the section ends at the first
    line that is not indented below the ``Attributes:`` header.
    """
    docs: dict[str, str] = {}
    section_indent: int | None = None
    entry_indent: int | None = None
    current: str | None = None
    for line in (inspect.getdoc(cls) or "").splitlines():
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        if section_indent is None:
            if text == "Attributes:":
                section_indent = indent
            continue
        if not text:
            continue
        if indent <= section_indent:
            break
        if entry_indent is None:
            entry_indent = indent
        match = _ENTRY.match(text) if indent == entry_indent else None
        if match:
            current = match.group(1)
            docs[current] = match.group(2)
        elif current is not None and indent > entry_indent:
            docs[current] = f"{docs[current]} {text}".strip()
    return docs


def plain_help(text: str) -> str:
    """Docstring markup as plain ``--help`` text: ``x`` -> x, :func:`~a.b` -> b, ``%`` escaped for argparse."""
    text = _ROLE.sub(lambda m: m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2), text)
    text = text.replace("``", "")
    return text.replace("%", "%%")


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(type without ``None``, whether ``None`` is allowed)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(annotation))
    return annotation, False


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _option_strings(name: str, rename: Mapping[str, str | Sequence[str]]) -> list[str]:
    flags = rename.get(name, f"--{name.replace('_', '-')}")
    flags = [flags] if isinstance(flags, str) else list(flags)
    return [flag if flag.startswith("-") else f"--{flag}" for flag in flags]


def add_dataclass_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    exclude: Collection[str] = (),
    rename: Mapping[str, str | Sequence[str]] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    positional: Collection[str] = (),
) -> list[argparse.Action]:
    """Adds one option per field of dataclass ``cls`` (``dest`` = the field's name) to ``parser``.

    Args:
        parser: Parser or argument group.
        cls: A dataclass whose docstring documents every field under ``Attributes:``.
        exclude: Fields left out (set them yourself, e.g. through :func:`dataclass_from_args`'s ``values``).
        rename: Field -> flag(s) where the option is not ``--field-name``, e.g.
            ``{"out": ["--out", "-o"]}`` (a name without dashes gets ``--``).
        overrides: Field -> ``add_argument`` keyword arguments that replace the derived ones, e.g.
            ``{"dataset": {"required": True}, "steps": {"default": None}}``.
        positional: Fields that are positional arguments (``dwm-gym dataset info NAME``) instead of
            options; they must have no default.

    Returns:
        The added actions, in field order.

    Raises:
        ValueError: A field has no docstring entry (and no ``help`` override).
        TypeError: A field's type has no command-line form.
    """
    rename, overrides = rename or {}, overrides or {}
    unknown = (set(exclude) | set(rename) | set(overrides) | set(positional)) - {
        f.name for f in dataclasses.fields(cls)
    }
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
    docs, hints = field_docs(cls), typing.get_type_hints(cls)
    actions = []
    for field in dataclasses.fields(cls):
        if not field.init or field.name in exclude:
            continue
        extra = dict(overrides.get(field.name, {}))
        doc = docs.get(field.name, "").strip()
        if not doc and not extra.get("help"):
            raise ValueError(
                f"{cls.__name__}.{field.name} has no entry in the docstring's 'Attributes:' section, "
                "which is its --help text"
            )
        kind, optional = _unwrap(hints[field.name])
        default = _default(field)
        kwargs: dict[str, Any] = {"dest": field.name, "help": plain_help(doc)}
        if kind is bool and not optional:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is typing.Literal:
            values = typing.get_args(kind)
            kwargs.update(type=type(values[0]), choices=list(values))
        elif kind in _SCALARS:
            kwargs["type"] = kind
            kwargs["metavar"] = {int: "N", float: "X", Path: "PATH"}.get(kind)
        else:
            raise TypeError(f"{cls.__name__}.{field.name}: no command-line form for type {hints[field.name]!r}")
        if field.name in positional:
            if default is not dataclasses.MISSING:
                raise ValueError(f"{cls.__name__}.{field.name} has a default: a positional argument cannot")
            kwargs.pop("dest")  # argparse names a positional argument by its dest
            kwargs.pop("metavar", None)
            kwargs.update(extra)
            actions.append(parser.add_argument(field.name, **kwargs))
            continue
        if default is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
        kwargs.update(extra)
        if kwargs.get("metavar") is None:
            kwargs.pop("metavar", None)
        if not kwargs.get("required") and kwargs.get("default") is not None and "%(default)" not in kwargs["help"]:
            kwargs["help"] = kwargs["help"].rstrip().removesuffix(".") + " (default: %(default)s)"
        actions.append(parser.add_argument(*_option_strings(field.name, rename), **kwargs))
    return actions


def dataclass_from_args(cls: type, args: argparse.Namespace, *, exclude: Collection[str] = (), **values: Any):
    """``cls`` built from the parsed options of :func:`add_dataclass_arguments`; ``values`` take precedence.

    Fields that are excluded, or absent from ``args``, keep the dataclass's default unless given in ``values``.
    A ``ValueError`` of the dataclass's checks that starts with a field's name is re-raised naming its flag
    (``steps must be ...`` -> ``--steps must be ...``).
    """
    kwargs = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(cls)
        if f.init and f.name not in exclude and hasattr(args, f.name)
    }
    try:
        return cls(**{**kwargs, **values})
    except ValueError as exc:  # the settings' checks name the field: name the flag the user typed instead
        message = str(exc)
        name = message.split(" ", 1)[0]
        if name in kwargs and name not in values:
            raise ValueError(f"--{name.replace('_', '-')}{message[len(name) :]}") from exc
        raise
