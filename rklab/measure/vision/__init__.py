"""Vision encoders (RKNNLite on the board, ONNX Runtime elsewhere) and image preprocessing."""
