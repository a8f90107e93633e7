"""requirements.txt names every package the app imports directly, pinned; the CUDA list matches it."""
import ast
import sys
from importlib.metadata import packages_distributions

from tests.conftest import PROJECT_ROOT


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            package, _, version = line.partition("==")
            assert version, f"{name}: {line} is not pinned with =="
            pins[package.split("[")[0].lower()] = version
    return pins


def _imported_top_level_modules() -> set[str]:
    names = set()
    for path in [PROJECT_ROOT / "app.py", *(PROJECT_ROOT / "pages").rglob("*.py"),
                 *(PROJECT_ROOT / "core").rglob("*.py"), *(PROJECT_ROOT / "trainlab").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"core", "pages", "trainlab", "__future__"}


def test_every_imported_package_is_pinned_in_requirements():
    pins = _pins("requirements.txt")
    distributions = packages_distributions()
    for module in sorted(_imported_top_level_modules()):
        providers = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        assert providers & set(pins), f"requirements.txt lacks {module} (from {', '.join(sorted(providers))})"


def test_the_cuda_list_is_the_same_but_for_tensorflow():
    cpu, cuda = _pins("requirements.txt"), _pins("requirements-cuda.txt")
    assert cpu.pop("tensorflow-cpu") == cuda.pop("tensorflow")
    assert cpu == cuda
