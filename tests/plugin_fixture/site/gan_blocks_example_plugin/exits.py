"""A plugin whose register() reads the command line with argparse and exits (SystemExit)."""

import argparse


def register():
    parser = argparse.ArgumentParser(prog="exits-plugin")
    parser.add_argument("--required-option", required=True)
    parser.parse_args([])  # Missing option: argparse raises SystemExit(2).
