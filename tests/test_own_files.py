"""A researcher's own files beside them: the installed `excolor` script finds `_target_`s in the working
directory (as `python -m` would), alone and with `--seeds`, with no PYTHONPATH."""

import pytest

from conftest import installed_excolor
from own_model import MODEL, OWN_MODEL

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


@pytest.mark.slow
def test_the_installed_script_finds_an_own_model_in_the_working_directory(tmp_path):
    from ex_color import runs

    (tmp_path / "my_model.py").write_text(OWN_MODEL)
    (tmp_path / "my_configs" / "model").mkdir(parents=True)
    (tmp_path / "my_configs" / "model" / "mine.yaml").write_text("_target_: my_model.MyAutoencoder\nwidth: 8\n")
    installed_excolor("train", "experiment=smoke", *MODEL, "hydra.run.dir=single", cwd=tmp_path)
    from_file = ["hydra.searchpath=[file://my_configs]", "model=mine"]  # a model config of one's own
    installed_excolor("train", "--seeds", "0-1", "experiment=smoke", *from_file, "hydra.run.dir=seeds", cwd=tmp_path)
    for run_dir in (tmp_path / "single", tmp_path / "seeds" / "seed-0", tmp_path / "seeds" / "seed-1"):
        saved = runs.load_checkpoint(run_dir)["excolor"]["model"]
        assert saved == {"_target_": "my_model.MyAutoencoder", "width": 8}
        assert runs.load_checkpoint(run_dir)["state_dict"]["model.encoder.1.weight"].shape == (8,)  # the LayerNorm
    result = installed_excolor("infer", "red", "--run", "seeds/seed-1", cwd=tmp_path)
    assert "red" in result.stdout
    installed_excolor("intervene", "--run", "single", "--kind", "prune", "intervention.dims=[3]", cwd=tmp_path)
    assert (tmp_path / "single" / "interventions" / "prune" / "metrics.json").is_file()


def test_a_target_missing_from_the_working_directory_is_named_in_one_line(tmp_path):
    result = installed_excolor("train", "experiment=smoke", *TERM, cwd=tmp_path, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "regularizers.reg-x.loss" in result.stderr and "my_terms" in result.stderr
    result = installed_excolor("train", "experiment=smoke", *MODEL, cwd=tmp_path, check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "model._target_: cannot import 'my_model.MyAutoencoder'" in result.stderr
    assert not (tmp_path / "outputs").exists()
