"""TensorFlow stays out of the processes that must not have it: pages, the CLI, the pool's parent."""
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

CHECK = """
import sys, runpy
{imports}
heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def _heavy_modules_after(imports: str) -> str:
    result = subprocess.run([sys.executable, "-c", CHECK.format(imports=imports)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_what_pages_and_the_pool_import_leaves_tensorflow_out():
    # The static rule is an import-linter contract (.importlinter); this checks the running import too:
    # the worker pool forks its workers from this process, and a fork after TensorFlow loaded is unsafe.
    imports = ("import core.cli, core.services.jobs, core.services.sweeps, core.services.catalog, "
               "core.services.previews, core.services.models, core.runtime.worker, core.views.compare")
    assert _heavy_modules_after(imports) == "none"


def test_catalog_and_validation_do_not_import_tensorflow():
    imports = ("from core.domain.config import TrainConfig, validate\n"
               "from core.data.datasets import catalog, load\n"
               "catalog(); validate(TrainConfig()); load('digits')  # the Data page loads datasets too")
    assert _heavy_modules_after(imports) == "none"


def test_planning_a_sweep_does_not_import_tensorflow(lab):  # lab: the store goes to a temp folder
    imports = ("from core.services import sweeps\n"
               "from core.domain.sweep_spec import assignment_preset\n"
               "sweeps.plan(assignment_preset(('digits',)))")
    assert _heavy_modules_after(imports) == "none"


def test_a_worker_imports_keras_without_scikit_learn_which_stays_importable():
    # scikit-learn is a sixth of Keras' import, for wrappers Train Lab never uses; the digits dataset still needs it.
    imports = ("from core.training.threads import import_tensorflow\n"
               "import_tensorflow()\n"
               "assert 'sklearn' not in sys.modules, 'scikit-learn came with Keras'\n"
               "from sklearn.datasets import load_digits\n"
               "assert load_digits().images.shape == (1797, 8, 8)")
    assert _heavy_modules_after(imports) == "keras,tensorflow"
