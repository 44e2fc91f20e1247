"""The layers of ``bot/``, read from the imports: the web layer (``bot/web/``, every
blueprint) is imported by the factory only; outside it, Flask is imported only by the
modules listed here (a list that may only shrink); and no module imports itself round a
circle."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
FLASK = ("flask", "flask_login", "flask_wtf", "flask_sqlalchemy", "flask_migrate", "werkzeug")
# Outside bot/web/, these import Flask and why. Take a name off when its module no longer
# needs it; never add one: a new module that needs a request belongs in bot/web/.
FLASK_OUTSIDE_WEB = {
    "bot": "the app factory",
    "bot.models": "Flask-SQLAlchemy's db",
    "bot.sms.answering": "the app's extensions (engine, spool, replier) for a text",
    "bot.accounts.auth": "werkzeug's password hashing (scrypt), not a request",
    "bot.ops.cli": "the command line is Flask's (click groups on the app)",
    "bot.ops.clock": "the scheduler runs jobs in the app's context",
    "bot.ops.doctor": "reads the app's settings and extensions",
    "bot.patients.importer": "a background import runs on the app's context",
    "bot.ops.logs": "request ids on log lines of a request",
}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(BOT.rglob("*.py")):
        parts = path.relative_to(BOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules ``name`` imports (of bot's, and outside packages by their top name)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            inner = [f"{base}.{alias.name}" for alias in node.names]
            subs = [n for n in inner if n in known]
            # "from bot import patients" imports bot.patients.records; "from bot.x import y", bot.x
            found.update(subs if len(subs) == len(inner) else [base, *subs])
    return {n if n in known else n.split(".")[0] for n in found}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, set(known)) for name, path in known.items()}


def in_web(name: str) -> bool:
    return name == "bot.web" or name.startswith("bot.web.")


def test_only_the_factory_imports_the_web_layer():
    importers = {
        name for name, used in graph().items() if not in_web(name) and any(in_web(u) for u in used)
    }
    assert importers == {"bot"}


def test_outside_the_web_layer_flask_only_where_listed():
    uses = {name for name, used in graph().items() if not in_web(name) and used & set(FLASK)}
    assert uses <= set(FLASK_OUTSIDE_WEB), sorted(uses - set(FLASK_OUTSIDE_WEB))
    assert set(FLASK_OUTSIDE_WEB) <= uses, "no longer needs Flask, take it off the list: " + (
        ", ".join(sorted(set(FLASK_OUTSIDE_WEB) - uses))
    )


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_circles_are_found():
    """The finder itself, on a graph with a circle and one without."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_circle_in_bot():
    assert circles(graph()) == []
