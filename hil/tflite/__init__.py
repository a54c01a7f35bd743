"""The TFLite frontend: read a .tflite model (:mod:`hil.tflite.graph`) and plan it
(:func:`hil.tflite.importer.import_model`: a :class:`hil.plan.Plan`), each multiply-accumulate
operator as dense layers in the datapath's terms, every other operator a kernel of
:mod:`hil.kernels`; :mod:`hil.tflite.build` writes small models for the tests."""
