"""The ``unet-tutorial`` command line.

An error gives one line, never a traceback (``--debug`` shows it): a bad value exits 2,
a missing file or a failed run 1, Ctrl-C 130, SIGTERM 143 (a training stays resumable;
in a formed multiworker cluster the other workers exit 1).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import re
import signal
import sys
import threading
import typing
from dataclasses import MISSING, fields
from pathlib import Path

# TensorFlow-free: --help answers at once
from .. import __version__
from ..checks import ON_CORRUPT, SPLITS
from ..settings import LOSSES, LR_SCHEDULES, OPTIMIZERS
from ..shapes import PADDINGS
from .config import CHECKPOINTS, COLLECTIVES, PRESETS, STRATEGIES, TrainConfig
from .folders import WHAT_IT_READS

DEBUG_ENV = "UNET_TUTORIAL_DEBUG"
"""Set it (to anything but 0) for full tracebacks, like ``--debug``."""

_NO_TENSORFLOW = {"sizes", "check-data"}

TRAIN_CHOICES: dict[str, tuple] = {
    "padding": PADDINGS,
    "loss": LOSSES,
    "lr_schedule": LR_SCHEDULES,
    "optimizer": OPTIMIZERS,
    "on_corrupt": ON_CORRUPT,
    "test_checkpoint": CHECKPOINTS,
}
"""The allowed values of the ``TrainConfig`` fields that a module constant lists."""

TRAIN_ALIASES: dict[str, str] = {
    "image_size": "--size",
    "output_dir": "--output",
    "jit_compile": "--xla",
    "num_examples": "--synthetic-examples",
    "evaluate_test": "--test",  # for its --no-test
    "images_dir": "--images",  # the names check-data takes
    "masks_dir": "--masks",
}
"""Other option names of fields: older ones (README, book, tests) and check-data's."""


_ENTRY = re.compile(r"^ {4}(\w+): (.*(?:\n {5,}\S.*)*)", re.M)
"""An ``Attributes:`` entry: ``name: text``, with its more indented lines."""


def attribute_docs(cls: type) -> dict[str, str]:
    """The ``Attributes:`` entries of ``cls``'s docstring and its bases', by name."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        section = (inspect.getdoc(klass) or "").partition("\nAttributes:\n")[2]
        section = re.split(r"\n(?=\S)", section, maxsplit=1)[0]  # ends unindented
        docs.update((name, " ".join(t.split())) for name, t in _ENTRY.findall(section))
    return docs


def _first_sentence(text: str) -> str:
    """The first sentence of ``text``, without ``literal`` markup, ``%`` doubled."""
    text = re.sub(r"``(.*?)``", r"\1", text)
    sentence = re.split(r"(?<=\.)\s+(?=[A-Z(])", text, maxsplit=1)[0]
    return sentence.removesuffix(".").replace("%", "%%")


def _value_type(hint: object) -> tuple[type, bool, int | str | None]:
    """``(type, optional, nargs)`` of a field's annotation; nargs for a tuple, list."""
    args = typing.get_args(hint)
    optional = type(None) in args
    if optional:
        (hint,) = (a for a in args if a is not type(None))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    nargs = {tuple: len(args), list: "+"}.get(origin)
    return (args[0] if nargs else hint), optional, nargs


def _converter(kind: type, optional: bool):
    """An argparse ``type`` for ``kind``; ``none`` gives ``None`` if ``optional``."""

    def convert(text: str):
        if optional and text.strip().lower() == "none":
            return None
        return kind(text)

    convert.__name__ = kind.__name__  # argparse's "invalid int value: ..."
    return convert


def _positive(text: str) -> int:
    if (value := int(text)) < 1:
        raise argparse.ArgumentTypeError(f"{value} must be a positive integer")
    return value


def _folder(text: str) -> str:
    """An ``--output`` folder, not empty (``""`` would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; name a folder (. = current folder)")
    return text


def train_options(config_class: type = TrainConfig) -> list[tuple[list[str], dict]]:
    """``(option strings, add_argument keywords)`` of each field of ``config_class``:
    help from its ``Attributes:`` line, left out of the namespace unless given."""
    hints = typing.get_type_hints(config_class)
    docs = attribute_docs(config_class)
    options = []
    for field in fields(config_class):
        names = ["--" + field.name.replace("_", "-")]
        if field.name in TRAIN_ALIASES:
            names.append(TRAIN_ALIASES[field.name])
        kind, optional, nargs = _value_type(hints[field.name])
        help_ = _first_sentence(docs.get(field.name, ""))
        if field.default not in (MISSING, None):
            help_ += f" (default: {field.default})"
        kw = dict(dest=field.name, default=argparse.SUPPRESS, help=help_)
        if kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif field.name in TRAIN_CHOICES:
            kw.update(type=kind, choices=TRAIN_CHOICES[field.name])
        else:
            folder = field.name == "output_dir"
            kw["type"] = _folder if folder else _converter(kind, optional)
            kw["metavar"] = {int: "N", float: "X"}.get(kind, field.name.upper())
            kw["nargs"] = nargs  # a tuple's length, "+" for a list, else None
        options.append((names, kw))
    return options


def _train_config(args: argparse.Namespace) -> TrainConfig:
    """The preset (or ``TrainConfig()``) with the options given on top."""
    hints = typing.get_type_hints(TrainConfig)  # its fields
    given = {k: v for k, v in vars(args).items() if k in hints}
    for name, value in given.items():
        if isinstance(value, list) and isinstance(_value_type(hints[name])[2], int):
            given[name] = tuple(value)  # argparse gives a list
    if "crop_size" in given and "image_size" not in given and args.preset is None:
        given["image_size"] = None  # crops of a folder's images at native size
    if given.get("jit_compile"):
        given.setdefault("deterministic", False)  # op determinism would turn XLA off
    if args.preset:
        return TrainConfig.preset(args.preset, **given)
    return TrainConfig(**given)


def _start_tensorflow_quietly() -> None:
    """Import TensorFlow with fd 2 muted: its C++ start-up lines bypass Python."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe (cuInit) happens here
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised like Ctrl-C, so a training stops the same way."""


class _Sigterm:
    """While Keras trains, SIGTERM waits for the end of the current step."""

    defer = pending = False

    @staticmethod
    def handle(signum: int, frame: object) -> None:
        if not _Sigterm.defer:
            raise Terminated
        _Sigterm.pending = True  # raised by _stop_on_sigterm, between two steps


def _stop_on_sigterm():
    """A callback raising ``Terminated`` between steps: never inside TensorFlow's C++
    (which can abort) nor half-way through a save."""
    import keras

    def stop(batch: int = 0, logs: object = None) -> None:
        if _Sigterm.pending:
            _Sigterm.defer = _Sigterm.pending = False
            raise Terminated

    def begin(logs: object) -> None:
        _Sigterm.defer = True

    def end(logs: object) -> None:
        _Sigterm.defer = False
        stop()

    return keras.callbacks.LambdaCallback(
        on_train_begin=begin,
        on_train_batch_end=stop,
        on_test_batch_end=stop,
        on_train_end=end,
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
    _build_from_args(args).summary()
    return 0


def _cmd_sizes(args: argparse.Namespace) -> int:
    from ..shapes import level_sizes, valid_input_sizes

    if args.size is not None:
        for lvl in level_sizes(args.size, args.depth, args.padding):
            print(f"{lvl.level:>10}: {lvl.size_in:>4} -> {lvl.size_out:>4}")
        return 0
    sizes = valid_input_sizes(args.depth, args.padding, max_size=args.max_size)
    print(f"valid input sizes (depth={args.depth}, padding={args.padding}):", *sizes)
    return 0


def _output_folder(text: str) -> Path:
    if (path := Path(text)).exists() and not path.is_dir():
        raise ValueError(f"--output {path} is a file, not a folder; name a folder")
    return path


def _cmd_train(args: argparse.Namespace) -> int:
    """Options not given come from --preset, else from TrainConfig()'s
    defaults (shown)."""
    import tensorflow as tf

    from .distribute import make_strategy, worker_role, worker_scratch_dir
    from .training import train

    config = _train_config(args)
    strategy = make_strategy(  # before any other TensorFlow work
        args.strategy,
        collective=args.collective,
        connect_timeout=args.connect_timeout,
        program=f"unet-tutorial {args.command}",
    )
    role = worker_role(strategy)
    out = config.output_dir
    if role.num_workers > 1:
        who = f"{role.task_type} {role.task_id} of {role.num_workers} workers"
        print(
            f"{who}, the chief: writes the run folder {out}"
            if role.is_chief
            else f"{who}: trains with the chief and writes nothing to {out} (its own "
            f"copy goes to {worker_scratch_dir(out, role)}, deleted at the end)",
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
    except tf.errors.OpError as err:
        if role.num_workers > 1:
            raise RuntimeError(
                "another worker stopped or could not be reached during training "
                f"(TensorFlow's {type(err).__name__}; that worker's output says why), "
                f"so this one stopped too. The run in {out} can be resumed: start the "
                "same command on every worker again"
            ) from err
        raise
    if not role.is_chief:
        print(f"trained epochs {result.epochs_run} with the chief; its run: {out}")
        return 0
    last = {k: v[-1] for k, v in result.history.items() if k.startswith("val_")}
    shown = ", ".join(f"{k}={v:.3f}" for k, v in sorted(last.items()))
    print(f"trained epochs {result.epochs_run}; last validation: {shown}")
    if (test := result.test) is not None:
        print(
            f"test split (scored once, {config.tested_checkpoint()}.keras): mean IoU "
            f"{test.mean_iou:.3f}, pixel accuracy {test.pixel_accuracy:.3f}"
        )
    print(f"data: {result.data.description}")
    if result.data.is_stand_in:
        print("NOTE: this run used the SYNTHETIC STAND-IN, not Oxford-IIIT Pet.")
    for name, path in result.paths.items():
        if path.exists():
            print(f"{name:>9}: {path}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation import em_scores, evaluate, is_unpadded
    from .loading import load_dataset
    from .runs import load_run_model
    from .sources import resolve_source

    model = load_run_model(args.model)
    data = resolve_source(args.source, args.data_dir)
    (fixed, width), size = model.input_shape[1:3], args.size
    square = fixed is not None and fixed == width and not is_unpadded(model)
    # a folder's whole images at native size (overlap-tile if unpadded) unless --size;
    # else the model's own size, a folder's images resized to it as in predict
    if data.kind != "folder" or square:
        if fixed is None and size is None:
            raise ValueError(
                f"{args.model} takes images of any size; give the size to score at "
                "with --size (e.g. the size it was trained at)"
            )
        if fixed is not None and size not in (None, fixed):
            raise ValueError(
                f"{args.model} takes {fixed} x {fixed} images; leave out --size "
                f"or give --size {fixed}"
            )
        size = fixed or size
    ds, info = load_dataset(
        data,
        args.split,
        size,
        args.batch_size,
        data_dir=args.data_dir,
        num_examples=args.synthetic_examples,
        on_corrupt=args.on_corrupt,
    )
    predicted = max(model.output_shape[-1] or info.num_classes, 2)
    if predicted != info.num_classes:
        raise ValueError(
            f"{args.model} predicts {predicted} classes but the data has "
            f"{info.num_classes} ({', '.join(info.class_names)}); evaluate a model "
            "trained on data of these classes"
        )
    print(evaluate(model, ds, info.class_names).table())
    if args.em:
        print(em_scores(model, ds).table())
    if info.is_stand_in:
        print("NOTE: these scores are on the SYNTHETIC STAND-IN, not Oxford-IIIT Pet.")
    return 0


def _output_stems(paths: list) -> list[str]:
    """One output name per input, case ignored: ``cat.jpg cat-2.png cat.png`` give
    ``cat``, ``cat-2``, ``cat-3`` (a number naming another input is skipped)."""
    inputs = {path.stem.casefold() for path in paths}
    used: set[str] = set()
    stems = []
    for path in paths:
        stem, k = path.stem, 1
        while stem.casefold() in used or (k > 1 and stem.casefold() in inputs):
            k += 1
            stem = f"{path.stem}-{k}"
        used.add(stem.casefold())
        stems.append(stem)
    return stems


def _split_images(source: str | None, split: str) -> list:
    """The image files of one split of an images + masks folder (``[]`` without one)."""
    if source is None:
        return []
    from .folders import check_folder, is_mask_folder

    if not is_mask_folder(source):
        raise ValueError(
            f"--source {source} is not a folder of images and masks; run "
            f"unet-tutorial check-data {source} to see what it holds"
        )
    if not (report := check_folder(source)).ok:
        raise ValueError(
            f"--source {source} has problems that stop loading it; run unet-tutorial "
            f"check-data {source} and fix them first"
        )
    pairs = [report.records[s] for s in report.splits[split]]
    if any(pair.page is not None for pair in pairs):
        raise ValueError(
            f"{source} holds multi-page TIFF stacks; predict names one image per "
            "file: save the pages you want as images and name them."
        )
    return [pair.image_path for pair in pairs]


def _cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from ..evaluation import check_image, load_image, predict_mask
    from ..files import atomic_write
    from ..pictures.figures import mask_to_rgb, overlay_mask
    from .runs import load_run_model

    paths = [Path(p) for p in args.images] + _split_images(args.source, args.split)
    if not paths:
        raise ValueError(
            "no images to predict; name image files, or a folder of "
            "images/ + masks/ with --source (and --split)."
        )
    for path in paths:  # every file checked (not decoded) before the model loads
        check_image(path)
    out = _output_folder(args.output)
    stems = _output_stems(paths)
    kinds = ("mask", "mask_color", "overlay")  # class indices, colours, overlay
    inputs = [*paths, Path(args.model)]
    for output in (out / f"{s}_{k}.png" for s in stems for k in kinds):
        for given in inputs:  # refused before anything is written
            if output.exists() and given.exists() and os.path.samefile(output, given):
                raise ValueError(
                    f"predict would write {output} over the input {given}; choose "
                    "another --output folder"
                )
    model = load_run_model(args.model)
    num_classes = max(model.output_shape[-1], 2)  # one channel: classes 0 and 1
    values = f"class indices 0 to {num_classes - 1}"
    if num_classes == 3:
        values = "values 0 pet, 1 background, 2 border"
    index_type = np.uint8 if num_classes <= 256 else np.uint16  # an 8- or 16-bit PNG
    out.mkdir(parents=True, exist_ok=True)
    for path, stem in zip(paths, stems, strict=True):
        if stem != path.stem:
            print(
                f"NOTE: another input is also named {path.stem}; {path} is written "
                f"as {stem}_*.png"
            )
        rgb = load_image(path)  # one image in memory at a time
        gray = model.input_shape[-1] == 1  # a grayscale model (e.g. EM slices)
        image = np.asarray(Image.fromarray(rgb).convert("L")) if gray else rgb
        mask = predict_mask(model, image)
        arrays = (mask.astype(index_type), mask_to_rgb(mask), overlay_mask(rgb, mask))
        for kind, array in zip(kinds, arrays, strict=True):
            file = out / f"{stem}_{kind}.png"  # each PNG whole, or none (atomic_write)
            if file.exists():
                print(f"NOTE: replacing {file}, written by an earlier run")
            atomic_write(file, lambda p, a=array: Image.fromarray(a).save(p, "PNG"))
        print(f"{path}: {out / (stem + '_mask.png')} ({values}), {file}")  # overlay
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from ..export import EXPORT_FORMATS, export_model
    from ..pictures.figures import MASK_COLORS
    from .runs import load_run_model

    if args.format not in EXPORT_FORMATS:  # before the model loads
        raise ValueError(
            f"unknown format {args.format!r}; use one of {EXPORT_FORMATS}."
        )
    source, names = Path(args.model), None
    if source.is_dir():  # the checkpoint the run scored on test (its classes), or best
        scored = source / "test.json"
        test = json.loads(scored.read_text()) if scored.is_file() else {}
        names = test.get("data", {}).get("class_names")
        source = source / f"{test.get('model', 'best')}.keras"
    model = load_run_model(source)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    name = source.parent.name if source.stem in ("best", "final") else source.stem
    path = out / f"{name}.tflite"
    export_model(
        model,
        path,
        format=args.format,
        input_size=args.size,
        class_names=names,
        colors=MASK_COLORS,
    )
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import keras
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from .sources import OXFORD_DIR_ENV, oxford_pets_prepared, resolve_source

    print(f"unet-tutorial {__version__}")
    print(
        f"python {platform.python_version()}, tensorflow {tf.__version__}, keras "
        f"{keras.__version__}, tensorflow-datasets {tfds.__version__}"
    )
    devices = tf.config.list_physical_devices()
    names = [d.name.removeprefix("/physical_device:") for d in devices]
    print(f"devices: {', '.join(names)}")
    prepared = "yes" if oxford_pets_prepared(args.data_dir) else "no"
    where = args.data_dir or "the default tfds folder"
    print(f"Oxford-IIIT Pet 4.x prepared offline in {where}: {prepared}")
    print(f"{OXFORD_DIR_ENV}: {os.environ.get(OXFORD_DIR_ENV) or '(not set)'}")
    try:
        data = resolve_source("auto", args.data_dir)
    except (ValueError, OSError) as err:  # reported with the rest, not instead of it
        print(f"--source auto would fail: {err}")
        return 1
    print(f"--source auto would use: {data.kind} ({data.reason})")
    return 0


def _cmd_check_data(args: argparse.Namespace) -> int:
    """Reads every image header and mask of PATH and reports the pairs,
    sizes, classes with their pixel shares and the splits. Exits 1 and lists
    every bad file if the folder cannot be loaded."""
    from .folders import check_folder

    names = ("ignore_value", "channels", "crop_size", "images_dir", "masks_dir")
    given = {k: getattr(args, k) for k in (*names, "mask_suffix", "on_corrupt")}
    report = check_folder(args.path, **given)
    print(report)
    return 0 if report.ok else 1


def _cmd_animate(args: argparse.Namespace) -> int:
    from ..pictures import animation
    from .runs import load_run_model

    image = None
    if args.image == "cat":  # read (and check) the image before any model work
        image = animation.load_example_image()
    elif args.image:
        from ..evaluation import load_image

        image = load_image(args.image)
    out = _output_folder(args.output)
    model = load_run_model(args.model) if args.model else _build_from_args(args)
    ms = args.frame_ms
    jobs = {
        "encoder.gif": lambda p: animation.animate_encoder(model, p, frame_ms=ms),
        "decoder.gif": lambda p: animation.animate_decoder(model, p, frame_ms=ms),
    }
    if image is not None:
        jobs["features.gif"] = lambda p: animation.animate_feature_maps(model, image, p)
    for i, (name, write) in enumerate(jobs.items(), 1):
        print(f"[{i}/{len(jobs)}] writing {out / name} ...", flush=True)
        write(out / name)
    for f in sorted(out.glob("*.gif")):
        print(f"{f}: {f.stat().st_size / 1e3:.0f} kB")
    return 0


class _Help(
    argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter
):
    """Help that keeps the description's and epilog's line breaks and shows an option's
    default where it has one (not None or False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _add_model_args(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--size", type=int, default=d.image_size, help="input side")
    p.add_argument("--channels", type=int, default=3, help="input channels")
    p.add_argument("--classes", type=int, default=3, help="output classes")
    p.add_argument("--base-filters", type=int, default=d.base_filters, help="top width")
    p.add_argument("--depth", type=int, default=d.depth, help="pooling steps")
    p.add_argument("--padding", choices=PADDINGS, default=d.padding, help="padding")
    p.add_argument("--no-skip", action="store_true", help="without skip connections")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``unet-tutorial`` (also used by the docs)."""
    parser = argparse.ArgumentParser(
        prog="unet-tutorial", description="Companion tool of the U-Net tutorial book."
    )
    version = f"unet-tutorial {__version__}"
    parser.add_argument("--version", action="version", version=version)
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"full tracebacks and TensorFlow's start-up lines (also {DEBUG_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func, text: str, **kw) -> argparse.ArgumentParser:
        kw.setdefault("description", inspect.getdoc(func) or text)  # its docstring
        p = sub.add_parser(name, help=text, formatter_class=_Help, **kw)
        p.set_defaults(func=func)
        return p

    p = command("summary", _cmd_summary, "print the layer-by-layer summary of a U-Net")
    _add_model_args(p)

    text = "list valid input sizes, or trace one through the U"
    p = command("sizes", _cmd_sizes, text)
    p.add_argument("--size", type=int, help="trace this input size level by level")
    p.add_argument("--depth", type=int, default=TrainConfig.depth, help="pooling steps")
    p.add_argument("--padding", choices=PADDINGS, default="same", help="padding")
    p.add_argument("--max-size", type=int, default=1024, help="largest size listed")

    text = "train a U-Net and write checkpoints, history and snapshots"
    p = command("train", _cmd_train, text)
    run = p.add_argument_group("the run")
    run.add_argument(
        "--preset",
        choices=list(PRESETS),
        help="start from a named setting (TrainConfig.preset): full (GPU), cpu (pets "
        "on a CPU in minutes), cpu-synthetic, isbi and isbi-padded (the paper's EM "
        "experiment; source $UNET_TUTORIAL_ISBI_DIR unless --source)",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="delete a run already in --output (its files only), train from scratch",
    )
    run.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="default: one device; mirrored: the GPUs of this machine; multiworker: "
        "one process per worker, the cluster read from TF_CONFIG (start the same "
        "command on every worker)",
    )
    run.add_argument(
        "--collective",
        choices=COLLECTIVES,
        default="auto",
        help="multiworker: how gradients are summed: ring (CPUs), nccl (NVIDIA GPUs)",
    )
    run.add_argument(
        "--connect-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="multiworker: the wait for the other workers, then for the cluster",
    )
    run.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=1, help="progress"
    )
    group = p.add_argument_group("settings (TrainConfig; 'none' where None is allowed)")
    for names, kw in train_options():
        group.add_argument(*names, **kw)

    p = command("evaluate", _cmd_evaluate, "IoU per class, mean IoU, accuracy and Dice")
    p.add_argument("model", help="a .keras file written by train")
    sources = "auto, oxford, tfds, synthetic, or a folder"
    p.add_argument("--source", default="auto", help=sources)
    p.add_argument("--split", choices=SPLITS, default="test", help="the split scored")
    corrupt = "a folder's corrupt files"
    p.add_argument("--on-corrupt", choices=ON_CORRUPT, default="raise", help=corrupt)
    p.add_argument("--data-dir", help="TensorFlow Datasets data folder")
    p.add_argument("--batch-size", type=_positive, default=16, help="batch size")
    p.add_argument("--size", type=_positive, help="size to score at, if not fixed")
    p.add_argument("--synthetic-examples", type=_positive, help="synthetic images")
    p.add_argument(
        "--em",
        action="store_true",
        help="also the EM scores (pixel error, adapted Rand error, membrane IoU) of a "
        "membrane (0) / cell (1) folder",
    )

    text = "write class-index masks, their colours and overlays (PNGs) for images"
    p = command("predict", _cmd_predict, text)
    p.add_argument("model", help="a .keras file written by train")
    p.add_argument("images", nargs="*", help="image files (any size; JPEG, PNG, ...)")
    p.add_argument("--source", help="a folder of images/ + masks/: predict its --split")
    p.add_argument("--split", choices=SPLITS, default="test", help="the split's images")
    p.add_argument("--output", type=_folder, default="predictions", help="folder")

    text = "write a model as a LiteRT file for a web page, with its sidecar"
    p = command("export", _cmd_export, text)
    tested = "a .keras file, or a run folder (the checkpoint it tested)"
    p.add_argument("model", help=tested)
    p.add_argument("--format", default="litert", help="litert (a .tflite file)")
    p.add_argument("--output", type=_folder, default="export", help="folder")
    p.add_argument("--size", type=_positive, help="input side for an any-size model")

    text = "write the encoder and decoder GIFs (and the feature maps with --image)"
    p = command("animate", _cmd_animate, text)
    _add_model_args(p)
    p.add_argument("--model", help="draw a saved .keras model instead of building one")
    p.add_argument("--image", help="an image for the feature-map GIF ('cat': a photo)")
    p.add_argument("--output", type=_folder, default="animations", help="folder")
    p.add_argument("--frame-ms", type=_positive, default=700, help="ms per frame")

    text = "check a folder of your own images/ and masks/ before training"
    p = command("check-data", _cmd_check_data, text, epilog=WHAT_IT_READS)
    p.add_argument("path", help="the folder holding images/ and masks/")
    p.add_argument("--ignore-value", type=int, help="a mask value that is no class")
    p.add_argument("--channels", type=int, choices=(1, 3), help="convert the images")
    p.add_argument("--crop-size", type=int, help="report images smaller than this crop")
    p.add_argument("--images", dest="images_dir", help="the images' folder, in PATH")
    p.add_argument("--masks", dest="masks_dir", help="the masks' folder, in PATH")
    p.add_argument("--mask-suffix", help="what a mask's name adds to its image's stem")
    skip = "'skip' leaves unreadable pairs out and names them"
    p.add_argument("--on-corrupt", choices=ON_CORRUPT, default="raise", help=skip)

    p = command("info", _cmd_info, "versions, devices, is Oxford-IIIT Pet available?")
    p.add_argument("--data-dir", help="TensorFlow Datasets data folder")
    return parser


_EXIT_CODES = (
    (Terminated, 143),
    (KeyboardInterrupt, 130),
    (ValueError, 2),
    ((OSError, RuntimeError), 1),
)
"""The exit code of each error that gets one line; any other is a bug (a traceback)."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    if not debug and args.command not in _NO_TENSORFLOW:
        _start_tensorflow_quietly()  # --debug shows TensorFlow's start-up lines too
    # SIGTERM (a scheduler, `kill`, a container stop) ends a command like Ctrl-C does
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _Sigterm.handle) if in_main else None
    try:
        return args.func(args)
    except (KeyboardInterrupt, Exception) as err:
        code = next((c for kind, c in _EXIT_CODES if isinstance(err, kind)), None)
        if debug or code is None:
            raise
        message = f"error: {err}"
        if isinstance(err, KeyboardInterrupt):
            message = "terminated (SIGTERM)" if code == 143 else "interrupted"
            message += "; run the same command to resume" * (args.command == "train")
        print(f"unet-tutorial {args.command}: {message}", file=sys.stderr)
        return code
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
        _Sigterm.defer = _Sigterm.pending = False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
