"""pulumi-mlenv: machine-learning environments as code on Pulumi."""

from pulumi_mlenv.errors import MlenvError, SpecError

__all__ = ["MlenvError", "SpecError"]
__version__ = "0.1.0"
