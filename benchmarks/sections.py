"""The one writer of the generated sections of the documents.

A generated section lies between two marker lines, ``<!-- BEGIN name -->`` and
``<!-- END name -->``; the benchmarks rewrite what is between them and leave the rest of
the document (hand-written text) alone.
"""
import os.path as osp
from typing import Optional, Tuple


def markers(name: str) -> Tuple[str, str]:
    """The start and end marker lines of section ``name``."""
    return f'<!-- BEGIN {name} -->', f'<!-- END {name} -->'


def read_section(text: str, name: str) -> str:
    """The body of section ``name`` of a document's text.

    Raises:
        ValueError: If the text lacks the section.
    """
    start, end = markers(name)
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f'no "{start}" ... "{end}" section')
    return text[i + len(start):j].strip('\n')


def replace_section(text: str, name: str, body: str, after: Optional[str] = None) -> str:
    """``text`` with the body of section ``name`` replaced by ``body`` (the markers stay).

    Args:
        text (str): The document.
        name (str): The section.
        body (str): Its new content.
        after (str, optional): Where a section the text lacks is added: after the last line
            that starts with this text (at the end when no line does). Without it a missing
            section is an error.

    Raises:
        ValueError: If the section is missing (and ``after`` is not given), or its markers
            are out of order.
    """
    start, end = markers(name)
    if after is not None and start not in text and end not in text:
        lines = text.splitlines(keepends=True)
        last = max((k for k, line in enumerate(lines) if line.startswith(after)), default=None)
        cut = len(text) if last is None else len(''.join(lines[:last + 1]))
        head = text[:cut] if text[:cut].endswith('\n') or not cut else text[:cut] + '\n'
        text = head + ('\n' if head else '') + f'{start}\n{end}\n' + text[cut:]
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f'no "{start}" ... "{end}" section to write into')
    return text[:i + len(start)] + '\n' + body.strip('\n') + '\n' + text[j:]


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
