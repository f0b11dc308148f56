"""The Python development runtime (built once per toolchain with componentize-py).

It implements the guest world by running the guest author's modules, which the
host hands over through `blueprint:dev/source` at run time, so an edit of the guest
rebuilds nothing. The guest imports `wit_world` exactly as a built guest does: this
runtime's world includes the guest world, so the same bindings are there.
"""

import importlib.abc
import importlib.util
import sys

# The standard library a guest may import: componentize-py keeps in the component
# only what was imported while it was built, so the runtime imports it here.
import __future__  # noqa: F401
import abc  # noqa: F401
import base64  # noqa: F401
import collections  # noqa: F401
import collections.abc  # noqa: F401
import contextlib  # noqa: F401
import copy  # noqa: F401
import dataclasses  # noqa: F401
import datetime  # noqa: F401
import decimal  # noqa: F401
import enum  # noqa: F401
import fractions  # noqa: F401
import functools  # noqa: F401
import inspect  # noqa: F401
import ipaddress  # noqa: F401
import itertools  # noqa: F401
import json  # noqa: F401
import math  # noqa: F401
import operator  # noqa: F401
import re  # noqa: F401
import string  # noqa: F401
import textwrap  # noqa: F401
import types  # noqa: F401
import typing  # noqa: F401
import urllib.parse  # noqa: F401

from componentize_py_types import Err  # noqa: F401
from wit_world import exports
from wit_world.imports import source


class _Sources(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the guest's own modules from the text the host sent."""

    def __init__(self, modules):
        self.modules = dict(modules)

    def find_spec(self, name, path=None, target=None):
        if name in self.modules:
            package = any(other.startswith(name + ".") for other in self.modules)
            return importlib.util.spec_from_loader(name, self, is_package=package)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        module.__file__ = name.replace(".", "/") + ".py"
        exec(compile(self.modules[name], module.__file__, "exec"), module.__dict__)


_guest = None


def _load():
    global _guest
    if _guest is not None:
        return _guest
    modules = source.modules()
    if not modules:
        _fail("the host sent no source")
    entry = modules[0][0]
    sys.meta_path.insert(0, _Sources(modules))
    try:
        module = importlib.import_module(entry)
    except BaseException as e:  # a syntax error, an import that fails, ...
        _fail(f"{entry}.py failed while loading: {type(e).__name__}: {e}")
    cls = getattr(module, "Blueprint", None)
    if cls is None:
        _fail(f"{entry}.py must define class Blueprint(exports.Blueprint)")
    _guest = cls()
    return _guest


def _fail(message):
    source.failed(message)
    raise RuntimeError(message)


class Blueprint(exports.Blueprint):
    def info(self):
        return _load().info()

    def params_schema(self):
        return _load().params_schema()

    def run(self, params_json):
        return _load().run(params_json)
