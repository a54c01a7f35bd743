"""onnx: see docs/hil.md."""
