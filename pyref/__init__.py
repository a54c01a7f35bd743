"""pyref: the bit-exact integer reference model of the qmac datapath."""

from .beats import BeatStream, JobResult, jobs_to_beats, layer_to_beats, predict_jobs
from .checks import ShapeError, ValueRangeError
from .config import NAMED_CONFIGS, ROUNDING_MODES, ConfigError, QmacConfig, named_config
from .layer import Layer
from .model import LayerResult, compute, run_layer

__all__ = [
    "BeatStream",
    "ConfigError",
    "JobResult",
    "Layer",
    "LayerResult",
    "NAMED_CONFIGS",
    "QmacConfig",
    "ROUNDING_MODES",
    "ShapeError",
    "ValueRangeError",
    "compute",
    "jobs_to_beats",
    "layer_to_beats",
    "named_config",
    "predict_jobs",
    "run_layer",
]
