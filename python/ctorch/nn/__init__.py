"""ctorch.nn: Parameter, Module and its containers, layers, activations, losses, init and functional."""
from ctorch.nn import functional  # noqa: F401
from ctorch.nn import init  # noqa: F401
from ctorch.nn import utils  # noqa: F401
from ctorch.nn.parameter import Parameter  # noqa: F401
from ctorch.nn.modules import (ELU, GELU, SELU, Bilinear, Flatten, Hardsigmoid, Hardswish,  # noqa: F401
                               Hardtanh, Identity, LeakyReLU, Linear, LogSoftmax, Mish, Module, ModuleDict,
                               ModuleList, ParameterDict, ParameterList, PReLU, ReLU, ReLU6, Sequential,
                               Sigmoid, SiLU, Softmax, Softplus, Softsign, Tanh, Threshold, Unflatten)
from ctorch.nn.modules import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss,  # noqa: F401
                               CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
                               NLLLoss, SmoothL1Loss, TripletMarginLoss)
from ctorch.nn.modules import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm  # noqa: F401
from ctorch.nn.modules import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d  # noqa: F401
from ctorch.nn.modules import Embedding  # noqa: F401
from ctorch.nn.modules import MultiheadAttention  # noqa: F401
from ctorch.nn.modules import (Transformer, TransformerDecoder, TransformerDecoderLayer,  # noqa: F401
                               TransformerEncoder, TransformerEncoderLayer)
from ctorch.nn.modules import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
from ctorch.nn.modules import Fold, Unfold  # noqa: F401
from ctorch.nn.modules import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401
from ctorch.nn.modules import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: F401
from ctorch.nn.modules import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d,  # noqa: F401
                               AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, MaxUnpool2d)
