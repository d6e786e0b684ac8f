"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode (thread-local)."""
import functools
import inspect

from ctorch import _C

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]

is_grad_enabled = _C.is_grad_enabled
is_inference_mode_enabled = _C.is_inference_mode_enabled


class _Mode:
    """A context manager that is also a decorator (with or without parentheses)."""

    def __new__(cls, *args, **kwargs):
        if cls._bare_decorator and len(args) == 1 and callable(args[0]) and not kwargs:
            return cls()(args[0])  # @no_grad without ()
        return super().__new__(cls)

    _bare_decorator = True

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return run

    def _wrap_generator(self, fn):
        """The mode applies while the generator runs, not while its caller does."""
        @functools.wraps(fn)
        def run(*args, **kwargs):
            gen = fn(*args, **kwargs)
            try:
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as e:
                        with self.clone():
                            response = gen.throw(e)
                    else:
                        with self.clone():
                            response = gen.send(request)
            except StopIteration as e:
                return e.value
        return run

    def clone(self):
        return self.__class__()

    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        _C._set_grad_enabled(self._mode())

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._prev)
        return False


class no_grad(_Mode):
    """Disables gradient recording: ops inside produce tensors without history."""

    def _mode(self):
        return False


class enable_grad(_Mode):
    """Enables gradient recording (inside no_grad)."""

    def _mode(self):
        return True


class set_grad_enabled(_Mode):
    """Sets grad mode on or off: at once when called, and for a with-block or a function."""

    _bare_decorator = False

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): mode must be a bool, not {type(mode).__name__}")
        self._prev = _C.is_grad_enabled()
        self.mode = mode
        _C._set_grad_enabled(mode)

    def __call__(self, fn):
        _C._set_grad_enabled(self._prev)  # as a decorator it only applies inside fn
        return super().__call__(fn)

    def clone(self):
        return set_grad_enabled(self.mode)

    def _mode(self):
        return self.mode

    def __enter__(self):
        pass  # already set by __init__; __exit__ restores the mode before it


class inference_mode(_Mode):
    """Like no_grad, for code that never needs gradients (mode=False: a no-op)."""

    def __init__(self, mode=True):
        self.mode = mode

    def clone(self):
        return inference_mode(self.mode)

    def _mode(self):
        return not self.mode and _C.is_grad_enabled()

    def __enter__(self):
        self._prev_inference = _C.is_inference_mode_enabled()
        _C._set_inference_mode(self.mode)
        super().__enter__()

    def __exit__(self, *exc):
        _C._set_inference_mode(self._prev_inference)
        return super().__exit__(*exc)
