"""The oracles, engines that share no code with pyref (:mod:`hil.oracles.api`: what they hand
back): TFLite Micro (:mod:`hil.oracles.tflm`), LiteRT (:mod:`hil.oracles.litert`) and ONNX
Runtime (:mod:`hil.oracles.ort`, :mod:`hil.oracles.ort_kernels`, :mod:`hil.oracles.ort_check`).
"""
