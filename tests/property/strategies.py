# -*- coding: utf-8 -*-
# Copyright: ssec.s3 contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generators of the inputs the properties feed to the modules."""

from __future__ import annotations

from hypothesis import strategies as st

# Characters a user may well put in a name: ASCII punctuation (without / and \, which the name strategies
# place themselves), accented letters, CJK, emoji, a combining mark, a right-to-left letter, a space.
NAME_CHARACTERS = st.one_of(
    st.sampled_from("abcXYZ019 -_.+=()#%?&:~'!@,;[]{}$^`\"<>|*"),
    st.sampled_from(["é", "ß", "Å", "日", "本", "😀", "\u0301", "א", "\u00a0", "ﬁ"]),
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="/\\"),
)
# What some servers rewrite or refuse, and what is not text at all.
HOSTILE_CHARACTERS = st.sampled_from(["\\", "\t", "\n", "\r", "\x01", "\x7f", "\x00", "\udcff", "\ud800", "\ufeff"])


def _segment(characters, max_size=12):
    return st.text(characters, min_size=1, max_size=max_size).filter(lambda text: text not in (".", ".."))


PLAIN_SEGMENT = _segment(NAME_CHARACTERS)

# Names made of plain segments joined by single slashes: nothing in them for a server to rewrite.
plain_names = st.lists(PLAIN_SEGMENT, min_size=1, max_size=4).map("/".join)


@st.composite
def hostile_names(draw):
    """A plain name with what servers rewrite put in: repeated or trailing slashes, backslashes, '.' and '..'
    segments, control characters, lone surrogates (not UTF-8), or a length past S3's 1024 bytes."""
    segments = draw(st.lists(PLAIN_SEGMENT, min_size=1, max_size=4))
    for _insertion in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(segments)))
        segments.insert(where, draw(st.one_of(
            st.sampled_from(["", ".", "..", "\\", "a\\b", ".hidden", "..."]),
            st.text(st.one_of(NAME_CHARACTERS, HOSTILE_CHARACTERS), min_size=1, max_size=4),
        )))
    name = "/".join(segments)
    if draw(st.booleans()):
        name += draw(st.sampled_from(["/", "//", "\\", "/."]))
    if draw(st.integers(0, 9)) == 0:
        name += "x" * draw(st.integers(1000, 1030))
    return name


contents = st.binary(min_size=0, max_size=4096)


# ---- local trees for ssec.s3.sync ----------------------------------------------------------------

# Short segments from a small alphabet, so that the same name, case-only differences ("a" and "A") and a
# file where another entry needs a directory come up often.
TREE_SEGMENT = st.one_of(
    st.sampled_from(["a", "A", "b", "a b", ".hidden", "a..b", "x.txt", "X.TXT", "é", "É", "e\u0301", "日本", "😀",
                     "-", "~", "a;b", "%41", "+ +", "trailing ", " leading", "...x"]),
    PLAIN_SEGMENT,
)
# What h-sync's bugs are about: backslashes, names that are not UTF-8, control characters.
HOSTILE_TREE_SEGMENT = st.sampled_from(["a\\b", "\\", "bad\udcff", "\udcfe", "tab\tx", "nl\nx", "cr\rx", "\x01"])


@st.composite
def trees(draw, segment=TREE_SEGMENT, loops=False):
    """A tree to create under a directory: a dict with

    - ``files``: relative path (tuple of segments) -> bytes; no path is a parent of another;
    - ``dirs``: empty directories;
    - ``links``: relative path -> (kind, target) with kind ``file`` (to one of the files), ``dir`` (to a
      directory of the tree), ``broken`` or ``loop`` (to itself).
    """
    files = {}
    for path in draw(st.lists(st.lists(segment, min_size=1, max_size=3).map(tuple), min_size=1, max_size=8)):
        taken = set(files)
        parents = {path[:n] for n in range(1, len(path))}
        if path in taken or parents & taken or any(other[:len(path)] == path for other in taken):
            continue
        files[path] = draw(st.binary(max_size=300))
    parents = {path[:n] for path in files for n in range(1, len(path))}
    used = set(files) | parents

    def fresh(paths):
        return [path for path in paths if path not in used and not any(path[:n] in files for n in range(1, len(path)))
                and not any(other[:len(path)] == path for other in used)]

    dirs = []
    for path in fresh(draw(st.lists(st.lists(segment, min_size=1, max_size=2).map(tuple), max_size=2))):
        if path not in used:
            dirs.append(path)
            used.add(path)
    link_map = {}
    for path in fresh(draw(st.lists(st.tuples(segment).map(lambda t: ("link",) + t), max_size=3))):
        if path in used:
            continue
        kinds = ["broken"] + (["loop"] if loops else []) + (["file"] if files else []) + (["dir"] if parents else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "file":
            target = draw(st.sampled_from(sorted(files)))
        elif kind == "dir":
            target = draw(st.sampled_from(sorted(parents)))
        else:
            target = path if kind == "loop" else ("does-not-exist",)
        link_map[path] = (kind, target)
        used.add(path)
    return {"files": files, "dirs": dirs, "links": link_map}


# ---- metadata and content types ------------------------------------------------------------------

_TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789-"
# Metadata no server has a reason to alter: lowercase names, printable ASCII values without spaces at the ends.
plain_metadata = st.dictionaries(
    st.text(_TOKEN, min_size=1, max_size=12).filter(lambda name: name != "ssec-sha256"),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1, max_size=30),
    max_size=4)
# Everything else a user may write: case, '_', '.', spaces at the ends, empty values, unicode, control
# characters (each branch of one_of is drawn as often as the others: half the names are plausible).
hostile_metadata = st.dictionaries(
    st.one_of(st.text(_TOKEN + "ABZ_.", min_size=1, max_size=8),
              st.text(st.one_of(st.sampled_from(_TOKEN + "ABZ_. :/é\t"), NAME_CHARACTERS), max_size=12)),
    st.one_of(st.sampled_from(["", " ", " x", "x ", "a  b", "\t", "x\ty", "é", "=?utf-8?b?w6k=?=", "a,b", "\"q\""]),
              st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=30),
              st.text(st.one_of(NAME_CHARACTERS, HOSTILE_CHARACTERS), max_size=10)),
    min_size=1, max_size=4)
plain_content_types = st.one_of(
    st.none(), st.sampled_from(["text/plain", "application/json", "image/png", "text/html; charset=utf-8", "application/x-tar"]))
hostile_content_types = st.one_of(plain_content_types, st.text(max_size=20),
                                  st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40))


# ---- key inputs ----------------------------------------------------------------------------------

def _spread(draw, text):
    """Put spaces, tabs and newlines into ``text`` (as a wrapped or pasted key would have them)."""
    out = []
    for char in text:
        if draw(st.integers(0, 15)) == 0:
            out.append(draw(st.sampled_from([" ", "\n", "\r\n", "\t", "  "])))
        out.append(char)
    return "".join(out) + draw(st.sampled_from(["", "\n", " \n"]))


@st.composite
def key_inputs(draw):
    """(form, value): ``text`` values go to sse_customer_key, ``file`` values (bytes) to sse_customer_key_file."""
    import base64  # pylint: disable=import-outside-toplevel

    size = draw(st.one_of(st.just(32), st.integers(0, 70)))
    raw = draw(st.binary(min_size=size, max_size=size))
    kind = draw(st.sampled_from(["raw", "base64", "base64url", "hex", "HEX", "unicode", "garbage"]))
    if kind == "raw":
        return "file", raw
    if kind in ("base64", "base64url"):
        encode = base64.b64encode if kind == "base64" else base64.urlsafe_b64encode
        text = encode(raw).decode()
        if draw(st.booleans()):
            text = text.rstrip("=")
        text = _spread(draw, text)
    elif kind in ("hex", "HEX"):
        text = _spread(draw, raw.hex() if kind == "hex" else raw.hex().upper())
    elif kind == "unicode":
        text = base64.b64encode(raw).decode() + draw(st.sampled_from(["é", "\u00a0", "\u200b", "＝", "😀"]))
    else:
        text = draw(st.text(max_size=60))
    if draw(st.booleans()):
        return "text", text
    return "file", text.encode("utf-8", "surrogatepass")


@st.composite
def remote_trees(draw, hostile=False):
    """Object names (relative to a prefix) -> bytes, as other tools may have written them: with ``hostile``,
    also an object shadowing a "directory" (``a`` and ``a/b``), repeated, leading and trailing ``/``, ``.``
    and ``..`` parts, backslashes and control characters."""
    # Lone surrogates cannot be sent to S3 at all: the name property covers them.
    utf8 = HOSTILE_TREE_SEGMENT.filter(lambda text: not any(0xD800 <= ord(char) <= 0xDFFF for char in text))
    segment = st.one_of(TREE_SEGMENT, utf8) if hostile else TREE_SEGMENT
    names = draw(st.lists(st.lists(segment, min_size=1, max_size=3).map("/".join), min_size=1, max_size=6, unique=True))
    if hostile:
        for _extra in range(draw(st.integers(1, 3))):
            base = draw(st.sampled_from(names))
            names.append(draw(st.sampled_from([
                base + "/child", base.rsplit("/", 1)[0] if "/" in base else base + "-x",
                base.replace("/", "//", 1) if "/" in base else "//" + base, "./" + base, base + "/../up",
                base + "/", "dir/./" + base, base + "\\x"])))
    else:
        # Without shadowing: no name is a "directory" of another.
        names = [name for name in names if not any(other.startswith(name + "/") for other in names)]
    return {name: draw(st.binary(max_size=200)) for name in names}
