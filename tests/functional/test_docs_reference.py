"""The committed docs cannot drift: the reference is what scripts/docs renders, and relative links resolve."""

import os
import re
import subprocess
import sys
import unicodedata

from playbook import REPO_ROOT, collections_path

DOCS = REPO_ROOT / "docs"
REFERENCE = DOCS / "reference"
# [text](target) outside code; images too. Autolinks <http...> and bare URLs are not checked.
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


def _render(out_dir):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path())
    done = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "docs.py"), str(out_dir)], env=env, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
    assert done.returncode == 0, "scripts/docs.py failed:\n" + done.stderr


def test_reference_matches_the_plugins_documentation(tmp_path):
    _render(tmp_path)
    rendered = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.glob("*.md")}
    committed = {path.name: path.read_text(encoding="utf-8") for path in REFERENCE.glob("*.md")}
    # At least every module and the index: an empty rendering must not pass as "no difference".
    modules = {path.stem for path in (REPO_ROOT / "plugins" / "modules").glob("*.py")}
    assert {"%s_module.md" % name for name in modules} | {"README.md"} <= set(rendered)
    assert sorted(rendered) == sorted(committed), "docs/reference has other pages than scripts/docs renders: run scripts/docs"
    stale = [name for name in rendered if rendered[name] != committed[name]]
    assert not stale, "docs/reference is stale (%s): run scripts/docs and commit the result" % ", ".join(stale)


def _without_fences(text):
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _without_code(text):
    """Markdown text with fenced blocks and inline code removed (links there are examples, not links)."""
    return re.sub(r"`[^`\n]*`", "", _without_fences(text))


def _slug(heading):
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    kept = "".join(char for char in text if char in " -_" or unicodedata.category(char)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path):
    found, seen = set(), {}
    for line in _without_fences(path.read_text(encoding="utf-8")).splitlines():
        found.update(_EXPLICIT_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if match:
            slug = _slug(match.group(1))
            found.add(slug if slug not in seen else "%s-%d" % (slug, seen[slug]))
            seen[slug] = seen.get(slug, 0) + 1
    return found


def test_slug_follows_github():
    assert _slug("Rotate a key with `ssec.s3.rekey`") == "rotate-a-key-with-ssecs3rekey"
    assert _slug("Errors: message → cause → fix") == "errors-message--cause--fix"


def test_relative_links_in_docs_resolve():
    pages = sorted(DOCS.rglob("*.md"))
    assert len(pages) > len(list(REFERENCE.glob("*.md"))), "no hand-written pages under docs/"
    broken = []
    for page in pages:
        for target in _LINK.findall(_without_code(page.read_text(encoding="utf-8"))):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            file_part, _sep, anchor = target.partition("#")
            resolved = (page.parent / file_part).resolve() if file_part else page
            if not resolved.exists():
                broken.append("%s: %s (no such file)" % (page.relative_to(REPO_ROOT), target))
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append("%s: %s (no such anchor)" % (page.relative_to(REPO_ROOT), target))
    assert not broken, "broken links:\n" + "\n".join(broken)
