"""ctorch.optim: optimizers (PyTorch's API and single-tensor update rules) and lr_scheduler."""
from ctorch.optim.optimizer import Optimizer  # noqa: F401
from ctorch.optim.sgd import SGD  # noqa: F401
from ctorch.optim.adam import Adam, AdamW  # noqa: F401
from ctorch.optim.rmsprop import RMSprop  # noqa: F401
from ctorch.optim.adagrad import Adagrad  # noqa: F401
from ctorch.optim.adadelta import Adadelta  # noqa: F401
from ctorch.optim.adamax import Adamax  # noqa: F401
from ctorch.optim.nadam import NAdam  # noqa: F401
from ctorch.optim.radam import RAdam  # noqa: F401
from ctorch.optim import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
           "lr_scheduler"]
