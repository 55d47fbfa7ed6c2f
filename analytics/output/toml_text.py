"""Writing TOML values by hand, the one way every exported policy or rule file does it.

The standard library reads TOML but does not write it; the files we export are small and
flat, so a few exact rules are enough and keep a dependency away.
"""


def number_text(value: float) -> str:
    """60.0 -> "60", 2.5 -> "2.5": numbers as people write them (and TOML reads back)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = []
    for character in text:
        if character in ('"', "\\"):
            escaped.append("\\" + character)
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            escaped.append(f"\\u{ord(character):04X}")
        else:
            escaped.append(character)
    return '"' + "".join(escaped) + '"'
