"""The nn layers, re-exported by ctorch.nn."""
from ctorch.nn.modules.module import Module  # noqa: F401
from ctorch.nn.modules.container import (ModuleDict, ModuleList, ParameterDict, ParameterList,  # noqa: F401
                                         Sequential)
from ctorch.nn.modules.linear import Bilinear, Identity, Linear  # noqa: F401
from ctorch.nn.modules.flatten import Flatten, Unflatten  # noqa: F401
from ctorch.nn.modules.activation import (ELU, GELU, SELU, Hardsigmoid, Hardswish, Hardtanh,  # noqa: F401
                                          LeakyReLU, LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU,
                                          Softmax, Softplus, Softsign, Tanh, Threshold)
from ctorch.nn.modules.loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss,  # noqa: F401
                                    CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss,
                                    MSELoss, NLLLoss, SmoothL1Loss, TripletMarginLoss)
from ctorch.nn.modules.normalization import GroupNorm, LayerNorm  # noqa: F401
from ctorch.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from ctorch.nn.modules.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d  # noqa: F401
from ctorch.nn.modules.sparse import Embedding  # noqa: F401
from ctorch.nn.modules.attention import MultiheadAttention  # noqa: F401
from ctorch.nn.modules.transformer import (Transformer, TransformerDecoder,  # noqa: F401
                                           TransformerDecoderLayer, TransformerEncoder,
                                           TransformerEncoderLayer)
from ctorch.nn.modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
from ctorch.nn.modules.fold import Fold, Unfold  # noqa: F401
from ctorch.nn.modules.rnn import (GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell,  # noqa: F401
                                  RNNCellBase)
from ctorch.nn.modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d  # noqa: F401
from ctorch.nn.modules.pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d,  # noqa: F401
                                       AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d,
                                       MaxUnpool2d)
