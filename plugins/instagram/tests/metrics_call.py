"""Calls a publisher's metrics callback in-process through the C ABI (plugin.h): `reelflow run`
has no way to reach it. The rf_host is minimal: set_output and fail are recorded, secrets and
state are absent, nothing is ever cancelled. The structs mirror plugin.h for ABI 1.2."""
import ctypes
import json

_RUN = ctypes.c_void_p
_LOG = ctypes.CFUNCTYPE(None, _RUN, ctypes.c_int, ctypes.c_char_p)
_PROGRESS = ctypes.CFUNCTYPE(None, _RUN, ctypes.c_double, ctypes.c_char_p)
_CANCELLED = ctypes.CFUNCTYPE(ctypes.c_int, _RUN)
_DIR = ctypes.CFUNCTYPE(ctypes.c_char_p, _RUN)
_LOOKUP = ctypes.CFUNCTYPE(ctypes.c_long, _RUN, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t)
_STATE_SET = ctypes.CFUNCTYPE(ctypes.c_int, _RUN, ctypes.c_char_p, ctypes.c_char_p)
_TEXT = ctypes.CFUNCTYPE(ctypes.c_int, _RUN, ctypes.c_char_p)
_FAIL = ctypes.CFUNCTYPE(None, _RUN, ctypes.c_char_p)
_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, _RUN, ctypes.c_char_p, ctypes.c_char_p)


class _Host(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("abi_major", ctypes.c_uint16),
                ("abi_minor", ctypes.c_uint16), ("log", _LOG), ("progress", _PROGRESS),
                ("cancelled", _CANCELLED), ("artifact_dir", _DIR), ("secret", _LOOKUP),
                ("state_get", _LOOKUP), ("state_set", _STATE_SET), ("set_output", _TEXT),
                ("fail", _FAIL), ("checkpoint", _TEXT)]


class _Publisher(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p),
                ("platform", ctypes.c_char_p), ("summary", ctypes.c_char_p),
                ("flags", ctypes.c_uint32), ("options", ctypes.c_void_p),
                ("option_count", ctypes.c_size_t), ("account_options", ctypes.c_void_p),
                ("account_option_count", ctypes.c_size_t),
                ("create", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.POINTER(_Host),
                                            ctypes.c_char_p)),
                ("destroy", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
                ("cancel", ctypes.c_void_p), ("prepare", ctypes.c_void_p),
                ("start", ctypes.c_void_p), ("upload", ctypes.c_void_p),
                ("finalize", ctypes.c_void_p), ("poll", ctypes.c_void_p),
                ("reconcile", ctypes.c_void_p), ("metrics", _CALL), ("refresh", ctypes.c_void_p)]


class _Plugin(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("abi_major", ctypes.c_uint16),
                ("abi_minor", ctypes.c_uint16), ("name", ctypes.c_char_p),
                ("version", ctypes.c_char_p), ("license", ctypes.c_char_p),
                ("summary", ctypes.c_char_p), ("step_types", ctypes.c_void_p),
                ("step_type_count", ctypes.c_size_t), ("trigger_types", ctypes.c_void_p),
                ("trigger_type_count", ctypes.c_size_t),
                ("publisher_types", ctypes.POINTER(_Publisher)),
                ("publisher_type_count", ctypes.c_size_t)]


def call_metrics(plugin_path, post, session):
    """Loads the plugin, creates its (first) publisher and calls metrics(post, session).
    Returns (status, output object or None, error message)."""
    entry = ctypes.CDLL(plugin_path).reelflow_plugin_entry
    entry.restype = ctypes.POINTER(_Plugin)
    entry.argtypes = [ctypes.c_uint16, ctypes.c_uint16]
    publisher = entry(1, 2).contents.publisher_types[0]
    recorded = {"output": None, "error": ""}

    def set_output(_, text):
        recorded["output"] = json.loads(text.decode())
        return 0

    def fail(_, text):
        recorded["error"] = text.decode()

    callbacks = [_LOG(lambda *_: None), _PROGRESS(lambda *_: None), _CANCELLED(lambda _: 0),
                 _DIR(lambda _: b"/tmp"), _LOOKUP(lambda *_: -1), _LOOKUP(lambda *_: -1),
                 _STATE_SET(lambda *_: -1), _TEXT(set_output), _FAIL(fail),
                 _TEXT(lambda *_: 0)]
    host = _Host(ctypes.sizeof(_Host), 1, 2, *callbacks)
    instance = publisher.create(ctypes.byref(host), b"{}")
    try:
        status = publisher.metrics(instance, None, json.dumps(post).encode(),
                                   json.dumps(session).encode())
    finally:
        publisher.destroy(instance)
    return status, recorded["output"], recorded["error"]
