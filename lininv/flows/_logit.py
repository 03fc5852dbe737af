r"""The logit preprocessing layer (signal side): data in a box, flow on the real line."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from lininv._validation import check_real
from lininv.flows._base import Bijector, check_dimension, register

__all__ = ["Logit"]


@register
class Logit(Bijector):
    r"""Logit preprocessing: signals in a box, latents on the real line.

    Parameters
    ----------
    n : int
        Dimension.
    alpha : float, default=0.01
        Margin :math:`0 < \alpha < 1/2` keeping the data away from the logit's poles.

    Notes
    -----
    Forward (latent side ``y`` to signal side ``x``), a scaled sigmoid :math:`\sigma`:

    .. math:: x = \frac{\sigma(y) - \alpha}{1 - 2\alpha}, \qquad
              \log\left|\det\frac{\partial x}{\partial y}\right|
              = \sum_i \log\sigma(y_i) + \log(1 - \sigma(y_i)) - \log(1 - 2\alpha);

    inverse :math:`y = \operatorname{logit}(\alpha + (1 - 2\alpha) x)`. The signal side is the open
    box :math:`(-\alpha/(1-2\alpha),\ (1-\alpha)/(1-2\alpha))^n`, which contains :math:`[0, 1]^n`:
    data scaled to [0, 1) (:func:`lininv.datasets.dequantize`) are inside. In exact arithmetic
    every output of ``forward`` is inside too; in float64 the sigmoid rounds to 1 for
    :math:`y \gtrsim 37` (and :math:`\sigma(y) - \alpha` to :math:`-\alpha` for very negative
    :math:`y`), so such outputs land on the edge of the box, where a flow's ``inverse`` refuses
    them and its ``log_prob`` is :math:`-\infty`.
    A flow may hold a Logit only as its last (signal-side) layer; its ``log_prob`` is
    :math:`-\infty` outside the box.

    References
    ----------
    .. [1] L. Dinh, J. Sohl-Dickstein, S. Bengio, "Density estimation using Real NVP", ICLR 2017,
       section 4.1.

    Examples
    --------
    >>> import numpy as np
    >>> from lininv.flows import Logit
    >>> layer = Logit(2, alpha=0.05)
    >>> y, ld = layer.inverse(np.array([0.5, 0.0]))
    >>> np.round(y, 4), np.round(layer.forward(y)[0], 12)
    (array([ 0.    , -2.9444]), array([0.5, 0. ]))
    """

    def __init__(self, n: int, alpha: float = 0.01) -> None:
        n = check_dimension(n)
        alpha = check_real("alpha", alpha, low=0.0, low_open=True)
        if alpha >= 0.5:
            raise ValueError(f"alpha must be < 0.5; got {alpha:g}")
        super().__init__(n)
        self.alpha = alpha

    @property
    def support(self) -> tuple[float, float]:
        """The open interval of each signal coordinate."""
        a = self.alpha
        return -a / (1.0 - 2.0 * a), (1.0 - a) / (1.0 - 2.0 * a)

    def _forward(self, y, keep):
        a = self.alpha
        s = expit(y)
        x = (s - a) * (1.0 / (1.0 - 2.0 * a))
        # log sigma(y) + log(1 - sigma(y)) = -softplus(-y) - softplus(y)
        ld = -np.sum(np.logaddexp(0.0, y) + np.logaddexp(0.0, -y), axis=1) - y.shape[1] * np.log1p(
            -2.0 * a
        )
        return x, ld, (s if keep else None)

    def _inverse(self, x, keep):
        a = self.alpha
        q = a + (1.0 - 2.0 * a) * x
        with np.errstate(divide="ignore", invalid="ignore"):  # outside the box: NaN, see Flow
            lq, l1q = np.log(q), np.log1p(-q)
        y = lq - l1q
        ld = x.shape[1] * np.log1p(-2.0 * a) - np.sum(lq + l1q, axis=1)
        return y, ld, (q if keep else None)

    def _forward_vjp(self, cache, gx, gld, grads):
        s = cache
        ds = s * (1.0 - s)
        gy = gx * ds * (1.0 / (1.0 - 2.0 * self.alpha))
        if gld is not None:
            gy += gld[:, None] * (1.0 - 2.0 * s)  # d/dy log(s (1 - s)) = 1 - 2 s
        return gy

    def _inverse_vjp(self, cache, gy, gld, grads):
        q = cache
        c = (1.0 - 2.0 * self.alpha) / (q * (1.0 - q))  # dy/dx
        gx = gy * c
        if gld is not None:
            gx += gld[:, None] * c * (2.0 * q - 1.0)  # d/dx (-log q - log(1-q))
        return gx

    def _config(self):
        return {"n": self.n, "alpha": self.alpha}
