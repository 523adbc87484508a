"""The command line's flags for search at scale and Ray ingest reach the settings."""

from __future__ import annotations

from pathlib import Path

from backend.cli import _settings, build_parser


def test_exact_flag_turns_the_index_off():
    args = build_parser().parse_args(["search", "red fox", "--exact"])
    assert _settings(args).search.exact
    assert not _settings(build_parser().parse_args(["search", "red fox"])).search.exact


def test_ray_flags():
    args = build_parser().parse_args(["index", "videos", "--ray", "--workers", "3"])
    ray = _settings(args).ray
    assert (ray.enabled, ray.address, ray.workers) == (True, None, 3)
    args = build_parser().parse_args(["index", "videos", "--ray-address", "ray://head:10001"])
    ray = _settings(args).ray
    assert (ray.enabled, ray.address, ray.workers) == (True, "ray://head:10001", 2)
    assert args.paths == [Path("videos")]
    assert not _settings(build_parser().parse_args(["index", "videos"])).ray.enabled
