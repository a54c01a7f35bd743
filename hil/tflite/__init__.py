"""tflite: see docs/hil.md."""
