"""The one writer of the documents' generated Markdown: tables, and the sections between
``<!-- BEGIN name -->`` and ``<!-- END name -->`` that the benchmarks rewrite (the text
outside them is left alone)."""
import os.path as osp
from typing import Iterable, Optional, Sequence, Tuple


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = 'l') -> str:
    """A Markdown table of the column titles ``header`` and the ``rows`` of cells (text),
    aligned as ``align`` says per column: 'l' left or 'r' right, and columns past its end
    right (by default the first column left, the others right)."""
    rule = ['---' if a == 'l' else '---:' for a in align.ljust(len(header), 'r')]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join(rule) + '|']
    return '\n'.join(lines + ['| ' + ' | '.join(row) + ' |' for row in rows])


def markers(name: str) -> Tuple[str, str]:
    """The start and end marker lines of section ``name``."""
    return f'<!-- BEGIN {name} -->', f'<!-- END {name} -->'


def _body_span(text: str, name: str) -> Tuple[int, int]:
    """Where the body of section ``name`` starts and ends in ``text``."""
    start, end = markers(name)
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f'no "{start}" ... "{end}" section')
    return i + len(start), j


def read_section(text: str, name: str) -> str:
    """The body of section ``name`` of a document's text; ValueError if it has none."""
    i, j = _body_span(text, name)
    return text[i:j].strip('\n')


def replace_section(text: str, name: str, body: str, after: Optional[str] = None) -> str:
    """The document ``text`` with the body of section ``name`` replaced by ``body`` (the
    markers stay). A section the text lacks is added after the last line that starts with
    ``after`` (at the end when no line does); without ``after`` it is a ValueError."""
    if after is not None and markers(name)[0] not in text:
        lines = text.splitlines(keepends=True)
        last = max((k for k, line in enumerate(lines) if line.startswith(after)),
                   default=len(lines) - 1)
        head = ''.join(lines[:last + 1])
        head = head.rstrip('\n') + '\n\n' if head else ''
        text = head + '\n'.join(markers(name)) + '\n' + ''.join(lines[last + 1:])
    i, j = _body_span(text, name)
    return text[:i] + '\n' + body.strip('\n') + '\n' + text[j:]


def write_section(path: str, name: str, body: str, after: Optional[str] = None) -> None:
    """:func:`replace_section` in the file ``path`` (created when missing and ``after`` is
    given)."""
    text = ''
    if osp.exists(path) or after is None:
        with open(path) as f:
            text = f.read()
    try:
        text = replace_section(text, name, body, after)
    except ValueError as error:
        raise ValueError(f'{path}: {error}') from None
    with open(path, 'w') as f:
        f.write(text)
