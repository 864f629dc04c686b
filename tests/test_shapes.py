"""Tests of the size arithmetic (no model is built here)."""

import pytest

import unet_tutorial as ut


def test_same_padding_sizes_are_multiples_of_two_to_the_depth():
    assert ut.valid_input_sizes(4, "same", max_size=80) == [16, 32, 48, 64, 80]
    assert ut.valid_input_sizes(2, "same", max_size=12) == [4, 8, 12]
    assert ut.output_size(128) == 128


def test_valid_padding_follows_the_papers_even_size_rule():
    sizes = ut.valid_input_sizes(4, "valid", max_size=600)
    assert 572 in sizes and 570 not in sizes
    # valid sizes are 16 apart for depth 4 (one more pixel at the bottom is 16 at the top)
    assert all(b - a == 16 for a, b in zip(sizes, sizes[1:], strict=False))
    for s in sizes:
        for lvl in ut.level_sizes(s, 4, "valid")[:4]:
            assert lvl.size_out % 2 == 0  # every pooled map is even


def test_level_sizes_trace_the_paper_figure():
    levels = ut.level_sizes(572, 4, "valid")
    assert [lv.level for lv in levels] == [
        "enc1",
        "enc2",
        "enc3",
        "enc4",
        "bottleneck",
        "dec4",
        "dec3",
        "dec2",
        "dec1",
    ]
    assert [(lv.size_in, lv.size_out) for lv in levels] == [
        (572, 568),
        (284, 280),
        (140, 136),
        (68, 64),
        (32, 28),
        (56, 52),
        (104, 100),
        (200, 196),
        (392, 388),
    ]


def test_nearest_valid_sizes():
    assert ut.nearest_valid_sizes(100) == [96, 112]
    assert ut.nearest_valid_sizes(5) == [16]
    assert ut.nearest_valid_sizes(570, padding="valid") == [556, 572]


def test_check_input_size_message():
    with pytest.raises(
        ValueError,
        match=r"divisible by 2\*\*depth = 8; the nearest valid sizes are 96 and 104",
    ):
        ut.check_input_size(100, depth=3)
    with pytest.raises(ValueError, match=r"^crop_size=250 \(the model's input size\)"):
        ut.check_input_size(250, 3, "valid", name="crop_size")
    assert ut.is_valid_input_size(0) is False
    with pytest.raises(ValueError, match="depth"):
        ut.valid_input_sizes(depth=0)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_size_lists_are_computed_not_scanned_and_match_the_rule(padding):
    for depth in range(1, 6):
        brute = [s for s in range(1, 900) if ut.is_valid_input_size(s, depth, padding)]
        assert ut.valid_input_sizes(depth, padding, max_size=899) == brute
        assert ut.valid_input_sizes(depth, padding, min_size=301, max_size=899) == [
            s for s in brute if s >= 301
        ]
        for size in range(1, 820, 7):
            below, above = (
                [s for s in brute if s <= size],
                [s for s in brute if s >= size],
            )
            assert ut.nearest_valid_sizes(size, depth, padding) == sorted(
                {*below[-1:], *above[:1]}
            )
    # any size answers at once: no scan over a billion candidates
    near = ut.nearest_valid_sizes(10**9 + 1, depth=12, padding=padding)
    assert len(near) == 2 and all(ut.is_valid_input_size(s, 12, padding) for s in near)
    assert near[1] - near[0] == 2**12 and near[0] < 10**9 + 1 < near[1]


def test_absurd_depths_and_ranges_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="depth=30 is more than 12"):
        ut.nearest_valid_sizes(128, depth=30)
    with pytest.raises(ValueError, match="depth=30 is more than 12"):
        ut.TrainConfig(depth=30).validate()
    with pytest.raises(ValueError, match="ask for a narrower range"):
        ut.valid_input_sizes(depth=4, max_size=10**9)
    huge = ut.valid_input_sizes(depth=4, min_size=10**9, max_size=10**9 + 40)
    assert huge == [1_000_000_000 + 16 * k for k in (0, 1, 2)]


def test_receptive_field_by_hand():
    # enc1: two 3x3 convs: 1 + 2 + 2 = 5; pool: +1 -> 6, jump 2; enc2: 6 + 4 + 4 = 14; ...
    fields = ut.receptive_fields(depth=4)
    assert [(f.level, f.size, f.jump) for f in fields] == [
        ("enc1", 5, 1),
        ("enc2", 14, 2),
        ("enc3", 32, 4),
        ("enc4", 68, 8),
        ("bottleneck", 140, 16),
    ]
    with pytest.raises(ValueError, match="odd"):
        ut.receptive_fields(kernel_size=2)


def test_the_padding_and_depth_checks_are_public_and_name_the_value():
    from unet_tutorial.shapes import MAX_DEPTH, check_depth, check_padding

    check_padding("same")
    check_padding("valid")
    with pytest.raises(ValueError, match="padding='full' is not supported"):
        check_padding("full")
    check_depth(1)
    check_depth(MAX_DEPTH)
    for bad, says in (
        (0, "depth=0"),
        (True, "depth=True"),
        (MAX_DEPTH + 1, "more than"),
    ):
        with pytest.raises(ValueError, match=says):
            check_depth(bad)
