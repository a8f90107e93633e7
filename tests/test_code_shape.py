"""The code stays readable: small modules, thin pages, short functions (limits from the layering issue)."""
import ast

import pytest

from tests.conftest import PROJECT_ROOT

SOURCES = sorted([*(PROJECT_ROOT / "core").rglob("*.py"), *(PROJECT_ROOT / "pages").rglob("*.py"),
                  PROJECT_ROOT / "app.py"])
MAX_MODULE, MAX_PAGE, MAX_FUNCTION = 400, 155, 50


def _name(path):
    return str(path.relative_to(PROJECT_ROOT))


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_modules_pages_and_functions_stay_small(path):
    text = path.read_text()
    is_page = path.parent.name == "pages" or path.name == "app.py"
    limit = MAX_PAGE if is_page else MAX_MODULE
    assert len(text.splitlines()) <= limit, f"{_name(path)}: {len(text.splitlines())} lines, keep it ≤ {limit}"
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION]
    assert not long, f"{_name(path)}: functions over {MAX_FUNCTION} lines: {long}"
