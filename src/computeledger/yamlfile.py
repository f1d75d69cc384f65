"""YAML as data, bounded: the user's figures and demand files are parsed by the safe loader
after a linear scan refuses what could make reading them explode (aliases, which let a few
lines stand for billions of nodes; nesting deeper than any real file; an oversized file)."""

from __future__ import annotations

from typing import Any

import yaml

from computeledger.errors import UsageError

MAX_BYTES = 10 * 2**20
MAX_DEPTH = 32


def load(text: str, where: str) -> Any:
    """The document in `text`, or a UsageError naming `where` and what was refused."""
    if len(text) > MAX_BYTES:
        raise UsageError(f"{where}: larger than {MAX_BYTES // 2**20} MB: not a figures or demand file")
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                raise UsageError(
                    f"{where}, line {mark.line + 1}: an alias (*{event.anchor}): anchors and aliases are "
                    "not read; write the value out"
                )
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise UsageError(
                        f"{where}, line {event.start_mark.line + 1}: nested more than {MAX_DEPTH} deep"
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{where}: not valid YAML: {exc}") from None
