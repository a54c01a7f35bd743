"""Write the converter-made models of tests/data/converters (run with an environment that has
TensorFlow, tf-keras and torch).

Keras models through TFLiteConverter (full-integer int8 and 16x8) and PyTorch models through
both ``torch.onnx.export`` exporters, then ``onnxruntime.quantization.quantize_static``. Weights
and calibration data come from fixed seeds; the files are committed, the tests read only them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _calib(shape, n=32, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (1,) + tuple(shape)).astype(np.float32) for _ in range(n)]


def tflite(name, model, in_shape, mode="int8"):
    """Convert ``model`` to a full-integer .tflite file (``mode`` int8 or 16x8)."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x] for x in _calib(in_shape))
    if mode == "int8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    else:
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        conv.inference_input_type = tf.int16
        conv.inference_output_type = tf.int16
    data = conv.convert()
    (HERE / f"{name}.tflite").write_bytes(data)
    print(f"{name}.tflite: {len(data)} bytes")


def keras_models():
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(1)
    x = L.Input((12, 12, 3))
    y = L.Conv2D(8, 3, dilation_rate=2, padding="same", activation="relu")(x)
    y = L.Conv2D(4, 3, dilation_rate=2, padding="valid")(y)
    tflite("k_dilated_conv", keras.Model(x, y), (12, 12, 3))

    # the same with the batch fixed: the converter folds SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND
    x = L.Input((12, 12, 3), batch_size=1)
    y = L.Conv2D(8, 3, dilation_rate=2, padding="same", activation="relu")(x)
    y = L.Conv2D(4, 3, dilation_rate=2, padding="valid")(y)
    tflite("k_dilated_conv_b1", keras.Model(x, y), (12, 12, 3))

    x = L.Input((10, 10, 3))
    y = L.Conv2D(8, 3, activation="relu")(x)
    y = L.GlobalMaxPooling2D()(y)
    y = L.Dense(5)(y)
    tflite("k_global_max", keras.Model(x, y), (10, 10, 3))

    x = L.Input((12, 12, 2))
    y = L.Conv2D(6, 3, padding="same", activation="relu")(x)
    y = L.MaxPooling2D(2)(y)
    y = L.Conv2D(8, 3, padding="same", activation="relu")(y)
    y = L.AveragePooling2D(2)(y)
    y = L.Flatten()(y)
    y = L.Dense(5)(y)
    y = L.Softmax()(y)
    tflite("k_cnn_16x8", keras.Model(x, y), (12, 12, 2), mode="16x8")

    # LSTM(return_sequences=False): Keras 3 writes a WHILE loop that TensorFlow 2.21's
    # calibrator crashes on (SIGSEGV in FeedTensor); Keras 2 (tf_keras) makes the fused one in
    # lstm_models().
    x = L.Input((4, 3), batch_size=1)
    y = L.LSTM(5, unroll=True)(x)
    tflite("k_lstm_unrolled", keras.Model(x, y), (4, 3))

    x = L.Input((6, 4, 3))
    y = L.Permute((3, 1, 2))(x)
    y = L.Conv2D(4, 2)(y)
    tflite("k_transpose", keras.Model(x, y), (6, 4, 3))

    x = L.Input((6, 6, 3))
    y = L.Conv2DTranspose(4, 3, strides=2, padding="same")(x)
    tflite("k_transpose_conv", keras.Model(x, y), (6, 6, 3))

    x = L.Input((8, 8, 4))
    y = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = L.Conv2D(4, 3, padding="same")(y)
    y = L.Add()([x, y])
    y = L.ReLU()(y)
    tflite("k_residual", keras.Model(x, y), (8, 8, 4))


def lstm_models():
    """Keras 2 (the ``tf-keras`` package) ``LSTM(return_sequences=False)``: the converter fuses
    it into UNIDIRECTIONAL_SEQUENCE_LSTM and takes the last step with a STRIDED_SLICE."""
    import tf_keras as keras
    from tf_keras import layers as L

    keras.utils.set_random_seed(1)
    x = L.Input((6, 4), batch_size=1)
    y = L.LSTM(8)(x)
    tflite("k_lstm_last", keras.Model(x, y), (6, 4))


if __name__ == "__main__":
    # make_models.py [keras] [lstm] [torch [net ...]]: everything by default
    which = sys.argv[1:] or ["keras", "lstm", "torch"]
    if "keras" in which:
        keras_models()
    if "lstm" in which:
        lstm_models()
    if "torch" in which:
        from make_onnx import torch_models  # noqa: E402

        torch_models(which[which.index("torch") + 1 :])
