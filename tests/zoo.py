"""A zoo of architectures a user would bring to ``whynets diagnose``, none of them built by whynets: factories (each
takes ``hidden``, the keyword that scales its width) and the data each one eats, written by the tests.

Inputs arrive as float32 tensors (whynets' loaders), so the embedding model casts its token ids back to integers,
as a user's would. Every factory initializes with PyTorch's defaults (the global RNG, which whynets seeds).

    python -c "import zoo; print(zoo.ZOO)"          # from the tests folder
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

SEQ_LEN, SEQ_FEATURES, VOCAB = 8, 3, 16


class MLPDropout(nn.Module):
    def __init__(self, inputs: int = 16, hidden: int = 32, classes: int = 3, p: float = 0.2):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(inputs, hidden), nn.ReLU(), nn.Dropout(p),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(p), nn.Linear(hidden, classes))

    def forward(self, x):
        return self.net(x)


class CNNBatchNorm(nn.Module):
    """8×8 images (digits) as 64 features; two conv blocks with BatchNorm, global average pooling."""

    def __init__(self, hidden: int = 8, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(),
                                      nn.Conv2d(hidden, 2 * hidden, 3, padding=1), nn.BatchNorm2d(2 * hidden), nn.ReLU())
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        h = self.features(x.reshape(len(x), 1, 8, 8))
        return self.head(h.mean((2, 3)))


class Block(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv1d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm1d(channels)
        self.conv2, self.bn2 = nn.Conv1d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm1d(channels)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(h)))


class ResNet1d(nn.Module):
    def __init__(self, inputs: int = 16, hidden: int = 8, classes: int = 3):
        super().__init__()
        self.stem = nn.Conv1d(1, hidden, 3, padding=1)
        self.blocks = nn.Sequential(Block(hidden), Block(hidden))
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        h = self.blocks(torch.relu(self.stem(x.reshape(len(x), 1, -1))))
        return self.head(h.mean(-1))


class Recurrent(nn.Module):
    """A sequence classifier: (batch, SEQ_LEN·SEQ_FEATURES) read as SEQ_LEN steps of SEQ_FEATURES features."""

    def __init__(self, cell: str = "gru", hidden: int = 16, classes: int = 3):
        super().__init__()
        self.rnn = (nn.GRU if cell == "gru" else nn.LSTM)(SEQ_FEATURES, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.rnn(x.reshape(len(x), SEQ_LEN, SEQ_FEATURES))
        return self.head(out[:, -1])


class TransformerClassifier(nn.Module):
    def __init__(self, hidden: int = 16, classes: int = 3, heads: int = 2):
        super().__init__()
        self.embed = nn.Linear(SEQ_FEATURES, hidden)
        self.pos = nn.Parameter(torch.randn(SEQ_LEN, hidden) * 0.02)
        layer = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        h = self.embed(x.reshape(len(x), SEQ_LEN, SEQ_FEATURES)) + self.pos
        return self.head(self.encoder(h).mean(1))


class TokenEmbedding(nn.Module):
    """Token ids (stored as floats by the loader) → embeddings → mean → linear."""

    def __init__(self, hidden: int = 16, classes: int = 3):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, hidden)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.head(self.embed(x.long()).mean(1))


class ResidualRegressor(nn.Module):
    def __init__(self, inputs: int = 16, hidden: int = 32, outputs: int = 1):
        super().__init__()
        self.inp = nn.Linear(inputs, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.block = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, outputs)

    def forward(self, x):
        h = torch.tanh(self.inp(x.flatten(1)))
        return self.out(h + torch.tanh(self.block(self.norm(h))))


def mlp_dropout(hidden: int = 32):
    return MLPDropout(hidden=hidden)


def cnn_bn(hidden: int = 8):
    return CNNBatchNorm(hidden=hidden)


def resnet(hidden: int = 8):
    return ResNet1d(hidden=hidden)


def gru(hidden: int = 16):
    return Recurrent("gru", hidden)


def lstm(hidden: int = 16):
    return Recurrent("lstm", hidden)


def transformer(hidden: int = 16):
    return TransformerClassifier(hidden=hidden)


def embedding(hidden: int = 16):
    return TokenEmbedding(hidden=hidden)


def regressor(hidden: int = 32):
    return ResidualRegressor(hidden=hidden)


def multi_regressor(hidden: int = 32):
    return ResidualRegressor(hidden=hidden, outputs=3)


# name -> (factory, data kind, default hidden)
ZOO = {"mlp_dropout": (mlp_dropout, "features", 32), "cnn_bn": (cnn_bn, "digits", 8), "resnet": (resnet, "features", 8),
       "gru": (gru, "sequence", 16), "lstm": (lstm, "sequence", 16), "transformer": (transformer, "sequence", 16),
       "embedding": (embedding, "tokens", 16), "regressor": (regressor, "regression", 32),
       "multi_regressor": (multi_regressor, "multi_regression", 32)}


def make_data(kind: str, n_train: int = 240, n_test: int = 120, seed: int = 0) -> dict[str, np.ndarray]:
    """(x, y, x_test, y_test) of a learnable task for each data kind."""
    g = np.random.default_rng(seed)
    n = n_train + n_test
    if kind == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        idx = g.permutation(len(d.target))[:n]
        x, y = (d.data[idx] / 16.0).astype(np.float32), d.target[idx].astype(np.int64)
    elif kind == "features":
        w = g.normal(size=(16, 3))
        x = g.normal(size=(n, 16)).astype(np.float32)
        y = (x @ w + 0.3 * g.normal(size=(n, 3))).argmax(1)
    elif kind == "sequence":  # the class is which feature has the largest sum over the last half of the sequence
        x = g.normal(size=(n, SEQ_LEN, SEQ_FEATURES)).astype(np.float32)
        y = x[:, SEQ_LEN // 2:].sum(1).argmax(1)
        x = x.reshape(n, -1)
    elif kind == "tokens":  # the class is which third of the vocabulary the tokens come from most often
        x = g.integers(0, VOCAB, size=(n, SEQ_LEN))
        y = np.stack([(x // math.ceil(VOCAB / 3) == c).sum(1) for c in range(3)], 1).argmax(1)
        x = x.astype(np.float32)
    elif kind in ("regression", "multi_regression"):
        outputs = 1 if kind == "regression" else 3
        w = g.normal(size=(16, outputs)) / 4
        x = g.normal(size=(n, 16)).astype(np.float32)
        y = (np.sin(x @ w) + 0.1 * g.normal(size=(n, outputs))).astype(np.float32)
        y = y[:, 0] if outputs == 1 else y
    else:
        raise ValueError(kind)
    return {"x": x[:n_train], "y": y[:n_train], "x_test": x[n_train:], "y_test": y[n_train:]}


def trained(name: str, data: dict[str, np.ndarray], steps: int = 150, seed: int = 1, hidden: int | None = None):
    """The user's model: the factory, trained briefly with Adam (what a user hands whynets)."""
    factory, kind, default = ZOO[name]
    torch.manual_seed(seed)
    net = factory(hidden or default)
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    x, y = torch.tensor(data["x"]), torch.tensor(data["y"])
    regression = y.is_floating_point()
    for _ in range(steps):
        opt.zero_grad()
        out = net(x)
        loss = ((out.squeeze(-1) - y) ** 2).mean() if regression else nn.functional.cross_entropy(out, y)
        loss.backward()
        opt.step()
    return net.eval()
