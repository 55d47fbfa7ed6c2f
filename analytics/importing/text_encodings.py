"""Which text encoding a file is in, and what to call it: detection, the user's choice,
and the sentence for a file that is not text in it.

Split from ``reader`` (which reads the rows of a text table) so the encoding question, with
charset-normalizer and Python's codec names, reads in one place. ``UnreadableFileError``
lives here because both modules raise it.
"""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING

from analytics.errors import ContactLoadError

if TYPE_CHECKING:
    from charset_normalizer import CharsetMatch

DETECT_BYTES = 64 * 1024
"""Most bytes of non-ASCII lines the encoding detector looks at."""

DETECTABLE = (
    "cp1252", "cp1250", "cp1251", "iso8859-2", "cp1253", "cp1254", "cp1257", "koi8-r",
    "iso8859-15", "cp932", "euc_jp", "gb18030", "big5", "cp949",
)  # fmt: skip
"""Encodings the detector chooses among, in order of preference when two read alike (so
German or French text stays Windows-1252, as Excel writes it in Western Europe)."""

ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "cp1252": "Windows-1252",
    "cp1250": "Windows-1250",
    "cp1251": "Windows-1251",
    "cp1253": "Windows-1253",
    "cp1254": "Windows-1254",
    "cp1257": "Windows-1257",
    "iso8859-2": "ISO-8859-2",
    "iso8859-15": "ISO-8859-15",
    "koi8-r": "KOI8-R",
    "cp932": "Shift-JIS (Windows)",
    "shift_jis": "Shift-JIS",
    "euc_jp": "EUC-JP",
    "gb18030": "GB18030",
    "big5": "Big5",
    "cp949": "Windows-949 (Korean)",
}
"""How ``TextTable.describe`` names each encoding (Python's codec names as keys)."""

ENCODING_CHOICES = ("utf-8", "utf-16-le", "utf-16-be", *DETECTABLE, "shift_jis")
"""Encodings a user may choose instead of detection (Import page, ``--encoding``)."""

_MAX_CHAOS = 0.2
"""Most "mess" (charset-normalizer's share of odd characters) a detected reading may have."""

_UNDECODABLE = (
    "The text encoding of this file could not be recognised with confidence; save it as "
    "UTF-8 (in Excel: Save As > CSV UTF-8), or choose its encoding in the import settings "
    "(--encoding on the command line)."
)

_ODD_IN_WORD = re.compile(r"(?<=[^\W\d_])[^\w\s\x00-\x7f]|[^\w\s\x00-\x7f](?=[^\W\d_])")
"""A character outside ASCII that is no letter or digit, next to a letter."""

_NOT_TEXT = "This file is not a text (CSV) file; export the report as CSV and upload that file."


class UnreadableFileError(ContactLoadError):
    """The upload cannot be read as a table of text at all (empty, binary, no good rows)."""


def codec_name(encoding: str) -> str:
    """Python's own name of a text encoding the user named ("UTF-8", "windows-1250",
    "latin2"), or ``UnreadableFileError`` in one sentence when there is no such encoding."""
    try:
        info = codecs.lookup(encoding.strip())
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise UnreadableFileError(
            f"'{encoding}' is not a text encoding this program knows; use one of "
            f"{', '.join(ENCODING_CHOICES)}."
        )
    return info.name


def encoding_name(encoding: str) -> str:
    """How an encoding is shown to people ("Windows-1250", "Shift-JIS (Windows)")."""
    return ENCODING_NAMES.get(encoding, encoding)


def detect_encoding(sample: bytes) -> str:
    """The encoding (Python's codec name) charset-normalizer reads ``sample`` in best, among
    ``DETECTABLE``; ``UnreadableFileError`` when none reads it with little enough mess.

    Readings as clean as the best one are ranked by how well the text fits a language, then
    by ``DETECTABLE``'s order: German text reads the same in Windows-1252, -1250 and -1257,
    and the first is what such files are written in; Czech reads better in Windows-1250.
    """
    from charset_normalizer import from_bytes  # loads only for files that are not UTF-8

    names = {codecs.lookup(name).name: rank for rank, name in enumerate(DETECTABLE)}
    matches = [
        match
        for match in from_bytes(sample, cp_isolation=list(DETECTABLE), threshold=_MAX_CHAOS)
        if _codec(match) in names
    ]
    if not matches:
        raise UnreadableFileError(_UNDECODABLE)
    # Short samples (a column of names) leave charset-normalizer's own measures close: a
    # reading that puts symbols inside words ("Ma³gorzata", "Wi¶niewska") is wrong first.
    odd = {id(match): len(_ODD_IN_WORD.findall(str(match))) for match in matches}
    fewest = min(odd.values())
    plausible = [match for match in matches if odd[id(match)] == fewest]
    least = min(match.chaos for match in plausible)
    near = [match for match in plausible if match.chaos <= least + 0.01]
    best = min(near, key=lambda match: (-round(match.coherence, 2), names[_codec(match)]))
    # Encodings giving the very same text are equally right: name the usual one.
    alike = {
        codecs.lookup(name).name
        for match in near
        if str(match) == str(best)
        for name in (match.encoding, *match.could_be_from_charset)
    }
    return min(alike & names.keys(), key=names.__getitem__)


def _codec(match: CharsetMatch) -> str:
    """Python's codec name of a charset-normalizer match."""
    return codecs.lookup(match.encoding).name


def utf16_without_bom(sample: bytes) -> str:
    """ "utf-16-le" or "utf-16-be" when the sample (which holds NUL bytes) is UTF-16 text
    without a byte-order mark, as charset-normalizer reads it; else binary, one sentence."""
    from charset_normalizer import from_bytes

    even = sample[: len(sample) // 2 * 2]
    match = from_bytes(even, cp_isolation=["utf_16_le", "utf_16_be"], threshold=_MAX_CHAOS).best()
    if match is None:
        raise UnreadableFileError(_NOT_TEXT)
    return codecs.lookup(match.encoding).name


def _decoder(encoding: str) -> codecs.IncrementalDecoder:
    """An incremental decoder; Windows-1252 bytes it lacks become U+FFFD."""
    errors = "replace" if encoding in ("cp1252", "utf-8-sig") else "strict"
    return codecs.getincrementaldecoder(encoding)(errors=errors)


def _not_decodable(encoding: str) -> str:
    """The sentence for a file that is not valid text in ``encoding`` throughout."""
    return (
        f"This file is not valid {encoding_name(encoding)} text throughout (it may not be a "
        "text file at all); if it is a CSV export, choose its encoding in the import "
        "settings (--encoding on the command line) or save it as UTF-8."
    )
