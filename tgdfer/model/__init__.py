"""Model layer: the TG-DFER network (CLIP backbone, MGTN, text labels, visual prompt, MIL), its losses, the factory."""
from .network import TGDFER, Output, build_on_meta, create_model, model_report, trace_shapes

__all__ = ["TGDFER", "Output", "build_on_meta", "create_model", "model_report", "trace_shapes"]
