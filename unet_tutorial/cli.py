"""The ``unet-tutorial`` command line.

Every sub-command has ``--help``. Bad arguments (argparse's own checks and the
package's ``ValueError``) give a one-line error and exit code 2; a missing or
unreadable file gives a one-line error and exit code 1. Never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=128, help="input height and width in pixels (default 128)")
    p.add_argument("--channels", type=int, default=3, help="input channels (default 3)")
    p.add_argument("--classes", type=int, default=3, help="output classes (default 3)")
    p.add_argument("--base-filters", type=int, default=64, help="channels at the top level (default 64)")
    p.add_argument("--depth", type=int, default=4, help="number of pooling steps (default 4)")
    p.add_argument("--padding", choices=["same", "valid"], default="same", help="convolution padding")
    p.add_argument("--no-skip", action="store_true", help="build the model without skip connections")


def _build_from_args(args: argparse.Namespace):
    from .model import build_unet

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
    from .shapes import level_sizes, valid_input_sizes

    if args.size is None:
        sizes = valid_input_sizes(args.depth, args.padding, max_size=args.max_size)
        print(f"valid input sizes (depth={args.depth}, padding={args.padding}): {' '.join(map(str, sizes))}")
        return 0
    for lvl in level_sizes(args.size, args.depth, args.padding):
        print(f"{lvl.level:>10}: {lvl.size_in:>4} -> {lvl.size_out:>4}")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be a positive integer")
    return value


def _cmd_train(args: argparse.Namespace) -> int:
    from .training import TrainConfig, train

    config = TrainConfig(
        base_filters=args.base_filters,
        depth=args.depth,
        image_size=args.size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        loss=args.loss,
        source=args.source,
        data_dir=args.data_dir,
        output_dir=args.output,
        seed=args.seed,
        jit_compile=args.xla,
        mixed_precision=args.mixed_precision,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        num_examples=tuple(args.synthetic_examples) if args.synthetic_examples else None,
    )
    result = train(config, verbose=args.verbose)
    last = {k: v[-1] for k, v in result.history.items() if k.startswith("val_")}
    print(
        f"trained epochs {result.epochs_run}; last validation: "
        + ", ".join(f"{k}={v:.3f}" for k, v in sorted(last.items()))
    )
    if result.data.is_stand_in:
        print("NOTE: trained and validated on the SYNTHETIC STAND-IN, not on Oxford-IIIT Pet.")
    for name, path in result.paths.items():
        if path.exists():
            print(f"{name:>9}: {path}")
    return 0


def _load_model(path: str):
    import keras

    from . import losses, metrics  # noqa: F401  (registers the custom objects)

    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file {path} does not exist.")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as err:  # Keras raises several kinds for a bad file
        raise ValueError(f"{path} is not a loadable .keras model ({type(err).__name__}: {err}).") from None


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .evaluation import evaluate

    model = _load_model(args.model)
    size = model.input_shape[1]
    ds, info = load_dataset(
        args.source, args.split, size, args.batch_size, data_dir=args.data_dir,
        num_examples=args.synthetic_examples,
    )  # fmt: skip
    print(evaluate(model, ds).table())
    if info.is_stand_in:
        print("NOTE: these scores are on the SYNTHETIC STAND-IN, not on Oxford-IIIT Pet.")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from pathlib import Path

    from PIL import Image

    from .evaluation import load_image, predict_mask
    from .figures import mask_to_rgb, overlay_mask

    images = [(p, load_image(p)) for p in args.images]  # check every file before the model loads
    model = _load_model(args.model)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for path, image in images:
        mask = predict_mask(model, image)
        stem = Path(path).stem
        Image.fromarray(mask.astype("uint8")).save(out / f"{stem}_mask.png")
        Image.fromarray(mask_to_rgb(mask)).save(out / f"{stem}_mask_color.png")
        Image.fromarray(overlay_mask(image, mask)).save(out / f"{stem}_overlay.png")
        print(
            f"{path}: {out / (stem + '_mask.png')} (values 0 pet, 1 background, 2 border), "
            f"{out / (stem + '_overlay.png')}"
        )
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    import platform

    import keras
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from . import __version__
    from .data import oxford_pets_prepared

    print(f"unet-tutorial {__version__}")
    print(
        f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
        f"tensorflow-datasets {tfds.__version__}"
    )
    devices = tf.config.list_physical_devices()
    print("devices: " + ", ".join(f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in devices))
    prepared = oxford_pets_prepared(args.data_dir)
    where = args.data_dir or "the default tfds folder"
    print(f"Oxford-IIIT Pet 4.x prepared offline in {where}: {'yes' if prepared else 'no'}")
    if not prepared:
        print("  (online, 'unet-tutorial train --source oxford' downloads it; offline, the synthetic stand-in is used)")
    return 0


def _cmd_animate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import animation

    image = None
    if args.image:  # read (and check) the image before any model work
        from .evaluation import load_image

        image = animation.load_example_image() if args.image == "cat" else load_image(args.image)
    model = _load_model(args.model) if args.model else _build_from_args(args)
    out = Path(args.output)
    jobs = [
        ("encoder.gif", lambda path: animation.animate_encoder(model, path, frame_ms=args.frame_ms)),
        ("decoder.gif", lambda path: animation.animate_decoder(model, path, frame_ms=args.frame_ms)),
    ]
    if image is not None:
        jobs.append(("features.gif", lambda path: animation.animate_feature_maps(model, image, path)))
    for i, (name, write) in enumerate(jobs, 1):
        print(f"[{i}/{len(jobs)}] writing {out / name} ...", flush=True)
        write(out / name)
    for f in sorted(out.glob("*.gif")):
        print(f"{f}: {f.stat().st_size / 1e3:.0f} kB")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``unet-tutorial`` (also used by the docs)."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="unet-tutorial", description="Companion tool of the U-Net tutorial book.")
    parser.add_argument("--version", action="version", version=f"unet-tutorial {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("summary", help="print the layer-by-layer summary of a U-Net")
    _add_model_args(p)
    p.set_defaults(func=_cmd_summary)

    p = sub.add_parser("sizes", help="list valid input sizes, or trace one size through the U")
    p.add_argument("--size", type=int, default=None, help="trace this input size level by level")
    p.add_argument("--depth", type=int, default=4, help="number of pooling steps (default 4)")
    p.add_argument("--padding", choices=["same", "valid"], default="same", help="convolution padding")
    p.add_argument("--max-size", type=int, default=1024, help="largest size to list (default 1024)")
    p.set_defaults(func=_cmd_sizes)

    p = sub.add_parser("train", help="train a U-Net and write checkpoints, history and snapshots")
    p.add_argument("--source", default="auto", help="auto, oxford, synthetic, or a directory (default auto)")
    p.add_argument("--data-dir", default=None, help="TensorFlow Datasets data folder")
    p.add_argument("--output", default="runs/unet", help="output folder (default runs/unet)")
    p.add_argument("--size", type=_positive, default=128, help="image size (default 128)")
    p.add_argument("--base-filters", type=_positive, default=16, help="top-level channels (default 16)")
    p.add_argument("--depth", type=_positive, default=4, help="pooling steps (default 4)")
    p.add_argument("--epochs", type=_positive, default=5, help="epochs (default 5)")
    p.add_argument("--batch-size", type=_positive, default=16, help="global batch size (default 16)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--loss", choices=["ce", "dice", "ce_dice"], default="ce_dice", help="loss (default ce_dice)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--steps-per-epoch", type=_positive, default=None, help="cap on batches per epoch")
    p.add_argument("--validation-steps", type=_positive, default=None, help="cap on validation batches")
    p.add_argument(
        "--synthetic-examples",
        type=_positive,
        nargs=2,
        metavar=("TRAIN", "TEST"),
        help="sizes of the synthetic splits",
    )
    p.add_argument("--xla", action="store_true", help="XLA-compile the train step")
    p.add_argument("--mixed-precision", action="store_true", help="mixed_float16 (GPUs)")
    p.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1, help="Keras progress display")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="per-class IoU, mean IoU, pixel accuracy and Dice of a saved model")
    p.add_argument("model", help="a .keras file written by train")
    p.add_argument("--source", default="auto", help="auto, oxford, synthetic, or a directory (default auto)")
    p.add_argument("--split", choices=["train", "test"], default="test", help="split (default test)")
    p.add_argument("--data-dir", default=None, help="TensorFlow Datasets data folder")
    p.add_argument("--batch-size", type=_positive, default=16, help="batch size (default 16)")
    p.add_argument("--synthetic-examples", type=_positive, default=None, help="size of a synthetic split")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("predict", help="write mask and overlay PNGs for image files")
    p.add_argument("model", help="a .keras file written by train")
    p.add_argument("images", nargs="+", help="image files (any size; JPEG, PNG, ...)")
    p.add_argument("--output", default="predictions", help="output folder (default predictions)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("animate", help="write the encoder and decoder GIFs (and feature maps with --image)")
    _add_model_args(p)
    p.add_argument("--model", default=None, help="draw a saved .keras model instead of building one")
    p.add_argument("--image", default=None, help="an image file for the feature-map GIF ('cat': the bundled photo)")
    p.add_argument("--output", default="animations", help="output folder (default animations)")
    p.add_argument("--frame-ms", type=_positive, default=700, help="milliseconds per frame (default 700)")
    p.set_defaults(func=_cmd_animate)

    p = sub.add_parser("info", help="versions, devices, and whether Oxford-IIIT Pet is available offline")
    p.add_argument("--data-dir", default=None, help="TensorFlow Datasets data folder")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # a bad argument value: argparse's exit code
        print(f"unet-tutorial {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, OSError, RuntimeError) as err:
        print(f"unet-tutorial {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
