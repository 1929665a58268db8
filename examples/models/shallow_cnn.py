"""The shallow CNN of the example models (Fashion-MNIST, 1x28x28 -> 10 classes).

`shallow_cnn.onnx` in this folder was trained with RepLens' own training engine
(`node --import tsx scripts/train_shallow.ts`, no Python) on exactly this architecture; its node names
follow the module paths below (`/conv1/Conv`, `/relu1/Relu`, ..., `/fc/Gemm`), so RepLens' code lenses
show the analyses of the ONNX file over the definitions in this file.

To export an equivalent model from PyTorch (torch 1.13 gives the same node names; its output node is
the final `/fc/Gemm` writing `logits`, where the RepLens-built file ends with an extra
`/output/Identity` node named `logits`):

    import torch
    from shallow_cnn import ShallowCNN

    model = ShallowCNN().eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), "shallow_cnn.onnx",
                      input_names=["input"], output_names=["logits"], opset_version=15,
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
"""
import torch
import torch.nn as nn


class ShallowCNN(nn.Module):
    """conv3x3(64)-ReLU, conv3x3(64)-ReLU, maxpool2, conv3x3(128)-ReLU, conv3x3(128)-ReLU, maxpool2, flatten, linear(10)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 3, padding=1)     # 64x28x28
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(64, 64, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)                     # 64x14x14
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)   # 128x14x14
        self.relu3 = nn.ReLU()
        self.conv4 = nn.Conv2d(128, 128, 3, padding=1)
        self.relu4 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)                     # 128x7x7
        self.flatten = nn.Flatten()                      # 6272
        self.fc = nn.Linear(128 * 7 * 7, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.conv1(x))
        x = self.pool1(self.relu2(self.conv2(x)))
        x = self.relu3(self.conv3(x))
        x = self.pool2(self.relu4(self.conv4(x)))
        return self.fc(self.flatten(x))
