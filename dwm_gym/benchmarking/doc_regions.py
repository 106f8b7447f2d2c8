"""Generated regions of a docs page: text between two markers that a script rewrites from results.

A region reads::

    <!-- BEGIN GENERATED: scores-hopper-defaults -->
    ...made by benchmarks/render_docs.py; edit the results, not this text...
    <!-- END GENERATED: scores-hopper-defaults -->

:func:`fill_regions` puts freshly rendered text between each pair; a test compares the page with it, so a page
cannot drift from its results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

BEGIN = "<!-- BEGIN GENERATED: {name} -->"
END = "<!-- END GENERATED: {name} -->"
_REGION = re.compile(
    r"<!-- BEGIN GENERATED: (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- END GENERATED: (?P=name) -->", re.S
)


class RegionError(ValueError):
    """A page whose generated regions do not match what the renderer makes."""


def regions(text: str) -> dict[str, str]:
    """The generated regions of a page: name -> the text between its markers.

    Raises:
        RegionError: On a BEGIN marker without its END, or a name used twice.
    """
    found: dict[str, str] = {}
    for match in _REGION.finditer(text):
        if match["name"] in found:
            raise RegionError(f"generated region {match['name']!r} appears twice; give each region its own name")
        found[match["name"]] = match["body"]
    begins = re.findall(r"<!-- BEGIN GENERATED: ([\w.-]+) -->", text)
    unclosed = [name for name in begins if name not in found]
    if unclosed:
        raise RegionError(f"generated regions {unclosed} have no '{END.format(name='<name>')}' line after them")
    return found


def fill_regions(text: str, rendered: Mapping[str, str]) -> str:
    """``text`` with every region's body replaced by ``rendered[name]`` (a trailing newline is added).

    Raises:
        RegionError: If the page and ``rendered`` do not name the same regions: add the markers to the page,
            or a renderer for the region.
    """
    present = regions(text)
    if set(present) != set(rendered):
        raise RegionError(
            f"the page's generated regions {sorted(present)} differ from the rendered ones {sorted(rendered)}; "
            f"a region is '{BEGIN.format(name='<name>')}' ... '{END.format(name='<name>')}'"
        )

    def body(match: re.Match) -> str:
        content = rendered[match["name"]].rstrip("\n") + "\n"
        return f"{BEGIN.format(name=match['name'])}\n{content}{END.format(name=match['name'])}"

    return _REGION.sub(body, text)


def stale_regions(text: str, rendered: Mapping[str, str]) -> list[str]:
    """The names of the regions whose text differs from ``rendered`` (empty: the page matches its results)."""
    filled = regions(fill_regions(text, rendered))
    return [name for name, body in regions(text).items() if body != filled[name]]
