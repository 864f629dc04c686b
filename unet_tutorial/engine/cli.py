"""The ``unet-tutorial`` command line.

Every sub-command has ``--help``. Bad arguments (argparse's own checks and the
package's ``ValueError``, among them a model file that is damaged or not a
``.keras`` model) give a one-line error and exit code 2; a missing file, or
one that cannot be read or written, gives a one-line error and exit code 1.
Ctrl-C ends a command with a one-line message and exit code 130, SIGTERM with
exit code 143 (a training stays resumable). Never a traceback.

``train --strategy multiworker`` waits at most ``--connect-timeout`` seconds
for the other workers to answer, and then at most as long again for the
cluster to form; either wait that runs out gives a one-line error and exit
code 1. While the cluster forms, TensorFlow holds the interpreter in C++, so
the second limit is enforced by a small watchdog process that ends the
worker from outside (with SIGHUP, whose handler is the C library's
``_exit(1)``; where that cannot be installed, with SIGKILL, exit code 137,
and the line says so). In that step Ctrl-C still ends the worker (130);
SIGTERM waits for the limit. Once the cluster has formed, the command's own
SIGTERM handler replaces any that TensorFlow installed meanwhile (its preemption
notice, which only records the signal): SIGTERM to one worker ends it as it
ends a single process (143, resumable), and the other workers, whose next
collective step then fails, end with a one-line error and exit code 1. Start
the same command on every worker to resume.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

# TensorFlow-free: --help answers at once
from ..checks import ON_CORRUPT, SPLITS
from ..settings import LOSSES, LR_SCHEDULES, OPTIMIZERS
from ..shapes import PADDINGS
from .config import COLLECTIVES, PRESETS, STRATEGIES


def _defaults():
    """``TrainConfig()``: the one place the command line takes its defaults from."""
    from .config import TrainConfig

    return TrainConfig()


def _add_model_args(p: argparse.ArgumentParser) -> None:
    d = _defaults()
    p.add_argument(
        "--size",
        type=int,
        default=d.image_size,
        help=f"input height and width (default {d.image_size})",
    )
    p.add_argument("--channels", type=int, default=3, help="input channels (default 3)")
    p.add_argument("--classes", type=int, default=3, help="output classes (default 3)")
    p.add_argument(
        "--base-filters",
        type=int,
        default=d.base_filters,
        help=f"channels at the top level (default {d.base_filters}; the paper's is 64)",
    )
    p.add_argument(
        "--depth",
        type=int,
        default=d.depth,
        help=f"number of pooling steps (default {d.depth})",
    )
    p.add_argument(
        "--padding",
        choices=PADDINGS,
        default="same",
        help="convolution padding",
    )
    p.add_argument(
        "--no-skip",
        action="store_true",
        help="build the model without skip connections",
    )


def _build_from_args(args: argparse.Namespace):
    from ..model import build_unet

    return build_unet(
        (args.size, args.size, args.channels),
        num_classes=args.classes,
        base_filters=args.base_filters,
        depth=args.depth,
        padding=args.padding,
        skip_connections=not args.no_skip,
    )


def _cmd_summary(args: argparse.Namespace) -> int:
    model = _build_from_args(args)
    model.summary()
    return 0


def _cmd_sizes(args: argparse.Namespace) -> int:
    from ..shapes import level_sizes, valid_input_sizes

    if args.size is None:
        sizes = valid_input_sizes(args.depth, args.padding, max_size=args.max_size)
        print(
            f"valid input sizes (depth={args.depth}, padding={args.padding}): "
            f"{' '.join(map(str, sizes))}"
        )
        return 0
    for lvl in level_sizes(args.size, args.depth, args.padding):
        print(f"{lvl.level:>10}: {lvl.size_in:>4} -> {lvl.size_out:>4}")
    return 0


DEBUG_ENV = "UNET_TUTORIAL_DEBUG"
"""Set it (to anything but 0) for full tracebacks instead of one-line errors, like
``--debug``.
"""

_NO_TENSORFLOW = {"sizes", "check-data"}
"""Commands that never need TensorFlow."""


def _start_tensorflow_quietly() -> None:
    """Import TensorFlow and probe its devices with the process's stderr muted.

    TensorFlow's C++ start-up writes lines (``oneDNN``, ``cuInit``,
    ``absl::InitializeLog``) straight to file descriptor 2, which neither
    ``TF_CPP_MIN_LOG_LEVEL`` nor Python can filter. A Python error during the
    import is still raised, and shown, after stderr is restored.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        # the CUDA probe (cuInit) happens here, not at import
        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be a positive integer")
    return value


def _folder(text: str) -> str:
    """An ``--output`` folder, not empty (``""`` would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "is empty; name a folder (use . for the current one)"
        )
    return text


def _check_output_folder(path) -> None:
    """Refuse an ``--output`` that exists but is not a folder, before any work."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"--output {path} is a file, not a folder; name a folder")


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return value


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised like Ctrl-C, so that a training stops the same way
    (its lock released, its run left resumable).
    """


class _Sigterm:
    """While Keras trains, SIGTERM waits for the end of the current step."""

    defer = False
    pending = False


def _raise_terminated(signum: int, frame: object) -> None:
    if _Sigterm.defer:
        _Sigterm.pending = True  # raised by _stop_on_sigterm, between two steps
        return
    raise Terminated


def _stop_on_sigterm():
    """A Keras callback that raises ``Terminated`` at the end of the training or
    validation step that SIGTERM arrived in: in Python, never inside TensorFlow's
    C++ (an exception there can abort the process), and never half-way through a
    save.
    """
    import keras

    class StopOnSigterm(keras.callbacks.Callback):
        def on_train_begin(self, logs=None) -> None:
            _Sigterm.defer = True

        def on_train_batch_end(self, batch, logs=None) -> None:
            self._raise_if_pending()

        def on_test_batch_end(self, batch, logs=None) -> None:
            self._raise_if_pending()

        def on_train_end(self, logs=None) -> None:
            _Sigterm.defer = False
            self._raise_if_pending()

        @staticmethod
        def _raise_if_pending() -> None:
            if _Sigterm.pending:
                _Sigterm.defer = _Sigterm.pending = False
                raise Terminated

    return StopOnSigterm()


_TRAIN_ARGS = {  # command-line option -> TrainConfig field
    "base_filters": "base_filters",
    "depth": "depth",
    "size": "image_size",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "learning_rate": "learning_rate",
    "lr_schedule": "lr_schedule",
    "loss": "loss",
    "source": "source",
    "data_dir": "data_dir",
    "output": "output_dir",
    "seed": "seed",
    "xla": "jit_compile",
    "mixed_precision": "mixed_precision",
    "steps_per_epoch": "steps_per_epoch",
    "validation_steps": "validation_steps",
    "synthetic_examples": "num_examples",
    "optimizer": "optimizer",
    "weight_decay": "weight_decay",
    "flip": "flip",
    "min_scale": "min_scale",
    "elastic": "elastic",
    "jitter": "jitter",
    "dropout": "dropout",
    "on_corrupt": "on_corrupt",
    "crop_size": "crop_size",
    "padding": "padding",
    "weight_map": "weight_map",
    "rotate90": "rotate90",
    "elastic_px": "elastic_px",
}


def _train_config(args: argparse.Namespace):
    """The preset (or ``TrainConfig()``), with every option given on the command line on
    top.
    """
    from .config import TrainConfig

    given = {
        field: getattr(args, opt)
        for opt, field in _TRAIN_ARGS.items()
        if getattr(args, opt) is not None
    }
    if "num_examples" in given:
        given["num_examples"] = tuple(given["num_examples"])
    if args.no_augment:
        given["augment"] = False
    if "crop_size" in given and args.size is None and args.preset is None:
        given["image_size"] = None  # crops of a folder's images at native size
    if args.no_test:
        given["evaluate_test"] = False
    if given.get("jit_compile"):
        given["deterministic"] = (
            False  # op determinism would turn XLA off (see TrainConfig.deterministic)
        )
    config = (
        TrainConfig.preset(args.preset, **given)
        if args.preset
        else TrainConfig(**given)
    )
    # every setting, the image-size rule among them, checked before any data is read
    config.validate()
    return config


def _is_op_error(err: BaseException) -> bool:
    import tensorflow as tf

    return isinstance(err, tf.errors.OpError)


def _lost_worker(err: BaseException, output_dir: object) -> str:
    """The one line for a multi-worker training whose collective step failed: another
    worker stopped (SIGTERM, Ctrl-C, a crash) or cannot be reached.
    """
    return (
        "another worker stopped or could not be reached during training (TensorFlow's "
        f"{type(err).__name__}; that worker's output says why), so this one stopped "
        f"too. The run in {output_dir} can be resumed: start the same command on "
        "every worker again"
    )


def _cmd_train(args: argparse.Namespace) -> int:
    from .distribute import make_strategy, worker_role, worker_scratch_dir
    from .training import train

    config = _train_config(args)
    # before any other TensorFlow work
    strategy = make_strategy(
        args.strategy,
        collective=args.collective,
        connect_timeout=args.connect_timeout,
        program=f"unet-tutorial {args.command}",
    )
    role = worker_role(strategy)
    if role.num_workers > 1:
        who = f"{role.task_type} {role.task_id} of {role.num_workers} workers"
        if role.is_chief:
            print(
                f"{who}, the chief: writes the run folder {config.output_dir}",
                flush=True,
            )
        else:
            print(
                f"{who}: trains with the chief and writes nothing to "
                f"{config.output_dir} (its own copy goes to "
                f"{worker_scratch_dir(config.output_dir, role)}, deleted at the end)",
                flush=True,
            )
    try:
        result = train(
            config,
            strategy=strategy,
            callbacks=[_stop_on_sigterm()],
            verbose=args.verbose,
            overwrite=args.overwrite,
        )
    except Exception as err:
        if role.num_workers > 1 and _is_op_error(err):
            raise RuntimeError(_lost_worker(err, config.output_dir)) from err
        raise
    if not role.is_chief:
        print(
            f"trained epochs {result.epochs_run} with the chief; its run folder: "
            f"{config.output_dir}"
        )
        return 0
    last = {k: v[-1] for k, v in result.history.items() if k.startswith("val_")}
    print(
        f"trained epochs {result.epochs_run}; last validation: "
        + ", ".join(f"{k}={v:.3f}" for k, v in sorted(last.items()))
    )
    if result.test is not None:
        print(
            f"test split (scored once, {config.tested_checkpoint()}.keras): mean IoU "
            f"{result.test.mean_iou:.3f}, pixel accuracy "
            f"{result.test.pixel_accuracy:.3f}"
        )
    print(f"data: {result.data.description}")
    if result.data.is_stand_in:
        print(
            "NOTE: trained and validated on the SYNTHETIC STAND-IN, not on Oxford-IIIT "
            "Pet."
        )
    for name, path in result.paths.items():
        if path.exists():
            print(f"{name:>9}: {path}")
    return 0


def _load_model(path: str):
    from .runs import load_run_model

    return load_run_model(path)


def _evaluation_size(fixed: int | None, given: int | None, model: str) -> int:
    """The image size to score at: the model's own, else ``--size``."""
    if fixed is None and given is None:
        raise ValueError(
            f"{model} takes images of any size; give the size to score at with --size "
            "(e.g. the size it was trained at)"
        )
    if fixed is not None and given not in (None, fixed):
        raise ValueError(
            f"{model} takes {fixed} x {fixed} images; leave out --size or give "
            f"--size {fixed}"
        )
    return fixed or given


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate, is_unpadded
    from .datasets import load_dataset
    from .sources import resolve_source

    model = _load_model(args.model)
    data = resolve_source(args.source, args.data_dir)
    height, width = model.input_shape[1:3]
    if data.kind == "folder" and (height is None or is_unpadded(model)):
        size = args.size  # whole images at native size unless --size
    elif data.kind == "folder" and height == width:
        # a same-padding model of one size sees the images resized to it, as in
        # predict (the masks too, by nearest neighbour)
        size = _evaluation_size(height, args.size, args.model)
    elif data.kind == "folder":
        size = args.size  # a model that is not square: evaluate names the size
    else:
        size = _evaluation_size(model.input_shape[1], args.size, args.model)
    ds, info = load_dataset(
        data,
        args.split,
        size,
        args.batch_size,
        data_dir=args.data_dir,
        num_examples=args.synthetic_examples,
        on_corrupt=args.on_corrupt,
    )
    predicted = model.output_shape[-1]
    if predicted is not None and max(predicted, 2) != info.num_classes:
        raise ValueError(
            f"{args.model} predicts {max(predicted, 2)} classes but the data has "
            f"{info.num_classes} ({', '.join(info.class_names)}); evaluate a model "
            "trained on data of these classes"
        )
    print(evaluate(model, ds, info.class_names).table())
    if args.em:
        from ..evaluation import em_scores

        print(em_scores(model, ds).table())
    if info.is_stand_in:
        print(
            "NOTE: these scores are on the SYNTHETIC STAND-IN, not on Oxford-IIIT Pet."
        )
    return 0


def _output_stems(paths: list) -> list[str]:
    """One output name per input: its stem; a stem that repeats gets ``-2``, ``-3``,
    ... skipping every name that is the stem of an input (``cat.jpg cat-2.png
    cat.png`` give ``cat``, ``cat-2``, ``cat-3``), so that no two inputs share
    their outputs. Names are compared ignoring case, as some disks do.
    """
    inputs = {path.stem.casefold() for path in paths}
    used: set[str] = set()
    stems = []
    for path in paths:
        stem, k = path.stem, 1
        while stem.casefold() in used:
            k += 1
            stem = f"{path.stem}-{k}"
            if stem.casefold() in inputs:
                stem = path.stem  # another input's own name: try the next number
        used.add(stem.casefold())
        stems.append(stem)
    return stems


def _refuse_writing_over_inputs(outputs: list, inputs: list) -> None:
    """Refuse, before anything is written, an output file that is one of the inputs
    (an image, or the model).
    """
    import os

    for output in outputs:
        if not output.exists():
            continue
        for given in inputs:
            if given.exists() and os.path.samefile(output, given):
                raise ValueError(
                    f"predict would write {output} over the input {given}; choose "
                    "another --output folder"
                )


def _save_png(path, array) -> None:
    """Write ``array`` as a PNG atomically (never half a file); a full disk is named
    with the file.
    """
    import errno

    from PIL import Image

    from .runs import atomic_write

    try:
        atomic_write(path, lambda part: Image.fromarray(array).save(part, "PNG"))
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        raise OSError(
            errno.ENOSPC,
            f"no space left on the device while writing {path}; free some space and "
            "run the same command again",
        ) from None


def _split_images(source: str | None, split: str) -> list:
    """The image files of one split of an images + masks folder (``[]`` without one)."""
    from pathlib import Path

    if source is None:
        return []
    from .folders import check_folder, is_mask_folder

    if not is_mask_folder(source):
        raise ValueError(
            f"--source {source} is not a folder with images/ and masks/; "
            "run unet-tutorial check-data on it."
        )
    report = check_folder(source)
    if not report.ok:
        raise ValueError(
            f"{source} has problems that stop loading it; run unet-tutorial "
            f"check-data {source} and fix them first."
        )
    root = Path(source)
    return [root / "images" / report.pairs[stem][0] for stem in report.splits[split]]


def _cmd_predict(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np
    from PIL import Image

    from ..evaluation import check_image, load_image, predict_mask
    from ..pictures.figures import mask_to_rgb, overlay_mask

    paths = [Path(p) for p in args.images] + _split_images(args.source, args.split)
    if not paths:
        raise ValueError(
            "no images to predict; name image files, or a folder of images/ + "
            "masks/ with --source (and --split)."
        )
    for path in paths:  # every file checked (not decoded) before the model loads
        check_image(path)
    out = Path(args.output)
    _check_output_folder(out)
    stems = _output_stems(paths)
    kinds = ("mask", "mask_color", "overlay")
    _refuse_writing_over_inputs(
        [out / f"{stem}_{kind}.png" for stem in stems for kind in kinds],
        [*paths, Path(args.model)],
    )
    model = _load_model(args.model)
    num_classes = max(model.output_shape[-1], 2)  # one channel: classes 0 and 1
    values = (  # the pet classes only for a pet model's three; else the indices
        "values 0 pet, 1 background, 2 border"
        if num_classes == 3
        else f"class indices 0 to {num_classes - 1}"
    )
    out.mkdir(parents=True, exist_ok=True)
    for path, stem in zip(paths, stems, strict=True):
        if stem != path.stem:
            print(
                f"NOTE: another input is also named {path.stem}; {path} is written as "
                f"{stem}_*.png"
            )
        rgb = load_image(path)  # one image in memory at a time
        image = rgb
        if model.input_shape[-1] == 1:  # a grayscale model (e.g. EM slices)
            image = np.asarray(Image.fromarray(rgb).convert("L"))
        mask = predict_mask(model, image)
        files = {
            f"{stem}_mask.png": mask.astype("uint8"),
            f"{stem}_mask_color.png": mask_to_rgb(mask),
            f"{stem}_overlay.png": overlay_mask(rgb, mask),
        }
        for name, array in files.items():
            if (out / name).exists():
                print(f"NOTE: replacing {out / name}, written by an earlier run")
            _save_png(out / name, array)
        print(
            f"{path}: {out / (stem + '_mask.png')} ({values}), "
            f"{out / (stem + '_overlay.png')}"
        )
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    """A model (a .keras file or a run folder's best.keras) as a page's model files."""
    from pathlib import Path

    from .. import export
    from ..pictures.figures import MASK_COLORS

    if args.format not in export.EXPORT_FORMATS:
        raise ValueError(
            f"unknown format {args.format!r}; use one of {export.EXPORT_FORMATS}."
        )
    source = Path(args.model)
    if source.is_dir():
        source = source / "best.keras"
    model = _load_model(str(source))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    name = source.parent.name if source.stem == "best" else source.stem
    path = out / f"{name}.tflite"
    export.export_model(
        model, path, format=args.format, input_size=args.size, colors=MASK_COLORS
    )
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


def _add_export_command(sub) -> None:
    p = sub.add_parser(
        "export", help="write a model as a LiteRT file for a web page, with its sidecar"
    )
    p.add_argument("model", help="a .keras file, or a run folder (its best.keras)")
    p.add_argument("--format", default="litert", help="litert (a .tflite file)")
    p.add_argument("--output", type=_folder, default="export", help="output folder")
    p.add_argument(
        "--size", type=_positive, default=None, help="input side for an any-size model"
    )
    p.set_defaults(func=_cmd_export)


def _cmd_info(args: argparse.Namespace) -> int:
    import platform

    import keras
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from .. import __version__
    from .sources import OXFORD_DIR_ENV, oxford_pets_prepared, resolve_source

    print(f"unet-tutorial {__version__}")
    print(
        f"python {platform.python_version()}, tensorflow {tf.__version__}, keras "
        f"{keras.__version__}, tensorflow-datasets {tfds.__version__}"
    )
    devices = tf.config.list_physical_devices()
    print(
        "devices: "
        + ", ".join(f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in devices)
    )
    prepared = oxford_pets_prepared(args.data_dir)
    where = args.data_dir or "the default tfds folder"
    print(
        f"Oxford-IIIT Pet 4.x prepared offline in {where}: "
        f"{'yes' if prepared else 'no'}"
    )
    print(f"{OXFORD_DIR_ENV}: {os.environ.get(OXFORD_DIR_ENV) or '(not set)'}")
    try:
        data = resolve_source("auto", args.data_dir)
    except (ValueError, OSError) as err:  # reported with the rest, not instead of it
        print(f"--source auto would fail: {err}")
        return 1
    print(f"--source auto would use: {data.kind} ({data.reason})")
    return 0


def _cmd_check_data(args: argparse.Namespace) -> int:
    from .folders import check_folder

    report = check_folder(
        args.path,
        ignore_value=args.ignore_value,
        channels=args.channels,
        crop_size=args.crop_size,
    )
    print(report)
    return 0 if report.ok else 1


def _cmd_animate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..pictures import animation

    image = None
    if args.image:  # read (and check) the image before any model work
        from ..evaluation import load_image

        image = (
            animation.load_example_image()
            if args.image == "cat"
            else load_image(args.image)
        )
    out = Path(args.output)
    _check_output_folder(out)
    model = _load_model(args.model) if args.model else _build_from_args(args)
    jobs = [
        (
            "encoder.gif",
            lambda path: animation.animate_encoder(model, path, frame_ms=args.frame_ms),
        ),
        (
            "decoder.gif",
            lambda path: animation.animate_decoder(model, path, frame_ms=args.frame_ms),
        ),
    ]
    if image is not None:
        jobs.append(
            (
                "features.gif",
                lambda path: animation.animate_feature_maps(model, image, path),
            )
        )
    for i, (name, write) in enumerate(jobs, 1):
        print(f"[{i}/{len(jobs)}] writing {out / name} ...", flush=True)
        write(out / name)
    for f in sorted(out.glob("*.gif")):
        print(f"{f}: {f.stat().st_size / 1e3:.0f} kB")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``unet-tutorial`` (also used by the docs)."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="unet-tutorial", description="Companion tool of the U-Net tutorial book."
    )
    parser.add_argument(
        "--version", action="version", version=f"unet-tutorial {__version__}"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"show the full traceback of an error and TensorFlow's "
        f"start-up lines (also: {DEBUG_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("summary", help="print the layer-by-layer summary of a U-Net")
    _add_model_args(p)
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser(
        "sizes", help="list valid input sizes, or trace one size through the U"
    )
    p.add_argument(
        "--size", type=int, default=None, help="trace this input size level by level"
    )
    p.add_argument(
        "--depth", type=int, default=4, help="number of pooling steps (default 4)"
    )
    p.add_argument(
        "--padding",
        choices=PADDINGS,
        default="same",
        help="convolution padding",
    )
    p.add_argument(
        "--max-size", type=int, default=1024, help="largest size to list (default 1024)"
    )
    p.set_defaults(func=_cmd_sizes)

    d = _defaults()
    p = sub.add_parser(
        "train",
        help="train a U-Net and write checkpoints, history and snapshots",
        description="Options not given come from --preset, else from TrainConfig()'s "
        "defaults (shown).",
    )
    p.add_argument(
        "--preset",
        choices=list(PRESETS),
        default=None,
        help="start from a named setting (TrainConfig.preset): full (GPU), "
        "cpu (real pets on a CPU in minutes), cpu-synthetic, isbi (the paper's EM "
        "experiment; its source is $UNET_TUTORIAL_ISBI_DIR unless --source)",
    )
    p.add_argument(
        "--crop-size",
        type=_positive,
        default=None,
        help="train on random crops of this side (the model's input), at a folder's "
        "native size unless --size resizes first",
    )
    p.add_argument(
        "--padding",
        choices=("same", "valid"),
        default=None,
        help=f"same, or valid: the paper's unpadded U-Net (default {d.padding})",
    )
    p.add_argument(
        "--weight-map",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the paper's weight map on the training crops (objects: class 1)",
    )
    p.add_argument(
        "--rotate90",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random quarter turns (for data without an up, e.g. microscopy)",
    )
    p.add_argument(
        "--elastic-px",
        type=float,
        default=None,
        help="elastic deformation in pixels (the paper's: 10); replaces --elastic",
    )
    p.add_argument(
        "--source",
        default=None,
        help="auto, oxford, tfds, synthetic, or a folder (default auto)",
    )
    p.add_argument("--data-dir", default=None, help="TensorFlow Datasets data folder")
    p.add_argument(
        "--output",
        type=_folder,
        default=None,
        help=f"output folder (default {d.output_dir})",
    )
    p.add_argument(
        "--size",
        type=_positive,
        default=None,
        help=f"image size (default {d.image_size})",
    )
    p.add_argument(
        "--base-filters",
        type=_positive,
        default=None,
        help=f"top channels (default {d.base_filters})",
    )
    p.add_argument(
        "--depth",
        type=_positive,
        default=None,
        help=f"pooling steps (default {d.depth})",
    )
    p.add_argument(
        "--epochs", type=_positive, default=None, help=f"epochs (default {d.epochs})"
    )
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        help=f"global batch size (default {d.batch_size})",
    )
    p.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help=f"peak step size (default {d.learning_rate:g})",
    )
    p.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default=None,
        help=f"learning-rate schedule (default {d.lr_schedule})",
    )
    p.add_argument(
        "--loss",
        choices=LOSSES,
        default=None,
        help=f"loss (default {d.loss})",
    )
    p.add_argument(
        "--seed", type=int, default=None, help=f"random seed (default {d.seed})"
    )
    p.add_argument(
        "--steps-per-epoch",
        type=_positive,
        default=None,
        help="cap on batches per epoch",
    )
    p.add_argument(
        "--validation-steps",
        type=_positive,
        default=None,
        help="cap on validation batches",
    )
    p.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=None,
        help=f"optimizer (default {d.optimizer})",
    )
    p.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        help=f"decoupled weight decay per step (default {d.weight_decay:g})",
    )
    p.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"augmentation: random horizontal flips (default {d.flip})",
    )
    p.add_argument(
        "--min-scale",
        type=float,
        default=None,
        help=f"augmentation: smallest crop, as a share of the side (default "
        f"{d.min_scale})",
    )
    p.add_argument(
        "--jitter",
        action="store_true",
        default=None,
        help="augmentation: colour jitter",
    )
    p.add_argument(
        "--elastic",
        type=float,
        default=None,
        help=f"augmentation: the paper's elastic deformation, std as a "
        f"share of the side (the paper's is 0.017; default {d.elastic})",
    )
    p.add_argument(
        "--no-augment", action="store_true", help="train without augmentation"
    )
    p.add_argument(
        "--on-corrupt",
        choices=ON_CORRUPT,
        default=None,
        help="a folder's corrupt files: stop (raise, default) or leave them out (skip)",
    )
    p.add_argument(
        "--synthetic-examples",
        type=_positive,
        nargs=3,
        default=None,
        metavar=("TRAIN", "VALIDATION", "TEST"),
        help="sizes of the synthetic splits",
    )
    p.add_argument(
        "--dropout",
        type=float,
        default=None,
        help=f"the paper's drop-out rate at the end of the contracting path (default "
        f"{d.dropout})",
    )
    p.add_argument(
        "--xla",
        action="store_true",
        default=None,
        help="XLA-compile the train step (turns op determinism off: runs agree "
        "closely, not exactly)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="delete a run already in --output (its files only) and train again from "
        "scratch",
    )
    p.add_argument(
        "--no-test",
        action="store_true",
        help="do not score the test split after training (while choosing settings: "
        "compare runs with 'evaluate --split validation', and score the test split "
        "once, for the settings you keep)",
    )
    p.add_argument(
        "--mixed-precision",
        action="store_true",
        default=None,
        help="mixed_float16 (GPUs)",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="default: one device; mirrored: every GPU of this machine; multiworker: "
        "one process per worker, the cluster read from TF_CONFIG (start the same "
        "command on every worker)",
    )
    p.add_argument(
        "--collective",
        choices=COLLECTIVES,
        default="auto",
        help="multiworker: how gradients are summed: ring (CPUs, gRPC), nccl (NVIDIA "
        "GPUs), auto",
    )
    p.add_argument(
        "--connect-timeout",
        type=_positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="multiworker: how long to wait for the other workers to answer, and "
        "then for the cluster to form (default 60); either wait that runs out ends "
        "the command with one line and exit code 1",
    )
    p.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=1,
        help="Keras progress display",
    )
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="per-class IoU, mean IoU, pixel accuracy and Dice of a saved model",
    )
    p.add_argument("model", help="a .keras file written by train")
    p.add_argument(
        "--source",
        default="auto",
        help="auto, oxford, tfds, synthetic, or a folder (default auto)",
    )
    p.add_argument(
        "--split",
        choices=SPLITS,
        default="test",
        help="split (default test)",
    )
    p.add_argument(
        "--on-corrupt",
        choices=ON_CORRUPT,
        default="raise",
        help="a folder's corrupt files",
    )
    p.add_argument("--data-dir", default=None, help="TensorFlow Datasets data folder")
    p.add_argument(
        "--batch-size", type=_positive, default=16, help="batch size (default 16)"
    )
    p.add_argument(
        "--size",
        type=_positive,
        default=None,
        help="image size to score at (default: the model's; needed for a model that "
        "takes any size)",
    )
    p.add_argument(
        "--synthetic-examples",
        type=_positive,
        default=None,
        help="size of a synthetic split",
    )
    p.add_argument(
        "--em",
        action="store_true",
        help="also the EM scores (pixel error, adapted Rand error, membrane IoU) of a "
        "2-class membrane (0) / cell (1) folder",
    )
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("predict", help="write mask and overlay PNGs for image files")
    p.add_argument("model", help="a .keras file written by train")
    p.add_argument("images", nargs="*", help="image files (any size; JPEG, PNG, ...)")
    p.add_argument(
        "--source",
        default=None,
        help="a folder of images/ + masks/: predict the images of its --split",
    )
    p.add_argument(
        "--split",
        choices=("train", "validation", "test"),
        default="test",
        help="with --source: which split's images (default test)",
    )
    p.add_argument(
        "--output",
        type=_folder,
        default="predictions",
        help="output folder (default predictions)",
    )
    p.set_defaults(func=_cmd_predict)
    _add_export_command(sub)

    p = sub.add_parser(
        "animate",
        help="write the encoder and decoder GIFs (and feature maps with --image)",
    )
    _add_model_args(p)
    p.add_argument(
        "--model",
        default=None,
        help="draw a saved .keras model instead of building one",
    )
    p.add_argument(
        "--image",
        default=None,
        help="an image file for the feature-map GIF ('cat': the bundled photo)",
    )
    p.add_argument(
        "--output",
        type=_folder,
        default="animations",
        help="output folder (default animations)",
    )
    p.add_argument(
        "--frame-ms",
        type=_positive,
        default=700,
        help="milliseconds per frame (default 700)",
    )
    p.set_defaults(func=_cmd_animate)

    p = sub.add_parser(
        "check-data",
        help="check a folder of your own images/ and masks/ before training",
        description="Reads every image header and mask of PATH (images/<stem>.png|jpg"
        "|tif, masks/<stem>.png, optional classes.txt and train/validation/test.txt) "
        "and reports pairs, sizes, classes with their pixel shares and the splits. "
        "Exits 1 and lists every bad file if the folder cannot be loaded.",
    )
    p.add_argument("path", help="the folder holding images/ and masks/")
    p.add_argument(
        "--ignore-value",
        type=int,
        default=None,
        help="a mask value that is no class (left out of loss and metrics)",
    )
    p.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        default=None,
        help="convert the images to 1 (grayscale) or 3 (RGB) channels",
    )
    p.add_argument(
        "--crop-size",
        type=_positive,
        default=None,
        help="report images smaller than this training crop",
    )
    p.set_defaults(func=_cmd_check_data)

    p = sub.add_parser(
        "info",
        help="versions, devices, and whether Oxford-IIIT Pet is available offline",
    )
    p.add_argument("--data-dir", default=None, help="TensorFlow Datasets data folder")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    if not debug and args.command not in _NO_TENSORFLOW:
        _start_tensorflow_quietly()  # --debug shows TensorFlow's start-up lines too
    # SIGTERM (a scheduler, `kill`, a container stop) ends a command like Ctrl-C does
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main else None
    try:
        return args.func(args)
    except KeyboardInterrupt as err:
        if debug:
            raise
        resume = "; run the same command to resume" if args.command == "train" else ""
        what = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
        print(f"unet-tutorial {args.command}: {what}{resume}", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    except ValueError as err:  # a bad argument value: argparse's exit code
        if debug:
            raise
        print(f"unet-tutorial {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, OSError, RuntimeError) as err:
        if debug:
            raise
        print(f"unet-tutorial {args.command}: error: {err}", file=sys.stderr)
        return 1
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        _Sigterm.defer = _Sigterm.pending = False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
