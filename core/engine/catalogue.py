"""The synthesizers the studio offers, described for people and validated for SDV.

Each :class:`SynthesizerSpec` carries what a student needs to choose (how it works, speed,
when to pick it), the real SDV hyperparameters with their ranges, and three presets.
:func:`resolve_params` turns a preset plus the user's overrides into concrete parameters
for a given data size; :func:`validate_params` refuses bad combinations *before* a fit
starts (SDV would fail minutes later, or never); :func:`build_synthesizer` makes the
synthesizer (SDV's Gaussian Copula, or the studio's subclasses of SDV's deep models).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.engine.patches import load_libraries
from core.errors import ParameterError

__all__ = [
    "PRESETS",
    "auto_batch_size",
    "REGISTRY",
    "ParamSpec",
    "SynthesizerSpec",
    "build_synthesizer",
    "default_delta",
    "dp_capable",
    "dp_synthesizers",
    "get_spec",
    "resolve_params",
    "check_shape",
    "sdv_kwargs",
    "synthesizers_for",
    "validate_params",
]

#: Preset names in the order the UI shows them.
PRESETS: tuple[str, ...] = ("quick", "balanced", "best")

_DISTRIBUTIONS = ("norm", "beta", "truncnorm", "uniform", "gamma", "gaussian_kde")


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter.

    Attributes:
        name: The SDV argument name (or a studio option such as ``early_stopping``).
        label: Short label for the form.
        kind: "int", "float", "choice", "bool" or "layers" (a tuple of layer widths).
        help: One sentence on what the knob does.
        minimum: Lowest allowed value (numbers; per layer for "layers").
        maximum: Highest allowed value.
        choices: Allowed values for "choice".
        log_scale: Show on a log scale (learning rates).
        studio_only: Not passed to SDV (handled by the studio's trainer).
    """

    name: str
    label: str
    kind: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    log_scale: bool = False
    studio_only: bool = False


@dataclass(frozen=True)
class SynthesizerSpec:
    """A synthesizer as the studio presents it.

    Attributes:
        key: Stable identifier used on the command line ("ctgan").
        title: Display name.
        class_name: The SDV class in ``sdv.single_table`` (the deep ones are built as the
            studio's subclass of it, ``core.engine.studio_models``).
        tagline: One line for the card.
        how_it_works: A paragraph a student can follow.
        diagram: A tiny text picture of the idea.
        speed: Typical speed, in words.
        when_to_pick: When it is the right choice.
        params: Hyperparameters shown in the advanced panel.
        presets: Parameter values for each of :data:`PRESETS`.
        deep: Trains a neural network in epochs (progress and loss curve available).
        loss_columns: Columns of ``loss_values`` to plot.
        picture: A small Graphviz (DOT) drawing of the idea, for the card.
        dp_params: The differential-privacy parameters (``epsilon``, ``delta``), empty for a
            synthesizer that cannot train with a formal guarantee. They are in no preset:
            absent (or ``epsilon`` None) means no differential privacy, so the parameters
            and the training key of a model without it stay as they were.
        shapes: The data shapes it learns: "table" (independent rows) and/or "sequence"
            (events of entities, ``TableSchema.sequence`` set).
    """

    key: str
    title: str
    class_name: str
    tagline: str
    how_it_works: str
    diagram: str
    speed: str
    when_to_pick: str
    params: tuple[ParamSpec, ...]
    presets: Mapping[str, Mapping[str, Any]]
    deep: bool
    loss_columns: tuple[str, ...] = field(default_factory=tuple)
    picture: str = ""
    dp_params: tuple[ParamSpec, ...] = ()
    shapes: tuple[str, ...] = ("table",)

    def param(self, name: str) -> ParamSpec:
        """The spec of one parameter (KeyError if unknown)."""
        for spec in (*self.params, *self.dp_params):
            if spec.name == name:
                return spec
        raise KeyError(name)


_EPOCHS = ParamSpec("epochs", "Epochs", "int",
                    "Passes over the data. More epochs learn finer detail but take longer "
                    "and, on small data, start copying rows.", 1, 5000)
_BATCH = ParamSpec("batch_size", "Batch size", "int",
                   "Rows per training step; 0 = chosen from the data size. Larger is faster "
                   "per epoch but learns less per pass.", 0, 20000)
_EMBEDDING = ParamSpec("embedding_dim", "Noise / latent size", "int",
                       "Size of the random input (GAN) or the compressed code (VAE).", 2, 1024)
_EARLY_STOP = ParamSpec("early_stopping", "Stop when the loss stops improving", "bool",
                        "Ends training early once the loss has plateaued, keeping the time for "
                        "what matters.", studio_only=True)
_PATIENCE = ParamSpec("patience", "Patience (epochs)", "int",
                      "How many epochs without improvement before stopping early.", 2, 500,
                      studio_only=True)
_TIME_LIMIT = ParamSpec("time_limit", "Time limit (seconds)", "int",
                        "Training ends after the epoch that would run past this many seconds "
                        "(counted from the start of the fit) and keeps what it learned; "
                        "0 = no limit.", 0, 86_400, studio_only=True)
#: The parameters of differential privacy (TabularARGN's DP-SGD, core/engine/tabular_argn.py).
_EPSILON = ParamSpec("epsilon", "Privacy budget ε", "float",
                     "ε limits how much any one person's row can change the model: smaller ε "
                     "= stronger privacy, less faithful data; ε around 1-10 is common. "
                     "Empty = no differential privacy.", 0.01, 1000.0, studio_only=True)
_DELTA = ParamSpec("delta", "Failure chance δ", "float",
                   "The small chance that the ε guarantee fails. Keep it far below one over "
                   "the number of rows; empty = chosen from the data size.", 1e-12, 1e-3,
                   log_scale=True, studio_only=True)
_DP_NAMES = (_EPSILON.name, _DELTA.name)
#: The default δ per person, and the most chance of failing for anyone in the table.
_DELTA_PER_ROW, _DELTA_FOR_ALL = 1e-5, 0.1

_DEFAULT_DISTRIBUTION = ParamSpec(
    "default_distribution", "Shape assumed for numbers", "choice",
    "The family of curves fitted to each numeric column before they are joined. 'beta' fits "
    "bounded, skewed data; 'norm' is fastest; 'gaussian_kde' follows any shape but is slow.",
    choices=_DISTRIBUTIONS,
)
# The Gaussian Copula also takes the studio's own "empirical" shape (core/engine/marginals.py).
_COPULA_DISTRIBUTION = replace(
    _DEFAULT_DISTRIBUTION,
    help="How the shape of each numeric column is learned before the columns are joined. "
    "'empirical' copies each column's real histogram (exact counts for columns with few "
    "values, such as 0, 1, 2 support calls) and is as fast as 'norm'; 'beta' fits a smooth "
    "curve to bounded, skewed data; 'norm' assumes a bell curve; 'gaussian_kde' follows any "
    "shape but is slow on large tables.",
    choices=("empirical", *_DISTRIBUTIONS),
)
_GAN_PARAMS = (
    _EPOCHS,
    _BATCH,
    ParamSpec("pac", "Pac (rows judged together)", "int",
              "The critic looks at this many rows at once, which discourages the generator "
              "from repeating one good row. Batch size must be a multiple of it.", 1, 50),
    _EMBEDDING,
    ParamSpec("generator_dim", "Generator layers", "layers",
              "Width of each hidden layer of the generator, e.g. 256, 256.", 8, 2048),
    ParamSpec("discriminator_dim", "Critic layers", "layers",
              "Width of each hidden layer of the critic (discriminator).", 8, 2048),
    ParamSpec("generator_lr", "Generator learning rate", "float",
              "Step size of the generator's optimiser.", 1e-6, 1e-1, log_scale=True),
    ParamSpec("discriminator_lr", "Critic learning rate", "float",
              "Step size of the critic's optimiser.", 1e-6, 1e-1, log_scale=True),
    ParamSpec("discriminator_steps", "Critic steps per generator step", "int",
              "How often the critic trains for each generator update (WGAN uses 5).", 1, 10),
    ParamSpec("generator_average", "Average the generator", "float",
              "A GAN's generator swings from step to step. The studio keeps a running average "
              "of its weights and samples from that, which is steadier: 0.995 averages about "
              "the last 200 steps; 0 = off, as in SDV.", 0.0, 0.9999, studio_only=True),
    _EARLY_STOP,
    _PATIENCE,
    _TIME_LIMIT,
)

# Balanced uses 128-wide networks: on 2 CPU cores its time limit allows only ~20 epochs at
# SDV's 256, and at equal epochs the smaller networks scored higher (10k x 20 table:
# quality 0.83 vs 0.75 after 20 epochs) while each epoch costs less. Sampling from the
# generator's average (same training) raised that table from 0.80 to 0.85 (seed 0, 55 s).
# Best stays SDV's defaults.
_CTGAN_PRESETS = {
    "quick": {"epochs": 30, "batch_size": 0, "pac": 10, "embedding_dim": 128,
              "generator_dim": (128, 128), "discriminator_dim": (128, 128),
              "generator_lr": 2e-4, "discriminator_lr": 2e-4, "discriminator_steps": 1,
              "generator_average": 0.99, "early_stopping": False, "patience": 20,
              "time_limit": 20},
    "balanced": {"epochs": 150, "batch_size": 0, "pac": 10, "embedding_dim": 128,
                 "generator_dim": (128, 128), "discriminator_dim": (128, 128),
                 "generator_lr": 2e-4, "discriminator_lr": 2e-4, "discriminator_steps": 1,
                 "generator_average": 0.995, "early_stopping": True, "patience": 25,
                 "time_limit": 55},
    "best": {"epochs": 300, "batch_size": 500, "pac": 10, "embedding_dim": 128,
             "generator_dim": (256, 256), "discriminator_dim": (256, 256),
             "generator_lr": 2e-4, "discriminator_lr": 2e-4, "discriminator_steps": 1,
             "generator_average": 0.0, "early_stopping": False, "patience": 40,
             "time_limit": 0},
}

_DOT_STYLE = ('graph [rankdir=LR, bgcolor=transparent, fontname="Helvetica", fontsize=11]; '
              'node [shape=box, style="rounded,filled", fillcolor="#edf2ff", color="#3b5bdb", '
              'fontname="Helvetica", fontsize=11]; edge [color="#495057"];')


def _picture(body: str) -> str:
    return f"digraph {{ {_DOT_STYLE} {body} }}"


REGISTRY: dict[str, SynthesizerSpec] = {
    "gaussian_copula": SynthesizerSpec(
        key="gaussian_copula",
        title="Gaussian Copula",
        class_name="GaussianCopulaSynthesizer",
        picture=_picture('shapes [label="shape of\\neach column"]; bells [label="bell curves"]; '
                         'corr [label="one correlation\\ntable", fillcolor="#fff4e6", '
                         'color="#f08c00"]; rows [label="new rows"]; '
                         'shapes -> bells -> corr -> rows;'),
        tagline="Statistics, not deep learning: fast, steady, explainable.",
        how_it_works=(
            "It first learns the shape of every column on its own (for example, incomes are "
            "skewed to the right). It then turns each column into a bell curve and measures "
            "how the columns move together with one correlation table. To make new rows it "
            "draws correlated bell-curve values and turns each back into its column's shape."
        ),
        diagram="column shapes ─► bell curves ─► correlation table ─► new rows",
        speed="Seconds, even for 100,000 rows. No GPU needed.",
        when_to_pick=(
            "Start here. Best for numbers with simple relations and for a quick baseline; "
            "it can miss rare categories and relations that are not straight lines."
        ),
        params=(
            _COPULA_DISTRIBUTION,
            ParamSpec(
                "per_class", "One copula per target class", "bool",
                "Fit a separate copula to each class of the target (e.g. fraud and not "
                "fraud), so what sets a rare class apart is kept. Needs a categorical target.",
                studio_only=True,
            ),
        ),
        # Balanced and Best are the same on purpose: measured on the samples, empirical
        # shapes plus one copula per class gave the best quality and utility (beta smooths
        # away count columns and bumps; gaussian_kde is as good but 30-80x slower to sample).
        presets={
            "quick": {"default_distribution": "norm", "per_class": False},
            "balanced": {"default_distribution": "empirical", "per_class": True},
            "best": {"default_distribution": "empirical", "per_class": True},
        },
        deep=False,
    ),
    "ctgan": SynthesizerSpec(
        key="ctgan",
        title="CTGAN",
        class_name="CTGANSynthesizer",
        picture=_picture('noise [label="random noise"]; gen [label="generator", '
                         'fillcolor="#fff4e6", color="#f08c00"]; fake [label="fake rows"]; '
                         'real [label="real rows"]; '
                         'critic [label="critic:\\nreal or fake?"]; noise -> gen -> fake -> '
                         'critic; real -> critic; critic -> gen [style=dashed, '
                         'label="feedback"];'),
        tagline="Two networks compete: a forger and a critic.",
        how_it_works=(
            "A generator network turns random noise into rows; a critic network sees real "
            "and generated rows and tries to tell them apart. Each learns from the other "
            "until the critic can no longer tell. It samples training rows category by "
            "category, so rare categories are still seen (a 'conditional' GAN)."
        ),
        diagram="noise ─► generator ─► fake rows ─┐\n"
                "                  real rows ─────┴─► critic: real or fake?",
        speed="Minutes on a CPU (epochs × rows); much faster on a GPU.",
        when_to_pick=(
            "Mixed tables with many categories, rare classes and non-linear relations, when "
            "you can wait. Watch both loss curves: they should settle, not diverge. On a CPU "
            "with a one-minute budget it copies column shapes well but learns less of how "
            "the columns predict the target than TVAE (measured on a 10,000-row table: "
            "train-on-synthetic ratio about 0.5 against TVAE's 0.98), so prefer TVAE when "
            "the synthetic rows will train a model. Wide tables on a CPU are the wrong pick: "
            "on a 55-column table it needs about 16 epochs for quality 0.80, which the "
            "one-minute limit gives only on an otherwise idle machine (Train warns when not)."
        ),
        params=_GAN_PARAMS,
        presets=_CTGAN_PRESETS,
        deep=True,
        loss_columns=("Generator Loss", "Discriminator Loss"),
    ),
    "tvae": SynthesizerSpec(
        key="tvae",
        title="TVAE",
        class_name="TVAESynthesizer",
        picture=_picture('row [label="real row"]; enc [label="encoder"]; code [label="short code",'
                         ' fillcolor="#fff4e6", color="#f08c00"]; dec [label="decoder"]; '
                         'out [label="rebuilt / new row"]; row -> enc -> code -> dec -> out; '
                         'noise [label="random code"]; noise -> dec [style=dashed];'),
        tagline="Squeeze each row into a code, then learn to rebuild it.",
        how_it_works=(
            "An encoder network compresses each row into a short code; a decoder learns to "
            "rebuild the row from the code. Training pushes the codes to look like plain "
            "random noise, so new rows come from decoding fresh noise (a variational "
            "autoencoder)."
        ),
        diagram="row ─► encoder ─► short code ─► decoder ─► rebuilt row\n"
                "          new rows = decoder(random code)",
        speed="Usually faster than CTGAN on a CPU, and steadier to train.",
        when_to_pick=(
            "A strong default among the deep models for mid-sized tables; often the best "
            "fidelity per minute, wide tables included (55 columns: quality 0.82 after 7 "
            "epochs on a CPU). One loss curve that should go down and flatten."
        ),
        params=(
            _EPOCHS,
            _BATCH,
            _EMBEDDING,
            ParamSpec("compress_dims", "Encoder layers", "layers",
                      "Width of each hidden layer of the encoder.", 8, 2048),
            ParamSpec("decompress_dims", "Decoder layers", "layers",
                      "Width of each hidden layer of the decoder.", 8, 2048),
            ParamSpec("l2scale", "Weight decay", "float",
                      "Penalty on large weights; higher values smooth the model.", 0.0, 1.0,
                      log_scale=True),
            ParamSpec("loss_factor", "Rebuild weight", "float",
                      "How much the rebuild error counts against keeping codes random.",
                      0.1, 100.0),
            _EARLY_STOP,
            _PATIENCE,
            _TIME_LIMIT,
        ),
        presets={
            "quick": {"epochs": 50, "batch_size": 0, "embedding_dim": 128,
                      "compress_dims": (128, 128), "decompress_dims": (128, 128),
                      "l2scale": 1e-5, "loss_factor": 2.0, "early_stopping": False,
                      "patience": 20, "time_limit": 20},
            "balanced": {"epochs": 200, "batch_size": 0, "embedding_dim": 128,
                         "compress_dims": (128, 128), "decompress_dims": (128, 128),
                         "l2scale": 1e-5, "loss_factor": 2.0, "early_stopping": True,
                         "patience": 20, "time_limit": 55},
            "best": {"epochs": 300, "batch_size": 500, "embedding_dim": 128,
                     "compress_dims": (256, 256), "decompress_dims": (256, 256),
                     "l2scale": 1e-5, "loss_factor": 2.0, "early_stopping": False,
                     "patience": 40, "time_limit": 0},
        },
        deep=True,
        loss_columns=("Loss",),
    ),
    "copula_gan": SynthesizerSpec(
        key="copula_gan",
        title="CopulaGAN",
        class_name="CopulaGANSynthesizer",
        picture=_picture('shapes [label="column shapes\\n(copula)"]; bells [label="bell curves"];'
                         ' gan [label="CTGAN", fillcolor="#fff4e6", color="#f08c00"]; '
                         'back [label="reshape back"]; rows [label="new rows"]; '
                         'shapes -> bells -> gan -> back -> rows;'),
        tagline="CTGAN with the Gaussian Copula's column shapes as a head start.",
        how_it_works=(
            "Before the GAN sees the data, each numeric column is reshaped into a bell curve "
            "using the shape the Gaussian Copula learns for it. The GAN then only has to "
            "learn how columns relate, not each column's odd shape."
        ),
        diagram="column shapes ─► bell curves ─► CTGAN ─► reshape back ─► new rows",
        speed="Like CTGAN, plus a few seconds to learn column shapes.",
        when_to_pick=(
            "Numeric columns with unusual, skewed or bounded shapes where CTGAN alone "
            "struggles. Otherwise choose CTGAN or TVAE."
        ),
        params=(*_GAN_PARAMS, _DEFAULT_DISTRIBUTION),
        presets={name: {**values, "default_distribution": "beta"}
                 for name, values in _CTGAN_PRESETS.items()},
        deep=True,
        loss_columns=("Generator Loss", "Discriminator Loss"),
    ),
    "sequential_trees": SynthesizerSpec(
        key="sequential_trees",
        title="Decision trees, column by column",
        class_name="SequentialTreesSynthesizer",
        picture=_picture('first [label="first column:\\nits own shape"]; second '
                         '[label="next column:\\ntree on the ones before", '
                         'fillcolor="#fff4e6", color="#f08c00"]; rest [label="... each '
                         'column in turn"]; rows [label="new rows\\n(no copies)"]; '
                         'first -> second -> rest -> rows;'),
        tagline="One small decision tree per column: fast, faithful, with privacy guards.",
        how_it_works=(
            "The columns are visited one after another, the column to predict first. For "
            "each column a decision tree learns to guess it from the columns already "
            "visited. A new row is made in the same order: each value is drawn from the "
            "real values in the tree's matching group of rows. Privacy guards are on: every "
            "group holds at least a minimum number of real rows, numbers are drawn near a "
            "real value rather than copied, and a new row identical to a real one is drawn "
            "again."
        ),
        diagram="column 1 ─► tree(column 1) ─► column 2 ─► tree(columns 1, 2) ─► … ─► new row",
        speed="Seconds, even for wide tables. No GPU needed.",
        when_to_pick=(
            "A strong first choice for tables with categories and relations that are not "
            "straight lines (synthpop's method): on the shipped samples it matched or beat "
            "the Gaussian Copula (quality 0.96-0.98) in a few seconds. On tables of a few "
            "hundred rows new rows sit closer to real ones: raise 'Smallest group'. A number "
            "that is really a code (a country's number) is blurred across groups of rows, "
            "so its link to other columns is lost: mark such a column as an id."
        ),
        params=(
            ParamSpec("min_leaf", "Smallest group (rows)", "int",
                      "Each tree's groups hold at least this many real rows. Larger groups "
                      "protect people better and blur rare details.", 1, 5000),
            ParamSpec("max_depth", "Deepest tree", "int",
                      "How many questions a tree may ask in a row; 0 = as many as the "
                      "smallest group allows.", 0, 100),
            ParamSpec("smoothing", "Blur of numbers", "float",
                      "How far a number is moved away from the real value it is drawn near, "
                      "relative to the spread of its group; 0 copies real values.", 0.0, 5.0),
            ParamSpec("redraw_copies", "Redraw copies of real rows", "bool",
                      "Draw again every new row that is identical to a real training row."),
            _TIME_LIMIT,
        ),
        # Measured on the shipped samples (seeds 0-2): groups of 10 rows without a depth
        # limit left rows too close to real ones (closer-to-training share 0.55-0.60);
        # 30 rows and 8 questions kept it at 0.49-0.56 with the same quality (0.96-0.99).
        presets={
            "quick": {"min_leaf": 50, "max_depth": 6, "smoothing": 1.0,
                      "redraw_copies": True, "time_limit": 20},
            "balanced": {"min_leaf": 30, "max_depth": 8, "smoothing": 1.0,
                         "redraw_copies": True, "time_limit": 55},
            "best": {"min_leaf": 20, "max_depth": 10, "smoothing": 1.0,
                     "redraw_copies": True, "time_limit": 0},
        },
        deep=False,
    ),
    "tabular_argn": SynthesizerSpec(
        key="tabular_argn",
        title="TabularARGN",
        class_name="TabularARGNSynthesizer",
        picture=_picture('first [label="first value"]; net [label="network: next column\\n'
                         'given the ones so far", fillcolor="#fff4e6", color="#f08c00"]; '
                         'next [label="next value"]; rows [label="new row"]; '
                         'first -> net -> next -> rows; next -> net [style=dashed, '
                         'label="repeat"];'),
        tagline="Writes each row one column at a time, as a phone predicts the next word.",
        how_it_works=(
            "A neural network learns to guess each column of a row from the columns already "
            "written, the way a phone keyboard guesses the next word. A new row starts with "
            "one value; every next column is drawn from what the network expects after the "
            "values so far. It trains on the columns in shuffled orders, so it can also fill "
            "in a row around values you fix. Categories too rare to be safe are never "
            "learned and numbers stay inside safe limits, which protects unusual people. "
            "This is MOSTLY AI's open-source engine (mostlyai-engine)."
        ),
        diagram="first value ─► network ─► next column ─► network ─► … ─► new row",
        speed=(
            "About a minute on a CPU for a few thousand rows; faster on an NVIDIA GPU. On an "
            "event table it trains two networks, a small one for each entity's constant "
            "columns and one for the events: on 2 shared cores the bank events sample (420 "
            "accounts) got 9 epochs in Quick's 20 s and 29 in Balanced's 90 s, with "
            "sequence lengths 94-97 % alike, event order 87-88 % and time between events "
            "92-93 %. Its protection of rare values needs more than 20 entities to learn "
            "sequence lengths."
        ),
        when_to_pick=(
            "Mixed tables when you can wait a minute or two, especially when the synthetic "
            "rows will train a model. It stops by itself once it stops improving. On a "
            "busy CPU an epoch of a few thousand rows can take minutes, and a time limit "
            "may end training after one or two: the note then says so; raise the limit."
        ),
        params=(
            ParamSpec("epochs", "Epochs (at most)", "int",
                      "Most passes over the data; training ends sooner once the loss on "
                      "held-back rows stops improving.", 1, 1000),
            ParamSpec("model_size", "Network size", "choice",
                      "'small' trains fastest; 'large' learns finer detail but is slow on a "
                      "CPU.", choices=("small", "medium", "large")),
            ParamSpec("value_protection", "Protect rare and extreme values", "bool",
                      "Never learn categories too rare to be safe, and keep numbers inside "
                      "safe limits, so unusual people cannot be picked out. Leave it on."),
            _TIME_LIMIT,
        ),
        # Balanced gets 90 s: the engine converged on the loans sample in 75-90 s on an
        # idle 2-core machine (issue 19); 55 s, the deep models' limit, ended it before its
        # first epoch on a heavily shared one.
        presets={
            "quick": {"epochs": 100, "model_size": "small", "value_protection": True,
                      "time_limit": 20},
            "balanced": {"epochs": 100, "model_size": "medium", "value_protection": True,
                         "time_limit": 90},
            "best": {"epochs": 100, "model_size": "medium", "value_protection": True,
                     "time_limit": 0},
        },
        deep=True,
        loss_columns=("Training Loss", "Validation Loss"),
        dp_params=(_EPSILON, _DELTA),
        shapes=("table", "sequence"),
    ),
    "par": SynthesizerSpec(
        key="par",
        title="PAR (sequences)",
        class_name="PARSynthesizer",
        picture=_picture('ctx [label="entity context\\n(account type...)"]; net '
                         '[label="recurrent network:\\nnext event given\\nthe ones before",'
                         ' fillcolor="#fff4e6", color="#f08c00"]; ev [label="next event"]; '
                         'seq [label="new sequence"]; ctx -> net -> ev -> seq; '
                         'ev -> net [style=dashed, label="repeat"];'),
        tagline="Writes each entity's story one event at a time (event tables only).",
        how_it_works=(
            "For tables where each entity (an account, a customer, a ticker) has a sequence "
            "of events. A small statistical model first draws each new entity's context "
            "(its constant columns, such as account type, and when its story starts). A "
            "recurrent neural network then writes its events one after another: each next "
            "event (its type, amount, time gap) is drawn from what the network expects "
            "after the events so far and the context, until it decides the sequence ends. "
            "This is SDV's PARSynthesizer (probabilistic auto-regressive model)."
        ),
        diagram="context ─► network ─► event 1 ─► network ─► event 2 ─► … ─► end",
        speed=(
            "Measured on 2 shared CPU cores: 2-3 s to prepare, then about 10 epochs a second "
            "for 420 accounts with about 10 events each (an epoch costs about entities x "
            "columns). Quick's 20 s gave 257 epochs on the bank events sample: sequence "
            "lengths 91 % alike, which event follows which 94 %, time between events 82 %, "
            "and every new account starts with its opening, as the real ones do; Balanced's "
            "55 s gave about 700 epochs and about the same scores. Drawing 300 new entities "
            "takes a few seconds. Faster on an NVIDIA GPU."
        ),
        when_to_pick=(
            "Event tables whose order and timing matter (transactions per account, visits "
            "per customer, prices per ticker). Quick already gives a usable model; "
            "Balanced trains for up to a minute. It learns each number as a bell curve, so "
            "skewed times between events (many short gaps, a few very long ones) come out "
            "less alike than the event order. On thousands of entities an epoch takes "
            "seconds: TabularARGN (which also learns sequences) then gets further in the "
            "same time."
        ),
        params=(
            ParamSpec("epochs", "Epochs", "int",
                      "Passes over the sequences. PAR takes one learning step per pass, so "
                      "it needs hundreds; the time limit ends it sooner.", 1, 10_000),
            ParamSpec("sample_size", "Draws per sequence", "int",
                      "Each new sequence is drawn this many times and the most likely draw "
                      "is kept: more draws give typical sequences, fewer give variety; "
                      "sampling takes that many times longer.", 1, 20),
            _TIME_LIMIT,
        ),
        presets={
            # An epoch is a few learning steps (batches of 64 sequences): the bank events
            # sample ran about 10 epochs a second on a shared 2-core machine.
            "quick": {"epochs": 300, "sample_size": 1, "time_limit": 20},
            "balanced": {"epochs": 1000, "sample_size": 1, "time_limit": 55},
            "best": {"epochs": 2000, "sample_size": 1, "time_limit": 0},
        },
        deep=True,
        loss_columns=("Loss",),
        shapes=("sequence",),
    ),
}


def get_spec(key: str) -> SynthesizerSpec:
    """The spec for ``key``.

    Raises:
        ParameterError: Unknown synthesizer (lists the known ones).
    """
    try:
        return REGISTRY[key]
    except KeyError:
        raise ParameterError(
            f"Unknown synthesizer '{key}'. Choose one of: {', '.join(REGISTRY)}."
        ) from None


def _shape_of(schema: Any) -> str:
    return "sequence" if getattr(schema, "sequence", None) is not None else "table"


def synthesizers_for(schema: Any) -> list[str]:
    """The keys of the synthesizers that can learn a table of this schema's shape.

    Args:
        schema: A ``core.data.schema.TableSchema``: with ``sequence`` set only sequence
            synthesizers apply, without it only table ones.
    """
    shape = _shape_of(schema)
    return [key for key, spec in REGISTRY.items() if shape in spec.shapes]


def check_shape(key: str, schema: Any) -> None:
    """Refuse a synthesizer that cannot learn this schema's shape, naming those that can.

    Raises:
        ParameterError: ``key`` learns only independent rows and the table is an event
            table, or the other way round.
    """
    spec = get_spec(key)
    shape = _shape_of(schema)
    if shape in spec.shapes:
        return
    usable = ", ".join(f"{REGISTRY[k].title} ({k})" for k in synthesizers_for(schema))
    if shape == "sequence":
        raise ParameterError(
            f"{spec.title} learns independent rows, but this table is a sequence of events "
            f"per '{schema.sequence.key}': it would lose each entity's order and story. "
            f"Choose a sequence synthesizer: {usable}; or clear the sequence settings on "
            "the Data page to treat the rows as independent.")
    raise ParameterError(
        f"{spec.title} learns sequences of events per entity, and this table has no "
        f"sequence settings. Choose {usable}, or set the entity key and order column on "
        "the Data page.")


def dp_capable(key: str) -> bool:
    """True when synthesizer ``key`` can train with differential privacy (``epsilon``)."""
    return key in REGISTRY and bool(REGISTRY[key].dp_params)


def dp_synthesizers() -> list[str]:
    """The keys of the synthesizers that can train with differential privacy."""
    return [key for key in REGISTRY if dp_capable(key)]


def default_delta(rows: int | None) -> float:
    """δ when the user sets only ε: 1e-5, lowered so that rows x δ stays at most 0.1.

    δ is the chance the guarantee fails. A release that printed one random row in full
    would meet δ = 1/rows, so δ must sit far below that: 1e-5 (the engine's default) is
    enough up to 10,000 rows; beyond, δ = 0.1 / rows keeps the chance that the guarantee
    fails for anyone in the table under one in ten.
    """
    if not rows:
        return _DELTA_PER_ROW
    return min(_DELTA_PER_ROW, _DELTA_FOR_ALL / rows)


def _privacy_params(spec: SynthesizerSpec, params: dict[str, Any], rows: int | None) -> None:
    """Drop an unset ε (no differential privacy) and fill δ from the data size when ε is set.

    Raises:
        ParameterError: ε asked of a synthesizer that cannot honour it, or δ without ε.
    """
    if params.get("epsilon") is None:
        params.pop("epsilon", None)
        if params.get("delta") is not None:
            raise ParameterError(
                "δ only means something with a privacy budget ε: set ε too, or leave δ empty."
            )
        params.pop("delta", None)
        return
    if not spec.dp_params:
        raise ParameterError(
            f"{spec.title} cannot train with differential privacy (a privacy budget ε). "
            f"Choose {' or '.join(REGISTRY[key].title for key in dp_synthesizers())}, "
            "or leave ε empty."
        )
    if params.get("delta") is None:
        params["delta"] = default_delta(rows)


def auto_batch_size(rows: int, pac: int = 1) -> int:
    """A batch size that suits the data: ~20 steps per epoch, 50..500, a multiple of pac.

    Small tables get smaller batches so each epoch still takes several optimiser steps;
    SDV's fixed 500 gives a 1,000-row table only two steps per epoch.
    """
    step = 2 * pac // math.gcd(2, pac)  # a multiple of both 2 and pac
    target = min(500, max(50, rows // 20))
    return max(step, int(round(target / step)) * step)


def resolve_params(
    key: str,
    preset: str = "balanced",
    overrides: Mapping[str, Any] | None = None,
    rows: int | None = None,
) -> dict[str, Any]:
    """Preset values plus overrides, with "auto" values filled in for the data size.

    Args:
        key: Synthesizer key.
        preset: One of :data:`PRESETS`.
        overrides: Values the user set in the advanced panel.
        rows: Training rows (to choose an automatic batch size).

    Returns:
        A complete, validated parameter dict (layer tuples, ints and floats).
    """
    spec = get_spec(key)
    if preset not in PRESETS:
        raise ParameterError(f"Unknown preset '{preset}'. Choose one of: {', '.join(PRESETS)}.")
    params = dict(spec.presets[preset])
    for name, value in (overrides or {}).items():
        if name in _DP_NAMES:  # checked below, with a message about privacy
            params[name] = value
            continue
        try:
            spec.param(name)
        except KeyError:
            raise ParameterError(
                f"{spec.title} has no parameter '{name}'. Its parameters are: "
                f"{', '.join(p.name for p in spec.params)}."
            ) from None
        params[name] = value
    _privacy_params(spec, params, rows)
    params = {name: _coerce(spec.param(name), value) for name, value in params.items()}
    if "batch_size" in params and params["batch_size"] == 0:
        params["batch_size"] = auto_batch_size(rows or 500, int(params.get("pac", 1)))
    validate_params(key, params, rows=rows)
    return params


def _coerce(param: ParamSpec, value: Any) -> Any:
    try:
        if param.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if param.kind == "float":
            return float(value)
        if param.kind == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if param.kind == "layers":
            if isinstance(value, str):
                value = [part for part in value.replace(" ", "").split(",") if part]
            return tuple(int(width) for width in value)
        return str(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"'{param.label}' ({param.name}) must be "
            f"{'a whole number' if param.kind == 'int' else 'a number'}"
            f"{' list like 256, 256' if param.kind == 'layers' else ''}; got {value!r}."
        ) from None


def validate_params(key: str, params: Mapping[str, Any], rows: int | None = None) -> None:
    """Refuse invalid values and combinations with a message that names the fix.

    Raises:
        ParameterError: The first problem found.
    """
    spec = get_spec(key)
    for name, value in params.items():
        param = spec.param(name)
        if param.kind in ("int", "float"):
            if param.minimum is not None and value < param.minimum:
                raise ParameterError(
                    f"'{param.label}' must be at least {param.minimum:g}; got {value:g}."
                )
            if param.maximum is not None and value > param.maximum:
                raise ParameterError(
                    f"'{param.label}' must be at most {param.maximum:g}; got {value:g}."
                )
        elif param.kind == "choice" and value not in param.choices:
            raise ParameterError(
                f"'{param.label}' must be one of {', '.join(param.choices)}; got {value!r}."
            )
        elif param.kind == "layers":
            if not value or len(value) > 6:
                raise ParameterError(
                    f"'{param.label}' needs 1 to 6 layer widths, like 256, 256; got {value!r}."
                )
            low, high = param.minimum or 1, param.maximum or 4096
            if any(not low <= width <= high for width in value):
                raise ParameterError(
                    f"Each width in '{param.label}' must be between {low:g} and {high:g}."
                )
    if params.get("epsilon") is not None:
        if not params.get("value_protection", True):
            raise ParameterError(
                "Differential privacy needs 'Protect rare and extreme values' on: the value "
                "ranges and categories are then read with part of the privacy budget, so "
                "nothing about them escapes it. Turn it on, or leave ε empty."
            )
        delta = params.get("delta")
        if rows and delta is not None and delta * rows > _DELTA_FOR_ALL:
            raise ParameterError(
                f"δ = {delta:g} is too large for {rows:,} rows: the chance that the guarantee "
                f"fails for someone would reach {min(delta * rows, 1):.0%}. Choose δ of at "
                f"most {default_delta(rows):.0e}, or leave δ empty."
            )
    batch = params.get("batch_size")
    if batch is not None and spec.deep:
        pac = params.get("pac")
        if pac and batch % pac:
            lower = batch - batch % pac
            raise ParameterError(
                f"Batch size ({batch}) must be a multiple of pac ({pac}): the critic judges "
                f"rows in groups of {pac}. Try batch size {max(lower, pac * 2)} or "
                f"{lower + pac}, or set pac to a divisor of {batch}."
            )
        if batch < 2 or batch % 2:
            raise ParameterError(
                f"Batch size must be an even number of at least 2 for {spec.title}; got {batch}."
            )
        if rows is not None and batch > rows:
            raise ParameterError(
                f"Batch size ({batch}) is larger than the training data ({rows:,} rows). "
                "Choose a smaller batch size or 0 for automatic."
            )


def sdv_kwargs(key: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``params`` that the SDV constructor accepts (studio options removed)."""
    spec = get_spec(key)
    return {
        name: (list(value) if isinstance(value, tuple) else value)
        for name, value in params.items()
        if not spec.param(name).studio_only
    }


def build_synthesizer(key: str, metadata: Any, params: Mapping[str, Any], use_gpu: bool,
                      class_column: str | None = None, *,
                      on_epoch: Callable[[Any], bool] | None = None,
                      should_cancel: Callable[[], bool] | None = None,
                      time_limit_start: float | None = None,
                      target: str | None = None,
                      on_column: Callable[[int, int, str], None] | None = None,
                      sequence: Any = None) -> Any:
    """Create the synthesizer: SDV's Gaussian Copula, or the studio's subclass of a deep one.

    Deep models are :mod:`core.engine.studio_models` classes; ``params``' studio options
    (``time_limit``, ``generator_average``) and the callbacks below become their constructor
    arguments.

    Args:
        key: Synthesizer key.
        metadata: ``sdv.metadata.Metadata``.
        params: Resolved parameters (see :func:`resolve_params`).
        use_gpu: Pass ``enable_gpu=True`` to deep models (ctgan then picks CUDA or MPS).
        class_column: With ``per_class``, the categorical target to stratify on; None
            gives the plain synthesizer.
        on_epoch: Deep models: called after each epoch with the loss table; True ends
            training there (the fit still finishes normally).
        should_cancel: Deep models: polled after each epoch; True raises
            ``TrainingCancelled`` out of the fit.
        time_limit_start: Deep models: the ``time.monotonic()`` the time limit counts from
            (default: the start of the model's fit).
        target: Sequential trees: the column to predict, visited first.
        on_column: Sequential trees: called after each column with (done, total, name).
        sequence: The table's ``SequenceSpec`` for an event table (PAR, TabularARGN's
            sequential mode); its context columns are learned once per entity.
    """
    load_libraries()
    spec = get_spec(key)
    if sequence is not None and "sequence" not in spec.shapes:
        raise ParameterError(f"{spec.title} cannot learn sequences of events.")
    if key == "par":
        from core.engine.sequence_models import StudioPARSynthesizer

        columns = metadata.to_dict()["tables"]["data"]["columns"]
        return StudioPARSynthesizer(
            metadata, context_columns=[c for c in sequence.context if c in columns],
            epochs=int(params["epochs"]), sample_size=int(params.get("sample_size", 1)),
            cuda=bool(use_gpu), verbose=False, on_epoch=on_epoch, should_cancel=should_cancel,
            time_limit=float(params.get("time_limit") or 0), time_limit_start=time_limit_start)
    if key == "sequential_trees":
        from core.engine.sequential_trees import SequentialTreesSynthesizer

        return SequentialTreesSynthesizer(
            metadata.to_dict(), target=target, min_leaf=int(params["min_leaf"]),
            max_depth=int(params["max_depth"]), smoothing=float(params["smoothing"]),
            redraw_copies=bool(params["redraw_copies"]),
            time_limit=float(params.get("time_limit") or 0), time_limit_start=time_limit_start,
            on_column=on_column, should_cancel=should_cancel)
    if key == "tabular_argn":
        from core.engine.tabular_argn import build_tabular_argn

        return build_tabular_argn(metadata, params, use_gpu, on_epoch=on_epoch,
                                  should_cancel=should_cancel, time_limit_start=time_limit_start,
                                  sequence=sequence)
    if key == "gaussian_copula" and params.get("per_class") and class_column is not None:
        from core.engine.stratified import ClassStratifiedSynthesizer

        return ClassStratifiedSynthesizer(metadata.to_dict(), class_column,
                                          sdv_kwargs(key, params))
    if key == "gaussian_copula":
        from core.engine.marginals import gaussian_copula

        return gaussian_copula(metadata, **sdv_kwargs(key, params))
    from core.engine.studio_models import synthesizer_class

    kwargs = sdv_kwargs(key, params)
    kwargs["enable_gpu"] = bool(use_gpu)
    for name in ("generator_dim", "discriminator_dim", "compress_dims", "decompress_dims"):
        if name in kwargs:
            kwargs[name] = tuple(kwargs[name])
    options: dict[str, Any] = {"on_epoch": on_epoch, "should_cancel": should_cancel,
                               "time_limit": float(params.get("time_limit") or 0),
                               "time_limit_start": time_limit_start}
    if "generator_average" in params:
        options["generator_average"] = float(params["generator_average"] or 0)
    return synthesizer_class(spec.class_name)(metadata, **kwargs, **options)
