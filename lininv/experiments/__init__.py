"""The paper's experiments in miniature, on scikit-learn's 8x8 digits with a small flow prior.

Asim, Daniels, Leong, Ahmed and Hand (ICML 2020) ran their experiments with a Glow on CelebA;
here the same four (and the latent-likelihood proxy) run on the digits with the pretrained
default flow (:func:`lininv.flows.default_flow`) in minutes on one core (``docs/theory.md``,
section 9). Each experiment is one compute function returning an :class:`ExperimentResult`
(numbers and provenance, no figure), registered under its command name: ``lininv experiments
NAME`` runs it, :func:`save_result` writes it, :func:`lininv.plotting.plot_experiment` draws it.
Random draws come from named streams (:class:`Stream`); with an ``output`` folder, finished cells
are kept there and a rerun resumes.

API index
---------
Running
    run                      run a registered experiment by name (reduced settings optional)
    EXPERIMENTS              registered experiments by command name (Experiment), in run order
    SMALL                    each experiment's reduced settings, by command name
    register                 decorator: add an experiment (a compute function) under a name
    Experiment               one registered experiment: name, compute, summary, small
The experiments (each returns an ExperimentResult)
    compressed_sensing       1: error vs m, flow vs Lasso vs rank-k vs linear predictions
    denoising                2: error vs gamma at several noise levels, linear optimum marked
    inpainting               3: centre mask, z = 0 vs random starts
    initialisation           4a: error vs ||z_init|| at gamma = 0 and the best gamma
    dataset_bias             4b: train without a class, recover it (out of distribution)
    likelihood_proxy         rank correlation of ||z||^2 and -log p_G(x)
    claims                   the paper's claims measured from the saved results (runs last)
    measurement_factor       m_lasso / m at equal error, with a bootstrap CI (the one definition)
    MeasurementFactor        its factors, intervals and bound codes
Protocols
    PROTOCOLS, Protocol      "lininv" (converged, tuned, MSE) and "paper" (GlowIP's settings)
At the 28x28 scale (n = 784)
    compressed_sensing_28    flow vs Lasso vs linear Gaussian, m/n = 1..64%, the Lasso factor
    out_of_distribution_28   a digits prior recovering photographs and faces (CS, denoising)
    claims_28                the paper's claims at n = 784 from the saved 28x28 results
    denoising_28             flow (MAP, paper protocol) vs BM3D vs linear Gaussian, 3 noise levels
    inpainting_28            a centred 12x12 hole: flow vs Lasso vs linear Gaussian, hole error
The linear theory of dataset bias and ensembles, measured (no flow)
    prediction_accuracy      the mismatched prediction against Monte Carlo, spectra x truths
    ensembles                E(m) per measurement ensemble beside the Gaussian theory
    generator_crossover      invertible prior vs rank-k generator under dataset bias, m*
Results
    ExperimentResult         name, table (with provenance), params, data, figure_data, timing
    save_result              write NAME.csv and NAME.json (with provenance)
    load_result              read a saved result back (e.g. the committed docs/figures)
Data and settings
    digits_data, DigitsData  dequantised train / validation / test digits
    centre_mask              observed pixels for inpainting
    training_recipe          the default flow's training recipe, reused for the biased flow
    Stream, StartKey         the named random streams

Examples
--------
>>> from lininv import experiments
>>> list(experiments.EXPERIMENTS)[:2]
['compressed-sensing', 'denoising']
>>> experiments.SMALL["likelihood-proxy"]
{'n_samples': 300}
"""

from lininv.experiments._cells import StartKey, Stream
from lininv.experiments._claims import claims
from lininv.experiments._claims28 import claims_28
from lininv.experiments._compressed_sensing import compressed_sensing
from lininv.experiments._compressed_sensing28 import compressed_sensing_28
from lininv.experiments._data import DigitsData, centre_mask, digits_data
from lininv.experiments._dataset_bias import dataset_bias, training_recipe
from lininv.experiments._denoising import denoising
from lininv.experiments._denoising28 import denoising_28
from lininv.experiments._factor import MeasurementFactor, measurement_factor
from lininv.experiments._initialisation import initialisation
from lininv.experiments._inpainting import inpainting
from lininv.experiments._inpainting28 import inpainting_28
from lininv.experiments._likelihood_proxy import likelihood_proxy
from lininv.experiments._linear_theory import ensembles, generator_crossover, prediction_accuracy
from lininv.experiments._out_of_distribution28 import out_of_distribution_28
from lininv.experiments._protocols import PROTOCOLS, Protocol
from lininv.experiments._registry import EXPERIMENTS, SMALL, Experiment, register, run
from lininv.experiments._result import ExperimentResult, load_result, save_result

__all__ = [
    "run",
    "EXPERIMENTS",
    "SMALL",
    "register",
    "Experiment",
    "compressed_sensing",
    "denoising",
    "inpainting",
    "initialisation",
    "dataset_bias",
    "likelihood_proxy",
    "prediction_accuracy",
    "ensembles",
    "generator_crossover",
    "claims",
    "claims_28",
    "measurement_factor",
    "MeasurementFactor",
    "PROTOCOLS",
    "Protocol",
    "compressed_sensing_28",
    "out_of_distribution_28",
    "denoising_28",
    "inpainting_28",
    "ExperimentResult",
    "save_result",
    "load_result",
    "digits_data",
    "DigitsData",
    "centre_mask",
    "training_recipe",
    "Stream",
    "StartKey",
]
