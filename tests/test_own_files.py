"""A researcher's own files beside them: the installed `excolor` script finds `_target_`s in the working
directory (as `python -m` would), alone and with `--seeds`, with no PYTHONPATH."""

import pytest

from conftest import installed_excolor

OWN_TERM = """
from dataclasses import dataclass


@dataclass(frozen=True)
class GramSpread:
    scale: float = 1.0

    def __call__(self, z):
        return self.scale * (z @ z.T).square().mean(-1)
"""

TERM = ["+regularizers.reg-x.loss._target_=my_terms.GramSpread", "+regularizers.reg-x.layers=[encoder]"]


def metric_header(run_dir) -> list[str]:
    return (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")


@pytest.mark.slow
def test_the_installed_script_finds_an_own_term_in_the_working_directory(tmp_path):
    (tmp_path / "my_terms.py").write_text(OWN_TERM)
    installed_excolor("train", "experiment=smoke", *TERM, "hydra.run.dir=single", cwd=tmp_path)
    installed_excolor("train", "--seeds", "0-1", "experiment=smoke", *TERM, "hydra.run.dir=together", cwd=tmp_path)
    for run_dir in (tmp_path / "single", tmp_path / "together" / "seed-0", tmp_path / "together" / "seed-1"):
        assert "train/reg-x" in metric_header(run_dir)


def test_a_target_missing_from_the_working_directory_is_named_in_one_line(tmp_path):
    result = installed_excolor("train", "experiment=smoke", *TERM, cwd=tmp_path, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "regularizers.reg-x.loss" in result.stderr and "my_terms" in result.stderr
    assert not (tmp_path / "outputs").exists()
