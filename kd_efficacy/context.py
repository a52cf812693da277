"""RunContext: what the experiment root hands to every task and study."""

import dataclasses

import tensorflow as tf


@dataclasses.dataclass
class RunContext:
    model_dir: str
    seed: int = 0
    strategy: tf.distribute.Strategy = dataclasses.field(default_factory=tf.distribute.get_strategy)
    precision: str = "float32"
    jit_compile: bool = False
    is_chief: bool = True
    verbose: int = 2
    only_run: str | None = None  # a study trains only this run (tools/sweep.py)
    plan_only: bool = False  # a study checks and returns its plan, trains nothing

    def at(self, model_dir, seed=None):
        """The same context for a sub-run in ``model_dir`` (a study's run)."""
        return dataclasses.replace(
            self, model_dir=model_dir, seed=self.seed if seed is None else seed
        )
