"""autograd.functional: jacobian, hessian, vjp, jvp (written by a helper; placeholder removed)."""
