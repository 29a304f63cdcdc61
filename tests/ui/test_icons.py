"""No emoji as icons in the UI: Streamlit's Material icons (``:material/name:``) always draw,
while an emoji draws as an empty box on a machine without an emoji font (issue 21, item 8).

Walks the UI's source (``app.py``, ``app_pages/``, ``duet_ui/``) with ``ast``: every
``icon=``, ``page_icon=`` and ``avatar=`` given as text names a Material icon, and no other
string in the code (docstrings and comments aside) holds an emoji.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from streamlit.material_icon_names import ALL_MATERIAL_ICONS

ROOT = Path(__file__).resolve().parents[2]
# Pictographs, symbols and dingbats, arrows-and-shapes symbols, media symbols, the emoji
# variation selector: ⚠, ✂, ⏹, ⚙️, 🎭 ... (→, ≤, …, · and ↳ are text, not in these ranges)
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u23e9-\u23fa\ufe0f]")
ICON_ARGS = ("icon", "page_icon", "avatar")
MATERIAL = re.compile(r"^:material/([a-z0-9_]+):$")
# Pages another change reworks at the same time; checked once it is merged.


def ui_sources() -> list[Path]:
    files = [ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "duet_ui").rglob("*.py")]
    return sorted(files)


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes (module, class, function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def emoji_problems(source: str, name: str) -> list[str]:
    """Where ``source`` uses an emoji as an icon, as ``name:line: what``."""
    tree = ast.parse(source)
    skip = docstrings(tree)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ICON_ARGS:
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                match = MATERIAL.match(value.value)
                icon = match.group(1) if match else None
                if node.arg == "avatar" and match is None:  # BotConfig(avatar="science")
                    icon = value.value
                if icon not in ALL_MATERIAL_ICONS:
                    problems.append(f"{name}:{node.value.lineno}: {node.arg}={value.value!r}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and EMOJI.search(node.value)
        ):
            problems.append(f"{name}:{node.lineno}: {node.value[:40]!r}")
    return problems


def test_the_ui_uses_material_icons_not_emoji() -> None:
    sources = ui_sources()
    assert len(sources) > 20  # the walk found the UI
    problems = [
        p
        for f in sources
        for p in emoji_problems(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))
    ]
    assert problems == []


@pytest.mark.parametrize(
    "source",
    [
        'st.title("🎭 Duet")',
        'st.button("Delete", icon="🗑")',
        'st.Page("a.py", icon="⚖️")',
        'st.chat_message("Ada", avatar="🦉")',
        'BotConfig(name="Ada", avatar="🦉")',
        'st.error("No", icon=":material/not_an_icon_name:")',
        'NEW = "➕ New template"',
        'st.caption(f"⚙ {line}")',
    ],
)
def test_the_check_finds_an_emoji_icon(source: str) -> None:
    assert emoji_problems(source, "page.py")


def test_the_check_passes_material_icons_and_text() -> None:
    source = '''"""A docstring may show ⚠ and 🎭."""
st.title(":material/forum: Duet")  # a comment may too: 🎭
st.Page("a.py", icon=":material/history:")
st.chat_message("Ada", avatar=avatar_for(turn))
BotConfig(name="Ada", avatar="science")
st.caption("Ada: temperature 0.7 → 0.9 · ≤ 50 turns…")
'''
    assert emoji_problems(source, "page.py") == []
