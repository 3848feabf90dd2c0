"""The project's SLURM launcher for Hydra (`hydra/launcher=submitit_slurm`, configs/hydra/launcher/).

Hydra only instantiates launchers defined under the `hydra_plugins` package, and imports every module
here whenever it starts, so this stays a thin subclass of the submitit plugin's launcher; what it adds
lives in `ex_color.launch.slurm` and is imported only when a sweep runs on SLURM.
"""

from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as _SubmititSlurmLauncher


class SlurmLauncher(_SubmititSlurmLauncher):
    """submitit's SLURM launcher, quiet where sacct fails and safe to preempt (see ex_color.launch.slurm)."""

    def launch(self, job_overrides, initial_job_idx):
        from ex_color.launch.slurm import before_launch, launch_failed, sbatch_errors_said_once

        before_launch(self, len(job_overrides), initial_job_idx)
        try:
            with sbatch_errors_said_once():
                return super().launch(job_overrides, initial_job_idx)
        except Exception as error:
            launch_failed(self, error)  # one line and an exit for what it knows; else the error as it is
            raise

    def __call__(self, sweep_overrides, job_dir_key, job_num, job_id, singleton_state):
        from ex_color.launch.slurm import run_on_node

        return run_on_node(self, sweep_overrides, job_dir_key, job_num, singleton_state)
