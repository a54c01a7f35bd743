"""The ONNX frontend: read an ONNX model (:mod:`hil.onnx.graph`) and plan it
(:func:`hil.onnx.importer.import_onnx`: a :class:`hil.plan.Plan`), the QLinear and QDQ layers as
dense layers (:mod:`hil.onnx.dense`), the other nodes in numpy (:mod:`hil.onnx.ops`)."""
